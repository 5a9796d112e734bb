/**
 * The verify loop's edge cases that the emulator cannot produce (it applies each write whole and
 * stores "" as a value): partial visibility, a Genesys that deletes keys cleared with "",
 * refusals after an accepted write, and the deadline counting time queued behind other writes.
 * The backend is an in-memory Genesys with scripted visibility; time is a virtual clock, so
 * every timing here is exact and no test sleeps.
 */
import { describe, expect, it } from "vitest";
import type { Models } from "purecloud-platform-client-v2";
import { AttributeUpdater, type AttributeBackend } from "../../src/attributes/update.js";
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
