/**
 * The change log end to end: graphql-ws clients on the gateway, another official-SDK client
 * writing straight to the emulator, emulator faults in between. Proves:
 * - `after` across a client disconnect replays exactly what the client missed, then goes live;
 * - `includeSnapshot` starts with the current state and misses no write made during subscribe;
 * - unknown, foreign and no-longer-covered cursors → CURSOR_EXPIRED;
 * - reordered notifications (reorderWindowMs 400, writes racing in pairs, so some share an
 *   `eventTime`, and in every other trial all of them do) never leave a conversation or queue
 *   subscriber on an older value: in 10 trials
 *   every delivered sequence follows the emulator's write log order and ends on Genesys's state;
 * - dropped notifications (no socket drop) are healed by reconciliation; duplicates yield nothing;
 * - after a reconnect, a queue subscription finds a conversation that entered the queue during
 *   the gap (queue observations); with no socket drop, background reconciliation's re-listing
 *   of the queue finds one whose queue notification was dropped;
 * - a subscriber whose socket stops reading is ended with SLOW_CONSUMER and its last cursor,
 *   from which it resumes with nothing lost.
 */
import type { Client } from "graphql-ws";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AttributesChangedDocument, UpdateAttributesDocument, type AttributesChangedSubscription } from "../generated/graphql.js";
import { control, createCall, gqlData, setFaults, startStack, subscribe, wsClient, type LiveSubscription, type Stack, type TestCall } from "../support/stack.js";
import { readLog } from "../support/emulator-http.js";

type Change = AttributesChangedSubscription["attributesChanged"];

/** A queue id of its own per use, so subscriptions of different tests never see each other's conversations. */
let queueSerial = 0;
const freshQueue = () => `a0000000-0000-4000-8000-${String(++queueSerial).padStart(12, "0")}`;

/** Next data event, failing on errors. */
async function nextChange(sub: LiveSubscription<AttributesChangedSubscription>, timeoutMs = 5_000): Promise<Change> {
  const result = await sub.next(timeoutMs);
  if (result.errors?.length) throw new Error(`subscription error: ${JSON.stringify(result.errors)}`);
  return result.data!.attributesChanged;
}

/** Reads events until `done(event)` holds; returns them all. */
async function changesUntil(sub: LiveSubscription<AttributesChangedSubscription>, done: (c: Change) => boolean, timeoutMs = 8_000): Promise<Change[]> {
  const seen: Change[] = [];
  const until = Date.now() + timeoutMs;
  for (;;) {
    const change = await nextChange(sub, Math.max(1, until - Date.now()));
    seen.push(change);
    if (done(change)) return seen;
  }
}

function writer(stack: Stack, call: TestCall) {
  return (attributes: Record<string, string>, participantId = call.customerId) =>
    stack.sdk.conversations.patchConversationsCallParticipantAttributes(call.conversationId, participantId, { attributes });
}

/** Topics the emulator holds for the gateway's client. */
async function channelTopics(stack: Stack): Promise<string[][]> {
  const listing = await control<{ entities: Array<{ topics: string[] }> }>(stack.emulator.url, "GET", "/notifications/channels");
  return listing.entities.map((c) => c.topics);
}

async function waitForTopic(stack: Stack, topic: string): Promise<void> {
  const until = Date.now() + 5_000;
  while (!(await channelTopics(stack)).flat().includes(topic)) {
    if (Date.now() > until) throw new Error(`topic ${topic} never subscribed`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const conversationTopic = (call: TestCall) => `v2.detail.events.conversation.${call.conversationId}.attributes`;
const queueTopic = (queueId: string) => `v2.routing.queues.${queueId}.conversations`;

describe("resume, snapshot and cursors", () => {
  let stack: Stack;
  let client: Client;
  let call: TestCall;
  let write: ReturnType<typeof writer>;

  beforeAll(async () => {
    stack = await startStack({ changes: { reconcileRequestsPerMinute: 600 } });
  });
  afterAll(async () => {
    await stack?.close();
  });
  beforeEach(async () => {
    await setFaults(stack.emulator.url);
    call = await createCall(stack.emulator.url, freshQueue(), { "crm.caseId": "CASE-1" });
    write = writer(stack, call);
    client = wsClient(stack.gateway.wsUrl);
    return async () => {
      await client.dispose();
    };
  });

  it("resumes with after across a client disconnect: exactly what was missed, then live", async () => {
    const first = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
    await waitForTopic(stack, conversationTopic(call));
    await write({ step: "1" });
    const received = await nextChange(first);
    expect(received.changes).toEqual([{ key: "step", previous: null, value: "1" }]);
    expect(received.participant).toMatchObject({ id: call.customerId, purpose: "customer", attributes: { step: "1" } });
    await client.dispose(); // the dashboard goes away

    await write({ step: "2" });
    await write({ step: "3", other: "x" });
    await write({ onAgent: "1" }, call.agentId);

    client = wsClient(stack.gateway.wsUrl);
    const resumed = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, after: received.cursor });
    const missed = [await nextChange(resumed), await nextChange(resumed), await nextChange(resumed)];
    expect(missed.map((c) => [c.participantId, c.changes])).toEqual([
      [call.customerId, [{ key: "step", previous: "1", value: "2" }]],
      [call.customerId, [{ key: "other", previous: null, value: "x" }, { key: "step", previous: "2", value: "3" }]],
      [call.agentId, [{ key: "onAgent", previous: null, value: "1" }]],
    ]);
    expect(missed.every((c) => !c.snapshot)).toBe(true);
    await write({ step: "4" });
    expect((await nextChange(resumed)).changes).toEqual([{ key: "step", previous: "3", value: "4" }]);
    expect(resumed.pending()).toBe(0);
    resumed.stop();
  });

  it("starts from a snapshot and misses no write made while subscribing", async () => {
    await write({ counter: "0" });
    // Writes keep coming while the subscription is set up (its read and topic race them).
    let writing = true;
    const writes = (async () => {
      for (let i = 1; i <= 30; i++) await write({ counter: String(i) });
      writing = false;
    })();
    const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, participantId: call.customerId, includeSnapshot: true });
    const snapshot = await nextChange(sub);
    expect(snapshot.snapshot).toBe(true);
    expect(snapshot.changes.every((c) => c.previous === null)).toBe(true);
    expect(snapshot.changes.map((c) => c.key)).toEqual(Object.keys(snapshot.attributes).sort());
    await writes;
    expect(writing).toBe(false);
    const rest = snapshot.attributes.counter === "30" ? [] : await changesUntil(sub, (c) => c.attributes.counter === "30");
    // Every write after the snapshot's state arrives, in order, once.
    const counters = [snapshot, ...rest].map((c) => Number(c.attributes.counter));
    expect(counters).toEqual(Array.from({ length: 31 - counters[0]! }, (_, i) => counters[0]! + i));
    sub.stop();
  });

  it("starts a queue subscription from one snapshot event per participant, then only what changes", async () => {
    const queueId = freshQueue();
    const a = await createCall(stack.emulator.url, queueId, { tier: "gold" });
    const b = await createCall(stack.emulator.url, queueId, {});
    const sub = subscribe(client, AttributesChangedDocument, { queueId, includeSnapshot: true });
    const snapshots = [await nextChange(sub), await nextChange(sub), await nextChange(sub), await nextChange(sub)];
    expect(snapshots.every((s) => s.snapshot)).toBe(true);
    expect(new Set(snapshots.map((s) => s.participantId))).toEqual(new Set([...a.participantIds, ...b.participantIds]));
    expect(snapshots.find((s) => s.participantId === a.customerId)!.changes).toEqual([{ key: "tier", previous: null, value: "gold" }]);
    await writer(stack, b)({ tier: "silver" });
    // The listing gave the baseline: only the changed key, with its real previous value.
    expect((await nextChange(sub)).changes).toEqual([{ key: "tier", previous: null, value: "silver" }]);
    await writer(stack, a)({ tier: "platinum" });
    expect((await nextChange(sub)).changes).toEqual([{ key: "tier", previous: "gold", value: "platinum" }]);
    sub.stop();
  });

  it("refuses unknown cursors, and cursors from before the gateway watched the conversation, with CURSOR_EXPIRED", async () => {
    const codeOf = async (variables: Record<string, unknown>) => {
      const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, ...variables });
      const result = await sub.next();
      return (result.errors?.[0] as { extensions?: { code?: string } } | undefined)?.extensions?.code;
    };
    expect(await codeOf({ after: "not-a-cursor" })).toBe("CURSOR_EXPIRED");
    expect(await codeOf({ after: Buffer.from("cl1:elsewhere:1").toString("base64url") })).toBe("CURSOR_EXPIRED");
    // A real cursor, but from a conversation watched long before this one ever was.
    const other = await createCall(stack.emulator.url, freshQueue());
    const watch = subscribe(client, AttributesChangedDocument, { conversationId: other.conversationId });
    await waitForTopic(stack, conversationTopic(other));
    await writer(stack, other)({ x: "1" });
    const cursor = (await nextChange(watch)).cursor;
    await writer(stack, other)({ x: "2" });
    await nextChange(watch);
    expect(await codeOf({ after: cursor })).toBe("CURSOR_EXPIRED");
    expect(await codeOf({ after: cursor, includeSnapshot: true })).toBe("BAD_USER_INPUT");
    watch.stop();
  });
});

describe("retention", () => {
  it("refuses a cursor whose following changes were dropped by retention (never a partial replay)", async () => {
    const stack = await startStack({ changes: { retention: { maxEntries: 3 } } });
    const client = wsClient(stack.gateway.wsUrl);
    try {
      const call = await createCall(stack.emulator.url, freshQueue());
      const write = writer(stack, call);
      const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
      await waitForTopic(stack, conversationTopic(call));
      await write({ n: "1" });
      const old = (await nextChange(sub)).cursor;
      for (let i = 2; i <= 6; i++) await write({ n: String(i) });
      const recent = (await changesUntil(sub, (c) => c.attributes.n === "6")).at(-3)!.cursor; // after n=4
      const expired = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, after: old });
      expect(((await expired.next()).errors?.[0] as { extensions?: { code?: string } })?.extensions?.code).toBe("CURSOR_EXPIRED");
      const ok = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, after: recent });
      expect([(await nextChange(ok)).attributes.n, (await nextChange(ok)).attributes.n]).toEqual(["5", "6"]);
      sub.stop();
      ok.stop();
    } finally {
      await client.dispose();
      await stack.close();
    }
  });
});

describe("under notification faults", () => {
  let stack: Stack;
  let client: Client;

  beforeAll(async () => {
    stack = await startStack({ heartbeatTimeoutMs: 5_000, changes: { reconcileRequestsPerMinute: 1_200 } });
  });
  afterAll(async () => {
    await stack?.close();
  });
  beforeEach(async () => {
    await setFaults(stack.emulator.url);
    client = wsClient(stack.gateway.wsUrl);
    return async () => {
      await client.dispose();
    };
  });

  it("never leaves a subscriber on an older value when notifications are reordered (10 trials)", async () => {
    const results: string[] = [];
    for (let trial = 0; trial < 10; trial++) {
      await setFaults(stack.emulator.url);
      const queueId = freshQueue();
      const call = await createCall(stack.emulator.url, queueId, { counter: "0" });
      const write = writer(stack, call);
      const byConversation = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, participantId: call.customerId });
      const byQueue = subscribe(client, AttributesChangedDocument, { queueId, participantId: call.customerId, keys: ["counter"] });
      await waitForTopic(stack, conversationTopic(call));
      await waitForTopic(stack, queueTopic(queueId));
      // Every other trial, every attribute event of the burst also shares one eventTime.
      await setFaults(stack.emulator.url, { reorderWindowMs: 400, eventTimeResolutionMs: trial % 2 === 1 ? 60_000 : 1 });
      // Pairs of writes race each other: their visibility order (and often their eventTime) is Genesys's choice.
      for (let i = 1; i <= 12; i += 2) await Promise.all([write({ counter: String(i) }), write({ counter: String(i + 1) })]);
      const truth = (await stack.sdk.conversations.getConversation(call.conversationId)).participants!.find((p) => p.id === call.customerId)!.attributes!.counter!;
      // The emulator's log gives the order in which the values became visible.
      const order = new Map((await readLog(stack.emulator.url)).filter((e) => e.conversationId === call.conversationId).map((e) => [e.attributes.counter!, e.seq]));
      for (const sub of [byConversation, byQueue]) {
        const delivered = (await changesUntil(sub, (c) => c.attributes.counter === truth)).map((c) => c.attributes.counter!);
        const positions = delivered.map((v) => order.get(v)!);
        expect(positions, `trial ${trial}: delivered ${delivered.join(",")}, truth ${truth}`).toEqual([...positions].sort((x, y) => x - y));
        expect(new Set(positions).size).toBe(positions.length);
        results.push(delivered.join(","));
      }
      // Nothing else arrives once converged (no late regression).
      await setFaults(stack.emulator.url);
      await write({ marker: String(trial) });
      expect((await nextChange(byConversation)).changes).toEqual([{ key: "marker", previous: null, value: String(trial) }]);
      byConversation.stop();
      byQueue.stop();
    }
    expect(results).toHaveLength(20);
  });

  it("heals dropped notifications by reconciliation, without a socket drop", async () => {
    const call = await createCall(stack.emulator.url, freshQueue(), {});
    const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
    await waitForTopic(stack, conversationTopic(call));
    await setFaults(stack.emulator.url, { dropRate: 1 });
    await writer(stack, call)({ lost: "event" });
    const healed = await nextChange(sub, 10_000);
    expect(healed.changes).toEqual([{ key: "lost", previous: null, value: "event" }]);
    sub.stop();
  });

  it("converges under drops, duplicates, reorder and socket drops with no consecutive duplicate", async () => {
    const call = await createCall(stack.emulator.url, freshQueue(), { n: "0" });
    const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, participantId: call.customerId });
    await waitForTopic(stack, conversationTopic(call));
    await setFaults(stack.emulator.url, { dropRate: 0.2, duplicateRate: 0.2, reorderWindowMs: 400, socketClosingGraceMs: 50 });
    for (let i = 1; i <= 25; i++) {
      await writer(stack, call)({ n: String(i) });
      if (i === 8) await control(stack.emulator.url, "POST", "/notifications/socket-closing");
      if (i === 16) await control(stack.emulator.url, "POST", "/notifications/disconnect");
    }
    const seen = await changesUntil(sub, (c) => c.attributes.n === "25", 15_000);
    const values = seen.map((c) => Number(c.attributes.n));
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(new Set(values).size).toBe(values.length);
    sub.stop();
  });

  it("finds a conversation that entered the queue while the socket was down", async () => {
    const queueId = freshQueue();
    const sub = subscribe(client, AttributesChangedDocument, { queueId });
    await waitForTopic(stack, queueTopic(queueId));
    // Its creation event is lost, and the socket then drops: only the queue listing can find it.
    await setFaults(stack.emulator.url, { dropRate: 1 });
    const entered = await createCall(stack.emulator.url, queueId, { "ivr.intent": "billing" });
    await control(stack.emulator.url, "POST", "/notifications/disconnect");
    await setFaults(stack.emulator.url);
    const found = await nextChange(sub, 10_000);
    expect(found).toMatchObject({ conversationId: entered.conversationId, participantId: entered.customerId });
    expect(found.changes).toEqual([{ key: "ivr.intent", previous: null, value: "billing" }]);
    sub.stop();
  });

  it("finds a conversation that entered a watched queue while its queue notification was dropped, with no socket drop", async () => {
    const queueId = freshQueue();
    const known = await createCall(stack.emulator.url, queueId, { tier: "gold" });
    const sub = subscribe(client, AttributesChangedDocument, { queueId });
    await waitForTopic(stack, queueTopic(queueId));
    // Every notification is lost and no socket drops: no reconnect re-read will run. Only the
    // background reconciliation's re-listing of the queue (queue observations) can find it.
    await setFaults(stack.emulator.url, { dropRate: 1 });
    const entered = await createCall(stack.emulator.url, queueId, { "ivr.intent": "billing" });
    const found = await nextChange(sub, 10_000);
    expect(found).toMatchObject({ conversationId: entered.conversationId, participantId: entered.customerId });
    // New to every subscriber: its keys come with previous null; the known one is not repeated.
    expect(found.changes).toEqual([{ key: "ivr.intent", previous: null, value: "billing" }]);
    await setFaults(stack.emulator.url);
    await writer(stack, known)({ tier: "platinum" });
    expect((await nextChange(sub)).changes).toEqual([{ key: "tier", previous: "gold", value: "platinum" }]);
    sub.stop();
  });
});

describe("the verify loop's reads", () => {
  it("reach subscribers through the change log when the notification is lost", async () => {
    // Reconciliation is too slow to matter here (1 read a minute, already spent at start).
    const stack = await startStack({ changes: { reconcileRequestsPerMinute: 1 } });
    const client = wsClient(stack.gateway.wsUrl);
    try {
      const call = await createCall(stack.emulator.url, freshQueue());
      const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
      await waitForTopic(stack, conversationTopic(call));
      await setFaults(stack.emulator.url, { dropRate: 1, visibilityDelayMs: { min: 30, max: 30 } });
      const result = await gqlData(stack.gateway.url, UpdateAttributesDocument, {
        input: { conversationId: call.conversationId, participantId: call.customerId, attributes: { disposition: "resolved" } },
      });
      expect(result.updateAttributes.__typename).toBe("AttributesUpdated");
      const change = await nextChange(sub, 2_000);
      expect(change.changes).toEqual([{ key: "disposition", previous: null, value: "resolved" }]);
      sub.stop();
    } finally {
      await client.dispose();
      await stack.close();
    }
  });
});

describe("a subscriber that stops reading", () => {
  it("is ended with SLOW_CONSUMER carrying the last cursor it received, and resumes from it", async () => {
    const stack = await startStack({ changes: { subscriberBufferLimit: 5 } });
    let socket: WebSocket | undefined;
    class CapturedWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        socket = this;
      }
    }
    const slow = createClient({ url: stack.gateway.wsUrl, webSocketImpl: CapturedWebSocket, retryAttempts: 0, lazy: true });
    const other = wsClient(stack.gateway.wsUrl);
    try {
      const call = await createCall(stack.emulator.url, freshQueue());
      const write = writer(stack, call);
      const sub = subscribe(slow, AttributesChangedDocument, { conversationId: call.conversationId });
      await waitForTopic(stack, conversationTopic(call));
      await write({ first: "1" });
      const last = await nextChange(sub);
      socket!.pause(); // the client stops reading: kernel buffers fill, then the gateway's queue
      const big = "x".repeat(20_000);
      // How many writes fill the kernel's socket buffers first varies (by Node line, by machine):
      // at least 40, and on until the gateway has ended the subscriber (its SLOW_CONSUMER metric).
      const endedSlow = async () => (await (await fetch(stack.gateway.metricsUrl)).text()).includes("\nchange_feed_slow_consumer_ends_total 1\n");
      let writes = 0;
      while (writes < 40 || !(await endedSlow())) {
        expect(writes, "writes before the paused subscriber was ended").toBeLessThan(300);
        await write({ [`k${writes}`]: big });
        writes += 1;
      }
      const lastKey = `k${writes - 1}`;
      socket!.resume();
      let ended;
      let lastReceived = last;
      for (;;) {
        const result = await sub.next(10_000);
        if (result.errors) {
          ended = result.errors[0] as { extensions?: { code?: string; cursor?: string } };
          break;
        }
        lastReceived = result.data!.attributesChanged;
      }
      expect(ended.extensions?.code).toBe("SLOW_CONSUMER");
      expect(ended.extensions?.cursor).toBe(lastReceived.cursor);
      await sub.done;
      // Resuming from that cursor gives everything after the last event received before it.
      const resumed = subscribe(other, AttributesChangedDocument, { conversationId: call.conversationId, after: ended.extensions!.cursor! });
      const replay = await changesUntil(resumed, (c) => Object.hasOwn(c.attributes, lastKey), 15_000);
      const keys = [...Object.keys(lastReceived.attributes), ...replay.flatMap((c) => c.changes.map((x) => x.key))];
      // Together, what it received before the end and the replay cover every write once.
      expect(keys.sort()).toEqual(["first", ...Array.from({ length: writes }, (_, i) => `k${i}`)].sort());
      resumed.stop();
    } finally {
      await slow.dispose();
      await other.dispose();
      await stack.close();
    }
  });
});
