/**
 * Gateway configuration from environment variables, validated once at start.
 *
 * Every variable, its default and meaning is listed in README.md ("Configuration").
 * A bad value stops the process with a message naming the variable; secrets are never echoed.
 */
import platformClient from "purecloud-platform-client-v2";
import { z } from "zod";
import { parseRetention, type ChangeLogRetention } from "./attributes/change-log.js";

/** Where the gateway sends Genesys traffic. */
export type GenesysTarget =
  /** The real service: `https://api.{environment}` / `https://login.{environment}` / `wss://streaming.{environment}`. */
  | { kind: "cloud"; environment: string; clientId: string; clientSecret: string }
  /** An explicit base URL (an emulator): login, API and notifications all go to it. */
  | { kind: "gateway"; baseUrl: URL; clientId: string; clientSecret: string }
  /** No credentials configured: start the embedded emulator and use it. */
  | { kind: "embedded-emulator"; emulatorPort: number };

/** The validated configuration. Durations in ms. */
export interface GatewayConfig {
  /** TCP port of the GraphQL gateway (HTTP and WebSocket on the same port). */
  port: number;
  /** Interface the gateway listens on (default 127.0.0.1; 0.0.0.0 to expose it: it has no caller auth yet). */
  host: string;
  genesys: GenesysTarget;
  /** pino log level. */
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** How long `updateAttributes` may try to see its write before answering `UpdateNotConfirmed` (ms). */
  updateDeadlineMs: number;
  /** A notification socket silent for this long is considered dead and reconnected (ms). */
  heartbeatTimeoutMs: number;
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
}

/** Raised for any invalid environment variable; `message` names the variable(s) and says what is expected. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);
const positiveMs = (fallback: number) => z.coerce.number().int().min(1).max(3_600_000).default(fallback);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

const envSchema = z.object({
  PORT: port(4000),
  HOST: z.string().min(1).default("127.0.0.1"),
  EMULATOR_PORT: port(4010),
  GENESYS_REGION: z.string().trim().min(1).default("us_east_1"),
  GENESYS_CLIENT_ID: optionalString,
  GENESYS_CLIENT_SECRET: optionalString,
  GENESYS_GATEWAY_URL: optionalString,
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  UPDATE_DEADLINE_MS: positiveMs(5_000),
  HEARTBEAT_TIMEOUT_MS: positiveMs(75_000),
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
});

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
 * @param env the environment (default `process.env`).
 * @throws ConfigError naming every invalid variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  const e = parsed.data;
  const clientId = e.GENESYS_CLIENT_ID;
  const clientSecret = e.GENESYS_CLIENT_SECRET;
  if ((clientId === undefined) !== (clientSecret === undefined)) {
    throw new ConfigError("GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET must be set together (or neither, for the embedded emulator)");
  }
  let genesys: GenesysTarget;
  if (clientId === undefined || clientSecret === undefined) {
    if (e.GENESYS_GATEWAY_URL) throw new ConfigError("GENESYS_GATEWAY_URL needs GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET");
    genesys = { kind: "embedded-emulator", emulatorPort: e.EMULATOR_PORT };
  } else if (e.GENESYS_GATEWAY_URL) {
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
    genesys = { kind: "gateway", baseUrl, clientId, clientSecret };
  } else {
    genesys = { kind: "cloud", environment: resolveEnvironment(e.GENESYS_REGION), clientId, clientSecret };
  }
  return {
    port: e.PORT,
    host: e.HOST,
    genesys,
    logLevel: e.LOG_LEVEL,
    updateDeadlineMs: e.UPDATE_DEADLINE_MS,
    heartbeatTimeoutMs: e.HEARTBEAT_TIMEOUT_MS,
    changeLogRetention: e.CHANGE_LOG_RETENTION,
    genesysRequestsPerMinute: e.GENESYS_REQUESTS_PER_MINUTE,
    reconcileBudgetShare: e.RECONCILE_BUDGET_SHARE,
    changeSettleMs: e.CHANGE_SETTLE_MS,
    watchLingerMs: e.WATCH_LINGER_MS,
    trackedReadMaxAgeMs: e.TRACKED_READ_MAX_AGE_MS,
  };
}
