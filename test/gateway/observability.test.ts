/**
 * Visibility end to end: one JSON log line per GraphQL operation over HTTP and graphql-ws
 * (request id taken from X-Request-Id or generated, echoed; type, name, duration, outcome,
 * error codes, the Genesys calls it caused), masked internal errors logged with their stack and
 * answered with only the request id, and the Prometheus metrics of issue 7 moving as the
 * operations run against the emulator.
 */
import { Writable } from "node:stream";
import { print } from "graphql";
import { createClient, type Client } from "graphql-ws";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { startEmulator, type RunningEmulator } from "../../src/emulator/server.js";
import { parseApiKeys } from "../../src/auth/api-keys.js";
import { GenesysClient } from "../../src/genesys/client.js";
import { createLogger } from "../../src/logger.js";
import { startGateway, type RunningGateway } from "../../src/server.js";
import { AttributesChangedDocument, ConversationDocument, UpdateAttributesDocument } from "../generated/graphql.js";
import { DEMO_CREDENTIALS } from "../support/sdk.js";
import { control, createCall, eventually, setFaults, subscribe, TEST_FAULTS, type TestCall } from "../support/stack.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const QUEUE = "a0000000-0000-4000-8000-0000000000f8";

const lines: Array<Record<string, any>> = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
    done();
  },
});

let emulator: RunningEmulator;
let gateway: RunningGateway;
let call: TestCall;
let client: Client | undefined;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, faults: TEST_FAULTS });
  gateway = await startGateway({
    port: 0,
    genesys: { endpoint: { baseUrl: new URL(emulator.url) }, ...DEMO_CREDENTIALS },
    logger: createLogger("info", sink),
    auth: { mode: "none", reason: "embedded-demo" },
    heartbeatTimeoutMs: 5_000,
  });
});
afterAll(async () => {
  await gateway?.close();
  await emulator?.close();
});
beforeEach(async () => {
  await setFaults(emulator.url);
  call = await createCall(emulator.url, QUEUE, { "crm.caseId": "CASE-1" });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await client?.dispose();
  client = undefined;
});

async function post(body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(gateway.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { response, body: (await response.json()) as { data?: any; errors?: any[] } };
}

/** The operation line(s) of one request id. */
const operationLines = (requestId: string) => lines.filter((l) => l.msg === "graphql operation" && l.requestId === requestId);
const waitLine = (predicate: (l: Record<string, any>) => boolean, what: string) =>
  eventually(async () => lines.find((l) => l.msg === "graphql operation" && predicate(l)), 5_000, what);

async function metrics(): Promise<string> {
  return (await fetch(new URL("/metrics", gateway.url))).text();
}
/** The value of one sample line (`name{labels}`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/**
 * A graphql-ws client whose upgrade request carries `X-Request-Id: connectionId`, to `wsUrl`
 * (default: the anonymous gateway) with `connectionParams` (credentials) when given.
 */
function wsClientWithId(connectionId: string, wsUrl = gateway.wsUrl, connectionParams?: Record<string, string>): Client {
  class WithRequestId extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: { "x-request-id": connectionId } });
    }
  }
  return createClient({ url: wsUrl, webSocketImpl: WithRequestId, retryAttempts: 0, lazy: true, ...(connectionParams ? { connectionParams } : {}) });
}

/** Runs one operation over graphql-ws and returns its first result (or the error payload). */
function wsOnce(c: Client, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: any; errors?: any[] }> {
  return new Promise((resolve) => {
    let first: { data?: any; errors?: any[] } | undefined;
    c.subscribe(
      { query, variables },
      {
        next: (r) => (first ??= r as { data?: any; errors?: any[] }),
        error: (e) => resolve({ errors: Array.isArray(e) ? e : [{ message: String(e) }] }),
        complete: () => resolve(first ?? {}),
      },
    );
  });
}

describe("HTTP operation log", () => {
  it("writes one line per operation with the caller's X-Request-Id, echoed in the response", async () => {
    const { response, body } = await post(
      { query: print(ConversationDocument), variables: { id: call.conversationId }, operationName: "Conversation" },
      { "x-request-id": "req-abc.123" },
    );
    expect(body.errors).toBeUndefined();
    expect(response.headers.get("x-request-id")).toBe("req-abc.123");
    const [line, ...more] = operationLines("req-abc.123");
    expect(more).toEqual([]);
    expect(line).toMatchObject({
      level: 30,
      transport: "http",
      operationType: "query",
      operationName: "Conversation",
      // Caller auth is off here: the anonymous caller, identified by its address.
      caller: "anonymous:127.0.0.1",
      outcome: "success",
      errorCodes: [],
      upstreamCalls: 1,
      upstream: { getConversation: 1 },
    });
    expect(line!.durationMs).toBeGreaterThan(0);
  });

  it("generates a UUID when X-Request-Id is missing or unacceptable, and counts every Genesys attempt", async () => {
    await setFaults(emulator.url, { errorRate: 1, errorStatuses: [503] });
    const { response, body } = await post({ query: print(ConversationDocument), variables: { id: call.conversationId } }, { "x-request-id": "bad id with spaces" });
    const id = response.headers.get("x-request-id")!;
    expect(id).toMatch(UUID);
    expect(body.errors?.[0]?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(operationLines(id)[0]).toMatchObject({ outcome: "error", errorCodes: ["UPSTREAM_UNAVAILABLE"], upstreamCalls: 4, upstream: { getConversation: 4 } });
  });

  it("logs the operation type of a mutation and its Genesys calls (read, PATCH; the notification confirms it)", async () => {
    const { response, body } = await post({
      query: print(UpdateAttributesDocument),
      variables: { input: { conversationId: call.conversationId, participantId: call.customerId, attributes: { "crm.caseId": "CASE-2" } } },
    });
    expect(body.data.updateAttributes.__typename).toBe("AttributesUpdated");
    const line = operationLines(response.headers.get("x-request-id")!)[0]!;
    expect(line).toMatchObject({ operationType: "mutation", operationName: "UpdateAttributes", outcome: "success" });
    expect(line.upstream.patchConversationParticipantAttributes).toBe(1);
    // Confirmed from the change log: no verify read (issue 9).
    expect(line.upstream.getConversation).toBe(1);
  });

  it("masks an internal error to the request id, and logs the real error and stack under that id", async () => {
    vi.spyOn(GenesysClient.prototype, "getConversation").mockRejectedValueOnce(new TypeError("internal detail that must stay inside"));
    const { response, body } = await post({ query: print(ConversationDocument), variables: { id: call.conversationId } });
    const id = response.headers.get("x-request-id")!;
    expect(body.errors).toEqual([
      expect.objectContaining({ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR", requestId: id } }),
    ]);
    expect(JSON.stringify(body)).not.toContain("internal detail");
    const logged = lines.find((l) => l.msg === "masked internal error" && l.requestId === id);
    expect(logged).toMatchObject({ level: 50, path: ["conversation"], err: { type: "TypeError", message: "internal detail that must stay inside" } });
    expect(logged!.err.stack).toMatch(/TypeError: internal detail/);
    expect(operationLines(id)[0]).toMatchObject({ outcome: "error", errorCodes: ["INTERNAL_SERVER_ERROR"] });
  });
});

describe("graphql-ws operation log", () => {
  it("writes a line per operation with its own request id and the socket's X-Request-Id as connectionId", async () => {
    client = wsClientWithId("conn-7");
    const result = await wsOnce(client, print(ConversationDocument), { id: call.conversationId });
    expect(result.errors).toBeUndefined();
    const line = await waitLine((l) => l.connectionId === "conn-7" && l.operationName === "Conversation", "ws query line");
    expect(line).toMatchObject({ transport: "ws", operationType: "query", outcome: "success", upstream: { getConversation: 1 }, results: 1 });
    expect(line.requestId).toMatch(UUID);
  });

  it("logs a subscription when it ends, with the Genesys calls its setup caused", async () => {
    client = wsClientWithId("conn-sub");
    const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
    await eventually(async () => ((sample(await metrics(), "graphql_subscriptions_active") ?? 0) >= 1 ? true : undefined));
    await emulatorWrite({ "crm.caseId": "CASE-9" });
    expect((await sub.next()).data?.attributesChanged.changes).toEqual([{ key: "crm.caseId", previous: "CASE-1", value: "CASE-9" }]);
    sub.stop();
    const line = await waitLine((l) => l.connectionId === "conn-sub", "subscription line");
    expect(line).toMatchObject({ transport: "ws", operationType: "subscription", operationName: "AttributesChanged", outcome: "success", results: 1 });
    expect(line.upstream.getConversation).toBe(1); // the initial state
    expect(line.upstreamCalls).toBeGreaterThanOrEqual(2); // + the topic subscription (and a channel when none existed)
  });

  it("logs refused operations (validation) and masks internal errors to the request id", async () => {
    client = wsClientWithId("conn-err");
    const refused = await wsOnce(client, "{ nope }");
    expect(refused.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    await waitLine((l) => l.connectionId === "conn-err" && l.errorCodes.includes("GRAPHQL_VALIDATION_FAILED"), "validation line");

    vi.spyOn(GenesysClient.prototype, "getConversation").mockRejectedValueOnce(new RangeError("ws internal detail"));
    const masked = await wsOnce(client, print(ConversationDocument), { id: call.conversationId });
    const error = masked.errors?.[0];
    expect(error).toMatchObject({ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR", requestId: expect.stringMatching(UUID) } });
    const logged = lines.find((l) => l.msg === "masked internal error" && l.requestId === error.extensions.requestId);
    expect(logged?.err).toMatchObject({ type: "RangeError", message: "ws internal detail" });
  });
});

describe("operation log with caller auth (API keys)", () => {
  const READ_KEY = "log-read-key-0123456789abcdef";
  let secured: RunningGateway;
  beforeAll(async () => {
    secured = await startGateway({
      port: 0,
      genesys: { endpoint: { baseUrl: new URL(emulator.url) }, ...DEMO_CREDENTIALS },
      logger: createLogger("info", sink),
      auth: { mode: "required", apiKeys: parseApiKeys(JSON.stringify([{ id: "dashboard", key: READ_KEY, scopes: ["participants:read"] }]), "test keys") },
      limits: { maxAliases: 1 },
    });
  });
  afterAll(async () => {
    await secured?.close();
  });

  const postTo = async (body: unknown, headers: Record<string, string>) => {
    const response = await fetch(secured.url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
    return { response, body: (await response.json()) as { data?: any; errors?: any[] } };
  };
  const authorized = (requestId: string) => ({ authorization: `Bearer ${READ_KEY}`, "x-request-id": requestId });

  it("names the API key's caller id on HTTP, for answered and refused (scope, limit) operations", async () => {
    const ok = await postTo({ query: print(ConversationDocument), variables: { id: call.conversationId } }, authorized("auth-ok"));
    expect(ok.body.errors).toBeUndefined();
    expect(operationLines("auth-ok")).toEqual([expect.objectContaining({ transport: "http", operationType: "query", operationName: "Conversation", caller: "dashboard", outcome: "success" })]);

    const forbidden = await postTo({ query: print(UpdateAttributesDocument), variables: { input: { conversationId: call.conversationId, participantId: call.customerId, attributes: { a: "b" } } } }, authorized("auth-forbidden"));
    expect(forbidden.response.status).toBe(403);
    expect(forbidden.body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(operationLines("auth-forbidden")).toEqual([
      expect.objectContaining({ caller: "dashboard", operationName: "UpdateAttributes", outcome: "error", errorCodes: ["FORBIDDEN"], upstreamCalls: 0 }),
    ]);
    // Not the placeholder document the operation plugin hands Apollo for refused operations.
    expect(operationLines("auth-forbidden")[0]!.operationName).not.toBe("Refused");

    const tooComplex = await postTo({ query: `{ a: conversation(id: "${call.conversationId}") { id } b: conversation(id: "${call.conversationId}") { id } }` }, authorized("auth-limit"));
    expect(tooComplex.body.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COMPLEX");
    expect(operationLines("auth-limit")).toEqual([expect.objectContaining({ caller: "dashboard", outcome: "error", errorCodes: ["QUERY_TOO_COMPLEX"] })]);
  });

  it("logs requests refused before GraphQL (no credentials, malformed JSON) with their code and status", async () => {
    const anonymous = await postTo({ query: "{ __typename }" }, { "x-request-id": "auth-none" });
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.response.headers.get("x-request-id")).toBe("auth-none");
    expect(operationLines("auth-none")).toEqual([
      expect.objectContaining({ transport: "http", caller: null, outcome: "error", errorCodes: ["UNAUTHENTICATED"], status: 401 }),
    ]);
    const malformed = await postTo("{not json", authorized("auth-malformed"));
    expect(malformed.response.status).toBe(400);
    expect(malformed.body.errors?.[0]?.extensions?.code).toBe("MALFORMED_JSON");
    await eventually(async () => operationLines("auth-malformed")[0], 5_000, "malformed JSON line");
    expect(operationLines("auth-malformed")).toEqual([
      expect.objectContaining({ caller: "dashboard", outcome: "error", errorCodes: ["MALFORMED_JSON"], status: 400 }),
    ]);
  });

  it("names the API key's caller id on graphql-ws, for answered and refused operations, each with its own request id", async () => {
    client = wsClientWithId("auth-ws", secured.wsUrl, { authorization: `Bearer ${READ_KEY}` });
    const ok = await wsOnce(client, print(ConversationDocument), { id: call.conversationId });
    expect(ok.errors).toBeUndefined();
    const refused = await wsOnce(client, print(UpdateAttributesDocument), { input: { conversationId: call.conversationId, participantId: call.customerId, attributes: { a: "b" } } });
    expect(refused.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const answered = await waitLine((l) => l.connectionId === "auth-ws" && l.outcome === "success", "ws answered line");
    expect(answered).toMatchObject({ transport: "ws", operationType: "query", caller: "dashboard" });
    const forbidden = await waitLine((l) => l.connectionId === "auth-ws" && l.errorCodes.includes("FORBIDDEN"), "ws refused line");
    expect(forbidden).toMatchObject({ transport: "ws", caller: "dashboard", operationName: "UpdateAttributes", outcome: "error" });
    expect(forbidden.requestId).toMatch(UUID);
    expect(forbidden.requestId).not.toBe(answered.requestId);
  });
});

async function emulatorWrite(attributes: Record<string, string>): Promise<void> {
  const { api, getToken } = await import("../support/emulator-http.js");
  const token = await getToken(emulator.url);
  const res = await api(emulator.url, token, "PATCH", `/api/v2/conversations/${call.conversationId}/participants/${call.customerId}/attributes`, { attributes });
  expect(res.status).toBe(202);
}

describe("metrics", () => {
  it("GraphQL operations, verify-loop outcomes and attempts, confirmation delay, upstream duration by status, rate-limit headroom", async () => {
    const before = await metrics();
    const updated = (t: string) => sample(t, 'attribute_update_outcomes_total{outcome="updated"}') ?? 0;
    const { body } = await post({
      query: print(UpdateAttributesDocument),
      variables: { input: { conversationId: call.conversationId, participantId: call.customerId, attributes: { "crm.owner": "ops" } } },
      operationName: "UpdateAttributes",
    });
    expect(body.data.updateAttributes.__typename).toBe("AttributesUpdated");
    const after = await metrics();
    expect(updated(after)).toBe(updated(before) + 1);
    expect(sample(after, 'graphql_operation_duration_seconds_count{operation_type="mutation",operation_name="UpdateAttributes",outcome="success"}')).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'attribute_update_attempts_bucket{le="1",outcome="updated"}')).toBeGreaterThanOrEqual(1);
    expect(sample(after, "attribute_update_confirmation_delay_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'genesys_request_duration_seconds_count{operation="patchConversationParticipantAttributes",status="202"}')).toBeGreaterThanOrEqual(1);
    // TEST_FAULTS: 100 000 requests per minute.
    expect(sample(after, "genesys_rate_limit_allowed")).toBe(100_000);
    const remaining = sample(after, "genesys_rate_limit_remaining")!;
    expect(remaining).toBeGreaterThan(99_000);
    expect(remaining).toBeLessThan(100_000);
    expect(sample(after, "genesys_rate_limit_reset_seconds")).toBeGreaterThan(0);
  });

  it("notification socket state, reconnects, events by topic kind, active subscriptions and sockets", async () => {
    client = wsClientWithId("conn-metrics");
    const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
    const open = await eventually(async () => {
      const t = await metrics();
      return sample(t, 'genesys_notification_socket_state{state="open"}') === 1 && (sample(t, "graphql_subscriptions_active") ?? 0) >= 1 ? t : undefined;
    });
    expect(sample(open, "graphql_ws_connections_active")).toBeGreaterThanOrEqual(1);
    expect(sample(open, 'genesys_notification_socket_state{state="down"}')).toBe(0);
    const events = (t: string) => sample(t, 'genesys_notification_events_total{topic_kind="conversation.attributes"}') ?? 0;
    const reconnects = sample(open, "genesys_notification_reconnects_total") ?? 0;

    await emulatorWrite({ "crm.caseId": "CASE-3" });
    await sub.next();
    expect(events(await metrics())).toBeGreaterThan(events(open));

    await control(emulator.url, "POST", "/notifications/disconnect");
    await eventually(async () => ((sample(await metrics(), "genesys_notification_reconnects_total") ?? 0) > reconnects ? true : undefined));
    sub.stop();
    await client.dispose();
    client = undefined;
    await eventually(async () => {
      const t = await metrics();
      return sample(t, "graphql_subscriptions_active") === 0 && sample(t, "graphql_ws_connections_active") === 0 ? true : undefined;
    });
  });
});
