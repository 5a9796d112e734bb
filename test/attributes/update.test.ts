/**
 * The verify loop's edge cases that the emulator cannot produce (it applies each write whole and
 * stores "" as a value): partial visibility, a Genesys that deletes keys cleared with "",
 * refusals after an accepted write, and the deadline counting time queued behind other writes.
 * The backend is an in-memory Genesys with scripted visibility; time is a virtual clock, so
 * every timing here is exact and no test sleeps.
 */
import { describe, expect, it } from "vitest";
import type { Models } from "purecloud-platform-client-v2";
import { AttributeUpdater, type AttributeBackend, type WatchedState, type WriteConfirmations } from "../../src/attributes/update.js";
import type { ParticipantSnapshot } from "../../src/genesys/participants.js";
import { attributesVersion } from "../../src/attributes/version.js";
import { GenesysError } from "../../src/genesys/errors.js";

/** Virtual time: sleep() advances the clock instantly. */
function virtualClock() {
  let now = 0;
  return { now: () => now, sleep: async (ms: number) => void (now += ms), advance: (ms: number) => void (now += ms) };
}

/** One participant "p" in conversation "c"; `onPatch` decides what becomes visible and when. */
function fakeGenesys(initial: Record<string, string>, clock: ReturnType<typeof virtualClock>) {
  let visible = { ...initial };
  const pending: Array<{ at: number; apply: (m: Record<string, string>) => Record<string, string> }> = [];
  const patches: Array<Record<string, string>> = [];
  let onPatch: (attrs: Record<string, string>, n: number) => void = () => undefined;
  const backend: AttributeBackend = {
    async getConversation() {
      for (const p of pending.filter((x) => x.at <= clock.now())) {
        visible = p.apply(visible);
        pending.splice(pending.indexOf(p), 1);
      }
      return { id: "c", participants: [{ id: "p", purpose: "customer", attributes: { ...visible } }] } as Models.Conversation;
    },
    async patchParticipantAttributes(_c, _p, attributes) {
      patches.push(attributes);
      onPatch(attributes, patches.length);
    },
  };
  return {
    backend,
    patches,
    later: (delayMs: number, apply: (m: Record<string, string>) => Record<string, string>) =>
      pending.push({ at: clock.now() + delayMs, apply }),
    setOnPatch: (fn: typeof onPatch) => void (onPatch = fn),
  };
}

const request = (attributes: Record<string, string>, expectedVersion?: string) => ({
  conversationId: "c",
  participantId: "p",
  attributes,
  expectedVersion,
});

describe("AttributeUpdater verify loop", () => {
  it("re-sends a partly visible write under expectedVersion instead of calling it a conflict", async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "0", b: "0" }, clock);
    // First PATCH: only "a" ever shows. The re-send shows whole.
    g.setOnPatch((attrs, n) => g.later(50, (m) => (n === 1 ? { ...m, a: attrs.a! } : { ...m, ...attrs })));
    const updater = new AttributeUpdater({ backend: g.backend, now: clock.now, sleep: clock.sleep });
    const outcome = await updater.update(request({ a: "1", b: "1" }, attributesVersion({ a: "0", b: "0" })));
    expect(outcome).toMatchObject({ kind: "updated", attempts: 2, participant: { attributes: { a: "1", b: "1" } } });
  });

  it("still calls it a conflict when another writer changed a key this write does not touch", async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "0", other: "x" }, clock);
    g.setOnPatch(() => g.later(10, (m) => ({ ...m, other: "changed" }))); // our write is lost; someone else writes
    const updater = new AttributeUpdater({ backend: g.backend, now: clock.now, sleep: clock.sleep });
    const outcome = await updater.update(request({ a: "1" }, attributesVersion({ a: "0", other: "x" })));
    expect(outcome.kind).toBe("conflict");
    if (outcome.kind === "conflict") expect(outcome.message).toContain('"other"');
    expect(g.patches).toHaveLength(1);
  });

  it('confirms clearing a key with "" when Genesys drops the key instead of storing ""', async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "1", keep: "k" }, clock);
    g.setOnPatch(() => g.later(30, ({ a: _dropped, ...rest }) => rest));
    const updater = new AttributeUpdater({ backend: g.backend, now: clock.now, sleep: clock.sleep });
    expect(await updater.update(request({ a: "" }))).toMatchObject({ kind: "updated", attempts: 1 });
    // Already absent: nothing to send.
    expect(await updater.update(request({ a: "" }))).toMatchObject({ kind: "updated", attempts: 0 });
    expect(g.patches).toHaveLength(1);
  });

  it("does not report a refused re-send as 'nothing written' once a PATCH was accepted", async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "0" }, clock);
    g.setOnPatch((_a, n) => {
      if (n === 2) throw new GenesysError({ status: 400, code: "bad.request", message: "conversation ended" });
    });
    const updater = new AttributeUpdater({ backend: g.backend, now: clock.now, sleep: clock.sleep });
    const outcome = await updater.update(request({ a: "1" }));
    expect(outcome.kind).toBe("not-confirmed");
    if (outcome.kind === "not-confirmed") expect(outcome.message).toContain("may still become visible");
  });

  it("answers REJECTED_BY_GENESYS with Genesys's message when the first PATCH is refused", async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "0" }, clock);
    g.setOnPatch(() => {
      throw new GenesysError({ status: 400, code: "bad.request", message: "conversation ended" });
    });
    const updater = new AttributeUpdater({ backend: g.backend, now: clock.now, sleep: clock.sleep });
    expect(await updater.update(request({ a: "1" }))).toEqual({
      kind: "unavailable",
      reason: "REJECTED_BY_GENESYS",
      message: "conversation ended",
    });
  });

  it("counts time queued behind earlier writes to the same participant against the deadline", async () => {
    const clock = virtualClock();
    const g = fakeGenesys({ a: "0" }, clock);
    const updater = new AttributeUpdater({ backend: g.backend, now: clock.now, sleep: clock.sleep, timing: { deadlineMs: 1_000 } });
    // Every write is lost: the first update uses its whole second; the second was queued at t=0.
    const [first, second] = await Promise.all([updater.update(request({ a: "1" })), updater.update(request({ a: "2" }))]);
    expect(first.kind).toBe("not-confirmed");
    expect(second).toMatchObject({ kind: "not-confirmed", attempts: 0 });
    if (second.kind === "not-confirmed") expect(second.message).toContain("nothing was sent");
    expect(clock.now()).toBeLessThanOrEqual(1_000 + 1_000);
  });
});

/**
 * A virtual clock with timers: `sleep` and scheduled events fire in time order, and `run` advances
 * time only when nothing else can happen (all promises settled up to the next timer).
 */
function timerClock() {
  let now = 0;
  const timers: Array<{ at: number; fire: () => void }> = [];
  const at = (ms: number, fire: () => void) => void timers.push({ at: now + ms, fire });
  return {
    now: () => now,
    at,
    sleep: (ms: number) => new Promise<void>((resolve) => at(ms, resolve)),
    async run<T>(promise: Promise<T>): Promise<T> {
      let settled = false;
      promise.then(
        () => (settled = true),
        () => (settled = true),
      );
      for (let i = 0; i < 10_000; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        if (settled) return promise;
        timers.sort((a, b) => a.at - b.at);
        const next = timers.shift();
        if (!next) throw new Error("nothing left to happen, and the update has not answered");
        now = Math.max(now, next.at);
        next.fire();
      }
      throw new Error("too many steps");
    },
  };
}

/**
 * One participant "p" in conversation "c" with a change log: a PATCH becomes visible after
 * `visibleAfterMs`, and its notification reaches the watch then (unless `dropEvents`).
 * `failReads` makes the next N verify reads (after the first) fail with that status.
 */
function genesysWithLog(initial: Record<string, string>, clock: ReturnType<typeof timerClock>) {
  let visible = { ...initial };
  const calls = { reads: 0, patches: 0 };
  const config = {
    visibleAfterMs: 30,
    dropEvents: false,
    live: true,
    lost: false,
    failReads: [] as number[],
    patchStatus: 0,
    /** Runs once the first read's answer is taken, before it returns (a notification processed while the read is in flight). */
    duringFirstRead: undefined as (() => void) | undefined,
  };
  const waiting: Array<(p: WatchedState | undefined) => void> = [];
  const queued: WatchedState[] = [];
  let watching = false;
  const snapshot = (): ParticipantSnapshot => ({ id: "p", conversationId: "c", purpose: "customer", attributes: { ...visible } });
  const emit = (changedKeys: string[]) => {
    if (!config.dropEvents) push({ participant: snapshot(), changedKeys });
  };
  /** Hands the watch a state, whatever `dropEvents` says (a held-back notification, for instance). */
  const push = (state: WatchedState) => {
    if (!watching) return;
    const waiter = waiting.shift();
    if (waiter) waiter(state);
    else queued.push(state);
  };
  const set = (changes: Record<string, string>) => {
    visible = { ...visible, ...changes };
    emit(Object.keys(changes));
  };
  const backend: AttributeBackend = {
    async getConversation() {
      calls.reads += 1;
      const status = calls.reads > 1 ? config.failReads.shift() : undefined;
      if (status) throw new GenesysError({ status, code: "server.error", message: `HTTP ${status}` });
      const answer = { id: "c", participants: [{ id: "p", purpose: "customer", attributes: { ...visible } }] } as Models.Conversation;
      if (calls.reads === 1) config.duringFirstRead?.();
      return answer;
    },
    async patchParticipantAttributes(_c, _p, attributes) {
      calls.patches += 1;
      if (config.patchStatus) throw new GenesysError({ status: config.patchStatus, code: "unavailable", message: `HTTP ${config.patchStatus}` });
      if (!config.lost) clock.at(config.visibleAfterMs, () => set(attributes));
    },
  };
  const confirmations: WriteConfirmations = {
    async watch() {
      watching = true;
      return {
        live: () => config.live,
        next: () => (queued.length > 0 ? Promise.resolve(queued.shift()) : new Promise((resolve) => waiting.push(resolve))),
        drain: () => queued.splice(0),
        close: () => {
          watching = false;
          for (const w of waiting.splice(0)) w(undefined);
        },
      };
    },
  };
  return { backend, confirmations, calls, config, set, push };
}

describe("AttributeUpdater confirmation from the change log", () => {
  function setup(initial: Record<string, string> = { a: "0", other: "x" }) {
    const clock = timerClock();
    const g = genesysWithLog(initial, clock);
    const updater = new AttributeUpdater({ backend: g.backend, confirmations: g.confirmations, now: clock.now, sleep: clock.sleep });
    return { clock, g, updater };
  }

  it("confirms on the notification: 2 Genesys calls (read + PATCH), confirmed when the event arrives", async () => {
    const { clock, g, updater } = setup();
    g.config.visibleAfterMs = 230;
    const outcome = await clock.run(updater.update(request({ a: "1" })));
    expect(outcome).toMatchObject({ kind: "updated", attempts: 1, confirmedAfterMs: 230, confirmedBy: "change-log" });
    expect(g.calls).toEqual({ reads: 1, patches: 1 });
  });

  it("falls back to a slow read when the event is dropped", async () => {
    const { clock, g, updater } = setup();
    g.config.dropEvents = true;
    const outcome = await clock.run(updater.update(request({ a: "1" })));
    // livePollMs (1 000) after the PATCH, not the fast schedule.
    expect(outcome).toMatchObject({ kind: "updated", attempts: 1, confirmedAfterMs: 1_000, confirmedBy: "read" });
    expect(g.calls).toEqual({ reads: 2, patches: 1 });
  });

  it("polls on the fast schedule while notifications are down", async () => {
    const { clock, g, updater } = setup();
    g.config.live = false;
    g.config.dropEvents = true;
    g.config.visibleAfterMs = 100;
    const outcome = await clock.run(updater.update(request({ a: "1" })));
    // Reads at 40, 100 (40 + 60): the second shows the write.
    expect(outcome).toMatchObject({ kind: "updated", confirmedAfterMs: 100, confirmedBy: "read" });
    expect(g.calls.reads).toBe(3);
  });

  it("with expectedVersion, answers VersionConflict with writeApplied when another writer changed a key in between", async () => {
    const { clock, g, updater } = setup();
    g.config.visibleAfterMs = 50;
    clock.at(20, () => g.set({ other: "theirs" })); // lands after the version check, before our write
    const outcome = await clock.run(updater.update(request({ a: "1" }, attributesVersion({ a: "0", other: "x" }))));
    expect(outcome).toMatchObject({
      kind: "conflict",
      writeApplied: true,
      conflictingKeys: ["other"],
      participant: { attributes: { a: "1", other: "theirs" } },
    });
    if (outcome.kind === "conflict") expect(outcome.message).toContain("This write was applied");
    expect(g.calls).toEqual({ reads: 1, patches: 1 });
  });

  it("with expectedVersion, writes nothing when the log learned, during the version check's read, a change that read did not show", async () => {
    const { clock, g, updater } = setup();
    // The read's answer predates another writer's change whose notification is processed first.
    g.config.duringFirstRead = () => g.set({ other: "theirs" });
    const outcome = await clock.run(updater.update(request({ a: "1" }, attributesVersion({ a: "0", other: "x" }))));
    expect(outcome).toMatchObject({
      kind: "conflict",
      writeApplied: false,
      conflictingKeys: ["other"],
      attempts: 0,
      participant: { attributes: { a: "0", other: "theirs" } },
    });
    if (outcome.kind === "conflict") expect(outcome.message).toContain("nothing was written");
    expect(g.calls).toEqual({ reads: 1, patches: 0 });
  });

  it("without expectedVersion, a change learned during the first read does not stop the write", async () => {
    const { clock, g, updater } = setup();
    g.config.duringFirstRead = () => g.set({ other: "theirs" });
    expect(await clock.run(updater.update(request({ a: "1" })))).toMatchObject({ kind: "updated", attempts: 1 });
  });

  it("with expectedVersion, takes a held-back (unconfirmed) notification of another writer's value as a conflict, never as confirmation", async () => {
    const { clock, g, updater } = setup();
    g.config.visibleAfterMs = 50;
    // Another writer's value, made visible in the same instant as ours and held back by the log
    // (same eventTime), then our write's own notification.
    clock.at(50, () =>
      g.push({ participant: { id: "p", conversationId: "c", purpose: "unknown", attributes: { a: "theirs", other: "x" } }, changedKeys: ["a"], unconfirmed: true }),
    );
    const outcome = await clock.run(updater.update(request({ a: "1" }, attributesVersion({ a: "0", other: "x" }))));
    expect(outcome).toMatchObject({ kind: "conflict", writeApplied: true, conflictingKeys: ["a"], participant: { attributes: { a: "1" } } });
  });

  it("never confirms from an unconfirmed state that shows the write", async () => {
    const { clock, g, updater } = setup();
    g.config.dropEvents = true;
    clock.at(40, () => g.push({ participant: { id: "p", conversationId: "c", purpose: "unknown", attributes: { a: "1", other: "x" } }, changedKeys: ["a"], unconfirmed: true }));
    const outcome = await clock.run(updater.update(request({ a: "1" })));
    // Confirmed by the fallback read at livePollMs, not by the held-back notification at 40 ms.
    expect(outcome).toMatchObject({ kind: "updated", confirmedBy: "read", confirmedAfterMs: 1_000 });
  });

  it("with expectedVersion, a fallback read showing the write hears out notifications still in flight (catchUpMs) before answering", async () => {
    const { clock, g, updater } = setup();
    g.config.dropEvents = true; // our write's notification is lost: the read at 1 000 ms shows it
    clock.at(1_100, () =>
      g.push({ participant: { id: "p", conversationId: "c", purpose: "unknown", attributes: { a: "theirs", other: "x" } }, changedKeys: ["a"], unconfirmed: true }),
    );
    const outcome = await clock.run(updater.update(request({ a: "1" }, attributesVersion({ a: "0", other: "x" }))));
    expect(outcome).toMatchObject({ kind: "conflict", writeApplied: true, conflictingKeys: ["a"] });
    expect(clock.now()).toBe(1_100);
  });

  it("with expectedVersion, a change-log state that came from another reader's read also waits for notifications in flight", async () => {
    const { clock, g, updater } = setup();
    g.config.dropEvents = true;
    // A reconciliation read reaches the log first (our write visible), then the notification of
    // another writer's value made visible just before ours, held back by the log.
    clock.at(60, () => g.push({ participant: { id: "p", conversationId: "c", purpose: "customer", attributes: { a: "1", other: "x" } }, changedKeys: ["a"], fromRead: true }));
    clock.at(90, () =>
      g.push({ participant: { id: "p", conversationId: "c", purpose: "unknown", attributes: { a: "theirs", other: "x" } }, changedKeys: ["a"], unconfirmed: true }),
    );
    const outcome = await clock.run(updater.update(request({ a: "1" }, attributesVersion({ a: "0", other: "x" }))));
    expect(outcome).toMatchObject({ kind: "conflict", writeApplied: true, conflictingKeys: ["a"] });
    expect(clock.now()).toBe(90);
  });

  it("with expectedVersion, also hears out notifications in flight while the conversation is suspect (not live)", async () => {
    const { clock, g, updater } = setup();
    g.config.dropEvents = true;
    g.config.live = false; // a held-back notification made the conversation suspect: fast polling
    clock.at(120, () =>
      g.push({ participant: { id: "p", conversationId: "c", purpose: "unknown", attributes: { a: "theirs", other: "x" } }, changedKeys: ["a"], unconfirmed: true }),
    );
    const outcome = await clock.run(updater.update(request({ a: "1" }, attributesVersion({ a: "0", other: "x" }))));
    // The read at 40 ms shows the write; the held-back notification at 120 ms is still heard.
    expect(outcome).toMatchObject({ kind: "conflict", writeApplied: true, conflictingKeys: ["a"] });
    expect(clock.now()).toBe(120);
  });

  it("with expectedVersion and nothing more in flight, a fallback read confirms after catchUpMs", async () => {
    const { clock, g, updater } = setup();
    g.config.dropEvents = true;
    const outcome = await clock.run(updater.update(request({ a: "1" }, attributesVersion({ a: "0", other: "x" }))));
    expect(outcome).toMatchObject({ kind: "updated", confirmedBy: "read", confirmedAfterMs: 1_250 });
  });

  it("with expectedVersion, answers VersionConflict without writeApplied when another writer replaced a written key first", async () => {
    const { clock, g, updater } = setup();
    g.config.visibleAfterMs = 50;
    clock.at(40, () => g.set({ a: "theirs" }));
    const outcome = await clock.run(updater.update(request({ a: "1" }, attributesVersion({ a: "0", other: "x" }))));
    expect(outcome).toMatchObject({ kind: "conflict", writeApplied: false, conflictingKeys: ["a"], attempts: 1 });
    if (outcome.kind === "conflict") expect(outcome.message).toContain("not seen");
    expect(clock.now()).toBe(40);
  });

  it("without expectedVersion, another writer changing a different key is not a conflict", async () => {
    const { clock, g, updater } = setup();
    clock.at(10, () => g.set({ other: "theirs" }));
    const outcome = await clock.run(updater.update(request({ a: "1" })));
    expect(outcome).toMatchObject({ kind: "updated", participant: { attributes: { a: "1", other: "theirs" } } });
  });

  it("keeps going after a 500 on one verify read, and confirms well inside the deadline", async () => {
    const { clock, g, updater } = setup();
    g.config.dropEvents = true;
    g.config.failReads = [500];
    const outcome = await clock.run(updater.update(request({ a: "1" })));
    expect(outcome).toMatchObject({ kind: "updated", confirmedAfterMs: 2_000, confirmedBy: "read" });
  });

  it("says the write was accepted and not yet visible when it never shows", async () => {
    const { clock, g, updater } = setup();
    g.config.lost = true;
    const outcome = await clock.run(updater.update(request({ a: "1" })));
    expect(outcome).toMatchObject({ kind: "not-confirmed", accepted: true });
    if (outcome.kind === "not-confirmed") expect(outcome.message).toMatch(/accepted the write \(202\) but did not show it/);
    expect(clock.now()).toBe(5_000);
  });

  it("says the write was never accepted when every PATCH failed", async () => {
    const { clock, g, updater } = setup();
    g.config.patchStatus = 503;
    const outcome = await clock.run(updater.update(request({ a: "1" })));
    expect(outcome).toMatchObject({ kind: "not-confirmed", accepted: false });
    if (outcome.kind === "not-confirmed") {
      expect(outcome.message).toContain("did not accept the write");
      expect(outcome.message).not.toContain("202");
    }
  });
});
