/**
 * Channel holder election on a virtual clock with the in-memory lease store: one holder at a
 * time, renewals keep it, a dead holder is replaced within TTL + renew interval, a paused holder
 * that wakes up steps down, Redis trouble deposes the holder before its lease could expire, a
 * stale append steps it down and another instance takes over.
 */
import { describe, expect, it } from "vitest";
import { ChannelHolder } from "../../src/cluster/channel-holder.js";
import { InMemoryLeaseStore, type LeaseStore } from "../../src/cluster/lease.js";
import type { Timers } from "../../src/timers.js";
import { virtualTimers, type VirtualTimers } from "../support/virtual-timers.js";

/** Timers whose callbacks are held while paused (a stopped process) and run on resume; `kill` drops them for good. */
function pausable(timers: Timers) {
  let paused = false;
  let dead = false;
  const held: Array<() => void> = [];
  return {
    timers: {
      now: timers.now,
      schedule: (fn: () => void, ms: number) =>
        timers.schedule(() => {
          if (dead) return;
          if (paused) held.push(fn);
          else fn();
        }, ms),
    } satisfies Timers,
    pause: () => void (paused = true),
    kill: () => void (dead = true),
    resume: () => {
      paused = false;
      for (const fn of held.splice(0)) fn();
    },
  };
}

function instance(vt: VirtualTimers, leases: LeaseStore, owner: string, timers: Timers = vt.timers) {
  const holder = new ChannelHolder({ leases, owner, timers, ttlMs: 10_000 });
  const log: Array<[number, string]> = [];
  holder.on("elected", (fence) => log.push([vt.now(), `elected ${fence}`]));
  holder.on("deposed", (reason) => log.push([vt.now(), `deposed: ${reason}`]));
  return { holder, log };
}

describe("ChannelHolder", () => {
  it("elects one holder and keeps it while it renews", async () => {
    const vt = virtualTimers();
    const leases = new InMemoryLeaseStore({ now: vt.now });
    const a = instance(vt, leases, "a");
    const b = instance(vt, leases, "b");
    a.holder.start();
    await vt.advanceAsync(0);
    b.holder.start();
    await vt.advanceAsync(60_000);
    expect(a.log).toEqual([[0, "elected 1"]]);
    expect(b.log).toEqual([]);
    expect(a.holder.isHolder).toBe(true);
    expect(a.holder.fenceToken()).toEqual({ key: "channels", fence: 1 });
    expect(b.holder.isHolder).toBe(false);
    expect(await leases.current("channels")).toEqual({ owner: "a", fence: 1 });
  });

  it("a dead holder is replaced within TTL + renew interval, with a greater fence", async () => {
    const vt = virtualTimers();
    const leases = new InMemoryLeaseStore({ now: vt.now });
    const process = pausable(vt.timers);
    const a = instance(vt, leases, "a", process.timers);
    const b = instance(vt, leases, "b");
    a.holder.start();
    await vt.advanceAsync(0);
    b.holder.start();
    await vt.advanceAsync(5_000);
    process.kill();
    const diedAt = vt.now();
    await vt.advanceAsync(20_000);
    expect(b.log).toHaveLength(1);
    const [at, what] = b.log[0]!;
    expect(what).toBe("elected 2");
    expect(at - diedAt).toBeLessThanOrEqual(10_000 + 3_333);
    expect(at - diedAt).toBeGreaterThan(10_000 - 3_333 - 1);
  });

  it("a paused holder that wakes after losing the lease steps down and does not take it back", async () => {
    const vt = virtualTimers();
    const leases = new InMemoryLeaseStore({ now: vt.now });
    const process = pausable(vt.timers);
    const a = instance(vt, leases, "a", process.timers);
    const b = instance(vt, leases, "b");
    a.holder.start();
    await vt.advanceAsync(0);
    b.holder.start();
    process.pause();
    await vt.advanceAsync(20_000);
    expect(b.holder.isHolder).toBe(true);
    expect(a.holder.isHolder).toBe(true); // it cannot know yet
    expect(await a.holder.stillHolds()).toBe(false);
    process.resume();
    await vt.advanceAsync(30_000);
    expect(a.holder.isHolder).toBe(false);
    expect(a.log.map(([, w]) => w)).toEqual(["elected 1", expect.stringMatching(/^deposed: /)]);
    expect(b.log.map(([, w]) => w)).toEqual(["elected 2"]);
  });

  it("a renewal answering 'lost' deposes at once", async () => {
    const vt = virtualTimers();
    const leases = new InMemoryLeaseStore({ now: vt.now });
    let lose = false;
    const losing: LeaseStore = {
      tryAcquire: async (key, owner, ttl) => {
        const lease = await leases.tryAcquire(key, owner, ttl);
        return lease && { ...lease, check: lease.check, release: lease.release, renew: async (t) => !lose && lease.renew(t) };
      },
      current: (key) => leases.current(key),
    };
    const a = instance(vt, losing, "a");
    a.holder.start();
    await vt.advanceAsync(0);
    lose = true;
    await vt.advanceAsync(3_333);
    expect(a.log).toEqual([
      [0, "elected 1"],
      [3_333, "deposed: the channels lease was lost"],
    ]);
  });

  it("while the store fails, the holder keeps the lease only as long as it surely holds it", async () => {
    const vt = virtualTimers();
    const leases = new InMemoryLeaseStore({ now: vt.now });
    let down = false;
    const flaky: LeaseStore = {
      tryAcquire: async (key, owner, ttl) => {
        if (down) throw new Error("redis down");
        const lease = await leases.tryAcquire(key, owner, ttl);
        if (!lease) return null;
        return { ...lease, check: lease.check, release: lease.release, renew: async (t) => (down ? Promise.reject(new Error("redis down")) : lease.renew(t)) };
      },
      current: (key) => leases.current(key),
    };
    const a = instance(vt, flaky, "a");
    a.holder.start();
    await vt.advanceAsync(0);
    await vt.advanceAsync(3_333); // renewed at 3 333: valid until 13 333
    down = true;
    await vt.advanceAsync(30_000);
    expect(a.log).toHaveLength(2);
    const [at, what] = a.log[1]!;
    expect(what).toMatch(/^deposed: /);
    expect(at).toBeGreaterThan(3_333 + 3_333);
    expect(at).toBeLessThanOrEqual(13_333);
    // Back: elected again with a new fence.
    down = false;
    await vt.advanceAsync(20_000);
    expect(a.log.at(-1)![1]).toBe("elected 2");
  });

  it("a stale append steps the holder down; another instance takes over at its next attempt", async () => {
    const vt = virtualTimers();
    const leases = new InMemoryLeaseStore({ now: vt.now });
    const a = instance(vt, leases, "a");
    const b = instance(vt, leases, "b");
    a.holder.start();
    await vt.advanceAsync(0);
    b.holder.start();
    expect(a.holder.noteAppendError(new Error("other"))).toBe(false);
    const stale = Object.assign(new Error("stale fence"), { name: "StaleFenceError" });
    expect(a.holder.noteAppendError(stale)).toBe(true);
    expect(a.holder.isHolder).toBe(false);
    expect(a.holder.fenceToken()).toBeUndefined();
    await vt.advanceAsync(3_334);
    expect(b.log.map(([, w]) => w)).toEqual(["elected 2"]);
    expect(a.log.map(([, w]) => w)).toEqual(["elected 1", expect.stringMatching(/^deposed: an append was refused/)]);
  });

  it("stop releases the lease: another instance takes it at its next attempt, not after the TTL", async () => {
    const vt = virtualTimers();
    const leases = new InMemoryLeaseStore({ now: vt.now });
    const a = instance(vt, leases, "a");
    const b = instance(vt, leases, "b");
    a.holder.start();
    await vt.advanceAsync(0);
    b.holder.start();
    await vt.advanceAsync(1_000);
    await a.holder.stop();
    expect(a.log.at(-1)).toEqual([1_000, "deposed: stopped"]);
    await vt.advanceAsync(3_333);
    expect(b.log).toEqual([[3_333, "elected 2"]]);
  });

  it("stop during an acquisition in flight waits for it and releases what it took before resolving", async () => {
    const vt = virtualTimers();
    const inner = new InMemoryLeaseStore({ now: vt.now });
    let answer!: () => void;
    const gate = new Promise<void>((resolve) => (answer = resolve));
    // Redis answers the first attempt only after stop() was called (a slow round trip at shutdown).
    const slow: LeaseStore = {
      tryAcquire: async (key, owner, ttlMs) => {
        const lease = await inner.tryAcquire(key, owner, ttlMs);
        await gate;
        return lease;
      },
      current: (key) => inner.current(key),
    };
    const a = instance(vt, slow, "a");
    a.holder.start();
    await vt.advanceAsync(0);
    let stopped = false;
    const stopping = a.holder.stop().then(() => void (stopped = true));
    await vt.advanceAsync(0);
    expect(stopped).toBe(false); // the composition closes the Redis clients right after stop(): not yet
    answer();
    await stopping;
    // Taken while stopping, released before stop() resolved: the next instance need not wait for the TTL.
    expect(await inner.current("channels")).toBeUndefined();
    expect(a.log).toEqual([]);
  });

  it("refuses a renew interval that is not below the TTL", () => {
    expect(() => new ChannelHolder({ leases: new InMemoryLeaseStore(), owner: "a", ttlMs: 1_000, renewEveryMs: 1_000 })).toThrow(RangeError);
  });
});
