/**
 * Proves that `loadConfig(env)` (src/config.ts) turns environment variables into the gateway
 * configuration documented in README.md ("Configuration"): the defaults, the embedded
 * emulator when no Genesys credentials are set, region names and hosts for GENESYS_REGION,
 * GENESYS_GATEWAY_URL, and a ConfigError naming the offending variable(s) for bad input —
 * never echoing the client secret.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, type GatewayConfig } from "../src/config.js";
import { DEFAULT_LIMITS } from "../src/limits/settings.js";

const SECRET = "s3cr3t-VALUE-that-must-not-leak";
/** Genesys credentials; caller auth explicitly off (these tests are about the Genesys target; test/config-security.test.ts covers auth). */
const creds = { GENESYS_CLIENT_ID: "my-client-id", GENESYS_CLIENT_SECRET: SECRET, GATEWAY_AUTH: "none" };

/** Runs loadConfig and returns the ConfigError it throws (fails the test when it does not throw one). */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig(${JSON.stringify(Object.keys(env))}) did not throw`);
}

function cloudEnvironment(config: GatewayConfig): string {
  if (config.genesys.kind !== "cloud") throw new Error(`expected a cloud target, got ${config.genesys.kind}`);
  return config.genesys.environment;
}

describe("loadConfig defaults", () => {
  it("an empty environment gives the documented defaults and the embedded emulator", () => {
    expect(loadConfig({})).toEqual({
      port: 4000,
      host: "127.0.0.1",
      genesys: { kind: "embedded-emulator", emulatorPort: 4010 },
      logLevel: "info",
      updateDeadlineMs: 5000,
      heartbeatTimeoutMs: 75000,
      auth: { mode: "none", reason: "embedded-demo" },
      limits: DEFAULT_LIMITS,
      cors: { origins: [] },
      introspection: true,
      tracing: { endpoint: undefined, serviceName: "genesys-participants-gateway" },
    });
  });

  it("reads every variable", () => {
    const config = loadConfig({
      PORT: "8080",
      HOST: "0.0.0.0",
      EMULATOR_PORT: "9010",
      LOG_LEVEL: "debug",
      UPDATE_DEADLINE_MS: "2500",
      HEARTBEAT_TIMEOUT_MS: "40000",
      GRAPHQL_INTROSPECTION: "false",
      OTEL_SERVICE_NAME: "gw",
    });
    expect(config).toEqual({
      port: 8080,
      host: "0.0.0.0",
      genesys: { kind: "embedded-emulator", emulatorPort: 9010 },
      logLevel: "debug",
      updateDeadlineMs: 2500,
      heartbeatTimeoutMs: 40000,
      auth: { mode: "none", reason: "embedded-demo" },
      limits: DEFAULT_LIMITS,
      cors: { origins: [] },
      introspection: false,
      tracing: { endpoint: undefined, serviceName: "gw" },
    });
  });

  it("blank credentials count as unset (embedded emulator)", () => {
    expect(loadConfig({ GENESYS_CLIENT_ID: "  ", GENESYS_CLIENT_SECRET: "" }).genesys.kind).toBe("embedded-emulator");
  });

  it("with credentials and no region it targets us_east_1 (mypurecloud.com)", () => {
    expect(loadConfig({ ...creds }).genesys).toEqual({
      kind: "cloud",
      environment: "mypurecloud.com",
      clientId: "my-client-id",
      clientSecret: SECRET,
    });
  });
});

describe("credentials", () => {
  it.each([
    ["only the id", { GENESYS_CLIENT_ID: "my-client-id" }],
    ["only the secret", { GENESYS_CLIENT_SECRET: SECRET }],
  ])("%s → ConfigError naming both variables", (_label, env) => {
    const error = configError(env);
    expect(error.message).toContain("GENESYS_CLIENT_ID");
    expect(error.message).toContain("GENESYS_CLIENT_SECRET");
  });
});

describe("PORT and other numbers", () => {
  it.each(["abc", "-1", "65536", "80.5"])("PORT=%s → ConfigError naming PORT", (value) => {
    const error = configError({ PORT: value });
    expect(error.message).toMatch(/\bPORT\b/);
    expect(error.message).not.toMatch(/EMULATOR_PORT/);
  });

  it("a bad EMULATOR_PORT names EMULATOR_PORT", () => {
    expect(configError({ EMULATOR_PORT: "x" }).message).toContain("EMULATOR_PORT");
  });

  it("PORT=0 is accepted (pick a free port)", () => {
    expect(loadConfig({ PORT: "0" }).port).toBe(0);
  });

  it("a bad LOG_LEVEL names LOG_LEVEL", () => {
    expect(configError({ LOG_LEVEL: "verbose" }).message).toContain("LOG_LEVEL");
  });

  it("UPDATE_DEADLINE_MS=0 is refused (must be positive)", () => {
    expect(configError({ UPDATE_DEADLINE_MS: "0" }).message).toContain("UPDATE_DEADLINE_MS");
  });
});

describe("GENESYS_REGION", () => {
  it.each([
    ["eu_west_1", "mypurecloud.ie"],
    ["EU_WEST_1", "mypurecloud.ie"],
    ["eu-west-1", "mypurecloud.ie"],
    ["Eu-West-1", "mypurecloud.ie"],
    ["us_west_2", "usw2.pure.cloud"],
    ["ap_southeast_2", "mypurecloud.com.au"],
  ])("region name %s → %s", (region, host) => {
    expect(cloudEnvironment(loadConfig({ ...creds, GENESYS_REGION: region }))).toBe(host);
  });

  it.each([
    ["mypurecloud.ie", "mypurecloud.ie"],
    ["usw2.pure.cloud", "usw2.pure.cloud"],
    ["MyPureCloud.DE", "mypurecloud.de"],
    ["api.mypurecloud.ie", "mypurecloud.ie"],
    ["https://login.mypurecloud.jp/", "mypurecloud.jp"],
  ])("host %s → %s", (region, host) => {
    expect(cloudEnvironment(loadConfig({ ...creds, GENESYS_REGION: region }))).toBe(host);
  });

  it.each(["garbage", "eu west 1", "mypurecloud .ie", "!!!"])("%s → ConfigError naming GENESYS_REGION", (region) => {
    const error = configError({ ...creds, GENESYS_REGION: region });
    expect(error.message).toContain("GENESYS_REGION");
    expect(error.message).not.toContain(SECRET);
  });

  it("is ignored without credentials (embedded emulator)", () => {
    expect(loadConfig({ GENESYS_REGION: "eu_west_1" }).genesys.kind).toBe("embedded-emulator");
  });
});

describe("GENESYS_GATEWAY_URL", () => {
  it("with credentials targets that URL", () => {
    const config = loadConfig({ ...creds, GENESYS_GATEWAY_URL: "http://127.0.0.1:4010" });
    expect(config.genesys.kind).toBe("gateway");
    if (config.genesys.kind !== "gateway") return;
    expect(config.genesys.baseUrl.href).toBe("http://127.0.0.1:4010/");
    expect(config.genesys.clientId).toBe("my-client-id");
    expect(config.genesys.clientSecret).toBe(SECRET);
  });

  it("takes precedence over GENESYS_REGION", () => {
    const config = loadConfig({ ...creds, GENESYS_REGION: "eu_west_1", GENESYS_GATEWAY_URL: "https://emulator.example:8443" });
    expect(config.genesys.kind).toBe("gateway");
  });

  it("without credentials → ConfigError naming the credential variables", () => {
    const error = configError({ GENESYS_GATEWAY_URL: "http://127.0.0.1:4010" });
    expect(error.message).toContain("GENESYS_GATEWAY_URL");
    expect(error.message).toContain("GENESYS_CLIENT_ID");
    expect(error.message).toContain("GENESYS_CLIENT_SECRET");
  });

  it.each(["not a url", "ftp://127.0.0.1:4010"])("%s → ConfigError naming GENESYS_GATEWAY_URL", (url) => {
    const error = configError({ ...creds, GENESYS_GATEWAY_URL: url });
    expect(error.message).toContain("GENESYS_GATEWAY_URL");
  });
});

describe("the client secret never appears in an error message", () => {
  it.each<[string, Record<string, string>]>([
    ["secret without id", { GENESYS_CLIENT_SECRET: SECRET }],
    ["bad PORT", { ...creds, PORT: "nope" }],
    ["bad region", { ...creds, GENESYS_REGION: "nowhere" }],
    ["bad gateway URL", { ...creds, GENESYS_GATEWAY_URL: "::::" }],
    ["several bad values", { ...creds, PORT: "-5", LOG_LEVEL: "loud", UPDATE_DEADLINE_MS: "soon" }],
  ])("%s", (_label, env) => {
    const error = configError(env);
    expect(error.message).not.toContain(SECRET);
    expect(String(error.stack)).not.toContain(SECRET);
  });
});

describe("introspection and tracing settings (issue 7)", () => {
  it("GRAPHQL_INTROSPECTION defaults to on, off under NODE_ENV=production, and an explicit value wins", () => {
    expect(loadConfig({}).introspection).toBe(true);
    expect(loadConfig({ NODE_ENV: "production" }).introspection).toBe(false);
    expect(loadConfig({ GRAPHQL_INTROSPECTION: "false" }).introspection).toBe(false);
    expect(loadConfig({ NODE_ENV: "production", GRAPHQL_INTROSPECTION: "true" }).introspection).toBe(true);
    expect(() => loadConfig({ GRAPHQL_INTROSPECTION: "yes" })).toThrow(/GRAPHQL_INTROSPECTION/);
  });

  it("tracing is off without OTEL_EXPORTER_OTLP_ENDPOINT, and the endpoint must be an http(s) URL", () => {
    expect(loadConfig({}).tracing).toEqual({ endpoint: undefined, serviceName: "genesys-participants-gateway" });
    const on = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SERVICE_NAME: "gw-eu" }).tracing;
    expect(on.endpoint?.href).toBe("http://collector:4318/");
    expect(on.serviceName).toBe("gw-eu");
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});
