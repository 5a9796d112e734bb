/**
 * The security part of `loadConfig` (src/config.ts, README "Security"): secure by default —
 * with Genesys credentials the gateway refuses to start without caller auth unless
 * `GATEWAY_AUTH=none`; the embedded demo runs anonymous; API keys from `GATEWAY_API_KEYS` or
 * `GATEWAY_API_KEYS_FILE`; JWT settings complete or refused; `CORS_ORIGINS`, `METRICS_PORT`
 * and the limits; no ConfigError echoes a key.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../src/auth/api-keys.js";
import { ConfigError, loadConfig } from "../src/config.js";
import { DEFAULT_LIMITS } from "../src/limits/settings.js";

/** Client credentials alone: a complete Genesys configuration also names where (no default region). */
const CLIENT = { GENESYS_CLIENT_ID: "id", GENESYS_CLIENT_SECRET: "secret" };
/** A complete Genesys Cloud configuration. */
const CREDS = { ...CLIENT, GENESYS_REGION: "us_east_1" };
const KEY = "crm-key-0123456789abcdef";
const KEYS = JSON.stringify([{ id: "crm", key: KEY, scopes: ["participants:read", "participants:write"] }]);

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("loadConfig did not throw");
}

describe("secure by default", () => {
  it("the embedded demo (no Genesys credentials) runs without caller auth", () => {
    expect(loadConfig({}).auth).toEqual({ mode: "none", reason: "embedded-demo" });
  });

  it.each([
    ["a Genesys region", CREDS],
    ["a GENESYS_GATEWAY_URL", { ...CLIENT, GENESYS_GATEWAY_URL: "http://127.0.0.1:4010" }],
  ])("with %s and no caller auth, it refuses to start", (_label, env) => {
    const error = configError(env);
    expect(error.message).toMatch(/GATEWAY_API_KEYS/);
    expect(error.message).toMatch(/GATEWAY_AUTH=none/);
    expect(error.message).not.toContain("secret");
  });

  it("GATEWAY_AUTH=none runs anonymous against real Genesys, explicitly", () => {
    expect(loadConfig({ ...CREDS, GATEWAY_AUTH: "none" }).auth).toEqual({ mode: "none", reason: "explicit" });
  });

  it("GATEWAY_AUTH accepts only none, and not together with keys", () => {
    expect(configError({ ...CREDS, GATEWAY_AUTH: "off" }).message).toContain("GATEWAY_AUTH");
    expect(configError({ ...CREDS, GATEWAY_AUTH: "none", GATEWAY_API_KEYS: KEYS }).message).toMatch(/contradicts/);
  });

  it("keys turn auth on for the embedded demo too", () => {
    expect(loadConfig({ GATEWAY_API_KEYS: KEYS }).auth.mode).toBe("required");
  });
});

describe("API keys", () => {
  it("GATEWAY_API_KEYS: clear keys are hashed", () => {
    const auth = loadConfig({ ...CREDS, GATEWAY_API_KEYS: KEYS }).auth;
    expect(auth).toEqual({ mode: "required", apiKeys: [{ id: "crm", sha256: sha256Hex(KEY), scopes: ["participants:read", "participants:write"] }] });
  });

  it("GATEWAY_API_KEYS_FILE: the same JSON from a file", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "gateway-keys-"));
    const file = path.join(dir, "keys.json");
    writeFileSync(file, JSON.stringify([{ id: "dash", sha256: sha256Hex(KEY), scopes: ["participants:read"] }]));
    const auth = loadConfig({ ...CREDS, GATEWAY_API_KEYS_FILE: file }).auth;
    expect(auth).toEqual({ mode: "required", apiKeys: [{ id: "dash", sha256: sha256Hex(KEY), scopes: ["participants:read"] }] });
    expect(configError({ ...CREDS, GATEWAY_API_KEYS_FILE: path.join(dir, "missing.json") }).message).toMatch(/GATEWAY_API_KEYS_FILE: cannot read .*ENOENT/);
  });

  it("refuses bad lists naming the variable, never echoing a key", () => {
    const error = configError({ ...CREDS, GATEWAY_API_KEYS: JSON.stringify([{ id: "a", key: KEY, scopes: ["admin"] }]) });
    expect(error.message).toContain("GATEWAY_API_KEYS");
    expect(error.message).not.toContain(KEY);
    expect(configError({ ...CREDS, GATEWAY_API_KEYS: "[]" }).message).toMatch(/no keys/);
    expect(configError({ ...CREDS, GATEWAY_API_KEYS: KEYS, GATEWAY_API_KEYS_FILE: "/x" }).message).toMatch(/not both/);
  });
});

describe("JWT", () => {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const base = { GATEWAY_JWT_ISSUER: "https://idp.example/", GATEWAY_JWT_AUDIENCE: "gateway" };

  it("JWKS URL with issuer and audience", () => {
    const auth = loadConfig({ ...CREDS, ...base, GATEWAY_JWT_JWKS_URL: "https://idp.example/.well-known/jwks.json" }).auth;
    expect(auth).toEqual({
      mode: "required",
      apiKeys: [],
      jwt: { jwksUrl: new URL("https://idp.example/.well-known/jwks.json"), issuer: "https://idp.example/", audience: "gateway" },
    });
  });

  it("a PEM public key, also with literal \\n as env files write it", () => {
    const oneLine = pem.trim().replace(/\n/g, "\\n");
    const auth = loadConfig({ ...CREDS, ...base, GATEWAY_JWT_PUBLIC_KEY: oneLine }).auth;
    expect(auth.mode === "required" && auth.jwt?.publicKeyPem?.trim()).toBe(pem.trim());
  });

  it.each([
    ["no key source", { ...base }, /exactly one of GATEWAY_JWT_JWKS_URL or GATEWAY_JWT_PUBLIC_KEY/],
    ["both key sources", { ...base, GATEWAY_JWT_JWKS_URL: "https://idp.example/jwks", GATEWAY_JWT_PUBLIC_KEY: pem }, /exactly one/],
    ["no audience", { GATEWAY_JWT_ISSUER: "x", GATEWAY_JWT_JWKS_URL: "https://idp.example/jwks" }, /GATEWAY_JWT_AUDIENCE/],
    ["an http JWKS off loopback", { ...base, GATEWAY_JWT_JWKS_URL: "http://idp.example/jwks" }, /https/],
    ["a bad PEM", { ...base, GATEWAY_JWT_PUBLIC_KEY: "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----" }, /GATEWAY_JWT_PUBLIC_KEY/],
  ])("refuses %s", (_label, env, message) => {
    expect(configError({ ...CREDS, ...env }).message).toMatch(message);
  });

  it.each([
    ["PKCS#8", privateKey.export({ type: "pkcs8", format: "pem" }).toString()],
    ["SEC1", privateKey.export({ type: "sec1", format: "pem" }).toString()],
  ])("refuses a %s private key (the identity provider's signing key), without echoing it", (_format, privatePem) => {
    const message = configError({ ...CREDS, ...base, GATEWAY_JWT_PUBLIC_KEY: privatePem }).message;
    expect(message).toMatch(/GATEWAY_JWT_PUBLIC_KEY: .*private key/);
    expect(message).not.toContain(privatePem.split("\n")[1]);
  });

  it("allows an http JWKS on loopback (local identity providers, tests)", () => {
    expect(loadConfig({ ...CREDS, ...base, GATEWAY_JWT_JWKS_URL: "http://127.0.0.1:9000/jwks.json" }).auth.mode).toBe("required");
  });
});

describe("CORS_ORIGINS, METRICS_PORT and limits", () => {
  it("CORS_ORIGINS: a comma-separated list of exact origins", () => {
    expect(loadConfig({ CORS_ORIGINS: "https://crm.example.com, http://localhost:5173/" }).cors).toEqual({
      origins: ["https://crm.example.com", "http://localhost:5173"],
    });
    for (const bad of ["*", "https://crm.example.com/app", "crm.example.com", "ftp://x.example"]) {
      expect(configError({ CORS_ORIGINS: bad }).message).toContain("CORS_ORIGINS");
    }
  });

  it("METRICS_PORT moves /metrics to its own port", () => {
    expect(loadConfig({}).metricsPort).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: "9464" }).metricsPort).toBe(9464);
    expect(configError({ METRICS_PORT: "x" }).message).toContain("METRICS_PORT");
  });

  it("limits default as documented, each settable, 0 disables", () => {
    expect(loadConfig({}).limits).toEqual(DEFAULT_LIMITS);
    const limits = loadConfig({
      MAX_QUERY_DEPTH: "0",
      MAX_QUERY_ALIASES: "10",
      MAX_QUERY_TOKENS: "2000",
      MAX_QUERY_COST: "100",
      MAX_QUERY_DIRECTIVES: "5",
      MAX_QUERY_LIST_NESTING: "2",
      MAX_CONVERSATIONS_PER_OPERATION: "3",
      RATE_LIMIT_REQUESTS_PER_MINUTE: "60",
      MAX_SUBSCRIPTIONS_PER_SOCKET: "7",
      MAX_SUBSCRIPTIONS_PER_CALLER: "9",
    }).limits;
    expect(limits).toEqual({
      maxDepth: 0,
      maxAliases: 10,
      maxTokens: 2000,
      maxCost: 100,
      maxDirectives: 5,
      maxListNesting: 2,
      maxConversationsPerOperation: 3,
      requestsPerMinute: 60,
      subscriptionsPerSocket: 7,
      subscriptionsPerCaller: 9,
    });
    expect(configError({ MAX_QUERY_DEPTH: "-1" }).message).toContain("MAX_QUERY_DEPTH");
  });
});
