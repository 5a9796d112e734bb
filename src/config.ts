/**
 * Gateway configuration from environment variables, validated once at start.
 *
 * Every variable, its default and meaning is listed in README.md ("Configuration").
 * A bad value stops the process with a message naming the variable; secrets are never echoed.
 */
import platformClient from "purecloud-platform-client-v2";
import { z } from "zod";

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
  GRAPHQL_INTROSPECTION: z
    .enum(["true", "false", "1", "0"], { message: 'expected "true" or "false"' })
    .optional()
    .transform((v) => (v === undefined ? undefined : v === "true" || v === "1")),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(z.url({ protocol: /^https?$/, message: "expected an http(s) URL such as http://127.0.0.1:4318" }).optional()),
  OTEL_SERVICE_NAME: z.string().trim().min(1).default("genesys-participants-gateway"),
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
    introspection: e.GRAPHQL_INTROSPECTION ?? env.NODE_ENV !== "production",
    tracing: {
      endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT ? new URL(e.OTEL_EXPORTER_OTLP_ENDPOINT) : undefined,
      serviceName: e.OTEL_SERVICE_NAME,
    },
  };
}
