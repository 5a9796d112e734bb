/**
 * The request budget end to end: a gateway whose budget equals the emulator's rate limit
 * (60 requests per minute per token) under 3× the budget's worth of write demand. Ground truth:
 * the emulator's write log, and the gateway's own count of Genesys answers by status.
 * Every write is answered before its deadline: confirmed, refused with UPSTREAM_BUDGET_EXHAUSTED
 * (nothing sent), or — sent but not seen in time — UpdateNotConfirmed saying Genesys accepted it;
 * Genesys never answers 429.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UpdateAttributesDocument } from "../generated/graphql.js";
import { control, createCall, gql, startStack, type Stack } from "../support/stack.js";
import { readLog } from "../support/emulator-http.js";

const QUEUE = "a0000000-0000-4000-8000-0000000000f1";
const BUDGET = 60;
const DEADLINE_MS = 3_000;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    emulator: { faults: { rateLimitPerMinute: BUDGET } },
    requestsPerMinute: BUDGET,
    verify: { deadlineMs: DEADLINE_MS },
  });
});
afterAll(async () => {
  await stack?.close();
});

/** `genesys_requests_total` summed over operations for one status. */
async function answered(status: string): Promise<number> {
  const text = await (await fetch(new URL("/metrics", stack.gateway.url))).text();
  let total = 0;
  for (const line of text.split("\n")) {
    const m = /^genesys_requests_total\{([^}]*)\} (\d+)$/.exec(line);
    if (m && m[1]!.includes(`status="${status}"`)) total += Number(m[2]);
  }
  return total;
}

describe("request budget", () => {
  it("at 3× the budget's worth of writes: no 429, every write answered in time (confirmed, refused with UPSTREAM_BUDGET_EXHAUSTED, or accepted-not-seen)", async () => {
    const call = await createCall(stack.emulator.url, QUEUE, {});
    // Nine more participants: writes to distinct participants are not serialized by the gateway.
    const participants = [call.customerId];
    for (let i = 0; i < 9; i++) {
      const c = await control<{ participants: Array<{ id: string }> }>(stack.emulator.url, "POST", `/conversations/${call.conversationId}/participants`, {
        purpose: "external",
        name: `P${i}`,
      });
      participants.push(c.participants.at(-1)!.id);
    }
    // 3 s of budget is ~6 calls; 10 writes need ~22 (read + PATCH each, and the topic).
    const answers = await Promise.all(
      participants.map(async (participantId, i) => {
        // Each mutation's deadline runs from its own request (on a loaded machine the ten do not leave at once).
        const started = Date.now();
        const response = await gql(stack.gateway.url, UpdateAttributesDocument, {
          input: { conversationId: call.conversationId, participantId, attributes: { n: String(i) } },
        });
        return { participantId, response, answeredAfterMs: Date.now() - started };
      }),
    );
    const confirmed = answers.filter((a) => a.response.data?.updateAttributes.__typename === "AttributesUpdated");
    const refused = answers.filter((a) => a.response.errors?.[0]?.extensions?.code === "UPSTREAM_BUDGET_EXHAUSTED");
    expect(confirmed.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    // The rest were sent but not seen in time: answered UpdateNotConfirmed saying Genesys accepted them.
    const unconfirmed = answers.filter((a) => a.response.data?.updateAttributes.__typename === "UpdateNotConfirmed");
    // (or, on a loaded machine, whose read outlived the deadline: nothing was written, and it says so).
    const accepted = unconfirmed.filter((a) => (a.response.data?.updateAttributes as { writeAccepted?: boolean }).writeAccepted === true);
    const notSent = unconfirmed.filter((a) => !accepted.includes(a));
    for (const a of notSent) expect(a.response.data?.updateAttributes).toMatchObject({ writeAccepted: false, attempts: 0 });
    expect(confirmed.length + refused.length + unconfirmed.length).toBe(participants.length);
    for (const a of answers) expect(a.answeredAfterMs).toBeLessThan(DEADLINE_MS + 500);
    expect(await answered("429")).toBe(0);
    // Refused writes sent nothing; confirmed ones are in the write log.
    const log = await readLog(stack.emulator.url);
    const written = new Set(log.map((e) => e.participantId));
    for (const a of refused) expect(written.has(a.participantId)).toBe(false);
    for (const a of [...confirmed, ...accepted]) expect(written.has(a.participantId)).toBe(true);
    for (const a of notSent) expect(written.has(a.participantId)).toBe(false);
    const metrics = await (await fetch(new URL("/metrics", stack.gateway.url))).text();
    expect(metrics).toMatch(/genesys_budget_refused_total\{priority="write"\} [1-9]/);
    expect(metrics).toMatch(/genesys_budget_requests_per_minute 60/);
  });
});
