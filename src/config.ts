/**
 * Gateway configuration from environment variables, validated once at start.
 *
 * Every variable, its default and meaning is listed in README.md ("Configuration").
 * A bad value stops the process with a message naming the variable; secrets are never echoed.
 */
import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import platformClient from "./genesys/sdk.js";
import { z } from "zod";
import { parseRetention, type ChangeLogRetention } from "./attributes/change-log.js";
import { parseApiKeys } from "./auth/api-keys.js";
import type { ApiKey, AuthSettings, JwtSettings } from "./auth/settings.js";
import { describeGenesysEndpoint, type GenesysTargetDescription } from "./genesys/endpoint.js";
import { normalizeOrigin } from "./http/origins.js";
import { DEFAULT_LIMITS, type LimitSettings } from "./limits/settings.js";

export { genesysTargetSummary, type GenesysTargetDescription } from "./genesys/endpoint.js";

/** Where the gateway sends Genesys traffic. */
export type GenesysTarget =
  /** The real service: `https://api.{environment}` / `https://login.{environment}` / `wss://streaming.{environment}`. */
  | { kind: "cloud"; environment: string; clientId: string; clientSecret: string }
  /** An explicit base URL (an emulator): login, API and notifications all go to it. */
  | { kind: "gateway"; baseUrl: URL; clientId: string; clientSecret: string }
  /** No Genesys setting at all, outside production: start the embedded emulator and use it. */
  | { kind: "embedded-emulator"; emulatorPort: number };

/**
 * The Genesys variables. The embedded emulator is used only when none of them is set (blank
 * counts as unset); setting any of them means "use this Genesys", and then it must be complete.
 */
export const GENESYS_VARIABLES = ["GENESYS_REGION", "GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET", "GENESYS_GATEWAY_URL"] as const;

/** The validated configuration. Durations in ms. */
export interface GatewayConfig {
  /** TCP port of the GraphQL gateway (HTTP and WebSocket on the same port). */
  port: number;
  /** Interface the gateway listens on (default 127.0.0.1; 0.0.0.0 exposes it on every interface). */
  host: string;
  genesys: GenesysTarget;
  /** pino log level. */
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** How long `updateAttributes` may try to see its write before answering `UpdateNotConfirmed` (ms). */
  updateDeadlineMs: number;
  /** A notification socket silent for this long is considered dead and reconnected (ms). */
  heartbeatTimeoutMs: number;
  /** Caller auth (`GATEWAY_AUTH`, `GATEWAY_API_KEYS[_FILE]`, `GATEWAY_JWT_*`). */
  auth: AuthSettings;
  /** Cost and abuse limits (`MAX_*`, `RATE_LIMIT_REQUESTS_PER_MINUTE`; 0 disables one). */
  limits: LimitSettings;
  /** Browser origins allowed by CORS and the WebSocket Origin check (`CORS_ORIGINS`). */
  cors: { origins: string[] };
  /** Own port of `/metrics` (`METRICS_PORT`); unset: `/metrics` is on the gateway port. */
  metricsPort?: number;
  /**
   * Introspection on HTTP and graphql-ws, and with it the GraphiQL IDE on `GET /graphql`
   * (`GRAPHQL_INTROSPECTION`; default on unless `NODE_ENV=production`).
   */
  introspection: boolean;
  /**
   * OpenTelemetry traces: on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (OTLP over HTTP; the
   * SDK reads the other standard `OTEL_*` variables itself). `serviceName` from `OTEL_SERVICE_NAME`.
   */
  tracing: { endpoint?: URL; serviceName: string };
  /** How long the change log keeps entries (`CHANGE_LOG_RETENTION`: age, entries, bytes). */
  changeLogRetention: ChangeLogRetention;
  /** The Genesys request budget of the OAuth client, requests per minute (`GENESYS_REQUESTS_PER_MINUTE`): every Genesys call waits on it (genesys/budget.ts); reconciliation spends its share at the lowest priority. */
  genesysRequestsPerMinute: number;
  /** Share in (0, 1] of that budget background reconciliation may spend (`RECONCILE_BUDGET_SHARE`). */
  reconcileBudgetShare: number;
  /** Two snapshot changes of one conversation closer than this are confirmed by a read (ms, `CHANGE_SETTLE_MS`). */
  changeSettleMs: number;
  /** A conversation or queue stays watched this long after its last subscriber left, so resuming with `after` has no gap (ms, `WATCH_LINGER_MS`). */
  watchLingerMs: number;
  /** Staleness bound of query answers served from the change log: at most this long since the conversation's last REST read (ms, `TRACKED_READ_MAX_AGE_MS`; 0 = always read Genesys). */
  trackedReadMaxAgeMs: number;
  /**
   * Several instances on one Redis (`REDIS_URL`; README "Running several instances"). Absent
   * when `REDIS_URL` is unset: one process, nothing shared, exactly as before.
   */
  redis?: RedisSettings;
}

/** Where the instances of one cluster meet (`REDIS_*`). */
export interface RedisSettings {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). Carries the password: never log it, use {@link redactRedisUrl}. */
  url: URL;
  /** Prefix of every key the gateway writes (`REDIS_KEY_PREFIX`, default `gw:`): several clusters may share one Redis. */
  keyPrefix: string;
}

/** Raised for any invalid environment variable; `message` names the variable(s) and says what is expected. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);
const positiveMs = (fallback: number) => z.coerce.number().int().min(1).max(3_600_000).default(fallback);
/** A limit: a whole number, 0 disables it. */
const count = (fallback: number) => z.coerce.number().int().min(0).max(1_000_000_000).default(fallback);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

const envSchema = z.object({
  PORT: port(4000),
  HOST: z.string().min(1).default("127.0.0.1"),
  EMULATOR_PORT: port(4010),
  GENESYS_REGION: optionalString,
  GENESYS_CLIENT_ID: optionalString,
  GENESYS_CLIENT_SECRET: optionalString,
  GENESYS_GATEWAY_URL: optionalString,
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  UPDATE_DEADLINE_MS: positiveMs(5_000),
  HEARTBEAT_TIMEOUT_MS: positiveMs(75_000),
  // Caller auth, browser safety and limits (README "Security").
  GATEWAY_AUTH: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim().toLowerCase()))
    .refine((v) => v === undefined || v === "none", { message: 'the only value is "none" (run without caller auth)' }),
  GATEWAY_API_KEYS: optionalString,
  GATEWAY_API_KEYS_FILE: optionalString,
  GATEWAY_JWT_JWKS_URL: optionalString,
  GATEWAY_JWT_PUBLIC_KEY: optionalString,
  GATEWAY_JWT_ISSUER: optionalString,
  GATEWAY_JWT_AUDIENCE: optionalString,
  CORS_ORIGINS: optionalString,
  METRICS_PORT: z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : v), z.coerce.number().int().min(0).max(65_535).optional()),
  MAX_QUERY_DEPTH: count(DEFAULT_LIMITS.maxDepth),
  MAX_QUERY_ALIASES: count(DEFAULT_LIMITS.maxAliases),
  MAX_QUERY_TOKENS: count(DEFAULT_LIMITS.maxTokens),
  MAX_QUERY_COST: count(DEFAULT_LIMITS.maxCost),
  MAX_QUERY_DIRECTIVES: count(DEFAULT_LIMITS.maxDirectives),
  MAX_QUERY_LIST_NESTING: count(DEFAULT_LIMITS.maxListNesting),
  MAX_CONVERSATIONS_PER_OPERATION: count(DEFAULT_LIMITS.maxConversationsPerOperation),
  RATE_LIMIT_REQUESTS_PER_MINUTE: count(DEFAULT_LIMITS.requestsPerMinute),
  MAX_SUBSCRIPTIONS_PER_SOCKET: count(DEFAULT_LIMITS.subscriptionsPerSocket),
  MAX_SUBSCRIPTIONS_PER_CALLER: count(DEFAULT_LIMITS.subscriptionsPerCaller),
  GRAPHQL_INTROSPECTION: z
    .enum(["true", "false", "1", "0"], { message: 'expected "true" or "false"' })
    .optional()
    .transform((v) => (v === undefined ? undefined : v === "true" || v === "1")),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(z.url({ protocol: /^https?$/, message: "expected an http(s) URL such as http://127.0.0.1:4318" }).optional()),
  OTEL_SERVICE_NAME: z.string().trim().min(1).default("genesys-participants-gateway"),
  NODE_ENV: optionalString,
  // The change log and its reconciliation (README "Configuration").
  CHANGE_LOG_RETENTION: z
    .string()
    .default("15m,100000,64mb")
    .transform((text, ctx) => {
      try {
        return parseRetention(text);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: `${(error as Error).message} (e.g. 15m,100000,64mb)` });
        return z.NEVER;
      }
    }),
  GENESYS_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(300),
  RECONCILE_BUDGET_SHARE: z.coerce.number().gt(0).max(1).default(0.2),
  CHANGE_SETTLE_MS: positiveMs(1_000),
  WATCH_LINGER_MS: z.coerce.number().int().min(0).max(86_400_000).default(60_000),
  TRACKED_READ_MAX_AGE_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  // Several instances on one Redis (README "Running several instances").
  REDIS_URL: optionalString.transform((text, ctx) => {
    if (text === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      // Never echo the value: it may carry a password.
      ctx.addIssue({ code: "custom", message: "not a URL (e.g. redis://127.0.0.1:6379 or rediss://user:password@redis.example.com:6380/0)" });
      return z.NEVER;
    }
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
      ctx.addIssue({ code: "custom", message: "must be a redis:// or rediss:// URL" });
      return z.NEVER;
    }
    if (!url.hostname) {
      ctx.addIssue({ code: "custom", message: "names no host (e.g. redis://127.0.0.1:6379)" });
      return z.NEVER;
    }
    const db = url.pathname.replace(/^\//, "");
    if (db !== "" && !/^\d{1,2}$/.test(db)) {
      ctx.addIssue({ code: "custom", message: `the path must be a database number (e.g. /0), not "${redactRedisUrl(url).pathname}"` });
      return z.NEVER;
    }
    return url;
  }),
  REDIS_KEY_PREFIX: z
    .string()
    .default("gw:")
    .refine((v) => /^[A-Za-z0-9_.:{}-]{1,64}$/.test(v), { message: "1 to 64 characters of A-Z a-z 0-9 _ . : - { } (e.g. gw: or gw:{prod}:)" }),
});

/**
 * `url` with its password (and user name) replaced by `***`, for log lines and error messages,
 * and every query value too (ioredis takes `?password=…` and `?username=…` as connection options).
 * `redis://:s3cret@host:6379/0` → `redis://***@host:6379/0`; `…/0?password=s3cret` → `…/0?password=***`.
 */
export function redactRedisUrl(url: URL): URL {
  const shown = new URL(url.href);
  if (shown.username || shown.password) {
    shown.username = "***";
    shown.password = "";
  }
  if (shown.search) shown.search = [...shown.searchParams.keys()].map((key) => `${encodeURIComponent(key)}=***`).join("&");
  return shown;
}

/** Every environment variable the gateway reads (each has a row in README.md, "Configuration"). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/**
 * Resolves `GENESYS_REGION` to a Genesys environment host.
 * Accepts a region name from the SDK's `PureCloudRegionHosts` table (`eu_west_1`,
 * case-insensitive, `-` or `_`) or a host such as `mypurecloud.ie` / `usw2.pure.cloud`.
 * @throws ConfigError for anything else.
 */
export function resolveEnvironment(region: string): string {
  const hosts = platformClient.PureCloudRegionHosts;
  const key = region.toLowerCase().replace(/-/g, "_");
  if (hosts[key]) return hosts[key];
  const host = region.toLowerCase().replace(/^(https?:\/\/)?(api\.|login\.)?/, "").replace(/\/+$/, "");
  if (Object.values(hosts).includes(host)) return host;
  if (/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(host)) return host;
  throw new ConfigError(
    `GENESYS_REGION: "${region}" is neither a region (${Object.keys(hosts).join(", ")}) nor a host such as mypurecloud.ie`,
  );
}

/**
 * Reads and validates the configuration.
 *
 * Genesys target (README.md, "Configuration"): none of {@link GENESYS_VARIABLES} set and
 * `NODE_ENV` not `production` → the embedded emulator; otherwise `GENESYS_CLIENT_ID`,
 * `GENESYS_CLIENT_SECRET` and exactly one of `GENESYS_REGION` / `GENESYS_GATEWAY_URL` are
 * required. Nothing falls back silently: no default region, no emulator in production.
 * @param env the environment (default `process.env`).
 * @throws ConfigError naming every invalid variable, or every missing Genesys variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  const e = parsed.data;
  const genesys = genesysTarget(e, e.NODE_ENV === "production");
  return {
    port: e.PORT,
    host: e.HOST,
    genesys,
    logLevel: e.LOG_LEVEL,
    updateDeadlineMs: e.UPDATE_DEADLINE_MS,
    heartbeatTimeoutMs: e.HEARTBEAT_TIMEOUT_MS,
    auth: resolveAuth(e, genesys),
    limits: {
      maxDepth: e.MAX_QUERY_DEPTH,
      maxAliases: e.MAX_QUERY_ALIASES,
      maxTokens: e.MAX_QUERY_TOKENS,
      maxCost: e.MAX_QUERY_COST,
      maxDirectives: e.MAX_QUERY_DIRECTIVES,
      maxListNesting: e.MAX_QUERY_LIST_NESTING,
      maxConversationsPerOperation: e.MAX_CONVERSATIONS_PER_OPERATION,
      requestsPerMinute: e.RATE_LIMIT_REQUESTS_PER_MINUTE,
      subscriptionsPerSocket: e.MAX_SUBSCRIPTIONS_PER_SOCKET,
      subscriptionsPerCaller: e.MAX_SUBSCRIPTIONS_PER_CALLER,
    },
    cors: { origins: resolveOrigins(e.CORS_ORIGINS) },
    ...(e.METRICS_PORT !== undefined ? { metricsPort: e.METRICS_PORT } : {}),
    introspection: e.GRAPHQL_INTROSPECTION ?? e.NODE_ENV !== "production",
    tracing: {
      endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT ? new URL(e.OTEL_EXPORTER_OTLP_ENDPOINT) : undefined,
      serviceName: e.OTEL_SERVICE_NAME,
    },
    changeLogRetention: e.CHANGE_LOG_RETENTION,
    genesysRequestsPerMinute: e.GENESYS_REQUESTS_PER_MINUTE,
    reconcileBudgetShare: e.RECONCILE_BUDGET_SHARE,
    changeSettleMs: e.CHANGE_SETTLE_MS,
    watchLingerMs: e.WATCH_LINGER_MS,
    trackedReadMaxAgeMs: e.TRACKED_READ_MAX_AGE_MS,
    ...(e.REDIS_URL !== undefined ? { redis: { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX } } : {}),
  };
}

type ParsedEnv = z.infer<typeof envSchema>;

/**
 * Chooses the Genesys target from the (already trimmed) Genesys variables.
 * @throws ConfigError for a partial configuration (naming what is set and what is missing),
 *   for production without any, and for a bad `GENESYS_REGION` / `GENESYS_GATEWAY_URL`.
 */
function genesysTarget(e: ParsedEnv, production: boolean): GenesysTarget {
  const given = GENESYS_VARIABLES.filter((name) => e[name] !== undefined);
  if (given.length === 0) {
    if (production) {
      throw new ConfigError(
        "NODE_ENV=production needs a Genesys Cloud org: set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_REGION " +
          "(or GENESYS_GATEWAY_URL). The embedded emulator and its demo data never start in production.",
      );
    }
    return { kind: "embedded-emulator", emulatorPort: e.EMULATOR_PORT };
  }
  if (e.GENESYS_REGION !== undefined && e.GENESYS_GATEWAY_URL !== undefined) {
    throw new ConfigError("GENESYS_REGION and GENESYS_GATEWAY_URL are both set: set one (the region of a Genesys Cloud org, or the base URL of an emulator), not both");
  }
  const missing: string[] = [];
  if (e.GENESYS_CLIENT_ID === undefined) missing.push("GENESYS_CLIENT_ID");
  if (e.GENESYS_CLIENT_SECRET === undefined) missing.push("GENESYS_CLIENT_SECRET");
  if (e.GENESYS_REGION === undefined && e.GENESYS_GATEWAY_URL === undefined) missing.push("GENESYS_REGION (or GENESYS_GATEWAY_URL)");
  const clientId = e.GENESYS_CLIENT_ID;
  const clientSecret = e.GENESYS_CLIENT_SECRET;
  if (missing.length > 0 || clientId === undefined || clientSecret === undefined) {
    const emulator = production ? "" : ", or none of them for the embedded emulator";
    throw new ConfigError(
      `incomplete Genesys configuration: ${given.join(", ")} ${given.length === 1 ? "is" : "are"} set but ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} missing. ` +
        `Set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_REGION (or GENESYS_GATEWAY_URL) to use Genesys Cloud${emulator}.`,
    );
  }
  if (e.GENESYS_GATEWAY_URL !== undefined) {
    let baseUrl: URL;
    try {
      baseUrl = new URL(e.GENESYS_GATEWAY_URL);
    } catch {
      throw new ConfigError("GENESYS_GATEWAY_URL: not a URL (e.g. http://127.0.0.1:4010)");
    }
    if (baseUrl.protocol !== "http:" && baseUrl.protocol !== "https:") {
      throw new ConfigError("GENESYS_GATEWAY_URL: must be an http:// or https:// URL");
    }
    if (baseUrl.username || baseUrl.password) {
      throw new ConfigError("GENESYS_GATEWAY_URL: must not carry credentials; use GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET");
    }
    return { kind: "gateway", baseUrl, clientId, clientSecret };
  }
  return { kind: "cloud", environment: resolveEnvironment(e.GENESYS_REGION!), clientId, clientSecret };
}

/**
 * Describes `target` for operators (the start log line; `/readyz` says the same through
 * {@link describeGenesysEndpoint}), without the secret.
 * @param emulator for the embedded emulator, where it runs and the client id the gateway uses
 *   with it (known only once it has started: `EMULATOR_PORT=0` picks the port then).
 * @throws Error when `target` is the embedded emulator and `emulator` is not given.
 */
export function describeGenesysTarget(target: GenesysTarget, emulator?: { url: string; clientId: string }): GenesysTargetDescription {
  switch (target.kind) {
    case "cloud":
      return describeGenesysEndpoint({ environment: target.environment }, target.clientId);
    case "gateway":
      return describeGenesysEndpoint({ baseUrl: target.baseUrl }, target.clientId);
    case "embedded-emulator":
      if (!emulator) throw new Error("describeGenesysTarget: the embedded emulator's url and client id are known once it has started");
      return describeGenesysEndpoint({ baseUrl: new URL(emulator.url) }, emulator.clientId, { embeddedEmulator: true });
  }
}

/**
 * Caller auth from `GATEWAY_AUTH`, `GATEWAY_API_KEYS` / `GATEWAY_API_KEYS_FILE` and `GATEWAY_JWT_*`.
 * Secure by default: with Genesys credentials (a real org, or any `GENESYS_GATEWAY_URL`) the
 * gateway refuses to start without caller auth unless `GATEWAY_AUTH=none`; only the embedded
 * demo runs without it on its own.
 * @throws ConfigError naming the variable; never echoes a key.
 */
export function resolveAuth(e: ParsedEnv, genesys: GenesysTarget): AuthSettings {
  if (e.GATEWAY_API_KEYS && e.GATEWAY_API_KEYS_FILE) throw new ConfigError("set GATEWAY_API_KEYS or GATEWAY_API_KEYS_FILE, not both");
  let apiKeys: ApiKey[] | undefined;
  try {
    if (e.GATEWAY_API_KEYS) apiKeys = parseApiKeys(e.GATEWAY_API_KEYS, "GATEWAY_API_KEYS");
    if (e.GATEWAY_API_KEYS_FILE) {
      let text: string;
      try {
        text = readFileSync(e.GATEWAY_API_KEYS_FILE, "utf8");
      } catch (error) {
        throw new Error(`GATEWAY_API_KEYS_FILE: cannot read ${e.GATEWAY_API_KEYS_FILE} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
      }
      apiKeys = parseApiKeys(text, `GATEWAY_API_KEYS_FILE (${e.GATEWAY_API_KEYS_FILE})`);
    }
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  if (apiKeys && apiKeys.length === 0) throw new ConfigError("GATEWAY_API_KEYS: the list has no keys");
  const jwt = resolveJwt(e);
  if (e.GATEWAY_AUTH === "none") {
    if (apiKeys || jwt) throw new ConfigError("GATEWAY_AUTH=none contradicts the configured API keys / JWT settings: remove one or the other");
    return { mode: "none", reason: "explicit" };
  }
  if (apiKeys || jwt) return { mode: "required", apiKeys: apiKeys ?? [], ...(jwt ? { jwt } : {}) };
  if (genesys.kind === "embedded-emulator") return { mode: "none", reason: "embedded-demo" };
  throw new ConfigError(
    "no caller auth configured while the gateway uses Genesys credentials: set GATEWAY_API_KEYS, GATEWAY_API_KEYS_FILE or GATEWAY_JWT_* (README \"Security\"), or GATEWAY_AUTH=none to let anyone who reaches the port use this org",
  );
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

function resolveJwt(e: ParsedEnv): JwtSettings | undefined {
  const any = e.GATEWAY_JWT_JWKS_URL ?? e.GATEWAY_JWT_PUBLIC_KEY ?? e.GATEWAY_JWT_ISSUER ?? e.GATEWAY_JWT_AUDIENCE;
  if (any === undefined) return undefined;
  if ((e.GATEWAY_JWT_JWKS_URL === undefined) === (e.GATEWAY_JWT_PUBLIC_KEY === undefined)) {
    throw new ConfigError("JWT auth needs exactly one of GATEWAY_JWT_JWKS_URL or GATEWAY_JWT_PUBLIC_KEY");
  }
  if (!e.GATEWAY_JWT_ISSUER || !e.GATEWAY_JWT_AUDIENCE) {
    throw new ConfigError("JWT auth needs GATEWAY_JWT_ISSUER and GATEWAY_JWT_AUDIENCE (the iss and aud every token must carry)");
  }
  const settings: JwtSettings = { issuer: e.GATEWAY_JWT_ISSUER, audience: e.GATEWAY_JWT_AUDIENCE };
  if (e.GATEWAY_JWT_JWKS_URL) {
    let url: URL;
    try {
      url = new URL(e.GATEWAY_JWT_JWKS_URL);
    } catch {
      throw new ConfigError("GATEWAY_JWT_JWKS_URL: not a URL");
    }
    if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
      throw new ConfigError("GATEWAY_JWT_JWKS_URL: must be https:// (http:// only on loopback)");
    }
    settings.jwksUrl = url;
  } else {
    // Environment files often carry a PEM on one line with literal "\n".
    const pem = e.GATEWAY_JWT_PUBLIC_KEY!.replace(/\\n/g, "\n");
    // createPublicKey would derive the public half of a private key and work: refuse instead, so
    // the identity provider's signing key is never deployed with (or logged by) the gateway.
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
      throw new ConfigError("GATEWAY_JWT_PUBLIC_KEY: this is a private key; give the identity provider's public key (-----BEGIN PUBLIC KEY-----…) and keep the private key off the gateway");
    }
    try {
      const key = createPublicKey(pem);
      if (key.asymmetricKeyType === undefined) throw new Error("not an asymmetric key");
    } catch {
      throw new ConfigError("GATEWAY_JWT_PUBLIC_KEY: not a PEM public key (-----BEGIN PUBLIC KEY-----…)");
    }
    settings.publicKeyPem = pem;
  }
  return settings;
}

/** `CORS_ORIGINS`: comma-separated exact origins. @throws ConfigError for anything not an origin. */
function resolveOrigins(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o.length > 0)
    .map((o) => {
      const origin = normalizeOrigin(o);
      if (!origin) throw new ConfigError(`CORS_ORIGINS: "${o}" is not an origin such as https://app.example.com (scheme, host, optional port; no path, no "*")`);
      return origin;
    });
}
