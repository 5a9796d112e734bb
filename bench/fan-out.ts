/**
 * `npm run bench`: change-feed figures on one process, printed as one table.
 *
 * - fan-out: N subscribers (graphql-ws, spread over clients of 1,000 subscriptions each) on one
 *   conversation; for each of 10 writes, the time from the write becoming visible in the
 *   emulator (its write log `visibleAt`) to each subscriber's receipt: p50 / p99 (ms); and the
 *   gateway process's RSS growth per subscriber (bytes; emulator and clients share the process,
 *   so this is an upper bound);
 * - subscribe burst: N `includeSnapshot` subscribes to one new conversation at once, and the
 *   GETs the emulator answered for it, beside the baseline of each client reading it itself
 *   with the SDK (N GETs).
 * Everything runs in this process on loopback; figures depend on the machine (print them with
 * its core count). Not part of `npm test`.
 */
import os from "node:os";
import type { Client } from "graphql-ws";
import { AttributesChangedDocument, type AttributesChangedSubscription } from "../test/generated/graphql.js";
import { readLog } from "../test/support/emulator-http.js";
import { control, createCall, startStack, subscribe, wsClient, type LiveSubscription, type Stack } from "../test/support/stack.js";

const QUEUE = "a0000000-0000-4000-8000-0000000000b1";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function subscribers(stack: Stack, n: number, variables: Record<string, unknown>): Promise<{ clients: Client[]; subs: Array<LiveSubscription<AttributesChangedSubscription>> }> {
  const clients = Array.from({ length: Math.ceil(n / 1_000) }, () => wsClient(stack.gateway.wsUrl));
  const subs = Array.from({ length: n }, (_, i) => subscribe(clients[Math.floor(i / 1_000)]!, AttributesChangedDocument, variables));
  return { clients, subs };
}

async function fanOut(stack: Stack, n: number): Promise<string[]> {
  const call = await createCall(stack.emulator.url, QUEUE);
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const write = (attributes: Record<string, string>) =>
    stack.sdk.conversations.patchConversationsCallParticipantAttributes(call.conversationId, call.customerId, { attributes });
  // Clients of 1,000 subscriptions each, added one at a time (all at once, a client's connection
  // init can miss graphql-ws's 3 s init timeout on a loaded machine); a batch is live once each
  // of its subscriptions has received a warm-up change.
  const clients: Client[] = [];
  const subs: Array<LiveSubscription<AttributesChangedSubscription>> = [];
  for (let start = 0; start < n; start += 1_000) {
    const client = wsClient(stack.gateway.wsUrl);
    clients.push(client);
    const batch = Array.from({ length: Math.min(1_000, n - start) }, () =>
      subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, participantId: call.customerId }),
    );
    subs.push(...batch);
    let waiting = batch;
    while (waiting.length > 0) {
      await write({ warm: String(Date.now()) });
      const got = await Promise.all(waiting.map((s) => s.next(20_000).then((r) => (r.errors ? JSON.stringify(r.errors).slice(0, 200) : true), () => false)));
      const failed = got.filter((g) => typeof g === "string");
      if (failed.length > 0) throw new Error(`${failed.length} subscriptions failed: ${failed[0]}`);
      waiting = waiting.filter((_, i) => got[i] === false);
    }
  }
  while (subs.some((s) => s.pending() > 0)) for (const s of subs) while (s.pending() > 0) await s.next();
  global.gc?.();
  const rssPerSubscriber = (process.memoryUsage().rss - rssBefore) / n;
  const latencies: number[] = [];
  for (let i = 1; i <= 10; i++) {
    await write({ n: String(i) });
    const receipts = await Promise.all(subs.map(async (s) => (await s.next(60_000), Date.now())));
    const entry = (await readLog(stack.emulator.url)).find((e) => e.conversationId === call.conversationId && e.attributes.n === String(i))!;
    const visibleAt = Date.parse(entry.visibleAt!);
    latencies.push(...receipts.map((at) => at - visibleAt));
  }
  latencies.sort((a, b) => a - b);
  for (const s of subs) s.stop();
  await Promise.all(clients.map((c) => c.dispose()));
  return [
    `fan-out ${n} subscribers, visibility → receipt p50 | ${percentile(latencies, 50)} ms`,
    `fan-out ${n} subscribers, visibility → receipt p99 | ${percentile(latencies, 99)} ms`,
    `fan-out ${n} subscribers, RSS per subscriber | ${Math.round(rssPerSubscriber)} bytes`,
  ];
}

async function burst(stack: Stack, n: number): Promise<string[]> {
  const call = await createCall(stack.emulator.url, QUEUE, { tier: "gold" });
  const { clients, subs } = await subscribers(stack, n, { conversationId: call.conversationId, includeSnapshot: true });
  await Promise.all(subs.map((s) => s.next(60_000)));
  const reads = (await control<{ conversations: Record<string, number> }>(stack.emulator.url, "GET", "/reads")).conversations[call.conversationId] ?? 0;
  for (const s of subs) s.stop();
  await Promise.all(clients.map((c) => c.dispose()));
  return [`subscribe burst of ${n}: GETs (gateway / ${n} direct SDK readers) | ${reads} / ${n} = ${(reads / n).toFixed(4)}×`];
}

// Thousands of subscriptions from one anonymous caller: the per-socket, per-caller and rate caps
// (issue 6, README "Security") are off here, as for a trusted dashboard backend.
const stack = await startStack({
  changes: { lingerMs: 0, reconcileRequestsPerMinute: 1 },
  limits: { subscriptionsPerSocket: 0, subscriptionsPerCaller: 0, requestsPerMinute: 0 },
});
try {
  const rows = [`machine | ${os.cpus().length} cores, Node ${process.version}`];
  const sizes = (process.env.BENCH_SUBSCRIBERS ?? "1000,10000").split(",").map(Number);
  rows.push(...(await burst(stack, 1_000)));
  console.error("bench: burst done");
  for (const n of sizes) {
    rows.push(...(await fanOut(stack, n)));
    console.error(`bench: fan-out ${n} done`);
  }
  console.log(["| figure | value |", "|---|---|", ...rows.map((r) => `| ${r} |`)].join("\n"));
} finally {
  await stack.close();
}
