/**
 * An HTTP transport for the official SDK on Node's own `fetch` (undici, keep-alive connection
 * pool), installed with `ApiClient.setHttpClient` instead of the SDK's axios client.
 *
 * The contract (purecloud-platform-client-v2 262.0.0: `AbstractHttpClient`, `DefaultHttpClient`
 * and `ApiClient.callApi` / `loginClientCredentialsGrant` in its src/): `request(options)` gets an
 * `HttpRequestOptions` `{url, method, headers, params, data, timeout}` and resolves with an
 * axios-like response `{status, statusText, headers, data}` for 2xx, or rejects with an axios-like
 * error: `{response: {status, statusText, headers, data}, message}` for any other status, or
 * `{code, message}` when no response came (`ECONNABORTED` for a timeout, like axios). Header names
 * come lower-cased (as axios gives them); `data` is the parsed JSON body, or the text when it is not
 * JSON (`""` for an empty body). Object bodies are sent as JSON, string bodies (the login's
 * `grant_type=client_credentials`) as `application/x-www-form-urlencoded` unless the SDK set a
 * content type. Array query parameters (`multi` collection format) repeat the key.
 * Pre/post hooks (`setPreHook`, `setPostHook`) are not supported: the gateway uses none.
 */
import platformClient from "./sdk.js";

/** The fields of the SDK's `HttpRequestOptions` this transport reads. */
export interface SdkHttpRequest {
  url: string;
  method: string;
  headers?: Record<string, unknown>;
  params?: Record<string, unknown>;
  data?: unknown;
  /** ms; the transport's own `timeout` (set by `setTimeout`) wins when set. */
  timeout?: number;
}

/** What `request` resolves with (and what a failed status carries as `response`). */
export interface SdkHttpResponse {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  data: unknown;
}

/** The SDK's transport base class (a runtime export its typings do not declare as a value). */
const AbstractHttpClient = (platformClient as unknown as { AbstractHttpClient: new () => { timeout: number } }).AbstractHttpClient;

/** See the file comment. Install with `apiClient.setHttpClient(new FetchHttpClient())`. */
export class FetchHttpClient extends AbstractHttpClient {
  /**
   * Sends one request with `fetch`.
   * @returns the response for a 2xx status.
   * @throws an axios-like error (see the file comment); never a secret in `message`.
   */
  async request(options: SdkHttpRequest): Promise<SdkHttpResponse> {
    const url = new URL(options.url);
    for (const [key, value] of Object.entries(options.params ?? {})) {
      if (value === undefined || value === null) continue;
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(v));
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(options.headers ?? {})) if (value !== undefined && value !== null) headers.set(name, String(value));
    let body: string | undefined;
    if (options.data !== undefined && options.data !== null) {
      if (typeof options.data === "string") {
        body = options.data;
        if (!headers.has("content-type")) headers.set("content-type", "application/x-www-form-urlencoded");
      } else {
        body = JSON.stringify(options.data);
        if (!headers.has("content-type")) headers.set("content-type", "application/json");
      }
    }
    const timeoutMs = this.timeout ?? options.timeout ?? 16_000;
    let response: Response;
    try {
      response = await fetch(url, { method: options.method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw transportError(error, timeoutMs);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw transportError(error, timeoutMs);
    }
    const answer: SdkHttpResponse = {
      status: response.status,
      statusText: response.statusText,
      headers: Object.fromEntries(response.headers),
      data: parseBody(text),
    };
    if (response.status >= 200 && response.status < 300) return answer;
    throw Object.assign(new Error(`Request failed with status code ${response.status}`), { response: answer, status: response.status });
  }

  /** Hooks are not supported (see the file comment); a no-op so the SDK's setters do not throw. */
  enableHooks(): void {}
}

function parseBody(text: string): unknown {
  if (text === "") return "";
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A fetch failure as axios reports it: `code` from the cause (`ECONNREFUSED`, …), `ECONNABORTED` for a timeout. */
function transportError(error: unknown, timeoutMs: number): Error & { code: string } {
  const e = error as { name?: string; cause?: { code?: string; message?: string } } | undefined;
  if (e?.name === "TimeoutError" || e?.name === "AbortError") {
    return Object.assign(new Error(`timeout of ${timeoutMs}ms exceeded`), { code: "ECONNABORTED" });
  }
  const code = e?.cause?.code ?? "ERR_NETWORK";
  return Object.assign(new Error(e?.cause?.message ?? "network error"), { code });
}
