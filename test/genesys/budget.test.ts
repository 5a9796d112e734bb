/**
 * The request budget on a virtual clock: the bucket never grants more than the budget in any
 * 60 s window, writes and confirmations go before reads and reads before background work, a
 * 429's Retry-After pauses every grant, and a caller whose turn cannot come before its deadline
 * is refused at once (or when its deadline passes in the queue) with UPSTREAM_BUDGET_EXHAUSTED.
 */
import { describe, expect, it } from "vitest";
import { BudgetExhaustedError, InMemoryRequestBudget, type BudgetPriority } from "../../src/genesys/budget.js";
import { virtualTimers } from "../support/virtual-timers.js";

function track(budget: InMemoryRequestBudget, clock: { now: () => number }, priority: BudgetPriority, deadline?: number) {
  const result: { grantedAt?: number; refused?: BudgetExhaustedError } = {};
  budget.take(priority, deadline).then(
    () => (result.grantedAt = clock.now()),
    (error: BudgetExhaustedError) => (result.refused = error),
  );
  return result;
}

describe("InMemoryRequestBudget", () => {
  it("never grants more than requestsPerMinute in a 60 s window, even at 3× demand", async () => {
    const clock = virtualTimers();
    const budget = new InMemoryRequestBudget({ requestsPerMinute: 300, timers: clock.timers });
    const calls = Array.from({ length: 900 }, () => track(budget, clock, "read"));
    await clock.advanceAsync(60_000);
    const inFirstMinute = calls.filter((c) => c.grantedAt !== undefined && c.grantedAt < 60_000).length;
    expect(inFirstMinute).toBeLessThanOrEqual(300);
    expect(inFirstMinute).toBeGreaterThanOrEqual(295);
    // Sliding windows too: any 60 s span.
    await clock.advanceAsync(120_000);
    const times = calls.flatMap((c) => (c.grantedAt === undefined ? [] : [c.grantedAt])).sort((a, b) => a - b);
    expect(times.length).toBeGreaterThan(800);
    for (let i = 0; i + 300 < times.length; i++) expect(times[i + 300]! - times[i]!).toBeGreaterThanOrEqual(60_000);
  });

  it("grants writes under way, then new writes, before reads, and reads before background work", async () => {
    const clock = virtualTimers();
    const budget = new InMemoryRequestBudget({ requestsPerMinute: 61, burst: 1, timers: clock.timers });
    await budget.take("read"); // the only token
    const order: string[] = [];
    for (const p of ["background", "read", "write", "confirm", "read"] as const) void budget.take(p).then(() => order.push(p));
    await clock.advanceAsync(10_000);
    expect(order).toEqual(["confirm", "write", "read", "read", "background"]);
  });

  it("pauses every grant for a 429's Retry-After", async () => {
    const clock = virtualTimers();
    const budget = new InMemoryRequestBudget({ requestsPerMinute: 600, timers: clock.timers });
    budget.pause(3_000);
    const write = track(budget, clock, "write");
    await clock.advanceAsync(2_999);
    expect(write.grantedAt).toBeUndefined();
    await clock.advanceAsync(1);
    expect(write.grantedAt).toBe(3_000);
    expect(budget.stats().pausedUntil).toBe(0);
  });

  it("refuses at once a caller whose turn cannot come before its deadline, and sends nothing for it", async () => {
    const clock = virtualTimers();
    // 2 tokens, then one every second.
    const budget = new InMemoryRequestBudget({ requestsPerMinute: 62, burst: 2, timers: clock.timers });
    const first = Array.from({ length: 5 }, () => track(budget, clock, "write", 10_000));
    const late = track(budget, clock, "write", 2_000);
    await clock.advanceAsync(0);
    expect(late.refused).toBeInstanceOf(BudgetExhaustedError);
    expect(late.refused?.code).toBe("UPSTREAM_BUDGET_EXHAUSTED");
    await clock.advanceAsync(10_000);
    expect(first.every((c) => c.grantedAt !== undefined)).toBe(true);
    expect(budget.stats().granted.write).toBe(5);
    expect(budget.stats().refused.write).toBe(1);
  });

  it("refuses a queued read when writes pushed it past its deadline", async () => {
    const clock = virtualTimers();
    const budget = new InMemoryRequestBudget({ requestsPerMinute: 61, burst: 1, timers: clock.timers });
    await budget.take("read");
    const read = track(budget, clock, "read", 1_500); // first in line: due at 1 000
    const writes = Array.from({ length: 3 }, () => track(budget, clock, "write", 10_000));
    await clock.advanceAsync(1_500);
    expect(writes[0]!.grantedAt).toBe(1_000);
    expect(read.refused).toBeInstanceOf(BudgetExhaustedError);
    await clock.advanceAsync(5_000);
    expect(writes.map((w) => w.grantedAt)).toEqual([1_000, 2_000, 3_000]);
  });
});
