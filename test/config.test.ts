/**
 * Proves that `loadConfig(env)` (src/config.ts) turns environment variables into the gateway
 * configuration documented in README.md ("Configuration"): the defaults, the embedded
 * emulator only when no Genesys variable is set and NODE_ENV is not production, a ConfigError
 * naming what is missing for any partial Genesys configuration or production without one,
 * region names and hosts for GENESYS_REGION, GENESYS_GATEWAY_URL, and a ConfigError naming the
 * offending variable(s) for bad input — never echoing the client secret. Also proves
 * `describeGenesysTarget` / `genesysTargetSummary` (the start log line, `/readyz`): which
 * Genesys, which client id, never the secret.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES, ConfigError, describeGenesysTarget, genesysTargetSummary, loadConfig, redactRedisUrl, type GatewayConfig } from "../src/config.js";
import { DEFAULT_LIMITS } from "../src/limits/settings.js";

const SECRET = "s3cr3t-VALUE-that-must-not-leak";
/** Genesys credentials; caller auth explicitly off (these tests are about the Genesys target; test/config-security.test.ts covers auth). */
const creds = { GENESYS_CLIENT_ID: "my-client-id", GENESYS_CLIENT_SECRET: SECRET, GATEWAY_AUTH: "none" };
/** A complete Genesys Cloud configuration. */
const cloud = { ...creds, GENESYS_REGION: "eu_west_1" };

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
      changeLogRetention: { maxAgeMs: 900_000, maxEntries: 100_000, maxBytes: 64 * 1024 * 1024 },
      genesysRequestsPerMinute: 300,
      reconcileBudgetShare: 0.2,
      changeSettleMs: 1000,
      watchLingerMs: 60000,
      trackedReadMaxAgeMs: 30000,
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
      CHANGE_LOG_RETENTION: "1h,5000",
      GENESYS_REQUESTS_PER_MINUTE: "600",
      RECONCILE_BUDGET_SHARE: "0.5",
      CHANGE_SETTLE_MS: "750",
      WATCH_LINGER_MS: "0",
      TRACKED_READ_MAX_AGE_MS: "5000",
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
      changeLogRetention: { maxAgeMs: 3_600_000, maxEntries: 5000, maxBytes: 64 * 1024 * 1024 },
      genesysRequestsPerMinute: 600,
      reconcileBudgetShare: 0.5,
      changeSettleMs: 750,
      watchLingerMs: 0,
      trackedReadMaxAgeMs: 5000,
    });
  });

  it("blank Genesys variables count as unset (embedded emulator)", () => {
    expect(
      loadConfig({ GENESYS_CLIENT_ID: "  ", GENESYS_CLIENT_SECRET: "", GENESYS_REGION: " ", GENESYS_GATEWAY_URL: "" }).genesys.kind,
    ).toBe("embedded-emulator");
  });

  it("credentials and a region target that Genesys Cloud", () => {
    expect(loadConfig(cloud).genesys).toEqual({
      kind: "cloud",
      environment: "mypurecloud.ie",
      clientId: "my-client-id",
      clientSecret: SECRET,
    });
  });

  it("a NODE_ENV other than production still gets the embedded emulator", () => {
    for (const nodeEnv of ["development", "test", ""]) {
      expect(loadConfig({ NODE_ENV: nodeEnv }).genesys.kind).toBe("embedded-emulator");
    }
  });
});

describe("a partial Genesys configuration is refused, naming what is set and what is missing", () => {
  it.each<[string, Record<string, string>, string[], string[]]>([
    ["only the id", { GENESYS_CLIENT_ID: "my-client-id" }, ["GENESYS_CLIENT_ID"], ["GENESYS_CLIENT_SECRET", "GENESYS_REGION (or GENESYS_GATEWAY_URL)"]],
    ["only the secret", { GENESYS_CLIENT_SECRET: SECRET }, ["GENESYS_CLIENT_SECRET"], ["GENESYS_CLIENT_ID", "GENESYS_REGION (or GENESYS_GATEWAY_URL)"]],
    ["only the region", { GENESYS_REGION: "eu_west_1" }, ["GENESYS_REGION"], ["GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET"]],
    ["only the gateway URL", { GENESYS_GATEWAY_URL: "http://127.0.0.1:4010" }, ["GENESYS_GATEWAY_URL"], ["GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET"]],
    ["credentials without a region", { ...creds }, ["GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET"], ["GENESYS_REGION (or GENESYS_GATEWAY_URL)"]],
    ["region and id, no secret", { GENESYS_REGION: "eu_west_1", GENESYS_CLIENT_ID: "my-client-id" }, ["GENESYS_REGION", "GENESYS_CLIENT_ID"], ["GENESYS_CLIENT_SECRET"]],
    ["region and secret, blank id", { GENESYS_REGION: "eu_west_1", GENESYS_CLIENT_SECRET: SECRET, GENESYS_CLIENT_ID: " " }, ["GENESYS_REGION", "GENESYS_CLIENT_SECRET"], ["GENESYS_CLIENT_ID"]],
  ])("%s", (_label, env, set, missing) => {
    const error = configError(env);
    const [givenPart, missingPart] = error.message.split(" but ");
    expect(error.message).toMatch(/^incomplete Genesys configuration: /);
    for (const name of set) expect(givenPart).toContain(name);
    for (const name of missing) expect(missingPart?.split(". ")[0]).toContain(name);
    expect(error.message).toContain("or none of them for the embedded emulator");
    expect(error.message).not.toContain(SECRET);
    // One line: it is what the process prints before exiting 1.
    expect(error.message).not.toContain("\n");
  });

  it("in production the message does not offer the embedded emulator", () => {
    const error = configError({ NODE_ENV: "production", GENESYS_REGION: "eu_west_1" });
    expect(error.message).toContain("GENESYS_CLIENT_ID");
    expect(error.message).not.toContain("embedded emulator");
  });

  it("GENESYS_REGION and GENESYS_GATEWAY_URL together are refused (one would be ignored)", () => {
    const error = configError({ ...cloud, GENESYS_GATEWAY_URL: "https://emulator.example:8443" });
    expect(error.message).toContain("GENESYS_REGION");
    expect(error.message).toContain("GENESYS_GATEWAY_URL");
    expect(error.message).not.toContain(SECRET);
  });
});

describe("NODE_ENV=production", () => {
  it("without any Genesys variable → ConfigError naming the variables to set (never the emulator)", () => {
    const error = configError({ NODE_ENV: "production" });
    expect(error.message).toContain("NODE_ENV=production");
    for (const name of ["GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET", "GENESYS_REGION", "GENESYS_GATEWAY_URL"]) {
      expect(error.message).toContain(name);
    }
  });

  it("with a complete configuration targets it, as outside production", () => {
    expect(loadConfig({ NODE_ENV: "production", ...cloud }).genesys).toEqual(loadConfig(cloud).genesys);
    expect(loadConfig({ NODE_ENV: "production", ...creds, GENESYS_GATEWAY_URL: "http://127.0.0.1:4010" }).genesys.kind).toBe("gateway");
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

  it.each([
    ["CHANGE_LOG_RETENTION", "15 minutes"],
    ["CHANGE_LOG_RETENTION", "0"],
    ["GENESYS_REQUESTS_PER_MINUTE", "0"],
    ["RECONCILE_BUDGET_SHARE", "1.5"],
    ["RECONCILE_BUDGET_SHARE", "0"],
  ])("%s=%s → ConfigError naming it", (name, value) => {
    expect(configError({ [name]: value }).message).toContain(name);
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

  it("without credentials → ConfigError (not the embedded emulator)", () => {
    expect(configError({ GENESYS_REGION: "eu_west_1" }).message).toContain("GENESYS_CLIENT_ID");
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
    ["credentials without a region", { ...creds }],
    ["production, secret only", { NODE_ENV: "production", GENESYS_CLIENT_SECRET: SECRET }],
    ["region and gateway URL", { ...cloud, GENESYS_GATEWAY_URL: "http://127.0.0.1:4010" }],
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
    expect(loadConfig({ ...cloud, NODE_ENV: "production" }).introspection).toBe(false);
    expect(loadConfig({ GRAPHQL_INTROSPECTION: "false" }).introspection).toBe(false);
    expect(loadConfig({ ...cloud, NODE_ENV: "production", GRAPHQL_INTROSPECTION: "true" }).introspection).toBe(true);
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

describe("several instances: REDIS_URL and REDIS_KEY_PREFIX (issue 10)", () => {
  it("unset or blank REDIS_URL: no redis settings at all (one process, as before)", () => {
    expect(loadConfig({})).not.toHaveProperty("redis");
    expect(loadConfig({ REDIS_URL: "  ", REDIS_KEY_PREFIX: "other:" })).not.toHaveProperty("redis");
  });

  it("REDIS_URL gives the URL and the default prefix gw:; REDIS_KEY_PREFIX replaces it", () => {
    expect(loadConfig({ REDIS_URL: "redis://127.0.0.1:6379" }).redis).toEqual({ url: new URL("redis://127.0.0.1:6379"), keyPrefix: "gw:" });
    expect(loadConfig({ REDIS_URL: "rediss://user:pw@redis.example.com:6380/2", REDIS_KEY_PREFIX: "gw:{prod}:" }).redis).toEqual({
      url: new URL("rediss://user:pw@redis.example.com:6380/2"),
      keyPrefix: "gw:{prod}:",
    });
  });

  it.each([
    ["http://127.0.0.1:6379", /REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/],
    ["127.0.0.1:6379", /REDIS_URL: /],
    ["not a url at all", /REDIS_URL: not a URL/],
    [`redis://:${SECRET}@127.0.0.1:6379/cache`, /REDIS_URL: the path must be a database number/],
  ])("a bad REDIS_URL %s names REDIS_URL and never echoes its password", (url, pattern) => {
    const error = configError({ REDIS_URL: url });
    expect(error.message).toMatch(pattern);
    expect(error.message).not.toContain(SECRET);
  });

  it("a bad REDIS_KEY_PREFIX names REDIS_KEY_PREFIX", () => {
    expect(configError({ REDIS_URL: "redis://127.0.0.1", REDIS_KEY_PREFIX: "" }).message).toMatch(/REDIS_KEY_PREFIX: /);
    expect(configError({ REDIS_URL: "redis://127.0.0.1", REDIS_KEY_PREFIX: "with space" }).message).toMatch(/REDIS_KEY_PREFIX: /);
  });

  it("redactRedisUrl hides user and password, keeps host, port and database", () => {
    expect(redactRedisUrl(new URL(`redis://admin:${SECRET}@10.0.0.5:6380/3`)).href).toBe("redis://***@10.0.0.5:6380/3");
    expect(redactRedisUrl(new URL(`redis://:${SECRET}@10.0.0.5`)).href).toBe("redis://***@10.0.0.5");
    expect(redactRedisUrl(new URL("redis://10.0.0.5:6379")).href).toBe("redis://10.0.0.5:6379");
  });

  it("redactRedisUrl hides query values too: ioredis takes ?password=… (and ?username=…) as connection options", () => {
    const shown = redactRedisUrl(new URL(`redis://10.0.0.5:6379/0?password=${SECRET}&username=admin`)).href;
    expect(shown).not.toContain(SECRET);
    expect(shown).not.toContain("admin");
    expect(shown).toBe("redis://10.0.0.5:6379/0?password=***&username=***");
  });
});

describe("describeGenesysTarget and genesysTargetSummary", () => {
  it("cloud: region name, environment host and client id, no secret", () => {
    const description = describeGenesysTarget(loadConfig(cloud).genesys);
    expect(description).toEqual({ kind: "cloud", environment: "mypurecloud.ie", region: "eu_west_1", clientId: "my-client-id" });
    expect(genesysTargetSummary(description)).toBe("Genesys Cloud eu_west_1 (https://api.mypurecloud.ie), client id my-client-id");
  });

  it("cloud given as a host the SDK table does not know: the host, no region", () => {
    const description = describeGenesysTarget(loadConfig({ ...creds, GENESYS_REGION: "example.pure.cloud" }).genesys);
    expect(description).toEqual({ kind: "cloud", environment: "example.pure.cloud", clientId: "my-client-id" });
    expect(genesysTargetSummary(description)).toBe("Genesys Cloud example.pure.cloud (https://api.example.pure.cloud), client id my-client-id");
  });

  it("gateway URL: the URL and client id", () => {
    const description = describeGenesysTarget(loadConfig({ ...creds, GENESYS_GATEWAY_URL: "http://127.0.0.1:4010" }).genesys);
    expect(description).toEqual({ kind: "gateway", baseUrl: "http://127.0.0.1:4010/", clientId: "my-client-id" });
    expect(genesysTargetSummary(description)).toBe("the Genesys API at http://127.0.0.1:4010/ (GENESYS_GATEWAY_URL), client id my-client-id");
  });

  it("embedded emulator: where it runs and the demo client, once started; an error before", () => {
    const target = loadConfig({}).genesys;
    expect(() => describeGenesysTarget(target)).toThrow(/embedded emulator/);
    const description = describeGenesysTarget(target, { url: "http://127.0.0.1:4010", clientId: "emulator-demo-client" });
    expect(description).toEqual({ kind: "embedded-emulator", emulatorUrl: "http://127.0.0.1:4010", clientId: "emulator-demo-client" });
    expect(genesysTargetSummary(description)).toContain("not a real org");
  });

  it("never carries the secret", () => {
    for (const env of [cloud, { ...creds, GENESYS_GATEWAY_URL: "https://emulator.example:8443" }]) {
      const description = describeGenesysTarget(loadConfig(env).genesys);
      expect(JSON.stringify(description)).not.toContain(SECRET);
      expect(genesysTargetSummary(description)).not.toContain(SECRET);
    }
  });
});

describe("README.md", () => {
  it("has a row in the gateway's configuration table for every variable loadConfig reads, and no other", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### Gateway (`npm start`)"), readme.indexOf("### Standalone emulator"));
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(CONFIG_VARIABLES.length).toBeGreaterThan(5);
    expect([...rows].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });
});
