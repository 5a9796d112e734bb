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
  /** Interface the gateway listens on (default 127.0.0.1; 0.0.0.0 to expose it: it has no caller auth yet). */
  host: string;
  genesys: GenesysTarget;
  /** pino log level. */
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** How long `updateAttributes` may try to see its write before answering `UpdateNotConfirmed` (ms). */
  updateDeadlineMs: number;
  /** A notification socket silent for this long is considered dead and reconnected (ms). */
  heartbeatTimeoutMs: number;
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
  GENESYS_REGION: optionalString,
  GENESYS_CLIENT_ID: optionalString,
  GENESYS_CLIENT_SECRET: optionalString,
  GENESYS_GATEWAY_URL: optionalString,
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  UPDATE_DEADLINE_MS: positiveMs(5_000),
  HEARTBEAT_TIMEOUT_MS: positiveMs(75_000),
  NODE_ENV: optionalString,
});

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
 * What the gateway says about its Genesys (start log line, `/readyz`): JSON-safe, never the
 * client secret.
 * - `cloud`: `environment` is the host suffix (`mypurecloud.ie`: API `https://api.mypurecloud.ie`);
 *   `region` the SDK's region name for it when it has one (`eu_west_1`);
 * - `gateway`: `baseUrl` is `GENESYS_GATEWAY_URL`, normalized;
 * - `embedded-emulator`: `emulatorUrl` where the embedded emulator listens; its demo data is not
 *   a real org.
 */
export type GenesysTargetDescription =
  | { kind: "cloud"; environment: string; region?: string; clientId: string }
  | { kind: "gateway"; baseUrl: string; clientId: string }
  | { kind: "embedded-emulator"; emulatorUrl: string; clientId: string };

/**
 * Describes `target` for operators, without the secret.
 * @param emulator for the embedded emulator, where it runs and the client id the gateway uses
 *   with it (known only once it has started: `EMULATOR_PORT=0` picks the port then).
 * @throws Error when `target` is the embedded emulator and `emulator` is not given.
 */
export function describeGenesysTarget(target: GenesysTarget, emulator?: { url: string; clientId: string }): GenesysTargetDescription {
  switch (target.kind) {
    case "cloud": {
      const region = Object.entries(platformClient.PureCloudRegionHosts).find(([, host]) => host === target.environment)?.[0];
      return { kind: "cloud", environment: target.environment, ...(region ? { region } : {}), clientId: target.clientId };
    }
    case "gateway":
      return { kind: "gateway", baseUrl: target.baseUrl.href, clientId: target.clientId };
    case "embedded-emulator":
      if (!emulator) throw new Error("describeGenesysTarget: the embedded emulator's url and client id are known once it has started");
      return { kind: "embedded-emulator", emulatorUrl: emulator.url, clientId: emulator.clientId };
  }
}

/**
 * One human-readable line for {@link describeGenesysTarget}'s result, e.g.
 * `Genesys Cloud eu_west_1 (https://api.mypurecloud.ie), client id 7d3…` or
 * `the embedded Genesys Cloud emulator at http://127.0.0.1:4010 (demo data, not a real org), client id emulator-demo-client`.
 */
export function genesysTargetSummary(description: GenesysTargetDescription): string {
  switch (description.kind) {
    case "cloud":
      return `Genesys Cloud ${description.region ?? description.environment} (https://api.${description.environment}), client id ${description.clientId}`;
    case "gateway":
      return `the Genesys API at ${description.baseUrl} (GENESYS_GATEWAY_URL), client id ${description.clientId}`;
    case "embedded-emulator":
      return `the embedded Genesys Cloud emulator at ${description.emulatorUrl} (demo data, not a real org), client id ${description.clientId}`;
  }
}
