/**
 * The gateway's Genesys access under the failures the real service produces, driven through
 * emulator controls: expired tokens are replaced, 429 + Retry-After is waited out, persistent
 * 5xx becomes a clear UPSTREAM_UNAVAILABLE error, bad credentials fail the start, and neither
 * secrets nor bearer tokens reach the logs.
 */
import { Writable } from "node:stream";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/server.js";
import { GenesysError } from "../../src/genesys/errors.js";
import { createLogger } from "../../src/logger.js";
import { startGateway, type RunningGateway } from "../../src/server.js";
import { ConversationDocument } from "../generated/graphql.js";
import { DEMO_CREDENTIALS } from "../support/sdk.js";
import { control, createCall, gql, setFaults, TEST_FAULTS, upstreamRequests, type TestCall } from "../support/stack.js";

/** Collects log lines in memory. */
function memoryLog(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

let emulator: RunningEmulator;
let gateway: RunningGateway;
let call: TestCall;
const log = memoryLog();

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, faults: TEST_FAULTS });
  gateway = await startGateway({
    port: 0,
    genesys: { endpoint: { baseUrl: new URL(emulator.url) }, ...DEMO_CREDENTIALS },
    logger: createLogger("debug", log.stream),
    auth: { mode: "none", reason: "embedded-demo" },
  });
});
afterAll(async () => {
  await gateway?.close();
  await emulator?.close();
});
beforeEach(async () => {
  await setFaults(emulator.url);
  call = await createCall(emulator.url, "a0000000-0000-4000-8000-0000000000f3");
});

describe("Genesys access", () => {
  it("logs in again when Genesys stops accepting the token (it expired)", async () => {
    const logins = await upstreamRequests(gateway.url, "loginClientCredentialsGrant");
    // The emulator's tokens live 24 h; jump its clock past that.
    await control(emulator.url, "POST", "/clock", { advanceMs: 25 * 3_600_000 });
    const result = await gql(gateway.url, ConversationDocument, { id: call.conversationId });
    expect(result.errors).toBeUndefined();
    expect(result.data?.conversation?.id).toBe(call.conversationId);
    expect(await upstreamRequests(gateway.url, "loginClientCredentialsGrant")).toBe(logins + 1);
  });

  it("waits out a 429 for its Retry-After, then succeeds", async () => {
    await control(emulator.url, "POST", "/faults/throttle", { seconds: 1 });
    const started = Date.now();
    const result = await gql(gateway.url, ConversationDocument, { id: call.conversationId });
    expect(result.errors).toBeUndefined();
    expect(result.data?.conversation?.id).toBe(call.conversationId);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const metrics = await (await fetch(new URL("/metrics", gateway.url))).text();
    expect(metrics).toMatch(/genesys_requests_total\{operation="getConversation",status="429"\} [1-9]/);
  });

  it("answers UPSTREAM_UNAVAILABLE with Genesys's status when 5xx persists after retries", async () => {
    await setFaults(emulator.url, { errorRate: 1, errorStatuses: [503] });
    const before = await upstreamRequests(gateway.url, "getConversation");
    const result = await gql(gateway.url, ConversationDocument, { id: call.conversationId });
    expect(result.data?.conversation ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "UPSTREAM_UNAVAILABLE", status: 503 });
    // One attempt plus three retries (GenesysClient maxAttempts 4).
    expect((await upstreamRequests(gateway.url, "getConversation")) - before).toBe(4);
  });

  it("refuses to start with wrong credentials, without logging the secret", async () => {
    const failed = memoryLog();
    const secret = "definitely-wrong-secret-5f1c";
    const attempt = startGateway({
      port: 0,
      genesys: { endpoint: { baseUrl: new URL(emulator.url) }, clientId: DEMO_CREDENTIALS.clientId, clientSecret: secret },
      logger: createLogger("trace", failed.stream),
      auth: { mode: "none", reason: "embedded-demo" },
    });
    await expect(attempt).rejects.toBeInstanceOf(GenesysError);
    await expect(attempt).rejects.toMatchObject({ status: 401 });
    expect(failed.lines.length).toBeGreaterThan(0);
    const all = failed.lines.join("\n");
    expect(all).not.toContain(secret);
    expect(all).not.toContain(Buffer.from(`${DEMO_CREDENTIALS.clientId}:${secret}`).toString("base64"));
  });

  it("never logs a bearer token or the client secret, through relogins, 429s and 5xx", async () => {
    // The tests above made the gateway log token renewals, retries and failures.
    const all = log.lines.join("\n");
    expect(all).toContain("genesys call retried");
    expect(all).not.toMatch(/bearer/i);
    expect(all).not.toContain(DEMO_CREDENTIALS.clientSecret);
    expect(all).not.toContain(Buffer.from(`${DEMO_CREDENTIALS.clientId}:${DEMO_CREDENTIALS.clientSecret}`).toString("base64"));
  });
});
