/**
 * The auth module alone (src/auth/): API key lists (sha256 and clear entries, every refusal
 * naming the entry without echoing a key), key recognition, JWT verification against a JWKS
 * served on loopback and against a PEM key (issuer, audience, expiry, signature, `sub`,
 * `scope`), Bearer parsing, the anonymous mode, and scope rules per operation type.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyVerifier, parseApiKeys, sha256Hex } from "../../src/auth/api-keys.js";
import { createAuthenticator } from "../../src/auth/authenticator.js";
import { AuthenticationError } from "../../src/auth/errors.js";
import { JwtVerifier } from "../../src/auth/jwt.js";
import { parseScopeClaim, requiredScope, SCOPES } from "../../src/auth/scopes.js";
import { startJwtIssuer, type JwtIssuer } from "../support/jwt-issuer.js";

const KEY = "a-long-enough-secret-key-1";

describe("parseApiKeys", () => {
  it("accepts sha256 and clear entries and keeps only hashes", () => {
    const keys = parseApiKeys(
      JSON.stringify([
        { id: "crm", sha256: sha256Hex(KEY).toUpperCase(), scopes: ["participants:read", "participants:write"] },
        { id: "dev", key: "another-long-secret-key", scopes: ["participants:read"] },
      ]),
      "GATEWAY_API_KEYS",
    );
    expect(keys).toEqual([
      { id: "crm", sha256: sha256Hex(KEY), scopes: ["participants:read", "participants:write"] },
      { id: "dev", sha256: sha256Hex("another-long-secret-key"), scopes: ["participants:read"] },
    ]);
    expect(JSON.stringify(keys)).not.toContain("another-long-secret-key");
  });

  it.each([
    ["not JSON", "[{", /not valid JSON/],
    ["not a list", '{"id": "x"}', /GATEWAY_API_KEYS/],
    ["both sha256 and key", JSON.stringify([{ id: "a", sha256: sha256Hex(KEY), key: KEY, scopes: [] }]), /GATEWAY_API_KEYS: \[0\]: give exactly one of "sha256" or "key"/],
    ["neither", JSON.stringify([{ id: "a", scopes: [] }]), /\[0\]: give exactly one/],
    ["a short sha256", JSON.stringify([{ id: "a", sha256: "abc", scopes: [] }]), /\[0\]\.sha256: must be 64 hex/],
    ["a short clear key", JSON.stringify([{ id: "a", key: "short", scopes: [] }]), /\[0\]\.key: clear keys must be at least 16/],
    ["an unknown scope", JSON.stringify([{ id: "b", key: KEY, scopes: ["participants:read"] }, { id: "a", key: `${KEY}-2`, scopes: ["participants:read", "participants:admin"] }]), /\[1\]\.scopes\[1\]: scopes are/],
    ["an unknown field", JSON.stringify([{ id: "a", key: KEY, scopes: [], role: "x" }]), /\[0\]: Unrecognized key: "role"/],
    ["a clear key with a space (never presentable as Bearer <key>)", JSON.stringify([{ id: "a", key: `${KEY} ${KEY}`, scopes: [] }]), /\[0\]\.key: .*visible ASCII/],
    ["a clear key with non-ASCII characters", JSON.stringify([{ id: "a", key: `${KEY}ü`, scopes: [] }]), /\[0\]\.key: .*visible ASCII/],
    ["a duplicate id", JSON.stringify([{ id: "a", key: KEY, scopes: [] }, { id: "a", key: `${KEY}-2`, scopes: [] }]), /"a" appears twice/],
    ["a duplicate key", JSON.stringify([{ id: "a", key: KEY, scopes: [] }, { id: "b", sha256: sha256Hex(KEY), scopes: [] }]), /also another entry's key/],
  ])("refuses %s without echoing a key", (_label, json, message) => {
    let error: Error | undefined;
    try {
      parseApiKeys(json, "GATEWAY_API_KEYS");
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain(KEY);
  });
});

describe("ApiKeyVerifier", () => {
  const verifier = new ApiKeyVerifier(parseApiKeys(JSON.stringify([{ id: "crm", key: KEY, scopes: ["participants:read"] }]), "k"));

  it("recognises the key and gives its id and scopes", () => {
    const caller = verifier.verify(KEY);
    expect(caller).toMatchObject({ id: "crm", kind: "api-key" });
    expect([...caller!.scopes]).toEqual(["participants:read"]);
  });

  it.each([[`${KEY}x`], [KEY.slice(0, -1)], [""], [KEY.toUpperCase()]])("does not recognise %j", (presented) => {
    expect(verifier.verify(presented)).toBeUndefined();
  });
});

describe("JwtVerifier", () => {
  let issuer: JwtIssuer;
  let jwks: JwtVerifier;
  let pem: JwtVerifier;
  beforeAll(async () => {
    issuer = await startJwtIssuer();
    jwks = new JwtVerifier({ jwksUrl: issuer.jwksUrl, issuer: issuer.issuer, audience: issuer.audience });
    pem = new JwtVerifier({ publicKeyPem: issuer.publicKeyPem, issuer: issuer.issuer, audience: issuer.audience });
  });
  afterAll(async () => {
    await issuer?.close();
  });

  it("verifies through the JWKS and through the PEM key: sub is the id, scope the scopes, exp the expiry", async () => {
    const exp = Math.floor(Date.now() / 1000) + 120;
    const token = await issuer.sign({ sub: "svc-42", scope: "participants:read  participants:write", exp });
    for (const verifier of [jwks, pem]) {
      const caller = await verifier.verify(token);
      expect(caller).toMatchObject({ id: "svc-42", kind: "jwt", expiresAt: exp * 1000 });
      expect([...caller.scopes].sort()).toEqual(["participants:read", "participants:write"]);
    }
  });

  it.each([
    ["another issuer", { issuer: "https://other/" }, /"iss" claim/],
    ["another audience", { audience: "other" }, /"aud" claim/],
    ["an expired token", { exp: Math.floor(Date.now() / 1000) - 5 }, /expired/],
    ["another key", { foreignKey: true }, /signature does not verify/],
  ])("refuses %s with AuthenticationError", async (_label, options, message) => {
    const token = await issuer.sign({ scope: "participants:read", ...options });
    for (const verifier of [jwks, pem]) {
      const error = await verifier.verify(token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain(token);
    }
  });

  it("refuses a token without sub, an unsigned (alg none) token and garbage", async () => {
    const { UnsecuredJWT } = await import("jose");
    const noSub = await issuer.sign({ sub: null, scope: "participants:read" });
    await expect(jwks.verify(noSub)).rejects.toThrow(/"sub" claim/);
    const unsigned = new UnsecuredJWT({ scope: "participants:read" }).setSubject("x").setIssuer(issuer.issuer).setAudience(issuer.audience).encode();
    await expect(jwks.verify(unsigned)).rejects.toBeInstanceOf(AuthenticationError);
    await expect(jwks.verify("a.b.c")).rejects.toBeInstanceOf(AuthenticationError);
  });

  it("refuses a token without exp (it would never expire, and a socket opened with it never close)", async () => {
    const forever = await issuer.sign({ exp: null, scope: "participants:read" });
    for (const verifier of [jwks, pem]) await expect(verifier.verify(forever)).rejects.toThrow(/"exp" claim/);
  });

  it("refuses a token whose sub is empty (it names no caller)", async () => {
    const nobody = await issuer.sign({ sub: "", scope: "participants:read" });
    for (const verifier of [jwks, pem]) await expect(verifier.verify(nobody)).rejects.toThrow(/"sub" claim/);
  });
});

describe("createAuthenticator", () => {
  let issuer: JwtIssuer;
  beforeAll(async () => {
    issuer = await startJwtIssuer();
  });
  afterAll(async () => {
    await issuer?.close();
  });

  it("anonymous mode: every caller anonymous with every scope, named by address", async () => {
    const auth = createAuthenticator({ mode: "none", reason: "embedded-demo" });
    expect(auth.required).toBe(false);
    const caller = await auth.authenticate(undefined, "10.1.2.3");
    expect(caller).toMatchObject({ id: "anonymous:10.1.2.3", kind: "anonymous" });
    expect(caller.scopes.has(SCOPES.read) && caller.scopes.has(SCOPES.write)).toBe(true);
  });

  it("required mode: Bearer API key or JWT; anything else is an AuthenticationError", async () => {
    const auth = createAuthenticator({
      mode: "required",
      apiKeys: parseApiKeys(JSON.stringify([{ id: "crm", key: KEY, scopes: ["participants:write"] }]), "k"),
      jwt: { jwksUrl: issuer.jwksUrl, issuer: issuer.issuer, audience: issuer.audience },
    });
    expect(auth.required).toBe(true);
    expect((await auth.authenticate(`Bearer ${KEY}`, "x")).id).toBe("crm");
    expect((await auth.authenticate(`bearer   ${KEY}`, "x")).id).toBe("crm");
    const token = await issuer.sign({ sub: "dash", scope: "participants:read" });
    expect(await auth.authenticate(`Bearer ${token}`, "x")).toMatchObject({ id: "dash", kind: "jwt" });
    for (const bad of [undefined, "", "Bearer", `Basic ${KEY}`, `Bearer ${KEY} extra`, "Bearer unknown-key-123456789", `Bearer ${"x".repeat(9_000)}`]) {
      await expect(auth.authenticate(bad, "x")).rejects.toBeInstanceOf(AuthenticationError);
    }
  });
});

describe("scopes", () => {
  it("mutations need participants:write; queries and subscriptions participants:read", () => {
    expect(requiredScope("mutation")).toBe("participants:write");
    expect(requiredScope("query")).toBe("participants:read");
    expect(requiredScope("subscription")).toBe("participants:read");
  });

  it("parses the space-separated scope claim", () => {
    expect([...parseScopeClaim(" participants:read  openid ")]).toEqual(["participants:read", "openid"]);
    expect(parseScopeClaim(["participants:read"]).size).toBe(0);
    expect(parseScopeClaim(undefined).size).toBe(0);
  });
});
