/**
 * Lease conformance: the same behaviours from the in-memory store (virtual clock) and the Redis
 * store (a real redis-server; expiry by Redis's own clock), then waitForLease on a virtual clock.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InMemoryLeaseStore, RedisLeaseStore, redisLeaseKeys, waitForLease, type LeaseStore } from "../../src/cluster/lease.js";
import { hasRedisServer, startRedis, warnWithoutRedis, type RunningRedis } from "../support/redis-server.js";
import { virtualTimers } from "../support/virtual-timers.js";

warnWithoutRedis("test/cluster/lease.test.ts");

/** What the suite needs from a store under test. */
interface Harness {
  store: LeaseStore;
  /** Makes the current lease of `key` expire (by the store's own expiry), resolving once it has. */
  expire(key: string): Promise<void>;
}

function conformance(name: string, setup: () => Harness) {
  describe(name, () => {
    let h: Harness;
    let n = 0;
    /** A key of its own per test, so tests on one store do not see each other. */
    let key = "";
    beforeAll(() => void (h = setup()));
    const fresh = () => (key = `${name}-key-${n++}`);

    it("acquires a free key once; a second owner gets null while it is held", async () => {
      fresh();
      const a = await h.store.tryAcquire(key, "a", 10_000);
      expect(a).not.toBeNull();
      expect(a!.owner).toBe("a");
      expect(a!.key).toBe(key);
      expect(await h.store.tryAcquire(key, "b", 10_000)).toBeNull();
      expect(await h.store.tryAcquire(key, "a", 10_000)).toBeNull();
      expect(await h.store.current(key)).toEqual({ owner: "a", fence: a!.fence });
      expect(await a!.check()).toBe(true);
      expect(await a!.renew(10_000)).toBe(true);
    });

    it("fences strictly grow over acquisitions of a key", async () => {
      fresh();
      const fences: number[] = [];
      for (let i = 0; i < 5; i++) {
        const lease = await h.store.tryAcquire(key, i % 2 ? "a" : "b", 10_000);
        expect(lease).not.toBeNull();
        fences.push(lease!.fence);
        await lease!.release();
      }
      for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1]!);
      expect(fences.every(Number.isSafeInteger)).toBe(true);
    });

    it("an expired lease is taken by another owner; the old one's check and renew fail, its release does nothing", async () => {
      fresh();
      const old = await h.store.tryAcquire(key, "a", 10_000);
      await h.expire(key);
      expect(await h.store.current(key)).toBeUndefined();
      expect(await old!.check()).toBe(false);
      const taken = await h.store.tryAcquire(key, "b", 10_000);
      expect(taken).not.toBeNull();
      expect(taken!.fence).toBeGreaterThan(old!.fence);
      expect(await old!.check()).toBe(false);
      expect(await old!.renew(10_000)).toBe(false);
      await old!.release();
      expect(await h.store.current(key)).toEqual({ owner: "b", fence: taken!.fence });
      expect(await taken!.check()).toBe(true);
    });

    it("the same owner's earlier acquisition cannot act on its later one", async () => {
      fresh();
      const first = await h.store.tryAcquire(key, "a", 10_000);
      await h.expire(key);
      const second = await h.store.tryAcquire(key, "a", 10_000);
      expect(await first!.check()).toBe(false);
      expect(await first!.renew(10_000)).toBe(false);
      await first!.release();
      expect(await second!.check()).toBe(true);
    });

    it("release by the owner frees the key; release by a non-owner does nothing", async () => {
      fresh();
      const a = await h.store.tryAcquire(key, "a", 10_000);
      const intruder = await h.store.tryAcquire(key, "b", 10_000);
      expect(intruder).toBeNull();
      await a!.release();
      expect(await h.store.current(key)).toBeUndefined();
      expect(await a!.check()).toBe(false);
      const b = await h.store.tryAcquire(key, "b", 10_000);
      await a!.release(); // no longer the owner
      expect(await h.store.current(key)).toEqual({ owner: "b", fence: b!.fence });
    });

    it("keys are independent", async () => {
      fresh();
      const a = await h.store.tryAcquire(`${key}-1`, "a", 10_000);
      const b = await h.store.tryAcquire(`${key}-2`, "b", 10_000);
      expect(a).not.toBeNull();
      expect(b).not.toBeNull();
      await a!.release();
      expect(await b!.check()).toBe(true);
    });

    it("refuses a ttl that is not a positive integer of ms", async () => {
      fresh();
      await expect(h.store.tryAcquire(key, "a", 0)).rejects.toThrow(RangeError);
      await expect(h.store.tryAcquire(key, "a", 1.5)).rejects.toThrow(RangeError);
      expect(await h.store.current(key)).toBeUndefined();
    });
  });
}

const clock = virtualTimers();
conformance("InMemoryLeaseStore", () => {
  const store = new InMemoryLeaseStore({ now: clock.now });
  return { store, expire: async () => clock.advance(10_000) };
});

describe.skipIf(!hasRedisServer)("RedisLeaseStore", () => {
  let redis: RunningRedis;
  const prefix = "test:";
  beforeAll(async () => void (redis = await startRedis()));
  afterAll(async () => redis?.stop());

  conformance("RedisLeaseStore (conformance)", () => {
    const client = redis.client();
    return {
      store: new RedisLeaseStore({ redis: client, keyPrefix: prefix }),
      expire: async (key) => {
        // Let Redis expire it by its own clock, soon.
        await client.pexpire(redisLeaseKeys(prefix, key).lease, 1);
        await expect.poll(() => client.exists(redisLeaseKeys(prefix, key).lease)).toBe(0);
      },
    };
  });

  it("keeps every key under the prefix, the lease as <fence>:<owner> with its TTL", async () => {
    const client = redis.client();
    const store = new RedisLeaseStore({ redis: client, keyPrefix: "p1:" });
    const lease = await store.tryAcquire("channels", "inst-1", 5_000);
    expect(await client.get("p1:lease:channels")).toBe(`${lease!.fence}:inst-1`);
    const ttl = await client.pttl("p1:lease:channels");
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5_000);
    expect(await lease!.renew(60_000)).toBe(true);
    expect(await client.pttl("p1:lease:channels")).toBeGreaterThan(5_000);
    expect((await client.keys("*")).filter((k) => k.startsWith("p1:")).sort()).toEqual(["p1:lease-fence:channels", "p1:lease:channels"]);
  });

  it("two stores on one Redis (two instances) exclude each other", async () => {
    const one = new RedisLeaseStore({ redis: redis.client(), keyPrefix: "p2:" });
    const two = new RedisLeaseStore({ redis: redis.client(), keyPrefix: "p2:" });
    const a = await one.tryAcquire("channels", "one", 10_000);
    expect(await two.tryAcquire("channels", "two", 10_000)).toBeNull();
    expect(await two.current("channels")).toEqual({ owner: "one", fence: a!.fence });
    await a!.release();
    expect(await two.tryAcquire("channels", "two", 10_000)).not.toBeNull();
  });

  it("fences keep growing across a Redis restart that lost every key", async () => {
    const store = new RedisLeaseStore({ redis: redis.client(), keyPrefix: "p3:" });
    const before = await store.tryAcquire("channels", "a", 10_000);
    await redis.restart();
    const client = redis.client();
    expect(await client.dbsize()).toBe(0);
    const after = await new RedisLeaseStore({ redis: client, keyPrefix: "p3:" }).tryAcquire("channels", "b", 10_000);
    expect(after!.fence).toBeGreaterThan(before!.fence);
    expect(await before!.check().catch(() => false)).toBe(false);
  });
});

describe("waitForLease", () => {
  it("waits with backoff until the holder releases, then takes the key", async () => {
    const vt = virtualTimers();
    const store = new InMemoryLeaseStore({ now: vt.now });
    const held = await store.tryAcquire("k", "a", 60_000);
    let attempts = 0;
    const counting: LeaseStore = { tryAcquire: (...args) => (attempts++, store.tryAcquire(...args)), current: (k) => store.current(k) };
    const waiting = waitForLease(counting, "k", "b", 5_000, { deadline: 10_000, timers: vt.timers });
    await vt.advanceAsync(1_000);
    const soFar = attempts;
    // 10, 20, 40, ... ms then 250 ms steps: a handful of attempts in one second, not hundreds.
    expect(soFar).toBeGreaterThanOrEqual(5);
    expect(soFar).toBeLessThanOrEqual(10);
    await held!.release();
    await vt.advanceAsync(250);
    const lease = await waiting;
    expect(lease?.owner).toBe("b");
    expect(await store.current("k")).toEqual({ owner: "b", fence: lease!.fence });
  });

  it("takes the key once the holder's lease expires", async () => {
    const vt = virtualTimers();
    const store = new InMemoryLeaseStore({ now: vt.now });
    await store.tryAcquire("k", "a", 3_000);
    const waiting = waitForLease(store, "k", "b", 5_000, { deadline: 10_000, timers: vt.timers });
    await vt.advanceAsync(3_300);
    expect((await waiting)?.owner).toBe("b");
  });

  it("resolves null at the deadline, sleeping no later than it", async () => {
    const vt = virtualTimers();
    const store = new InMemoryLeaseStore({ now: vt.now });
    await store.tryAcquire("k", "a", 60_000);
    let done: number | undefined;
    const waiting = waitForLease(store, "k", "b", 5_000, { deadline: 1_005, timers: vt.timers }).then((lease) => ((done = vt.now()), lease));
    await vt.advanceAsync(2_000);
    expect(await waiting).toBeNull();
    expect(done).toBe(1_005);
  });

  it("resolves null when aborted", async () => {
    const vt = virtualTimers();
    const store = new InMemoryLeaseStore({ now: vt.now });
    await store.tryAcquire("k", "a", 60_000);
    const abort = new AbortController();
    const waiting = waitForLease(store, "k", "b", 5_000, { deadline: 60_000, timers: vt.timers, signal: abort.signal });
    await vt.advanceAsync(100);
    abort.abort();
    expect(await waiting).toBeNull();
  });

  it("rethrows a store failure at once", async () => {
    const vt = virtualTimers();
    const failing: LeaseStore = { tryAcquire: async () => Promise.reject(new Error("redis down")), current: async () => undefined };
    await expect(waitForLease(failing, "k", "b", 5_000, { deadline: 60_000, timers: vt.timers })).rejects.toThrow("redis down");
  });
});
