/**
 * The request budget on a virtual clock: the RequestBudget conformance suite
 * (./budget-conformance.ts, shared with RedisRequestBudget: the bucket's bound at 3× demand,
 * priorities, a 429's pause, refusals at once and at the deadline, close()), plus exact figures
 * only a virtual clock gives: no 60 s window, fixed or sliding, over the budget across three
 * minutes of 3× demand, and a pause that ends to the millisecond.
 */
import { describe, expect, it } from "vitest";
import { InMemoryRequestBudget } from "../../src/genesys/budget.js";
import { virtualTimers } from "../support/virtual-timers.js";
import { budgetConformance, expectWithinBucket, track } from "./budget-conformance.js";

const clock = virtualTimers();
budgetConformance(
  "InMemoryRequestBudget",
  {
    create: (options) => new InMemoryRequestBudget({ ...options, timers: clock.timers }),
    now: () => clock.now(),
    until: async (done, maxMs) => {
      const end = clock.now() + maxMs;
      while (!done()) {
        if (clock.now() >= end) throw new Error(`not done within ${maxMs} virtual ms`);
        await clock.advanceAsync(5);
      }
    },
  },
  0,
);

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
    expectWithinBucket(times, 300, undefined, 0);
  });

  it("ends a 429's pause to the millisecond", async () => {
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

  it("refuses a queued read exactly when its deadline passes", async () => {
    const clock = virtualTimers();
    const budget = new InMemoryRequestBudget({ requestsPerMinute: 61, burst: 1, timers: clock.timers });
    await budget.take("read");
    const read = track(budget, clock, "read", 1_500); // first in line: due at 1 000
    const writes = Array.from({ length: 3 }, () => track(budget, clock, "write", 10_000));
    await clock.advanceAsync(1_500);
    expect(writes[0]!.grantedAt).toBe(1_000);
    expect(read.refusedAt).toBe(1_500);
    await clock.advanceAsync(5_000);
    expect(writes.map((w) => w.grantedAt)).toEqual([1_000, 2_000, 3_000]);
  });
});
