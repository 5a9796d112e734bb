/**
 * Browser safety and hostile input at the HTTP/WebSocket edge, through real clients:
 * - CORS follows `CORS_ORIGINS`: a listed origin's preflight and requests get the CORS headers,
 *   any other origin's preflight is refused (403 `ORIGIN_NOT_ALLOWED`);
 * - a WebSocket upgrade from another origin is refused (403), from a listed origin, the same
 *   origin or no Origin (Node clients) it is accepted; only `/graphql` upgrades;
 * - Apollo's CSRF prevention stays on; no `X-Powered-By`;
 * - every error answer is JSON in GraphQL's error shape with a stable code and no stack, path or
 *   library name: malformed JSON, non-object bodies, a wrong charset, a body over 256 KB (413),
 *   corrupt or unknown compression, a subscription over HTTP, an unknown route.
 */
import http from "node:http";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { send, upgrade, wsTestClient } from "../support/gateway-http.js";
import { startStack, type Stack } from "../support/stack.js";

const ALLOWED = "https://crm.example.com";
const EVIL = "https://evil.example";
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ cors: { origins: [ALLOWED, "http://localhost:5173"] } });
});
afterAll(async () => {
  await stack?.close();
});

/** The answer is JSON, GraphQL-shaped, with `code` and nothing that reveals the server's insides. */
function expectCleanError(answer: { status: number; headers: Headers; body: any; text: string }, status: number, code: string) {
  expect(answer.status).toBe(status);
  expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
  expect(answer.body.errors).toHaveLength(1);
  expect(answer.body.errors[0]).toEqual({ message: expect.any(String), extensions: { code } });
  for (const leak of ["stack", "node_modules", "/work/", "express", "body-parser", "SyntaxError", "<html"]) expect(answer.text).not.toContain(leak);
  expect(answer.text).not.toMatch(/\bat .+:\d+:\d+/); // a stack frame
  expect(answer.headers.get("x-powered-by")).toBeNull();
}

describe("CORS", () => {
  it("answers a listed origin's preflight with its CORS headers", async () => {
    const answer = await send(stack.gateway.url, {
      method: "OPTIONS",
      headers: { origin: ALLOWED, "access-control-request-method": "POST", "access-control-request-headers": "content-type, authorization" },
    });
    expect(answer.status).toBe(204);
    expect(answer.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(answer.headers.get("access-control-allow-methods")).toContain("POST");
    expect(answer.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(answer.headers.get("x-powered-by")).toBeNull();
  });

  it("lets a listed origin read answers, and gives other origins no CORS headers", async () => {
    const allowed = await send(stack.gateway.url, { body: { query: "{ __typename }" }, headers: { origin: ALLOWED } });
    expect(allowed.body.data).toEqual({ __typename: "Query" });
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    const other = await send(stack.gateway.url, { body: { query: "{ __typename }" }, headers: { origin: EVIL } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("refuses another origin's preflight", async () => {
    const answer = await send(stack.gateway.url, { method: "OPTIONS", headers: { origin: EVIL, "access-control-request-method": "POST" } });
    expectCleanError(answer, 403, "ORIGIN_NOT_ALLOWED");
    expect(answer.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("WebSocket Origin check", () => {
  it("refuses an upgrade from another origin with 403 JSON; the socket never opens", async () => {
    const refused = await upgrade(stack.gateway.wsUrl, { origin: EVIL });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).errors[0].extensions.code).toBe("ORIGIN_NOT_ALLOWED");
  });

  it("accepts a listed origin, the same origin and clients without an Origin", async () => {
    expect((await upgrade(stack.gateway.wsUrl, { origin: ALLOWED })).status).toBe(101);
    expect((await upgrade(stack.gateway.wsUrl, { origin: `http://127.0.0.1:${stack.gateway.port}` })).status).toBe(101);
    expect((await upgrade(stack.gateway.wsUrl)).status).toBe(101);
    const sameOrigin = wsTestClient(stack.gateway.wsUrl, { origin: `http://127.0.0.1:${stack.gateway.port}` });
    const result = await sameOrigin.first("{ __typename }");
    expect(result.data).toEqual({ __typename: "Query" });
    await sameOrigin.dispose();
  });

  it("refuses a cross-origin page even when it speaks graphql-ws", async () => {
    const page = wsTestClient(stack.gateway.wsUrl, { origin: EVIL });
    await expect(page.first("{ __typename }", {}, 2_000)).rejects.toThrow();
    await page.dispose();
  });

  it("upgrades only /graphql", async () => {
    const other = await upgrade(stack.gateway.wsUrl.replace(/\/graphql$/, "/elsewhere"));
    expect(other.status).toBe(404);
    expect(JSON.parse(other.body).errors[0].extensions.code).toBe("NOT_FOUND");
  });
});

/** Sends an upgrade request by hand (the ws client always sends a valid handshake); resolves with the HTTP answer. */
function handshake(url: string, method: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers: { connection: "Upgrade", upgrade: "websocket", ...headers } });
    request.on("response", (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    request.on("upgrade", () => reject(new Error("the malformed handshake was upgraded")));
    request.on("error", reject);
    request.end();
  });
}

describe("malformed WebSocket handshakes on /graphql are answered as JSON with a code", () => {
  const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
  it.each([
    ["no Sec-WebSocket-Key", "GET", { "sec-websocket-version": "13" }, 400],
    ["an unknown Sec-WebSocket-Version", "GET", { "sec-websocket-version": "99", "sec-websocket-key": KEY }, 400],
    ["a POST upgrade", "POST", { "sec-websocket-version": "13", "sec-websocket-key": KEY }, 405],
  ])("%s → a JSON refusal", async (_label, method, headers, status) => {
    const answer = await handshake(stack.gateway.wsUrl.replace(/^ws:/, "http:"), method, headers);
    expect(answer.status).toBe(status);
    expect(answer.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(answer.text).errors[0].extensions.code).toBe(status === 405 ? "METHOD_NOT_ALLOWED" : "BAD_REQUEST");
    if (status === 400) expect(answer.headers["sec-websocket-version"]).toBe("13");
  });
});

describe("CSRF prevention", () => {
  it("blocks a simple (non-preflighted) text/plain POST", async () => {
    const answer = await send(stack.gateway.url, { body: JSON.stringify({ query: "{ __typename }" }), headers: { "content-type": "text/plain" } });
    expect(answer.status).toBe(400);
    expect(answer.body.errors[0].extensions.code).toBe("BAD_REQUEST");
    expect(answer.body.errors[0].message).toContain("Cross-Site Request Forgery");
  });

  it("serves a GET query only with apollo-require-preflight (or x-apollo-operation-name)", async () => {
    const url = `${stack.gateway.url}?query=${encodeURIComponent("{ __typename }")}`;
    const blocked = await send(url, { headers: { accept: "application/json" } });
    expect(blocked.status).toBe(400);
    expect(blocked.body.errors[0].extensions.code).toBe("BAD_REQUEST");
    const allowed = await send(url, { headers: { accept: "application/json", "apollo-require-preflight": "true" } });
    expect(allowed.status).toBe(200);
    expect(allowed.body.data).toEqual({ __typename: "Query" });
  });
});

describe("hostile bodies are answered as JSON with a code", () => {
  it("malformed JSON → 400 MALFORMED_JSON", async () => {
    expectCleanError(await send(stack.gateway.url, { body: '{"query": "{ __typename }"', headers: { "content-type": "application/json" } }), 400, "MALFORMED_JSON");
  });

  it.each([["null"], ["42"], ['"a string"'], ["true"]])("a %s body → 400 BAD_REQUEST", async (body) => {
    expectCleanError(await send(stack.gateway.url, { body, headers: { "content-type": "application/json" } }), 400, "BAD_REQUEST");
  });

  it("a batch (array) body → 400 BAD_REQUEST", async () => {
    expectCleanError(await send(stack.gateway.url, { body: '[{"query": "{ __typename }"}]', headers: { "content-type": "application/json" } }), 400, "BAD_REQUEST");
  });

  it("a wrong charset → 415 UNSUPPORTED_MEDIA_TYPE", async () => {
    const answer = await send(stack.gateway.url, { body: '{"query": "{ __typename }"}', headers: { "content-type": "application/json; charset=latin1" } });
    expectCleanError(answer, 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("a body over 256 KB → 413 PAYLOAD_TOO_LARGE", async () => {
    const body = JSON.stringify({ query: "{ __typename }", variables: { pad: "x".repeat(300 * 1024) } });
    expectCleanError(await send(stack.gateway.url, { body, headers: { "content-type": "application/json" } }), 413, "PAYLOAD_TOO_LARGE");
  });

  it("compressed bodies: valid gzip is served; corrupt gzip/deflate/br → 400 BAD_REQUEST; a bomb over 256 KB inflated → 413; an unknown encoding → 415", async () => {
    const json = (encoding: string, body: Uint8Array) => send(stack.gateway.url, { body, headers: { "content-type": "application/json", "content-encoding": encoding } });
    const valid = await json("gzip", gzipSync('{"query": "{ __typename }"}'));
    expect(valid.body).toEqual({ data: { __typename: "Query" } });
    for (const encoding of ["gzip", "deflate", "br"]) {
      const answer = await json(encoding, new TextEncoder().encode("this is not compressed"));
      expectCleanError(answer, 400, "BAD_REQUEST");
      expect(answer.text).not.toMatch(/header check|zlib|Z_/i);
    }
    const truncated = gzipSync('{"query": "{ __typename }"}').subarray(0, 12);
    expectCleanError(await json("gzip", truncated), 400, "BAD_REQUEST");
    const bomb = gzipSync(JSON.stringify({ query: "{ __typename }", variables: { pad: "x".repeat(2 * 1024 * 1024) } }));
    expectCleanError(await json("gzip", bomb), 413, "PAYLOAD_TOO_LARGE");
    expectCleanError(await json("compress", new TextEncoder().encode("x")), 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it.each([["PUT"], ["DELETE"], ["PATCH"]])("%s /graphql → 405 METHOD_NOT_ALLOWED with Allow: GET, POST, naming no library", async (method) => {
    const answer = await send(stack.gateway.url, { method, body: { query: "{ __typename }" } });
    expectCleanError(answer, 405, "METHOD_NOT_ALLOWED");
    expect(answer.headers.get("allow")).toBe("GET, POST");
    expect(answer.text).not.toMatch(/apollo/i);
  });

  it("a subscription over HTTP → 400 SUBSCRIPTION_REQUIRES_WEBSOCKET, naming the WebSocket endpoint", async () => {
    const answer = await send(stack.gateway.url, { body: { query: 'subscription { attributesChanged(conversationId: "c1") { participantId } }' } });
    expectCleanError(answer, 400, "SUBSCRIPTION_REQUIRES_WEBSOCKET");
    expect(answer.body.errors[0].message).toMatch(/WebSocket.*graphql-ws/);
  });

  it("an unknown route → 404 NOT_FOUND", async () => {
    expectCleanError(await send(new URL("/nothing-here", stack.gateway.url).href), 404, "NOT_FOUND");
    expectCleanError(await send(new URL("/nothing-here", stack.gateway.url).href, { body: { query: "{ __typename }" } }), 404, "NOT_FOUND");
  });

  it("a missing or non-string query → 400 with a code", async () => {
    const missing = await send(stack.gateway.url, { body: { variables: {} } });
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0].extensions.code).toBe("BAD_REQUEST");
    const parse = await send(stack.gateway.url, { body: { query: "{ participant(" } });
    expect(parse.status).toBe(400);
    expect(parse.body.errors[0].extensions.code).toBe("GRAPHQL_PARSE_FAILED");
    const invalid = await send(stack.gateway.url, { body: { query: "{ noSuchField }" } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
  });
});
