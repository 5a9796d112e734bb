/**
 * Budget benchmark: writes at 3× the Genesys budget's worth of demand, on an emulator that
 * enforces its real per-token limit (300 requests per minute), through the gateway (whose
 * request budget is the same 300/min) and, side by side, by a CRM writing directly with the SDK
 * (PATCH, then getConversation every 50 ms until visible) at the same rate on its own token.
 * Figures: writes confirmed, refused with UPSTREAM_BUDGET_EXHAUSTED (nothing sent), otherwise
 * unconfirmed, answered after their deadline, and 429s Genesys answered.
 */
import { performance } from "node:perf_hooks";
import type { ReportRow } from "../report.js";
import { BENCH_FAULTS, startBenchStack, type BenchStack } from "../stack.js";

const BUDGET = 300;
const DEADLINE_MS = 5_000;
const UPDATE = `mutation($input: UpdateAttributesInput!) { updateAttributes(input: $input) { __typename } }`;

interface Tally {
  sent: number;
  confirmed: number;
  refused: number;
  unconfirmed: number;
  late: number;
  throttled: number;
}

const tally = (): Tally => ({ sent: 0, confirmed: 0, refused: 0, unconfirmed: 0, late: 0, throttled: 0 });

async function createCustomers(stack: BenchStack, n: number): Promise<Array<{ c: string; p: string }>> {
  const out: Array<{ c: string; p: string }> = [];
  for (let i = 0; i < n; i++) {
    const response = await fetch(`${stack.emulator.url}/emulator/conversations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ queueId: "a0000000-0000-4000-8000-0000000000b1", participants: [{ purpose: "customer", name: `Budget ${i}` }] }),
    });
    const body = (await response.json()) as { id: string; participants: Array<{ id: string }> };
    out.push({ c: body.id, p: body.participants[0]!.id });
  }
  return out;
}

async function gatewayWrite(stack: BenchStack, target: { c: string; p: string }, value: string, t: Tally): Promise<void> {
  const started = performance.now();
  t.sent += 1;
  const response = await fetch(stack.gateway.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: UPDATE, variables: { input: { conversationId: target.c, participantId: target.p, attributes: { "bench.budget": value } } } }),
  });
  const body = (await response.json()) as { data?: { updateAttributes?: { __typename: string } }; errors?: Array<{ extensions?: { code?: string } }> };
  if (performance.now() - started > DEADLINE_MS + 500) t.late += 1;
  if (body.data?.updateAttributes?.__typename === "AttributesUpdated") t.confirmed += 1;
  else if (body.errors?.[0]?.extensions?.code === "UPSTREAM_BUDGET_EXHAUSTED") t.refused += 1;
  else t.unconfirmed += 1;
}

async function sdkWrite(stack: BenchStack, target: { c: string; p: string }, value: string, t: Tally): Promise<void> {
  const started = performance.now();
  const { conversations } = stack.sdk;
  t.sent += 1;
  const fail = (error: unknown) => {
    if ((error as { status?: number })?.status === 429) t.throttled += 1;
  };
  try {
    await conversations.patchConversationParticipantAttributes(target.c, target.p, { attributes: { "bench.budget": value } });
    for (;;) {
      try {
        const conversation = await conversations.getConversation(target.c);
        if (conversation.participants?.find((p) => p.id === target.p)?.attributes?.["bench.budget"] === value) {
          t.confirmed += 1;
          break;
        }
      } catch (error) {
        fail(error);
      }
      if (performance.now() - started + 50 > DEADLINE_MS) {
        t.unconfirmed += 1;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (error) {
    fail(error);
    t.unconfirmed += 1;
  }
  if (performance.now() - started > DEADLINE_MS + 500) t.late += 1;
}

async function gateway429s(stack: BenchStack): Promise<number> {
  const text = await (await fetch(new URL("/metrics", stack.gateway.url))).text();
  let total = 0;
  for (const line of text.split("\n")) {
    const m = /^genesys_requests_total\{([^}]*)\} (\d+)$/.exec(line);
    if (m && m[1]!.includes('status="429"')) total += Number(m[2]);
  }
  return total;
}

/**
 * For `seconds`, starts writes at 3× the rate the budget confirms (a write is 2 calls: 3 × 150
 * writes/min) each way, over `participants` customers, and waits for every answer.
 */
export async function writesOverBudget(options: { seconds: number; participants: number }): Promise<ReportRow[]> {
  const stack = await startBenchStack({ ...BENCH_FAULTS, rateLimitPerMinute: BUDGET }, BUDGET);
  try {
    const targets = await createCustomers(stack, options.participants);
    const perSecond = (3 * BUDGET) / 2 / 60;
    const g = tally();
    const s = tally();
    const pending: Promise<void>[] = [];
    const total = Math.round(options.seconds * perSecond);
    for (let i = 0; i < total; i++) {
      const target = targets[i % targets.length]!;
      pending.push(gatewayWrite(stack, target, `g${i}`, g), sdkWrite(stack, target, `s${i}`, s));
      await new Promise((resolve) => setTimeout(resolve, 1000 / perSecond));
    }
    await Promise.all(pending);
    g.throttled = await gateway429s(stack);
    const scenario = `writes at 3× budget (${BUDGET}/min), ${options.seconds} s`;
    return [
      { scenario, metric: "writes sent", gateway: g.sent, baseline: s.sent },
      { scenario, metric: "confirmed", gateway: g.confirmed, baseline: s.confirmed },
      { scenario, metric: "refused UPSTREAM_BUDGET_EXHAUSTED", gateway: g.refused },
      { scenario, metric: "not confirmed (other)", gateway: g.unconfirmed, baseline: s.unconfirmed },
      { scenario, metric: "answered after deadline", gateway: g.late, baseline: s.late },
      { scenario, metric: "429s from Genesys", gateway: g.throttled, baseline: s.throttled },
    ];
  } finally {
    await stack.close();
  }
}
