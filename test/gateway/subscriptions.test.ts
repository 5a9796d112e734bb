/**
 * `attributesChanged` end to end: a graphql-ws client on the gateway, changes written by a
 * separate official-SDK client straight to the emulator, Genesys notifications in between.
 * Proves: conversation and queue subscriptions receive confirmed changes with correct diffs and
 * versions; `keys` and `participantId` filter; argument errors are BAD_USER_INPUT; the Genesys
 * topic is added while needed and removed when the last subscriber leaves; a dropped socket is
 * reconnected and a change made while it was down is still delivered; duplicates yield nothing.
 */
import type { Client } from "graphql-ws";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AttributesChangedDocument, ParticipantDocument } from "../generated/graphql.js";
import { control, createCall, setFaults, eventually, gqlData, startStack, subscribe, wsClient, type Stack, type TestCall } from "../support/stack.js";

const QUEUE = "a0000000-0000-4000-8000-0000000000f2";
let stack: Stack;
let client: Client;
let call: TestCall;

beforeAll(async () => {
  // No linger: topic removal is observable as soon as the last subscriber leaves.
  stack = await startStack({ heartbeatTimeoutMs: 2_000, changes: { lingerMs: 0 } });
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(async () => {
  await setFaults(stack.emulator.url);
  call = await createCall(stack.emulator.url, QUEUE, { "crm.caseId": "CASE-1" });
  client = wsClient(stack.gateway.wsUrl);
});
afterEach(async () => {
  await client.dispose();
});

/** Writes through the official SDK, as another integration would. */
async function otherWriter(attributes: Record<string, string>, participantId = call.customerId): Promise<void> {
  await stack.sdk.conversations.patchConversationsCallParticipantAttributes(call.conversationId, participantId, { attributes });
}

/** Topics on the gateway's Genesys channel, read through the SDK (same OAuth client as the gateway). */
async function gatewayTopics(): Promise<string[]> {
  const channels = await stack.sdk.notifications.getNotificationsChannels();
  const topics: string[] = [];
  for (const channel of channels.entities ?? []) {
    const listing = await stack.sdk.notifications.getNotificationsChannelSubscriptions(channel.id!);
    topics.push(...(listing.entities ?? []).map((t) => t.id!));
  }
  return topics;
}

const conversationTopic = () => `v2.detail.events.conversation.${call.conversationId}.attributes`;

describe("attributesChanged", () => {
  it("streams a change by conversation with the diff, the whole map and the participant's version", async () => {
    const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
    await eventually(async () => ((await gatewayTopics()).includes(conversationTopic()) ? true : undefined));
    await otherWriter({ "crm.caseId": "CASE-2", "crm.owner": "alice" });
    const result = await sub.next();
    expect(result.errors).toBeUndefined();
    const change = result.data!.attributesChanged;
    expect(change).toMatchObject({
      conversationId: call.conversationId,
      participantId: call.customerId,
      changes: [
        { key: "crm.caseId", previous: "CASE-1", value: "CASE-2" },
        { key: "crm.owner", previous: null, value: "alice" },
      ],
      attributes: { "crm.caseId": "CASE-2", "crm.owner": "alice" },
    });
    const now = await gqlData(stack.gateway.url, ParticipantDocument, { conversationId: call.conversationId, participantId: call.customerId });
    expect(change.version).toBe(now.participant!.version);
    expect(Date.parse(change.observedAt)).not.toBeNaN();
    sub.stop();
  });

  it("streams a change by queue", async () => {
    const sub = subscribe(client, AttributesChangedDocument, { queueId: QUEUE, keys: ["crm.owner"] });
    await eventually(async () => ((await gatewayTopics()).includes(`v2.routing.queues.${QUEUE}.conversations`) ? true : undefined));
    await otherWriter({ "crm.owner": "bob" });
    const change = (await sub.next()).data!.attributesChanged;
    expect(change.conversationId).toBe(call.conversationId);
    expect(change.participantId).toBe(call.customerId);
    expect(change.changes).toEqual([{ key: "crm.owner", previous: null, value: "bob" }]);
    sub.stop();
  });

  it("filters by keys and by participantId", async () => {
    const byKey = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, keys: ["wanted"] });
    const byParticipant = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, participantId: call.agentId });
    await eventually(async () => ((await gatewayTopics()).includes(conversationTopic()) ? true : undefined));
    await otherWriter({ unwanted: "1" });
    await otherWriter({ unwanted: "2", wanted: "yes" });
    await otherWriter({ onAgent: "1" }, call.agentId);

    const keyed = (await byKey.next()).data!.attributesChanged;
    expect(keyed.changes).toEqual([{ key: "wanted", previous: null, value: "yes" }]);
    expect(keyed.attributes).toMatchObject({ unwanted: "2", wanted: "yes" });

    const agent = (await byParticipant.next()).data!.attributesChanged;
    expect(agent.participantId).toBe(call.agentId);
    expect(agent.changes).toEqual([{ key: "onAgent", previous: null, value: "1" }]);
    // Nothing else was queued for either: the customer's changes were filtered out.
    expect(byKey.pending()).toBe(0);
    expect(byParticipant.pending()).toBe(0);
    byKey.stop();
    byParticipant.stop();
  });

  it("removes the Genesys topic when the last subscriber leaves", async () => {
    const first = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
    const second = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
    await eventually(async () => ((await gatewayTopics()).includes(conversationTopic()) ? true : undefined));
    first.stop();
    await otherWriter({ stillWatched: "yes" });
    expect((await second.next()).data!.attributesChanged.changes[0]?.key).toBe("stillWatched");
    expect(await gatewayTopics()).toContain(conversationTopic());
    second.stop();
    await eventually(async () => (!(await gatewayTopics()).includes(conversationTopic()) ? true : undefined), 5_000, "topic removal");
  });

  it("refuses anything but exactly one of conversationId / queueId with BAD_USER_INPUT", async () => {
    for (const variables of [{}, { conversationId: call.conversationId, queueId: QUEUE }, { conversationId: "bad id!" }]) {
      const sub = subscribe(client, AttributesChangedDocument, variables);
      const result = await sub.next();
      expect(result.data ?? null).toBeNull();
      expect((result.errors?.[0] as { extensions?: { code?: string } })?.extensions?.code, JSON.stringify(variables)).toBe("BAD_USER_INPUT");
      await sub.done;
    }
  });

  it("answers UPSTREAM_UNAVAILABLE when Genesys cannot subscribe the topic, and recovers", async () => {
    await setFaults(stack.emulator.url, { errorRate: 1, errorStatuses: [503] });
    const failing = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
    const result = await failing.next(10_000);
    expect((result.errors?.[0] as { extensions?: Record<string, unknown> })?.extensions).toMatchObject({
      code: "UPSTREAM_UNAVAILABLE",
      status: 503,
    });
    await setFaults(stack.emulator.url);
    const working = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
    await eventually(async () => ((await gatewayTopics()).includes(conversationTopic()) ? true : undefined));
    await otherWriter({ recovered: "yes" });
    expect((await working.next()).data!.attributesChanged.changes).toEqual([{ key: "recovered", previous: null, value: "yes" }]);
    working.stop();
  });

  it("gives WebSocket operation errors the same stable codes as HTTP", async () => {
    const codeOf = async (query: string) => {
      try {
        await client.iterate({ query }).next();
        return "no error";
      } catch (errors) {
        return (errors as Array<{ extensions?: { code?: string } }>)[0]?.extensions?.code;
      }
    };
    expect(await codeOf('subscription { attributesChanged(conversationId: "x") { noSuchField } }')).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(await codeOf("subscription {")).toBe("GRAPHQL_PARSE_FAILED");
    expect(await codeOf("subscription ($c: ID!) { attributesChanged(conversationId: $c) { version } }")).toBe("BAD_USER_INPUT");
    // The connection survived both: a valid subscription still works on it.
    const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
    await eventually(async () => ((await gatewayTopics()).includes(conversationTopic()) ? true : undefined));
    await otherWriter({ stillOpen: "yes" });
    expect((await sub.next()).data!.attributesChanged.changes[0]?.key).toBe("stillOpen");
    sub.stop();
  });

  it("survives a dropped notification socket and delivers the change made while it was down", async () => {
    const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
    await eventually(async () => ((await gatewayTopics()).includes(conversationTopic()) ? true : undefined));
    await control(stack.emulator.url, "POST", "/notifications/disconnect");
    // Written while the gateway's socket is down: the event itself is lost (at-most-once).
    await otherWriter({ duringOutage: "1" });
    const missed = (await sub.next(10_000)).data!.attributesChanged;
    expect(missed.changes).toEqual([{ key: "duringOutage", previous: null, value: "1" }]);
    // And the live stream works again afterwards.
    await otherWriter({ afterOutage: "1" });
    expect((await sub.next(10_000)).data!.attributesChanged.changes).toEqual([{ key: "afterOutage", previous: null, value: "1" }]);
    sub.stop();
  });

  it("replaces a half-open socket (no heartbeats, no pongs, no events) and fills the gap by re-reading", async () => {
    const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
    await eventually(async () => ((await gatewayTopics()).includes(conversationTopic()) ? true : undefined));
    // The socket stays open but nothing comes through it any more.
    await setFaults(stack.emulator.url, { heartbeatIntervalMs: 0, answerPings: false, dropRate: 1 });
    await otherWriter({ throughDeadSocket: "1" });
    // Only the gateway's watchdog (heartbeatTimeoutMs 2 s here) can notice: it replaces the
    // socket and re-reads the conversation, which yields the change the socket never carried.
    const change = (await sub.next(10_000)).data!.attributesChanged;
    expect(change.changes).toEqual([{ key: "throughDeadSocket", previous: null, value: "1" }]);
    sub.stop();
  });

  it("yields nothing for duplicate notifications", async () => {
    await setFaults(stack.emulator.url, { duplicateRate: 1 });
    const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
    await eventually(async () => ((await gatewayTopics()).includes(conversationTopic()) ? true : undefined));
    await otherWriter({ step: "1" });
    await otherWriter({ step: "2" });
    const first = (await sub.next()).data!.attributesChanged;
    const second = (await sub.next()).data!.attributesChanged;
    expect([first.changes, second.changes]).toEqual([
      [{ key: "step", previous: null, value: "1" }],
      [{ key: "step", previous: "1", value: "2" }],
    ]);
    // A marker written last is the very next result: no duplicate came in between.
    await otherWriter({ marker: "end" });
    expect((await sub.next()).data!.attributesChanged.changes).toEqual([{ key: "marker", previous: null, value: "end" }]);
    sub.stop();
  });
});
