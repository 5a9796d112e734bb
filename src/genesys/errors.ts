/**
 * Normalised Genesys errors.
 *
 * The SDK rejects with the bare response body unless extended responses are on; with
 * `setReturnExtendedResponses(true)` it rejects with `{status, headers, body, error}` where
 * `body` is a Genesys `ErrorBody` ({message, code, status, contextId, ...}) and `error` is the
 * raw axios error (which contains the bearer token: never log it). See
 * shared/genesys/README.md, "The official JavaScript SDK".
 */

/** A failed Genesys call, stripped of anything secret. */
export class GenesysError extends Error {
  override name = "GenesysError";
  /** HTTP status; 0 when no response arrived (network error, timeout). */
  readonly status: number;
  /** Genesys `ErrorBody.code` (e.g. `not.found`, `too.many.requests`), or a transport code (`ECONNREFUSED`, `timeout`). */
  readonly code: string;
  /** Seconds from the `Retry-After` header (429, sometimes 503), when present. */
  readonly retryAfterSeconds?: number;
  /** `ININ-Correlation-Id` of the failed response, for Genesys support. */
  readonly correlationId?: string;

  constructor(init: { status: number; code: string; message: string; retryAfterSeconds?: number; correlationId?: string }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.correlationId = init.correlationId;
  }

  /** True for 4xx answers other than 408 and 429: the request itself was refused. */
  get isClientError(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 408 && this.status !== 429;
  }

  /** True when retrying the same request may succeed: 408, 429, 502, 503, 504, or no response at all. */
  get isTransient(): boolean {
    return this.status === 0 || [408, 429, 502, 503, 504].includes(this.status);
  }
}

type Headers = Record<string, unknown>;

function header(headers: Headers | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === lower) return Array.isArray(v) ? String(v[0]) : v == null ? undefined : String(v);
  }
  return undefined;
}

/** Parses `Retry-After` (delta-seconds or an HTTP date) into seconds. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/**
 * Turns whatever the SDK rejected with into a {@link GenesysError}. Only status, code, message,
 * Retry-After and the correlation id survive; headers, config and tokens are dropped.
 */
export function toGenesysError(rejection: unknown): GenesysError {
  if (rejection instanceof GenesysError) return rejection;
  const r = (rejection ?? {}) as {
    status?: number;
    headers?: Headers;
    body?: { message?: string; code?: string; status?: number };
    error?: { code?: string; message?: string };
    response?: { status?: number; headers?: Headers; data?: { message?: string; code?: string } };
    code?: string;
    message?: string;
  };
  // Extended response ({status, headers, body, error}) or a raw axios error ({response, code}).
  const status = r.status ?? r.response?.status ?? r.body?.status ?? 0;
  const headers = r.headers ?? r.response?.headers;
  const body = r.body ?? r.response?.data;
  const transportCode = r.error?.code ?? r.code;
  const code =
    (typeof body === "object" && body?.code) ||
    (status === 0 ? (transportCode === "ECONNABORTED" ? "timeout" : transportCode ?? "network.error") : `http.${status}`);
  const message =
    (typeof body === "object" && body?.message) ||
    (typeof body === "string" && body) ||
    (status === 0 ? `Genesys unreachable (${transportCode ?? "no response"})` : `Genesys answered HTTP ${status}`);
  return new GenesysError({
    status,
    code,
    message,
    retryAfterSeconds: parseRetryAfter(header(headers, "retry-after")),
    correlationId: header(headers, "inin-correlation-id"),
  });
}
