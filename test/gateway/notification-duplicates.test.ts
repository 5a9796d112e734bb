/**
 * One Genesys event delivered on two sockets (the emulator's `crossSocketDuplicateRate` at
 * 100 %), end to end through graphql-ws: the gateway holds a conversation's changes on two
 * channels (its attribute topic on one, its queue's topic on the other: `maxTopicsPerChannel`
 * 1), so every frame arrives on both sockets; then both sockets are replaced
 * (`socket_closing`) and each new socket first gets again every frame of the seconds before.
 * Every subscriber must see each change exactly once and never an older value, the repeats
 * must cost no Genesys read (emulator `GET /emulator/reads`) and no confirming read (a
 * redelivered old queue snapshot would look like a regression to the change tracker), and the
 * gateway must count them as duplicates (/metrics).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttributesChangedDocument, type AttributesChangedSubscription } from "../generated/graphql.js";
import { control, createCall, eventually, setFaults, startStack, subscribe, wsClient, type LiveSubscription, type Stack } from "../support/stack.js";
import { DEMO_CREDENTIALS } from "../support/sdk.js";

type Change = AttributesChangedSubscription["attributesChanged"];

const QUEUE = "a0000000-0000-4000-8000-00000000d001";

async function metric(stack: Stack, series: string): Promise<number> {
  const text = await (await fetch(stack.gateway.metricsUrl)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

async function reads(stack: Stack, conversationId: string): Promise<number> {
  const body = await control<{ conversations: Record<string, number> }>(stack.emulator.url, "GET", "/reads");
  return body.conversations[conversationId] ?? 0;
}

async function nextChange(sub: LiveSubscription<AttributesChangedSubscription>, timeoutMs = 8_000): Promise<Change> {
  const result = await sub.next(timeoutMs);
  if (result.errors?.length) throw new Error(`subscription error: ${JSON.stringify(result.errors)}`);
  return result.data!.attributesChanged;
}

describe("an event delivered on two sockets", () => {
  let stack: Stack;

  beforeAll(async () => {
    // One topic per channel: the conversation's topic and its queue's topic get a channel each.
    // No settle window (these writes are sequential) and reconciliation too slow to sweep, so
    // any confirming read would come from a repeat taken for a regression.
    stack = await startStack({ changes: { maxTopicsPerChannel: 1, settleMs: 0, reconcileRequestsPerMinute: 1 } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("reaches every subscriber exactly once, in order, with no read, across two channels and a reconnect", async () => {
    const call = await createCall(stack.emulator.url, QUEUE, { n: "0" });
    const clients = [wsClient(stack.gateway.wsUrl), wsClient(stack.gateway.wsUrl)];
    try {
      const subscribers = [
        subscribe(clients[0]!, AttributesChangedDocument, { conversationId: call.conversationId, participantId: call.customerId }),
        subscribe(clients[1]!, AttributesChangedDocument, { conversationId: call.conversationId, participantId: call.customerId, keys: ["n"] }),
        subscribe(clients[1]!, AttributesChangedDocument, { queueId: QUEUE, participantId: call.customerId }),
      ];
      const conversationTopic = `v2.detail.events.conversation.${call.conversationId}.attributes`;
      const queueTopic = `v2.routing.queues.${QUEUE}.conversations`;
      // The control API shows the gateway's client holding the two topics on two connected channels.
      const channels = await eventually(async () => {
        const listing = await control<{ entities: Array<{ connected: boolean; topics: string[] }> }>(
          stack.emulator.url,
          "GET",
          `/notifications/channels?clientId=${DEMO_CREDENTIALS.clientId}`,
        );
        const held = listing.entities.filter((c) => c.connected && c.topics.length > 0);
        return held.length === 2 ? held : undefined;
      }, 8_000, "two channels with topics");
      expect(channels.map((c) => c.topics).sort()).toEqual([[conversationTopic], [queueTopic]].sort());
      // Every subscription started (topic subscribed, baseline known): a write from now on is a change.
      await eventually(async () => ((await metric(stack, "graphql_subscriptions_active")) === 3 ? true : undefined), 8_000, "subscriptions started");
      expect(await metric(stack, "genesys_notification_channels")).toBe(2);
      expect(await metric(stack, "genesys_notification_topics")).toBe(2);

      await setFaults(stack.emulator.url, { crossSocketDuplicateRate: 1, socketClosingGraceMs: 0 });
      const readsBefore = await reads(stack, call.conversationId);
      const confirmsBefore = await metric(stack, 'change_feed_reconciliation_reads_total{reason="confirm"}');
      const duplicatesBefore = await metric(stack, "genesys_notification_duplicates_total");
      const received: string[][] = subscribers.map(() => []);
      const write = async (n: number) => {
        await stack.sdk.conversations.patchConversationsCallParticipantAttributes(call.conversationId, call.customerId, { attributes: { n: String(n) } });
        // Every subscriber gets n next: nothing repeated, nothing older, nothing skipped.
        for (const [i, sub] of subscribers.entries()) received[i]!.push((await nextChange(sub)).attributes.n!);
      };
      for (let n = 1; n <= 4; n++) await write(n);
      // Each frame arrived twice (its own socket and the other one); none cost a read.
      await eventually(async () => ((await metric(stack, "genesys_notification_duplicates_total")) >= duplicatesBefore + 8 ? true : undefined), 5_000, "duplicates counted");
      expect(await reads(stack, call.conversationId)).toBe(readsBefore);

      // Both sockets are replaced; each new one first gets again the frames of the last seconds
      // (n = 1 … 4): old queue snapshots that, taken as new, would look like regressions.
      const reconnects = await metric(stack, "genesys_notification_reconnects_total");
      const duplicatesBeforeReconnect = await metric(stack, "genesys_notification_duplicates_total");
      await control(stack.emulator.url, "POST", "/notifications/socket-closing");
      await eventually(async () => ((await metric(stack, "genesys_notification_reconnects_total")) >= reconnects + 2 ? true : undefined), 8_000, "both channels reconnected");
      await eventually(
        async () => ((await metric(stack, "genesys_notification_duplicates_total")) >= duplicatesBeforeReconnect + 8 ? true : undefined),
        5_000,
        "redelivered frames counted as duplicates",
      );
      for (let n = 5; n <= 6; n++) await write(n);
      expect(received).toEqual(subscribers.map(() => ["1", "2", "3", "4", "5", "6"]));
      // No repeat was taken for a regression needing a confirming read.
      expect(await metric(stack, 'change_feed_reconciliation_reads_total{reason="confirm"}')).toBe(confirmsBefore);
      expect(await metric(stack, "change_feed_regressions_confirmed_total")).toBe(0);
      for (const sub of subscribers) expect(sub.pending()).toBe(0);
      for (const sub of subscribers) sub.stop();
    } finally {
      for (const client of clients) await client.dispose();
    }
  });
});
