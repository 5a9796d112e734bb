/**
 * Read benchmarks: a `participant` query through the gateway against the SDK's
 * `getConversation` (`GET /api/v2/conversations/{id}`, the one read the gateway itself makes).
 */
import { performance } from "node:perf_hooks";
import type { ReportRow } from "../report.js";
import { summarize } from "../statistics.js";
import { DEMO, graphql, type BenchStack } from "../stack.js";
import { requestsBetween } from "../upstream-requests.js";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

/** The query both read benchmarks send: one participant, with its attribute map and version. */
export const PARTICIPANT_QUERY = "query($c: ID!, $p: ID!) { participant(conversationId: $c, participantId: $p) { id attributes version } }";

type ParticipantData = { participant: { id: string } | null };

async function gatewayRead(stack: BenchStack, n: number, url = stack.gateway.url): Promise<void> {
  const data = await graphql<ParticipantData>(url, PARTICIPANT_QUERY, { c: DEMO.conversation(n), p: DEMO.customer(n) });
  if (data.participant?.id !== DEMO.customer(n)) throw new Error(`gateway read of conversation ${n} returned ${JSON.stringify(data)}`);
}

async function sdkRead(stack: BenchStack, n: number): Promise<void> {
  const conversation = await stack.sdk.conversations.getConversation(DEMO.conversation(n));
  if (!conversation.participants?.some((p) => p.id === DEMO.customer(n))) throw new Error(`SDK read of conversation ${n} lacks its customer`);
}

async function timed(run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/**
 * Latency of one read at a time (ms, client side, wall clock): `samples` gateway queries and
 * `samples` SDK reads of the same participant, interleaved (alternating which goes first) so
 * that load on the machine affects both alike; `warmup` rounds first are not counted.
 */
export async function sequentialReads(
  stack: BenchStack,
  options: { samples: number; warmup: number; conversation?: number; label?: string },
): Promise<ReportRow[]> {
  const n = options.conversation ?? 2;
  const gateway: number[] = [];
  const sdk: number[] = [];
  for (let i = 0; i < options.warmup + options.samples; i++) {
    const g = () => gatewayRead(stack, n);
    const s = () => sdkRead(stack, n);
    const [first, second] = i % 2 === 0 ? [g, s] : [s, g];
    const a = await timed(first);
    const b = await timed(second);
    if (i < options.warmup) continue;
    gateway.push(i % 2 === 0 ? a : b);
    sdk.push(i % 2 === 0 ? b : a);
  }
  const g = summarize(gateway);
  const s = summarize(sdk);
  const scenario = `${options.label ?? "participant read (cold)"}, ${options.samples} sequential`;
  return [
    { scenario, metric: "p50 ms", gateway: g.p50, baseline: s.p50 },
    { scenario, metric: "p95 ms", gateway: g.p95, baseline: s.p95 },
  ];
}

/**
 * The same sequential reads of a conversation the change log tracks: a graphql-ws subscriber
 * watches demo conversation `conversation`, so the gateway answers from the log while it is
 * current (README "Reads"); adds the upstream GETs the gateway's reads cost.
 */
export async function trackedReads(stack: BenchStack, options: { samples: number; warmup: number; conversation: number }): Promise<ReportRow[]> {
  const client = createClient({ url: stack.gateway.wsUrl, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
  let first!: () => void;
  const subscribed = new Promise<void>((resolve) => (first = resolve));
  const stop = client.subscribe(
    { query: "subscription($c: ID!) { attributesChanged(conversationId: $c, includeSnapshot: true) { cursor } }", variables: { c: DEMO.conversation(options.conversation) } },
    { next: () => first(), error: (e) => console.error("bench: tracked-read subscription failed", e), complete: () => undefined },
  );
  try {
    await Promise.race([
      subscribed,
      new Promise((_, reject) => setTimeout(() => reject(new Error("tracked-read subscription gave no snapshot within 10 s")), 10_000).unref()),
    ]);
    const before = stack.upstream.snapshot();
    const rows = await sequentialReads(stack, { ...options, label: "participant read (tracked)" });
    const gets = requestsBetween(before, stack.upstream.snapshot()).conversationGets;
    // The SDK reads once per sample; the rest are the gateway's.
    rows.push({ scenario: rows[0]!.scenario, metric: "upstream GETs", gateway: gets - (options.warmup + options.samples), baseline: options.warmup + options.samples });
    return rows;
  } finally {
    stop();
    await client.dispose();
  }
}

/**
 * `concurrency` identical `participant` queries sent at once, against as many concurrent SDK
 * reads, `rounds` times: how many `GET /api/v2/conversations/{id}` reach the emulator per
 * round (median of rounds) and how long the whole round takes (median, ms).
 */
export async function concurrentIdenticalReads(stack: BenchStack, options: { concurrency: number; rounds: number }): Promise<ReportRow[]> {
  const round = async (read: () => Promise<void>) => {
    const before = stack.upstream.snapshot();
    const started = performance.now();
    await Promise.all(Array.from({ length: options.concurrency }, read));
    const wallMs = performance.now() - started;
    return { gets: requestsBetween(before, stack.upstream.snapshot()).conversationGets, wallMs };
  };
  const gateway: Array<{ gets: number; wallMs: number }> = [];
  const sdk: Array<{ gets: number; wallMs: number }> = [];
  for (let i = 0; i < options.rounds; i++) {
    gateway.push(await round(() => gatewayRead(stack, 3)));
    sdk.push(await round(() => sdkRead(stack, 3)));
  }
  const scenario = `${options.concurrency} identical concurrent reads`;
  return [
    { scenario, metric: "upstream GETs", gateway: summarize(gateway.map((r) => r.gets)).p50, baseline: summarize(sdk.map((r) => r.gets)).p50 },
    { scenario, metric: "round ms (p50)", gateway: summarize(gateway.map((r) => r.wallMs)).p50, baseline: summarize(sdk.map((r) => r.wallMs)).p50 },
  ];
}
