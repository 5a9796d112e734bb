/**
 * Proves the cost and abuse limits end to end, over HTTP and graphql-ws alike: the depth-12
 * nest and the 2,000-alias query from issue 6 are refused within milliseconds, every limit
 * (depth, aliases, tokens, cost, list nesting, conversations) is refused with `QUERY_TOO_COMPLEX` naming it,
 * and no refused operation reaches Genesys (the gateway's `genesys_requests_total` and the
 * emulator's write log stay unchanged). Then the per-caller rate limit (`RATE_LIMITED`, 429 with
 * Retry-After, one budget across both transports) and the open-subscription caps per socket and
 * per caller (`SUBSCRIPTION_LIMIT_REACHED`, the socket stays open), and that the defaults hold
 * a dashboard's 300 subscriptions on one socket.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/limits/settings.js";
import { readLog } from "../support/emulator-http.js";
import { post, wsTestClient, type WsTestClient } from "../support/gateway-http.js";
import { createCall, eventually, startStack, upstreamRequests, type Stack, type TestCall } from "../support/stack.js";

const QUEUE = "a0000000-0000-4000-8000-0000000000e1";

/** `participant { conversation { participants { conversation … { id } } } }`: `depth` fields deep, `participant` and `id` included. */
function nested(depth: number): string {
  let selection = "id";
  for (let i = depth - 2; i >= 1; i--) selection = `${i % 2 === 1 ? "conversation" : "participants"} { ${selection} }`;
  return `query($c: ID!, $p: ID!) { participant(conversationId: $c, participantId: $p) { ${selection} } }`;
}

/** `count` aliases of `participant`, each on its own unknown conversation id unless `sameConversation`. */
function aliases(count: number, sameConversation?: string): string {
  const fields = Array.from(
    { length: count },
    (_, i) => `a${i}: participant(conversationId: "${sameConversation ?? `unknown-${i}`}", participantId: "p${i}") { id }`,
  );
  return `{ ${fields.join(" ")} }`;
}

const FIELDS = "id conversationId name purpose state address userId queueId startTime endTime attributes version";
/** 60 aliases of a 7-deep conversation walk: within depth, alias, token and conversation limits, over the cost limit. */
function costly(conversationId: string): string {
  const one = `conversation(id: "${conversationId}") { participants { ${FIELDS} conversation { participants { ${FIELDS} conversation { participants { ${FIELDS} } } } } } }`;
  return `{ ${Array.from({ length: 60 }, (_, i) => `a${i}: ${one}`).join(" ")} }`;
}

describe("cost limits (default settings)", () => {
  let stack: Stack;
  let call: TestCall;
  let ws: WsTestClient;

  beforeAll(async () => {
    stack = await startStack();
    call = await createCall(stack.emulator.url, QUEUE, { "crm.caseId": "CASE-L" });
    ws = wsTestClient(stack.gateway.wsUrl);
  });
  afterAll(async () => {
    await ws?.dispose();
    await stack?.close();
  });

  /** Sends `query` over both transports; expects QUERY_TOO_COMPLEX naming `limit`, fast, with no Genesys call. */
  async function refusedEverywhere(query: string, limit: string, variables: Record<string, unknown> = {}) {
    const readsBefore = await upstreamRequests(stack.gateway.url, "getConversation");
    const writesBefore = (await readLog(stack.emulator.url)).length;
    const started = performance.now();
    const http = await post(stack.gateway.url, query, variables);
    const httpMs = performance.now() - started;
    expect(http.status).toBe(400);
    expect(http.body.errors).toHaveLength(1);
    expect(http.body.errors[0].extensions).toMatchObject({ code: "QUERY_TOO_COMPLEX", limit });
    expect(http.body.errors[0].message).toContain(limit);
    expect(http.body.data).toBeUndefined();
    const overWs = await ws.first(query, variables);
    expect(overWs.errors?.[0]?.extensions).toMatchObject({ code: "QUERY_TOO_COMPLEX", limit });
    expect(await upstreamRequests(stack.gateway.url, "getConversation")).toBe(readsBefore);
    expect((await readLog(stack.emulator.url)).length).toBe(writesBefore);
    return httpMs;
  }

  it("refuses the 12-deep participants/conversation nest within a few ms, before any Genesys call", async () => {
    const ms = await refusedEverywhere(nested(12), "depth", { c: call.conversationId, p: call.customerId });
    expect(ms).toBeLessThan(250);
  });

  it("refuses the 2,000-alias query on unknown ids within a few ms, before any Genesys call", async () => {
    const query = aliases(2_000);
    const readsBefore = await upstreamRequests(stack.gateway.url, "getConversation");
    const started = performance.now();
    const http = await post(stack.gateway.url, query);
    const ms = performance.now() - started;
    expect(http.status).toBe(400);
    expect(http.body.errors[0].extensions.code).toBe("QUERY_TOO_COMPLEX");
    expect(ms).toBeLessThan(250);
    expect(await upstreamRequests(stack.gateway.url, "getConversation")).toBe(readsBefore);
  });

  it("names each limit: depth, aliases, tokens, cost, listNesting, conversations", async () => {
    await refusedEverywhere(nested(DEFAULT_LIMITS.maxDepth + 1), "depth", { c: call.conversationId, p: call.customerId });
    await refusedEverywhere(nested(6), "listNesting", { c: call.conversationId, p: call.customerId });
    await refusedEverywhere(aliases(DEFAULT_LIMITS.maxAliases + 1, call.conversationId), "aliases");
    await refusedEverywhere(`{ participant(conversationId: "x", participantId: "y") { ${"id ".repeat(DEFAULT_LIMITS.maxTokens)} } }`, "tokens");
    await refusedEverywhere(costly(call.conversationId), "cost");
    await refusedEverywhere(aliases(DEFAULT_LIMITS.maxConversationsPerOperation + 1), "conversations");
  });

  it("counts conversations named through variables and fragments", async () => {
    const ids = Array.from({ length: DEFAULT_LIMITS.maxConversationsPerOperation + 1 }, (_, i) => `c-${i}`);
    const defs = ids.map((_, i) => `$c${i}: ID!`).join(", ");
    const body = ids.map((_, i) => `a${i}: conversation(id: $c${i}) { ...C }`).join(" ");
    const query = `query(${defs}) { ${body} } fragment C on Conversation { id }`;
    await refusedEverywhere(query, "conversations", Object.fromEntries(ids.map((id, i) => [`c${i}`, id])));
  });

  it("refuses a second level of participants lists within depth, alias and cost limits (each level multiplies the answer by the participant count)", async () => {
    const vars = { c: call.conversationId, p: call.customerId };
    // Within depth 8, 39 aliases and cost 5,000: on a 50-participant conversation this ran 121 s and answered 400 MB.
    const level = (name: string, inner: string) => Array.from({ length: 3 }, (_, i) => `${name}${i}: participants { ${inner} }`).join(" ");
    const fanOut = `query($c: ID!, $p: ID!) { participant(conversationId: $c, participantId: $p) { conversation { ...L1 } } }
      fragment L1 on Conversation { ${level("x", "conversation { ...L2 }")} }
      fragment L2 on Conversation { ${level("y", "conversation { ...L3 }")} }
      fragment L3 on Conversation { ${level("z", "id attributes")} }`;
    await refusedEverywhere(fanOut, "listNesting", vars);
    await refusedEverywhere(nested(DEFAULT_LIMITS.maxDepth), "listNesting", vars);
    await refusedEverywhere(`query($c: ID!) { conversation(id: $c) { participants { conversation { ... on Conversation { participants { id } } } } } }`, "listNesting", { c: call.conversationId });
  });

  it("serves what stays within every limit: one participants level, 50 conversations, 100 aliases", async () => {
    const deep = await post(
      stack.gateway.url,
      `query($c: ID!, $p: ID!) { participant(conversationId: $c, participantId: $p) { conversation { participants { id conversation { id } } } } }`,
      { c: call.conversationId, p: call.customerId },
    );
    expect(deep.body.errors).toBeUndefined();
    const walk = deep.body.data.participant.conversation.participants[0];
    expect(walk).toEqual({ id: call.customerId, conversation: { id: call.conversationId } });
    const before = await upstreamRequests(stack.gateway.url, "getConversation");
    const fifty = await post(stack.gateway.url, aliases(DEFAULT_LIMITS.maxConversationsPerOperation));
    expect(fifty.body.errors).toBeUndefined();
    expect(Object.values(fifty.body.data).every((p) => p === null)).toBe(true);
    expect((await upstreamRequests(stack.gateway.url, "getConversation")) - before).toBe(DEFAULT_LIMITS.maxConversationsPerOperation);
    const hundred = await post(stack.gateway.url, aliases(DEFAULT_LIMITS.maxAliases, call.conversationId));
    expect(hundred.body.errors).toBeUndefined();
  });

  it("holds a dashboard's 300 subscriptions on one socket", async () => {
    const dashboard = wsTestClient(stack.gateway.wsUrl);
    const query = `subscription($c: ID!) { attributesChanged(conversationId: $c) { participantId changes { key value } } }`;
    const results: Array<Promise<unknown>> = [];
    const stops: Array<() => void> = [];
    for (let i = 0; i < 300; i++) {
      results.push(
        new Promise((resolve, reject) => {
          stops.push(
            dashboard.client.subscribe(
              { query, variables: { c: call.conversationId } },
              { next: resolve, error: (e) => reject(new Error(`subscription ${i} failed: ${JSON.stringify(e)}`)), complete: () => undefined },
            ),
          );
        }),
      );
    }
    // Subscriptions become live one by one: write a new value every 200 ms until every one has seen a change.
    let settled = false;
    const all = Promise.all(results).finally(() => (settled = true));
    let writes = 0;
    let lastWrite = 0;
    await eventually(
      async () => {
        if (settled) return true;
        if (Date.now() - lastWrite >= 200) {
          lastWrite = Date.now();
          await stack.sdk.conversations.patchConversationParticipantAttributes(call.conversationId, call.customerId, {
            attributes: { "dash.seen": String(++writes) },
          });
        }
        return undefined;
      },
      15_000,
      "300 subscriptions each receiving a change",
    );
    expect(await all).toHaveLength(300);
    for (const stop of stops) stop();
    await dashboard.dispose();
  });
});

describe("rate limit and subscription caps", () => {
  let stack: Stack;
  let call: TestCall;

  beforeAll(async () => {
    stack = await startStack({ limits: { requestsPerMinute: 4, subscriptionsPerSocket: 2, subscriptionsPerCaller: 3 } });
    call = await createCall(stack.emulator.url, QUEUE);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("RATE_LIMITED (429, Retry-After) once a caller's operations per minute are spent, on HTTP and WebSocket alike", async () => {
    const query = `query($id: ID!) { conversation(id: $id) { id } }`;
    for (let i = 0; i < 4; i++) {
      const ok = await post(stack.gateway.url, query, { id: call.conversationId });
      expect(ok.body.errors).toBeUndefined();
    }
    const before = await upstreamRequests(stack.gateway.url, "getConversation");
    const refused = await post(stack.gateway.url, query, { id: call.conversationId });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.body.errors[0].extensions).toMatchObject({ code: "RATE_LIMITED" });
    expect(refused.body.errors[0].extensions.retryAfterSeconds).toBeGreaterThan(0);
    // The same caller (this address) over the WebSocket shares the budget.
    const ws = wsTestClient(stack.gateway.wsUrl);
    const overWs = await ws.first(query, { id: call.conversationId });
    expect(overWs.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED" });
    expect(await upstreamRequests(stack.gateway.url, "getConversation")).toBe(before);
    await ws.dispose();
  });
});

describe("subscription caps", () => {
  let stack: Stack;
  let call: TestCall;

  beforeAll(async () => {
    stack = await startStack({ limits: { subscriptionsPerSocket: 2, subscriptionsPerCaller: 3 } });
    call = await createCall(stack.emulator.url, QUEUE);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("refuses the subscription over the cap per socket and per caller with SUBSCRIPTION_LIMIT_REACHED; the socket stays open", async () => {
    const query = `subscription($c: ID!) { attributesChanged(conversationId: $c) { participantId } }`;
    const variables = { c: call.conversationId };
    const a = wsTestClient(stack.gateway.wsUrl);
    const b = wsTestClient(stack.gateway.wsUrl);
    const refusals: any[] = [];
    const open = (client: WsTestClient) => {
      let settle!: (value: unknown) => void;
      const outcome = new Promise((resolve) => (settle = resolve));
      const stop = client.client.subscribe({ query, variables }, { next: () => undefined, error: (e) => settle(e), complete: () => settle("complete") });
      return { stop, outcome };
    };
    const a1 = open(a);
    const a2 = open(a);
    const a3 = open(a);
    refusals.push(await a3.outcome);
    expect(refusals[0][0].extensions).toMatchObject({ code: "SUBSCRIPTION_LIMIT_REACHED", limit: "socket", max: 2 });
    const b1 = open(b);
    const b2 = open(b);
    refusals.push(await b2.outcome);
    expect(refusals[1][0].extensions).toMatchObject({ code: "SUBSCRIPTION_LIMIT_REACHED", limit: "caller", max: 3 });
    // Completing one frees its slot on the socket and for the caller (once the server has seen the complete).
    a1.stop();
    const b3 = await eventually(async () => {
      const attempt = open(b);
      const outcome = await Promise.race([attempt.outcome, new Promise((resolve) => setTimeout(() => resolve("open"), 300))]);
      return outcome === "open" ? attempt : undefined;
    }, 5_000, "a freed subscription slot");
    // Nobody was disconnected.
    const stillServing = await a.first(`{ conversation(id: "${call.conversationId}") { id } }`);
    expect(stillServing.data.conversation.id).toBe(call.conversationId);
    a2.stop();
    b1.stop();
    b3.stop();
    await a.dispose();
    await b.dispose();
  });
});
