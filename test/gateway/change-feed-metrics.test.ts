/**
 * The change log and change feed metrics on /metrics over HTTP, after real traffic through
 * graphql-ws against the emulator: entries appended from notifications and from reads (a
 * dropped notification healed by a reconciliation sweep read), entries retained with their
 * estimated size and the oldest one's age, a cursor refused with CURSOR_EXPIRED, subscribers,
 * a SLOW_CONSUMER end, reconciliation reads, and the channels and topics held.
 */
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttributesChangedDocument, type AttributesChangedSubscription } from "../generated/graphql.js";
import { control, createCall, eventually, setFaults, startStack, subscribe, wsClient, type LiveSubscription, type Stack } from "../support/stack.js";

const QUEUE = "a0000000-0000-4000-8000-00000000e001";

/** Every sample of the gateway's /metrics, by series (`name{labels}`). */
async function scrape(stack: Stack): Promise<Map<string, number>> {
  const response = await fetch(stack.gateway.metricsUrl);
  expect(response.status).toBe(200);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** GETs of one conversation the emulator has served (`GET /emulator/reads`). */
async function conversationReads(stack: Stack, conversationId: string): Promise<number> {
  const body = await control<{ conversations: Record<string, number> }>(stack.emulator.url, "GET", "/reads");
  return body.conversations[conversationId] ?? 0;
}

async function nextData(sub: LiveSubscription<AttributesChangedSubscription>, timeoutMs = 10_000) {
  const result = await sub.next(timeoutMs);
  if (result.errors?.length) throw new Error(`subscription error: ${JSON.stringify(result.errors)}`);
  return result.data!.attributesChanged;
}

describe("change feed metrics", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ changes: { subscriberBufferLimit: 5, reconcileRequestsPerMinute: 1_200 } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("count appends by source, retention, refused cursors, subscribers, SLOW_CONSUMER ends, reconciliation and channels", async () => {
    const started = Date.now();
    const before = await scrape(stack);
    for (const series of [
      'change_log_entries_appended_total{source="notification"}',
      'change_log_entries_appended_total{source="read"}',
      "change_log_entries",
      "change_log_size_bytes",
      "change_log_oldest_entry_age_seconds",
      "change_log_cursors_refused_total",
      "change_feed_subscribers",
      "change_feed_watches",
      "change_feed_slow_consumer_ends_total",
      'change_feed_reconciliation_reads_total{reason="confirm"}',
      'change_feed_reconciliation_reads_total{reason="sweep"}',
      'change_feed_reconciliation_reads_total{reason="queue"}',
      "change_feed_regressions_confirmed_total",
      "genesys_notification_channels",
      "genesys_notification_topics",
      "genesys_notification_duplicates_total",
    ]) {
      expect(before.get(series), series).toBe(0);
    }

    let socket: WebSocket | undefined;
    class CapturedWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        socket = this;
      }
    }
    const slow = createClient({ url: stack.gateway.wsUrl, webSocketImpl: CapturedWebSocket, retryAttempts: 0, lazy: true });
    const client = wsClient(stack.gateway.wsUrl);
    try {
      const call = await createCall(stack.emulator.url, QUEUE, {});
      const write = (attributes: Record<string, string>) =>
        stack.sdk.conversations.patchConversationsCallParticipantAttributes(call.conversationId, call.customerId, { attributes });
      const watching = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, participantId: call.customerId });
      const lagging = subscribe(slow, AttributesChangedDocument, { conversationId: call.conversationId });
      // Both subscriptions started (topic subscribed, baseline read): a write from now on is a change.
      await eventually(async () => ((await scrape(stack)).get("graphql_subscriptions_active") === 2 ? true : undefined), 8_000, "subscriptions started");
      // An active subscription may still be waiting for its watch: the topic subscribed, then the
      // baseline read. Once Genesys has served that read, a write is a change to both (the tracker
      // orders a notification that overtakes the read's answer); before it, the write could be
      // part of the baseline and nothing would stream (a loaded CI machine once showed that).
      await eventually(async () => ((await conversationReads(stack, call.conversationId)) >= 1 ? true : undefined), 8_000, "baseline read served");
      const subscribed = await scrape(stack);
      expect(subscribed.get("change_feed_subscribers")).toBe(2);
      expect(subscribed.get("change_feed_watches")).toBe(1);
      expect(subscribed.get("genesys_notification_channels")).toBe(1);

      // From a notification.
      await write({ step: "1" });
      expect((await nextData(watching)).attributes.step).toBe("1");
      await nextData(lagging);
      // A dropped notification, healed by a reconciliation sweep read.
      await setFaults(stack.emulator.url, { dropRate: 1 });
      await write({ step: "2" });
      expect((await nextData(watching)).attributes.step).toBe("2");
      await nextData(lagging);
      await setFaults(stack.emulator.url);

      // A cursor the gateway never issued.
      const refused = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, after: "not-a-cursor" });
      expect(((await refused.next()).errors?.[0] as { extensions?: { code?: string } }).extensions?.code).toBe("CURSOR_EXPIRED");

      // A subscriber whose socket stops reading falls more than 5 events behind. How many writes
      // that takes depends on how much the kernel's socket buffers absorb first (several MB on
      // loopback, more on some Node lines), so keep writing until the gateway has ended it.
      socket!.pause();
      let writes = 0;
      let last = "";
      const endedSlow = async () => (await scrape(stack)).get("change_feed_slow_consumer_ends_total") === 1;
      while (writes < 40 || !(await endedSlow())) {
        expect(writes, "writes before the paused subscriber was ended").toBeLessThan(1_000);
        last = `${writes}:`.padEnd(20_000, "x");
        await write({ [`k${writes % 10}`]: last });
        writes += 1;
      }
      const lastKey = `k${(writes - 1) % 10}`;
      expect((await eventuallyData(watching, (a) => a[lastKey] === last))[lastKey]).toBe(last);
      socket!.resume();
      let ended: string | undefined;
      while (ended === undefined) {
        const result = await lagging.next(10_000);
        if (result.errors) ended = (result.errors[0] as { extensions?: { code?: string } }).extensions?.code;
      }
      expect(ended).toBe("SLOW_CONSUMER");

      const after = await scrape(stack);
      // Writes right after a read-healed state are confirmed by reads (CHANGE_SETTLE_MS): both sources appear.
      expect(after.get('change_log_entries_appended_total{source="notification"}')).toBeGreaterThanOrEqual(1);
      expect(after.get('change_log_entries_appended_total{source="read"}')).toBeGreaterThanOrEqual(1);
      const appended = after.get('change_log_entries_appended_total{source="notification"}')! + after.get('change_log_entries_appended_total{source="read"}')!;
      // step 1, step 2, then the big writes: at most one entry per write (a confirming read may show two at once).
      expect(appended).toBeGreaterThanOrEqual(3);
      expect(appended).toBeLessThanOrEqual(writes + 2);
      expect(after.get("change_log_entries")).toBe(appended); // nothing past the default retention yet
      // Every entry after the first two holds at least one 20,000-character value: the estimate counts them.
      expect(after.get("change_log_size_bytes")).toBeGreaterThan((appended - 2) * 20_000);
      const age = after.get("change_log_oldest_entry_age_seconds")!;
      expect(age).toBeGreaterThan(0);
      expect(age).toBeLessThanOrEqual((Date.now() - started) / 1000);
      expect(after.get("change_log_cursors_refused_total")).toBe(1);
      expect(after.get("change_feed_slow_consumer_ends_total")).toBe(1);
      expect(after.get('change_feed_reconciliation_reads_total{reason="sweep"}')).toBeGreaterThanOrEqual(1);
      await eventually(async () => ((await scrape(stack)).get("change_feed_subscribers") === 1 ? true : undefined), 5_000, "the ended subscriber unregistered");
      watching.stop();
      await eventually(async () => ((await scrape(stack)).get("change_feed_subscribers") === 0 ? true : undefined), 5_000, "no subscriber left");
    } finally {
      await slow.dispose();
      await client.dispose();
    }
  });
});

/** Reads events until one's attributes satisfy `done`; returns those attributes. */
async function eventuallyData(sub: LiveSubscription<AttributesChangedSubscription>, done: (attributes: Record<string, string>) => boolean) {
  for (;;) {
    const change = await nextData(sub, 15_000);
    if (done(change.attributes)) return change.attributes;
  }
}
