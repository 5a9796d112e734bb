/**
 * Caller authentication and scopes end to end, through real HTTP (fetch) and graphql-ws
 * clients, with API keys (`sha256` and clear `key` entries) and JWTs signed by a test issuer
 * whose JWKS a loopback server serves:
 * - no or bad credentials: HTTP 401 `UNAUTHENTICATED`, WebSocket closed with 4401;
 * - a read key reads but cannot mutate (`FORBIDDEN`, nothing reaches Genesys: the emulator's
 *   write log and `genesys_requests_total` stay unchanged), a write key writes;
 * - JWTs with and without the write scope, wrong issuer / audience / key, expired;
 * - a socket whose JWT expires is closed with 4403 at expiry;
 * - a JWT key set that cannot be fetched: HTTP 503 `AUTHENTICATION_UNAVAILABLE`, WebSocket 1013;
 * - `/healthz` stays anonymous; `/metrics` needs `metrics:read`, or moves to its own port;
 * - neither keys nor tokens reach the log; a gateway without caller auth warns at start.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseApiKeys, sha256Hex } from "../../src/auth/api-keys.js";
import { createLogger } from "../../src/logger.js";
import { startGateway, type RunningGateway } from "../../src/server.js";
import { freePort } from "../support/processes.js";
import { DEMO_CREDENTIALS } from "../support/sdk.js";
import { readLog } from "../support/emulator-http.js";
import { post, send, wsTestClient } from "../support/gateway-http.js";
import { startJwtIssuer, type JwtIssuer } from "../support/jwt-issuer.js";
import { createCall, startStack, upstreamRequests, type Stack, type TestCall } from "../support/stack.js";

const QUEUE = "a0000000-0000-4000-8000-0000000000e2";
const READ_KEY = "read-key-0123456789abcdef";
const WRITE_KEY = "write-key-0123456789abcdef";
const WRITE_ONLY_KEY = "write-only-key-0123456789";
const METRICS_KEY = "metrics-key-0123456789abcd";

const PARTICIPANT = `query($c: ID!, $p: ID!) { participant(conversationId: $c, participantId: $p) { id attributes } }`;
const UPDATE = `mutation($input: UpdateAttributesInput!) { updateAttributes(input: $input) { __typename ... on AttributesUpdated { attempts participant { attributes } } } }`;
const WATCH = `subscription($c: ID!) { attributesChanged(conversationId: $c) { participantId changes { key value } } }`;

const lines: string[] = [];
const logSink = new Writable({
  write(chunk, _encoding, done) {
    lines.push(chunk.toString());
    done();
  },
});

let issuer: JwtIssuer;
let stack: Stack;
let call: TestCall;

beforeAll(async () => {
  issuer = await startJwtIssuer();
  const apiKeys = parseApiKeys(
    JSON.stringify([
      { id: "dashboard", sha256: sha256Hex(READ_KEY), scopes: ["participants:read"] },
      { id: "crm", key: WRITE_KEY, scopes: ["participants:read", "participants:write"] },
      { id: "writer", key: WRITE_ONLY_KEY, scopes: ["participants:write"] },
      { id: "prometheus", key: METRICS_KEY, scopes: ["metrics:read"] },
    ]),
    "test keys",
  );
  stack = await startStack({
    auth: { mode: "required", apiKeys, jwt: { jwksUrl: issuer.jwksUrl, issuer: issuer.issuer, audience: issuer.audience } },
    logger: createLogger("debug", logSink),
  });
  call = await createCall(stack.emulator.url, QUEUE, { "crm.caseId": "CASE-A" });
});
afterAll(async () => {
  await stack?.close();
  await issuer?.close();
});

const bearer = (credential: string) => `Bearer ${credential}`;
const metricsHeaders = { authorization: bearer(METRICS_KEY) };
const reads = () => upstreamRequests(stack.gateway.url, "getConversation", metricsHeaders);
const writesTo = async (participantId: string) => (await readLog(stack.emulator.url)).filter((e) => e.participantId === participantId).length;
const input = (attributes: Record<string, string>) => ({ input: { conversationId: call.conversationId, participantId: call.customerId, attributes } });

describe("unauthenticated callers", () => {
  it.each([
    ["no Authorization header", undefined],
    ["an unknown API key", bearer("not-a-key-of-this-gateway")],
    ["a non-Bearer scheme", `Basic ${Buffer.from("a:b").toString("base64")}`],
    ["an empty bearer", "Bearer "],
  ])("HTTP with %s: 401 UNAUTHENTICATED, nothing read", async (_label, authorization) => {
    const before = await reads();
    const answer = await post(stack.gateway.url, PARTICIPANT, { c: call.conversationId, p: call.customerId }, authorization);
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(answer.body).toEqual({ errors: [{ message: expect.any(String), extensions: { code: "UNAUTHENTICATED" } }] });
    expect(await reads()).toBe(before);
  });

  it("WebSocket without credentials or with a bad key is closed with 4401", async () => {
    for (const authorization of [undefined, bearer("not-a-key-of-this-gateway")]) {
      const client = wsTestClient(stack.gateway.wsUrl, { authorization });
      const closed = await Promise.race([client.closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("not closed")), 3_000))]);
      expect(closed.code).toBe(4401);
      await client.dispose();
    }
  });

  it("GET /healthz and GET /readyz stay anonymous", async () => {
    const answer = await send(new URL("/healthz", stack.gateway.url).href);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: "ok", uptimeSeconds: expect.any(Number) });
    const ready = await send(new URL("/readyz", stack.gateway.url).href);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: "ready" });
  });

  it("GET /metrics needs the metrics:read scope", async () => {
    const metricsUrl = stack.gateway.metricsUrl;
    expect((await send(metricsUrl)).status).toBe(401);
    const forbidden = await send(metricsUrl, { authorization: bearer(READ_KEY) });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.errors[0].extensions.code).toBe("FORBIDDEN");
    const ok = await send(metricsUrl, { authorization: bearer(METRICS_KEY) });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain("genesys_requests_total");
  });
});

describe("API keys and scopes", () => {
  it("a read key (sha256 entry) reads over HTTP and WebSocket", async () => {
    const answer = await post(stack.gateway.url, PARTICIPANT, { c: call.conversationId, p: call.customerId }, bearer(READ_KEY));
    expect(answer.status).toBe(200);
    expect(answer.body.data.participant.attributes).toMatchObject({ "crm.caseId": "CASE-A" });
    const ws = wsTestClient(stack.gateway.wsUrl, { authorization: bearer(READ_KEY) });
    const overWs = await ws.first(PARTICIPANT, { c: call.conversationId, p: call.customerId });
    expect(overWs.data.participant.id).toBe(call.customerId);
    await ws.dispose();
  });

  it("a read key cannot mutate: FORBIDDEN on both transports, nothing written or read upstream", async () => {
    const writesBefore = await writesTo(call.customerId);
    const readsBefore = await reads();
    const answer = await post(stack.gateway.url, UPDATE, input({ "crm.caseId": "FORBIDDEN-1" }), bearer(READ_KEY));
    expect(answer.status).toBe(403);
    expect(answer.body.errors).toEqual([
      { message: expect.stringContaining("participants:write"), extensions: { code: "FORBIDDEN", requiredScope: "participants:write" } },
    ]);
    expect(answer.body.data).toBeUndefined();
    const ws = wsTestClient(stack.gateway.wsUrl, { authorization: bearer(READ_KEY) });
    const overWs = await ws.first(UPDATE, input({ "crm.caseId": "FORBIDDEN-2" }));
    expect(overWs.errors?.[0]?.extensions).toMatchObject({ code: "FORBIDDEN" });
    await ws.dispose();
    expect(await writesTo(call.customerId)).toBe(writesBefore);
    expect(await reads()).toBe(readsBefore);
  });

  it("a write key (clear key entry) writes, and the write reaches Genesys", async () => {
    const before = await writesTo(call.customerId);
    const answer = await post(stack.gateway.url, UPDATE, input({ "crm.caseId": "CASE-W" }), bearer(WRITE_KEY));
    expect(answer.body.data.updateAttributes).toMatchObject({ __typename: "AttributesUpdated", participant: { attributes: { "crm.caseId": "CASE-W" } } });
    const log = (await readLog(stack.emulator.url)).filter((e) => e.participantId === call.customerId);
    expect(log.length).toBe(before + 1);
    expect(log.at(-1)?.attributes).toEqual({ "crm.caseId": "CASE-W" });
  });

  it("a write-only key cannot read or subscribe", async () => {
    const answer = await post(stack.gateway.url, PARTICIPANT, { c: call.conversationId, p: call.customerId }, bearer(WRITE_ONLY_KEY));
    expect(answer.status).toBe(403);
    expect(answer.body.errors[0].extensions).toMatchObject({ code: "FORBIDDEN", requiredScope: "participants:read" });
    const ws = wsTestClient(stack.gateway.wsUrl, { authorization: bearer(WRITE_ONLY_KEY) });
    const overWs = await ws.first(WATCH, { c: call.conversationId });
    expect(overWs.errors?.[0]?.extensions).toMatchObject({ code: "FORBIDDEN" });
    await ws.dispose();
  });
});

describe("JWT callers", () => {
  it("a token with both scopes reads and writes; one with participants:read only cannot write", async () => {
    const both = await issuer.sign({ scope: "participants:read participants:write" });
    const read = await post(stack.gateway.url, PARTICIPANT, { c: call.conversationId, p: call.customerId }, bearer(both));
    expect(read.body.data.participant.id).toBe(call.customerId);
    const wrote = await post(stack.gateway.url, UPDATE, input({ "jwt.writer": "yes" }), bearer(both));
    expect(wrote.body.data.updateAttributes.__typename).toBe("AttributesUpdated");

    const readOnly = await issuer.sign({ scope: "participants:read" });
    const before = await writesTo(call.customerId);
    const refused = await post(stack.gateway.url, UPDATE, input({ "jwt.writer": "no" }), bearer(readOnly));
    expect(refused.status).toBe(403);
    expect(refused.body.errors[0].extensions.code).toBe("FORBIDDEN");
    expect(await writesTo(call.customerId)).toBe(before);

    const noScope = await issuer.sign({});
    const none = await post(stack.gateway.url, PARTICIPANT, { c: call.conversationId, p: call.customerId }, bearer(noScope));
    expect(none.status).toBe(403);
    expect(issuer.jwksRequests()).toBeGreaterThan(0);
  });

  it.each([
    ["another issuer", { issuer: "https://evil.example/" }, /"iss"/],
    ["another audience", { audience: "someone-else" }, /"aud"/],
    ["a key the JWKS does not hold", { foreignKey: true }, /signature/],
    ["an expired token", { exp: Math.floor(Date.now() / 1000) - 60 }, /expired/],
  ])("a token from %s is UNAUTHENTICATED (401)", async (_label, options, message) => {
    const token = await issuer.sign({ scope: "participants:read", ...options });
    const answer = await post(stack.gateway.url, PARTICIPANT, { c: call.conversationId, p: call.customerId }, bearer(token));
    expect(answer.status).toBe(401);
    expect(answer.body.errors[0].extensions.code).toBe("UNAUTHENTICATED");
    expect(answer.body.errors[0].message).toMatch(message);
    expect(answer.text).not.toContain(token);
  });

  it("a subscription socket is served while the token is valid and closed with 4403 when it expires", async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const token = await issuer.sign({ scope: "participants:read", exp });
    const ws = wsTestClient(stack.gateway.wsUrl, { authorization: bearer(token) });
    const stopped = new Promise<unknown>((resolve) => {
      ws.client.subscribe({ query: WATCH, variables: { c: call.conversationId } }, { next: () => undefined, error: resolve, complete: () => resolve("complete") });
    });
    const answered = await ws.first(PARTICIPANT, { c: call.conversationId, p: call.customerId });
    expect(answered.data.participant.id).toBe(call.customerId);
    const closed = await Promise.race([ws.closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("still open 4 s after exp")), 4_000))]);
    expect(closed.code).toBe(4403);
    // Closed at expiry: not before `exp`, and well within a second after it.
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
    expect(Date.now()).toBeLessThan(exp * 1000 + 1_000);
    await stopped;
    await ws.dispose();
  });
});

describe("secrets", () => {
  it("neither API keys nor tokens appear in the log", async () => {
    const token = await issuer.sign({ scope: "participants:read", audience: "wrong" });
    await post(stack.gateway.url, PARTICIPANT, { c: call.conversationId, p: call.customerId }, bearer(token));
    const ws = wsTestClient(stack.gateway.wsUrl, { authorization: bearer("Zm9vYmFy-unknown-key") });
    await ws.closed;
    await ws.dispose();
    const all = lines.join("\n");
    expect(lines.length).toBeGreaterThan(0);
    for (const secret of [READ_KEY, WRITE_KEY, WRITE_ONLY_KEY, METRICS_KEY, token, "Zm9vYmFy-unknown-key"]) expect(all).not.toContain(secret);
  });
});

describe("METRICS_PORT", () => {
  let own: Stack;
  beforeAll(async () => {
    own = await startStack({ auth: { mode: "required", apiKeys: parseApiKeys(JSON.stringify([{ id: "k", key: READ_KEY, scopes: ["participants:read"] }]), "k") }, metrics: { port: 0 } });
  });
  afterAll(async () => {
    await own?.close();
  });

  it("serves /metrics on its own port without caller auth, and not on the gateway port", async () => {
    expect(new URL(own.gateway.metricsUrl).port).not.toBe(String(own.gateway.port));
    const metrics = await send(own.gateway.metricsUrl);
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain("genesys_requests_total");
    const onGatewayPort = await send(new URL("/metrics", own.gateway.url).href, { authorization: bearer(READ_KEY) });
    expect(onGatewayPort.status).toBe(404);
    expect(onGatewayPort.body.errors[0].extensions.code).toBe("NOT_FOUND");
  });
});

describe("without caller auth", () => {
  it.each([
    ["embedded-demo", /embedded demo/],
    ["explicit", /GATEWAY_AUTH=none/],
  ] as const)("warns at start (%s) and serves anonymous callers", async (reason, text) => {
    const started: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        started.push(chunk.toString());
        done();
      },
    });
    const open = await startStack({ auth: { mode: "none", reason }, logger: createLogger("info", sink) });
    try {
      const warning = started.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.level === 40);
      expect(warning?.msg).toMatch(text);
      const answer = await post(open.gateway.url, "{ __typename }");
      expect(answer.body.data).toEqual({ __typename: "Query" });
    } finally {
      await open.close();
    }
  });
});

describe("a JWT key set that cannot be fetched", () => {
  // Two gateways on the stack's emulator whose JWKS URL is dead: a closed port, and a server answering 500.
  let broken: http.Server;
  const gateways: RunningGateway[] = [];
  beforeAll(async () => {
    broken = http.createServer((_req, res) => res.writeHead(500).end("down"));
    await new Promise<void>((resolve) => broken.listen(0, "127.0.0.1", () => resolve()));
    const closedPort = await freePort();
    for (const jwksUrl of [new URL(`http://127.0.0.1:${closedPort}/jwks.json`), new URL(`http://127.0.0.1:${(broken.address() as AddressInfo).port}/jwks.json`)]) {
      gateways.push(
        await startGateway({
          port: 0,
          genesys: { endpoint: { baseUrl: new URL(stack.emulator.url) }, ...DEMO_CREDENTIALS },
          logger: createLogger("silent"),
          auth: {
            mode: "required",
            apiKeys: parseApiKeys(JSON.stringify([{ id: "crm", key: WRITE_KEY, scopes: ["participants:read"] }]), "test keys"),
            jwt: { jwksUrl, issuer: issuer.issuer, audience: issuer.audience },
          },
        }),
      );
    }
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.close();
    await new Promise<void>((resolve) => broken?.close(() => resolve()));
  });

  it("answers 503 AUTHENTICATION_UNAVAILABLE with Retry-After over HTTP (not a 401 that would make a client drop a good token), and API keys still work", async () => {
    const token = await issuer.sign({ sub: "dash", scope: "participants:read" });
    for (const gateway of gateways) {
      const answer = await post(gateway.url, PARTICIPANT, { c: call.conversationId, p: call.customerId }, bearer(token));
      expect(answer.status).toBe(503);
      expect(answer.headers.get("retry-after")).toBe("5");
      expect(answer.body).toEqual({ errors: [{ message: "the token could not be checked: the key set is unavailable", extensions: { code: "AUTHENTICATION_UNAVAILABLE" } }] });
      const byKey = await post(gateway.url, PARTICIPANT, { c: call.conversationId, p: call.customerId }, bearer(WRITE_KEY));
      expect(byKey.status).toBe(200);
    }
  });

  it("closes a WebSocket presenting a JWT with 1013 (try again later), not 4401", async () => {
    const token = await issuer.sign({ sub: "dash", scope: "participants:read" });
    for (const gateway of gateways) {
      const client = wsTestClient(gateway.wsUrl, { authorization: bearer(token) });
      const closed = await Promise.race([client.closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("not closed")), 8_000))]);
      expect(closed.code).toBe(1013);
      await client.dispose();
    }
  });
});
