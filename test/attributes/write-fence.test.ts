/**
 * The per-participant write fence in the updater (issue 10), with a virtual clock: two
 * AttributeUpdaters standing for two gateway instances share one lease store (the in-memory
 * store; the Redis one passes the same conformance suite in test/cluster/lease.test.ts) and one
 * scripted Genesys. Proves: writes to one participant are serialized across "instances" (one
 * `expectedVersion`, two writers → one `updated`, one `conflict`, one PATCH); the fence is
 * checked right before every PATCH and re-send, and before answering `updated`; a fence that cannot be taken in time, whose
 * store fails, or that is lost → never `updated` (WriteFenceUnavailableError with nothing
 * sent, or `not-confirmed` once a PATCH was sent); the lease lives for the update's remaining
 * deadline and is released after it.
 */
import { describe, expect, it } from "vitest";
import type { Models } from "purecloud-platform-client-v2";
import { AttributeUpdater, type AttributeBackend, type SentWrite, type UpdateOutcome } from "../../src/attributes/update.js";
import { attributesVersion } from "../../src/attributes/version.js";
import { WriteFenceUnavailableError } from "../../src/attributes/write-fence.js";
import { InMemoryLeaseStore, type Lease, type LeaseStore } from "../../src/cluster/lease.js";
import { LeaseWriteFence, writeLeaseKey } from "../../src/cluster/write-lease.js";
import type { Timers } from "../../src/timers.js";

/** Virtual time: sleep() advances the clock at once (as in update.test.ts); timers on top of it. */
function virtualClock() {
  let now = 1_000_000;
  const sleep = async (ms: number) => void (now += ms);
  const timers: Timers = {
    now: () => now,
    schedule: (fn, ms) => {
      let cancelled = false;
      void sleep(ms).then(() => cancelled || fn());
      return () => void (cancelled = true);
    },
  };
  return { now: () => now, sleep, timers };
}

/** One participant "p" of conversation "c"; writes become visible after `visibleAfterMs` (Infinity: never). */
function fakeGenesys(initial: Record<string, string>, clock: ReturnType<typeof virtualClock>, visibleAfterMs = 0) {
  let visible = { ...initial };
  const pending: Array<{ at: number; attributes: Record<string, string> }> = [];
  const patches: Array<{ attributes: Record<string, string>; at: number }> = [];
  let reads = 0;
  const backend: AttributeBackend = {
    async getConversation() {
      reads += 1;
      for (const p of pending.filter((x) => x.at <= clock.now())) {
        visible = { ...visible, ...p.attributes };
        pending.splice(pending.indexOf(p), 1);
      }
      return { id: "c", participants: [{ id: "p", purpose: "customer", attributes: { ...visible } }] } as Models.Conversation;
    },
    async patchParticipantAttributes(_c, _p, attributes) {
      patches.push({ attributes, at: clock.now() });
      pending.push({ at: clock.now() + visibleAfterMs, attributes });
    },
  };
  return { backend, patches, reads: () => reads };
}

/** A lease store whose leases can be made "lost" (Redis restarted without them) or that fails outright (Redis unreachable). */
function controllableStore(inner: LeaseStore) {
  const state = { lost: false, down: false, checks: 0, acquisitions: [] as Array<{ key: string; ttlMs: number; fence: number }> };
  const store: LeaseStore = {
    async tryAcquire(key, owner, ttlMs) {
      if (state.down) throw new Error("connect ECONNREFUSED 127.0.0.1:6379");
      const lease = await inner.tryAcquire(key, owner, ttlMs);
      if (!lease) return null;
      state.acquisitions.push({ key, ttlMs, fence: lease.fence });
      const wrapped: Lease = {
        key: lease.key,
        fence: lease.fence,
        owner: lease.owner,
        check: async () => {
          state.checks += 1;
          if (state.down) throw new Error("Connection is closed.");
          return !state.lost && (await lease.check());
        },
        renew: (ttl) => lease.renew(ttl),
        release: () => lease.release(),
      };
      return wrapped;
    },
    current: (key) => inner.current(key),
  };
  return { store, state };
}

const request = (attributes: Record<string, string>, expectedVersion?: string) => ({ conversationId: "c", participantId: "p", attributes, expectedVersion });

/** An updater standing for one instance on the shared `store`. */
function instance(owner: string, store: LeaseStore, clock: ReturnType<typeof virtualClock>, backend: AttributeBackend, sent: SentWrite[] = [], deadlineMs = 5_000) {
  return new AttributeUpdater({
    backend,
    now: clock.now,
    sleep: clock.sleep,
    timing: { deadlineMs },
    fence: new LeaseWriteFence({ store, owner, timers: clock.timers }),
    onSend: (s) => sent.push(s),
  });
}

async function refusal(promise: Promise<UpdateOutcome>): Promise<WriteFenceUnavailableError> {
  try {
    const outcome = await promise;
    throw new Error(`expected a WriteFenceUnavailableError, got ${JSON.stringify(outcome)}`);
  } catch (error) {
    expect(error).toBeInstanceOf(WriteFenceUnavailableError);
    return error as WriteFenceUnavailableError;
  }
}

describe("the per-participant write fence across instances", () => {
  it("two instances, one expectedVersion: one updated, one conflict, one PATCH, sent under the first fence", async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "0" }, clock, 20);
    const { store, state } = controllableStore(new InMemoryLeaseStore({ now: clock.now }));
    const sent: SentWrite[] = [];
    const version = attributesVersion({ a: "0" });
    const [one, two] = await Promise.all([
      instance("gw-1", store, clock, g.backend, sent).update(request({ a: "1" }, version)),
      instance("gw-2", store, clock, g.backend, sent).update(request({ a: "2" }, version)),
    ]);
    expect([one.kind, two.kind].sort()).toEqual(["conflict", "updated"]);
    expect(g.patches).toHaveLength(1);
    expect(sent).toEqual([{ conversationId: "c", participantId: "p", keys: ["a"], fence: state.acquisitions[0]!.fence, attempt: 1 }]);
    // The loser waited for the winner's release, then took the next fence and read the new version.
    expect(state.acquisitions.map((a) => a.fence)).toEqual([state.acquisitions[0]!.fence, state.acquisitions[0]!.fence + 1]);
    expect(await store.current(writeLeaseKey({ conversationId: "c", participantId: "p" }))).toBeUndefined();
  });

  it("the lease is taken for the update's remaining deadline, and checked right before every PATCH and re-send", async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "0" }, clock, 2_000); // visible only after the re-send (resendAfterMs 1 500)
    const { store, state } = controllableStore(new InMemoryLeaseStore({ now: clock.now }));
    const sent: SentWrite[] = [];
    const outcome = await instance("gw-1", store, clock, g.backend, sent, 5_000).update(request({ a: "1" }));
    expect(outcome).toMatchObject({ kind: "updated", attempts: 2 });
    expect(state.acquisitions).toEqual([{ key: "write:c:p", ttlMs: 5_000, fence: expect.any(Number) }]);
    // Before the PATCH, before the re-send, and once more before answering "updated".
    expect(state.checks).toBe(3);
    expect(sent.map((s) => s.attempt)).toEqual([1, 2]);
  });

  it("held by another instance until the deadline: WRITE_LEASE HELD_ELSEWHERE, nothing read or sent", async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "0" }, clock);
    const leases = new InMemoryLeaseStore({ now: clock.now });
    await leases.tryAcquire("write:c:p", "gw-other", 60_000);
    const error = await refusal(instance("gw-1", leases, clock, g.backend).update(request({ a: "1" })));
    expect(error.reason).toBe("HELD_ELSEWHERE");
    expect(g.reads()).toBe(0);
    expect(g.patches).toHaveLength(0);
  });

  it("a lease held elsewhere and released before the deadline is taken, and the write goes through", async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "0" }, clock);
    const leases = new InMemoryLeaseStore({ now: clock.now });
    await leases.tryAcquire("write:c:p", "gw-other", 300); // expires after 300 ms
    const outcome = await instance("gw-1", leases, clock, g.backend).update(request({ a: "1" }));
    expect(outcome).toMatchObject({ kind: "updated", attempts: 1 });
    expect(g.patches[0]!.at).toBeGreaterThanOrEqual(1_000_300);
  });

  it("a lease taken after waiting lives only until the update's deadline, not a whole deadline from when it was taken", async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "0" }, clock);
    const inner = new InMemoryLeaseStore({ now: clock.now });
    await inner.tryAcquire("write:c:p", "gw-other", 300); // expires after 300 ms
    const { store, state } = controllableStore(inner);
    const outcome = await instance("gw-1", store, clock, g.backend, [], 5_000).update(request({ a: "1" }));
    expect(outcome).toMatchObject({ kind: "updated" });
    const taken = state.acquisitions[0]!;
    expect(g.patches[0]!.at).toBeGreaterThanOrEqual(1_000_300);
    // Taken at >= 300 ms into a 5 000 ms deadline: at most the 4 700 ms left.
    expect(taken.ttlMs).toBeLessThanOrEqual(4_700);
    expect(taken.ttlMs).toBeGreaterThan(4_000);
  });

  it("the lease store is unreachable: STORE_UNAVAILABLE, nothing read or sent", async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "0" }, clock);
    const { store, state } = controllableStore(new InMemoryLeaseStore({ now: clock.now }));
    state.down = true;
    const error = await refusal(instance("gw-1", store, clock, g.backend).update(request({ a: "1" })));
    expect(error.reason).toBe("STORE_UNAVAILABLE");
    expect(error.message).toMatch(/nothing was sent/);
    expect(g.reads()).toBe(0);
    expect(g.patches).toHaveLength(0);
  });

  it("lost after the version read, before the first PATCH: LOST, nothing sent", async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "0" }, clock);
    const { store, state } = controllableStore(new InMemoryLeaseStore({ now: clock.now }));
    const backend: AttributeBackend = {
      getConversation: async (...args) => {
        state.lost = true; // Redis restarted while the read was under way
        return g.backend.getConversation(...args);
      },
      patchParticipantAttributes: g.backend.patchParticipantAttributes,
    };
    const error = await refusal(instance("gw-1", store, clock, backend).update(request({ a: "1" }, attributesVersion({ a: "0" }))));
    expect(error.reason).toBe("LOST");
    expect(g.patches).toHaveLength(0);
  });

  it("the store fails right before a re-send: not-confirmed (accepted), never updated, no second PATCH", async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "0" }, clock, Number.POSITIVE_INFINITY); // never visible: a re-send is due
    const { store, state } = controllableStore(new InMemoryLeaseStore({ now: clock.now }));
    const backend: AttributeBackend = {
      getConversation: g.backend.getConversation,
      patchParticipantAttributes: async (...args) => {
        await g.backend.patchParticipantAttributes(...args);
        state.down = true; // Redis goes away after the first PATCH
      },
    };
    const outcome = await instance("gw-1", store, clock, backend).update(request({ a: "1" }));
    expect(outcome).toMatchObject({ kind: "not-confirmed", attempts: 1, accepted: true });
    if (outcome.kind === "not-confirmed") expect(outcome.message).toMatch(/write lease was lost/);
    expect(g.patches).toHaveLength(1);
  });

  it("the store fails after the PATCH and the write becomes visible: not-confirmed (accepted), never updated", async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "0" }, clock, 20); // visible 20 ms after the PATCH
    const { store, state } = controllableStore(new InMemoryLeaseStore({ now: clock.now }));
    const backend: AttributeBackend = {
      getConversation: g.backend.getConversation,
      patchParticipantAttributes: async (...args) => {
        await g.backend.patchParticipantAttributes(...args);
        state.down = true; // Redis goes away right after the PATCH: the lease can no longer be proven
      },
    };
    const outcome = await instance("gw-1", store, clock, backend).update(request({ a: "1" }));
    expect(outcome).toMatchObject({ kind: "not-confirmed", attempts: 1, accepted: true });
    if (outcome.kind === "not-confirmed") {
      expect(outcome.message).toMatch(/write lease was lost/);
      expect(outcome.participant?.attributes).toEqual({ a: "1" });
    }
    expect(g.patches).toHaveLength(1);
  });

  it("the lease is lost after the PATCH (Redis restarted without it) and the write becomes visible: not-confirmed, never updated", async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "0" }, clock, 20);
    const { store, state } = controllableStore(new InMemoryLeaseStore({ now: clock.now }));
    const backend: AttributeBackend = {
      getConversation: g.backend.getConversation,
      patchParticipantAttributes: async (...args) => {
        await g.backend.patchParticipantAttributes(...args);
        state.lost = true;
      },
    };
    const outcome = await instance("gw-1", store, clock, backend).update(request({ a: "1" }, attributesVersion({ a: "0" })));
    expect(outcome).toMatchObject({ kind: "not-confirmed", attempts: 1, accepted: true });
    expect(g.patches).toHaveLength(1);
  });

  it("in one instance the KeyedLock queues the second write; it takes the lease right after the first releases it", async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "0" }, clock);
    const { store, state } = controllableStore(new InMemoryLeaseStore({ now: clock.now }));
    const updater = instance("gw-1", store, clock, g.backend);
    const [first, second] = await Promise.all([updater.update(request({ a: "1" })), updater.update(request({ b: "1" }))]);
    expect(first).toMatchObject({ kind: "updated" });
    expect(second).toMatchObject({ kind: "updated" });
    expect(state.acquisitions).toHaveLength(2);
    expect(state.acquisitions[1]!.ttlMs).toBeLessThanOrEqual(5_000);
  });
});
