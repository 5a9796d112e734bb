/**
 * The RequestBudget port's behaviour, as one suite run against every implementation
 * (test/genesys/budget.test.ts: InMemoryRequestBudget on a virtual clock; redis-budget.test.ts:
 * RedisRequestBudget on a real redis-server and real time, with small budgets so it stays fast):
 * the token bucket's bound under 3× demand, priorities, a 429's pause, refusals at once and at
 * the deadline, and close().
 */
import { afterEach, describe, expect, it } from "vitest";
import { BudgetExhaustedError, bucketShape, type BudgetPriority, type RequestBudget } from "../../src/genesys/budget.js";

/** How the suite makes budgets of one implementation and lets time pass. */
export interface BudgetFactory {
  /** A new budget with a bucket of its own. */
  create(options: { requestsPerMinute: number; burst?: number }): RequestBudget;
  /** Now, epoch ms, on the clock the budget's deadlines use. */
  now(): number;
  /** Lets time pass until `done()` holds (fails after `maxMs` of it): the virtual clock advances, real time is polled. */
  until(done: () => boolean, maxMs: number): Promise<void>;
}

/** One `take`, recorded: when it was granted or how it was refused. */
export interface Tracked {
  grantedAt?: number;
  refused?: BudgetExhaustedError;
  refusedAt?: number;
}

/** Starts a `take` and records its outcome on `clock`. */
export function track(budget: RequestBudget, clock: { now(): number }, priority: BudgetPriority, deadline?: number): Tracked {
  const result: Tracked = {};
  budget.take(priority, deadline).then(
    () => (result.grantedAt = clock.now()),
    (error: BudgetExhaustedError) => {
      result.refused = error;
      result.refusedAt = clock.now();
    },
  );
  return result;
}

/**
 * Asserts the token bucket's bound on grant times: no span holds more than `burst` plus the
 * refill of its length (+ `jitterMs` of refill and one token for timestamping jitter). With a
 * 60 s span this is `requestsPerMinute`: no 60 s window exceeds the budget.
 */
export function expectWithinBucket(times: number[], requestsPerMinute: number, burst: number | undefined, jitterMs: number): void {
  const shape = bucketShape(requestsPerMinute, burst);
  const sorted = [...times].sort((a, b) => a - b);
  const slack = jitterMs > 0 ? 1 : 0;
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i; j < sorted.length; j++) {
      const allowed = shape.burst + Math.floor(shape.perMs * (sorted[j]! - sorted[i]! + jitterMs)) + slack;
      if (j - i + 1 > allowed) throw new Error(`${j - i + 1} grants within ${sorted[j]! - sorted[i]!} ms; the bucket allows ${allowed}`);
    }
  }
}

/** Registers the conformance suite for one implementation. `jitterMs`: timestamping slack of real time (0 on a virtual clock). */
export function budgetConformance(name: string, factory: BudgetFactory, jitterMs: number): void {
  describe(`${name} (RequestBudget conformance)`, () => {
    const open: RequestBudget[] = [];
    const create = (options: { requestsPerMinute: number; burst?: number }) => {
      const budget = factory.create(options);
      open.push(budget);
      return budget;
    };
    afterEach(() => {
      for (const budget of open.splice(0)) budget.close();
    });

    it("keeps grants within the bucket (burst + refill) at 3× demand", async () => {
      const requestsPerMinute = 1_200; // burst 60, then ~19.7 per second
      const budget = create({ requestsPerMinute });
      const start = factory.now();
      const calls = Array.from({ length: 300 }, () => track(budget, factory, "read"));
      await factory.until(() => factory.now() - start >= 2_000, 10_000);
      const times = calls.flatMap((c) => (c.grantedAt === undefined ? [] : [c.grantedAt]));
      expectWithinBucket(times, requestsPerMinute, undefined, jitterMs);
      // Not starved either: the burst and then refill (about 60 + 39 in 2 s; one Redis round trip per grant on a loaded machine may cost some).
      expect(times.length).toBeGreaterThanOrEqual(70);
      expect(times.length).toBeLessThan(300);
    });

    it("grants writes under way, then new writes, before reads, and reads before background work", async () => {
      const budget = create({ requestsPerMinute: 241, burst: 1 }); // one token every 250 ms
      await budget.take("read"); // the only token
      const order: string[] = [];
      for (const p of ["background", "read", "write", "confirm", "read"] as const) void budget.take(p).then(() => order.push(p));
      await factory.until(() => order.length === 5, 5_000);
      expect(order).toEqual(["confirm", "write", "read", "read", "background"]);
    });

    it("pauses every grant for a 429's Retry-After", async () => {
      const budget = create({ requestsPerMinute: 600 });
      const start = factory.now();
      budget.pause(300);
      expect(budget.stats().pausedUntil).toBeGreaterThanOrEqual(start + 300);
      const write = track(budget, factory, "write");
      await factory.until(() => write.grantedAt !== undefined, 5_000);
      expect(write.grantedAt! - start).toBeGreaterThanOrEqual(300);
      expect(budget.stats().pausedUntil).toBe(0);
      expect(budget.stats().granted.write).toBe(1);
    });

    it("refuses at once a caller whose turn cannot come before its deadline, and grants nothing for it", async () => {
      const budget = create({ requestsPerMinute: 242, burst: 2 }); // 2 tokens, then one every 250 ms
      const start = factory.now();
      const first = Array.from({ length: 5 }, () => track(budget, factory, "write", start + 5_000));
      const late = track(budget, factory, "write", start + 400);
      await factory.until(() => late.refused !== undefined, 1_000);
      expect(late.refused).toBeInstanceOf(BudgetExhaustedError);
      expect(late.refused?.code).toBe("UPSTREAM_BUDGET_EXHAUSTED");
      expect(late.refusedAt! - start).toBeLessThan(400);
      await factory.until(() => first.every((c) => c.grantedAt !== undefined), 5_000);
      expect(budget.stats().granted.write).toBe(5);
      expect(budget.stats().refused.write).toBe(1);
    });

    it("refuses a queued read when writes pushed it past its deadline", async () => {
      const budget = create({ requestsPerMinute: 241, burst: 1 }); // one token every 250 ms
      await budget.take("read");
      const start = factory.now();
      const read = track(budget, factory, "read", start + 375); // first in line: due at ~250
      const writes = Array.from({ length: 3 }, () => track(budget, factory, "write", start + 10_000));
      await factory.until(() => writes.every((w) => w.grantedAt !== undefined), 5_000);
      expect(read.refused).toBeInstanceOf(BudgetExhaustedError);
      expect(read.refusedAt! - start).toBeGreaterThanOrEqual(374); // Node timers may fire 1 ms early by Date.now()
      expect(read.grantedAt).toBeUndefined();
      const times = writes.map((w) => w.grantedAt!);
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      expect(budget.stats()).toMatchObject({ granted: { read: 1, write: 3 }, refused: { read: 1 } });
    });

    it("close() refuses every waiter", async () => {
      const budget = create({ requestsPerMinute: 61, burst: 1 });
      await budget.take("read");
      const waiting = [track(budget, factory, "write"), track(budget, factory, "background")];
      budget.close();
      await factory.until(() => waiting.every((w) => w.refused !== undefined), 1_000);
      expect(waiting.every((w) => w.refused instanceof BudgetExhaustedError && w.grantedAt === undefined)).toBe(true);
    });
  });
}
