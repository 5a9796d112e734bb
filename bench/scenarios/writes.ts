/**
 * Write benchmark: `updateAttributes` through the gateway (read, PATCH, verify loop) against a
 * CRM writing directly with the SDK: `patchConversationParticipantAttributes` (the same
 * `PATCH /api/v2/conversations/{id}/participants/{participantId}/attributes`, answered 202
 * before the write is visible), then `getConversation` until the value shows, waiting 50 ms
 * between reads (the README's sdk.mjs loop).
 */
import { performance } from "node:perf_hooks";
import type { WriteLogEntry } from "../../src/emulator/writes.js";
import type { ReportRow } from "../report.js";
import { summarize } from "../statistics.js";
import { DEMO, graphql, type BenchStack } from "../stack.js";
import { requestsBetween } from "../upstream-requests.js";

/** The attribute key every benchmark write sets (a fresh value each time). */
export const BENCH_KEY = "bench.value";

const UPDATE_MUTATION = `mutation($input: UpdateAttributesInput!) {
  updateAttributes(input: $input) {
    __typename
    ... on AttributesUpdated { attempts confirmedAfterMs }
    ... on VersionConflict { message }
    ... on ParticipantUnavailable { message }
    ... on UpdateNotConfirmed { message }
  }
}`;

/** The baseline's wait between reads (ms), as in the README's sdk.mjs. */
const SDK_POLL_MS = 50;
/** The baseline gives up after this long (ms), like the gateway's default `UPDATE_DEADLINE_MS`. */
const SDK_DEADLINE_MS = 5_000;

/** One measured write. */
interface WriteSample {
  value: string;
  confirmed: boolean;
  /** From sending until the answer "it is visible" (ms). */
  latencyMs: number;
  /** Genesys calls it took: reads and PATCHes of the written conversation, counted at the emulator. */
  calls: number;
  /**
   * Conversation reads and PATCHes of other conversations during the write: background work
   * (reconciliation of a watch lingering from an earlier scenario), not the write's cost.
   */
  background: number;
  /** `Date.now()` when the confirmation arrived (to compare with the emulator's `visibleAt`). */
  confirmedAt: number;
}

async function measure(stack: BenchStack, conversationId: string, value: string, write: () => Promise<boolean>): Promise<WriteSample> {
  const before = stack.upstream.snapshot();
  const started = performance.now();
  const confirmed = await write();
  const latencyMs = performance.now() - started;
  const confirmedAt = Date.now();
  const counted = requestsBetween(before, stack.upstream.snapshot());
  const calls = counted.byConversation[conversationId] ?? 0;
  return { value, confirmed, latencyMs, calls, background: counted.conversationGets + counted.attributePatches - calls, confirmedAt };
}

async function gatewayWrite(stack: BenchStack, n: number, value: string): Promise<boolean> {
  const data = await graphql<{ updateAttributes: { __typename: string } }>(stack.gateway.url, UPDATE_MUTATION, {
    input: { conversationId: DEMO.conversation(n), participantId: DEMO.customer(n), attributes: { [BENCH_KEY]: value } },
  });
  return data.updateAttributes.__typename === "AttributesUpdated";
}

async function sdkWrite(stack: BenchStack, n: number, value: string): Promise<boolean> {
  const { conversations } = stack.sdk;
  const deadline = Date.now() + SDK_DEADLINE_MS;
  await conversations.patchConversationParticipantAttributes(DEMO.conversation(n), DEMO.customer(n), { attributes: { [BENCH_KEY]: value } });
  for (;;) {
    const conversation = await conversations.getConversation(DEMO.conversation(n));
    const customer = conversation.participants?.find((p) => p.id === DEMO.customer(n));
    if (customer?.attributes?.[BENCH_KEY] === value) return true;
    if (Date.now() + SDK_POLL_MS > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, SDK_POLL_MS));
  }
}

/** Earliest `visibleAt` (epoch ms) of the write that set `value`, from the emulator's ground-truth log. */
function visibleAt(log: readonly WriteLogEntry[], value: string): number | undefined {
  const times = log.filter((e) => e.attributes[BENCH_KEY] === value && e.visibleAt !== null).map((e) => Date.parse(e.visibleAt!));
  return times.length > 0 ? Math.min(...times) : undefined;
}

/**
 * `samples` sequential writes each way (after `warmup` uncounted ones), the gateway on demo
 * conversation 2's customer and the SDK on conversation 4's: confirmation latency (p50/p95,
 * ms), Genesys calls per confirmed write (mean and max: reads and PATCHes of the written
 * conversation), the gateway's background calls on other conversations meanwhile (reconciliation
 * of the tracked-read scenario's lingering watch; counted apart, they are not the writes' cost),
 * the share confirmed, and how long
 * after the write became visible (the emulator log's `visibleAt`) the writer learnt it (p50,
 * ms). The last figure is the overhead of each confirmation strategy; it includes the final
 * read's own latency.
 */
export async function confirmedWrites(stack: BenchStack, options: { samples: number; warmup: number }): Promise<ReportRow[]> {
  const gateway: WriteSample[] = [];
  const sdk: WriteSample[] = [];
  for (let i = 0; i < options.warmup + options.samples; i++) {
    const g = await measure(stack, DEMO.conversation(2), `gateway-${i}`, () => gatewayWrite(stack, 2, `gateway-${i}`));
    const s = await measure(stack, DEMO.conversation(4), `sdk-${i}`, () => sdkWrite(stack, 4, `sdk-${i}`));
    if (i < options.warmup) continue;
    gateway.push(g);
    sdk.push(s);
  }
  const logResponse = await fetch(`${stack.emulator.url}/emulator/log`);
  const log = ((await logResponse.json()) as { entries: WriteLogEntry[] }).entries;
  const figures = (samples: WriteSample[]) => {
    const confirmed = samples.filter((s) => s.confirmed);
    const afterVisible = confirmed.flatMap((s) => {
      const at = visibleAt(log, s.value);
      return at === undefined ? [] : [s.confirmedAt - at];
    });
    return {
      latency: summarize(confirmed.map((s) => s.latencyMs)),
      calls: summarize(confirmed.map((s) => s.calls)),
      background: samples.reduce((n, s) => n + s.background, 0),
      confirmedShare: confirmed.length / samples.length,
      afterVisible: summarize(afterVisible),
    };
  };
  const g = figures(gateway);
  const s = figures(sdk);
  const scenario = `write confirmed, ${options.samples} sequential`;
  return [
    { scenario, metric: "p50 ms", gateway: g.latency.p50, baseline: s.latency.p50 },
    { scenario, metric: "p95 ms", gateway: g.latency.p95, baseline: s.latency.p95 },
    { scenario, metric: "Genesys calls/write (mean)", gateway: g.calls.mean, baseline: s.calls.mean, decimals: 1 },
    { scenario, metric: "Genesys calls/write (max)", gateway: g.calls.max, baseline: s.calls.max },
    // Other conversations' calls in either side's windows are the gateway's background work (the SDK touches only its own).
    { scenario, metric: "gateway background GETs, other conversations", gateway: g.background + s.background },
    { scenario, metric: "ms after visible (p50)", gateway: g.afterVisible.p50, baseline: s.afterVisible.p50 },
    { scenario, metric: "confirmed share", gateway: g.confirmedShare, baseline: s.confirmedShare, decimals: 2 },
    { scenario, metric: "writes/min in 300 req/min", gateway: 300 / g.calls.mean, baseline: 300 / s.calls.mean },
  ];
}
