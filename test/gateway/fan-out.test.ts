/**
 * Scale on one process, end to end: topics spread over notification channels (the emulator
 * enforces Genesys's 1,000 topics per channel), a clear UPSTREAM_LIMIT when every channel is
 * full, one GET for a burst of subscribes to one conversation, and 1,000 subscribers on one
 * conversation each receiving every change once. The fan-out latency (emulator visibility →
 * client receipt, p50/p99) is logged as a figure, not asserted.
 */
import type { Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttributesChangedDocument, type AttributesChangedSubscription } from "../generated/graphql.js";
import { readLog } from "../support/emulator-http.js";
import { control, createCall, startStack, subscribe, wsClient, type LiveSubscription, type Stack } from "../support/stack.js";

const QUEUE = "a0000000-0000-4000-8000-0000000000c1";

async function channels(stack: Stack): Promise<Array<{ topics: string[] }>> {
  return (await control<{ entities: Array<{ topics: string[] }> }>(stack.emulator.url, "GET", "/notifications/channels")).entities;
}

async function until<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

describe("fan-out and channels", () => {
  let stack: Stack;
  let client: Client;

  beforeAll(async () => {
    // 1,000 subscriptions on one socket from one caller: issue 6's per-socket, per-caller and
    // rate caps are off here (test/gateway/limits.test.ts proves them).
    stack = await startStack({ changes: { lingerMs: 0 }, limits: { subscriptionsPerSocket: 0, subscriptionsPerCaller: 0, requestsPerMinute: 0 } });
    client = wsClient(stack.gateway.wsUrl);
  });
  afterAll(async () => {
    await client?.dispose();
    await stack?.close();
  });

  it("watches 1,001 conversations on two channels; the 1,001st works", async () => {
    const calls = [];
    for (let i = 0; i < 1_001; i += 50) {
      calls.push(...(await Promise.all(Array.from({ length: Math.min(50, 1_001 - i) }, () => createCall(stack.emulator.url, QUEUE)))));
    }
    const subs = calls.map((c) => subscribe(client, AttributesChangedDocument, { conversationId: c.conversationId }));
    const held = await until(
      async () => {
        const list = await channels(stack);
        const topics = list.flatMap((c) => c.topics).filter((t) => t.startsWith("v2.detail.events."));
        return topics.length === 1_001 ? list : undefined;
      },
      60_000,
      "1,001 topics",
    );
    expect(held.filter((c) => c.topics.length > 0)).toHaveLength(2);
    expect(Math.max(...held.map((c) => c.topics.length))).toBeLessThanOrEqual(1_000);
    const last = calls[1_000]!;
    await stack.sdk.conversations.patchConversationsCallParticipantAttributes(last.conversationId, last.customerId, { attributes: { n: "1001" } });
    const change = (await subs[1_000]!.next(10_000)).data!.attributesChanged;
    expect(change).toMatchObject({ conversationId: last.conversationId, changes: [{ key: "n", previous: null, value: "1001" }] });
    // Readiness and metrics follow both channels: every socket open, every held topic counted.
    const ready = await (await fetch(new URL("/readyz", stack.gateway.url))).json();
    expect(ready.checks.notifications).toMatchObject({ status: "ok", required: true, socket: "open", heldTopics: 1_001 });
    const metrics = await (await fetch(stack.gateway.metricsUrl)).text();
    expect(metrics).toMatch(/^genesys_notification_socket_state\{state="open"\} 1$/m);
    for (const s of subs) s.stop();
    await until(async () => ((await channels(stack)).every((c) => c.topics.length === 0) ? true : undefined), 30_000, "topics released");
  }, 120_000);

  it("shares the initial read: a burst of 1,000 subscribes to one conversation costs one GET", async () => {
    const call = await createCall(stack.emulator.url, QUEUE, { tier: "gold" });
    const subs = Array.from({ length: 1_000 }, () => subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, includeSnapshot: true }));
    const firsts = await Promise.all(subs.map((s) => s.next(30_000)));
    expect(firsts.every((r) => r.data?.attributesChanged.snapshot === true)).toBe(true);
    const reads = (await control<{ conversations: Record<string, number> }>(stack.emulator.url, "GET", "/reads")).conversations;
    expect(reads[call.conversationId]).toBe(1);
    console.log(`[figure] burst of 1000 subscribes to one conversation: ${reads[call.conversationId]} GET`);
    for (const s of subs) s.stop();
  }, 60_000);

  it("delivers every change once to each of 1,000 subscribers of one conversation (latency logged)", async () => {
    const call = await createCall(stack.emulator.url, QUEUE);
    const subs: Array<LiveSubscription<AttributesChangedSubscription>> = Array.from({ length: 1_000 }, () =>
      subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, participantId: call.customerId }),
    );
    await until(
      async () => ((await channels(stack)).some((c) => c.topics.includes(`v2.detail.events.conversation.${call.conversationId}.attributes`)) ? true : undefined),
      30_000,
      "topic",
    );
    // Every subscription is registered once the gateway has acknowledged the topic and baseline;
    // a warm-up write proves it for all of them.
    await stack.sdk.conversations.patchConversationsCallParticipantAttributes(call.conversationId, call.customerId, { attributes: { warm: "up" } });
    await Promise.all(subs.map((s) => s.next(30_000)));
    const latencies: number[] = [];
    for (let i = 1; i <= 20; i++) {
      await stack.sdk.conversations.patchConversationsCallParticipantAttributes(call.conversationId, call.customerId, { attributes: { n: String(i) } });
      const receipts = await Promise.all(
        subs.map(async (s) => {
          const result = await s.next(30_000);
          return { at: Date.now(), value: result.data!.attributesChanged.attributes.n };
        }),
      );
      expect(receipts.every((r) => r.value === String(i))).toBe(true);
      const visibleAt = Date.parse((await readLog(stack.emulator.url)).filter((e) => e.attributes.n === String(i) && e.conversationId === call.conversationId)[0]!.visibleAt!);
      latencies.push(...receipts.map((r) => r.at - visibleAt));
    }
    expect(subs.every((s) => s.pending() === 0)).toBe(true);
    latencies.sort((a, b) => a - b);
    console.log(`[figure] fan-out, 1000 subscribers on one conversation, 20 changes: visibility → receipt p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms`);
    for (const s of subs) s.stop();
  }, 120_000);
});

describe("channel limits", () => {
  it("answers UPSTREAM_LIMIT once every channel is full", async () => {
    const stack = await startStack({ changes: { maxTopicsPerChannel: 2, maxChannels: 1, lingerMs: 0 } });
    const client = wsClient(stack.gateway.wsUrl);
    try {
      const calls = [await createCall(stack.emulator.url, QUEUE), await createCall(stack.emulator.url, QUEUE), await createCall(stack.emulator.url, QUEUE)];
      const held = calls.slice(0, 2).map((c) => subscribe(client, AttributesChangedDocument, { conversationId: c.conversationId }));
      await until(async () => ((await channels(stack)).flatMap((c) => c.topics).length === 2 ? true : undefined), 10_000, "two topics");
      const refused = subscribe(client, AttributesChangedDocument, { conversationId: calls[2]!.conversationId });
      const result = await refused.next();
      expect((result.errors?.[0] as { extensions?: { code?: string } })?.extensions?.code).toBe("UPSTREAM_LIMIT");
      // Room again once one leaves.
      held[0]!.stop();
      await until(async () => ((await channels(stack)).flatMap((c) => c.topics).length === 1 ? true : undefined), 10_000, "release");
      const admitted = subscribe(client, AttributesChangedDocument, { conversationId: calls[2]!.conversationId });
      await until(async () => ((await channels(stack)).flatMap((c) => c.topics).length === 2 ? true : undefined), 10_000, "admitted");
      await stack.sdk.conversations.patchConversationsCallParticipantAttributes(calls[2]!.conversationId, calls[2]!.customerId, { attributes: { ok: "1" } });
      expect((await admitted.next()).data!.attributesChanged.changes).toEqual([{ key: "ok", previous: null, value: "1" }]);
    } finally {
      await client.dispose();
      await stack.close();
    }
  });
});
