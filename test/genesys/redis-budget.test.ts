/**
 * RedisRequestBudget on a real redis-server (test/support/redis-server.ts) and real time (the
 * bucket runs on Redis's clock), with small budgets so it stays fast: the RequestBudget
 * conformance suite, then what only the shared bucket does — two instances on one Redis never
 * grant more than the bucket allows together, a 429's pause on one stops grants on the other,
 * and nothing is granted while Redis is gone (callers are refused at their deadline).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import { BudgetExhaustedError, type RequestBudget } from "../../src/genesys/budget.js";
import { createMeteredBudget } from "../../src/genesys/budget-metrics.js";
import { RedisRequestBudget, redisBudgetKeys, type RedisRequestBudgetOptions } from "../../src/genesys/redis-budget.js";
import { hasRedisServer, startRedis, warnWithoutRedis, type RunningRedis } from "../support/redis-server.js";
import { budgetConformance, expectWithinBucket, track } from "./budget-conformance.js";

warnWithoutRedis("test/genesys/redis-budget.test.ts");

/** Timestamping slack, ms: grants are stamped locally after a round trip to Redis. */
const JITTER_MS = 100;
const clock = { now: () => Date.now() };

describe.skipIf(!hasRedisServer)("RedisRequestBudget", () => {
  let redis: RunningRedis;
  let client: Redis;
  let admin: Redis;
  let prefixes = 0;
  const budgets: RequestBudget[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
    admin = redis.client();
  });
  afterAll(async () => {
    for (const budget of budgets.splice(0)) budget.close();
    await redis?.stop();
  });

  function create(options: Partial<RedisRequestBudgetOptions> & { requestsPerMinute: number }): RedisRequestBudget {
    const budget = new RedisRequestBudget({ redis: client, keyPrefix: `b${++prefixes}:`, ...options });
    budgets.push(budget);
    return budget;
  }

  budgetConformance(
    "RedisRequestBudget",
    {
      create: (options) => create(options),
      now: clock.now,
      until: (done, maxMs) => expect.poll(done, { timeout: maxMs, interval: 5 }).toBe(true),
    },
    JITTER_MS,
  );

  it("reports to the budget metrics when made through createMeteredBudget", async () => {
    const registry = new Registry();
    const budget = createMeteredBudget(600, registry, undefined, (hooks) => create({ requestsPerMinute: 600, ...hooks }));
    await budget.take("confirm");
    await budget.take("confirm");
    await expect(budget.take("read", Date.now() - 1)).rejects.toBeInstanceOf(BudgetExhaustedError);
    const text = await registry.metrics();
    expect(text).toContain('genesys_budget_granted_total{priority="confirm"} 2');
    expect(text).toContain('genesys_budget_refused_total{priority="read"} 1');
  });

  it("two instances on one Redis share one bucket: together never more than it allows, at 3× demand", async () => {
    const requestsPerMinute = 1_200; // burst 60, then ~19.7 per second, for the pair
    const keyPrefix = `pair${++prefixes}:`;
    const a = create({ requestsPerMinute, keyPrefix, redis: redis.client() });
    const b = create({ requestsPerMinute, keyPrefix, redis: redis.client() });
    const start = Date.now();
    const calls = Array.from({ length: 300 }, (_, i) => track(i % 2 === 0 ? a : b, clock, i % 3 === 0 ? "write" : "read"));
    await expect.poll(() => Date.now() - start >= 2_000, { timeout: 10_000, interval: 20 }).toBe(true);
    const times = calls.flatMap((c) => (c.grantedAt === undefined ? [] : [c.grantedAt]));
    expectWithinBucket(times, requestsPerMinute, undefined, JITTER_MS);
    // One budget's worth, not two: burst 60 + ~2 s of refill (~40), where two buckets would give ~200.
    expect(times.length).toBeGreaterThanOrEqual(70);
    expect(times.length).toBeLessThanOrEqual(60 + 40 + 1 + Math.ceil((JITTER_MS * 1_140) / 60_000));
    const grantedA = a.stats().granted;
    const grantedB = b.stats().granted;
    expect(grantedA.read + grantedA.write).toBeGreaterThan(0);
    expect(grantedB.read + grantedB.write).toBeGreaterThan(0);
  });

  it("a 429's pause on one instance stops grants on the other", async () => {
    const keyPrefix = `pause${++prefixes}:`;
    const a = create({ requestsPerMinute: 600, keyPrefix });
    const b = create({ requestsPerMinute: 600, keyPrefix });
    const start = Date.now();
    a.pause(400);
    await expect.poll(() => admin.pttl(redisBudgetKeys(keyPrefix).pause)).toBeGreaterThan(0);
    const write = track(b, clock, "write");
    await expect.poll(() => b.stats().pausedUntil).toBeGreaterThan(0);
    await expect.poll(() => write.grantedAt, { timeout: 5_000 }).toBeDefined();
    expect(write.grantedAt! - start).toBeGreaterThanOrEqual(399);
    // A shorter pause does not cut a longer one short.
    a.pause(60_000);
    b.pause(10);
    await expect.poll(() => admin.pttl(redisBudgetKeys(keyPrefix).pause)).toBeGreaterThan(50_000);
    const late = track(b, clock, "read", Date.now() + 300);
    await expect.poll(() => late.refused).toBeInstanceOf(BudgetExhaustedError);
    expect(late.grantedAt).toBeUndefined();
  });

  it("grants nothing while Redis is gone: callers are refused at their deadline, and grants resume when it is back", async () => {
    const lone = await startRedis();
    // A client of our own (the ones lone.client() gives out are closed by lone.stop()).
    const own = new Redis(lone.port, "127.0.0.1", { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    own.on("error", () => {});
    try {
      const errors: unknown[] = [];
      const budget = new RedisRequestBudget({ redis: own, keyPrefix: "down:", requestsPerMinute: 600, onError: (e) => errors.push(e) });
      budgets.push(budget);
      await budget.take("read");
      await lone.stop();
      const start = Date.now();
      const write = track(budget, clock, "write", start + 300);
      await expect.poll(() => write.refused, { timeout: 5_000 }).toBeInstanceOf(BudgetExhaustedError);
      expect(write.grantedAt).toBeUndefined();
      expect(write.refusedAt! - start).toBeGreaterThanOrEqual(299);
      expect(errors.length).toBeGreaterThan(0);
      const waiting = track(budget, clock, "read");
      await lone.restart();
      await expect.poll(() => waiting.grantedAt, { timeout: 10_000 }).toBeDefined();
      budget.close();
    } finally {
      own.disconnect();
      await lone.stop();
    }
  });
});
