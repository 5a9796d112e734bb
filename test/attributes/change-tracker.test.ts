/**
 * ChangeTracker: the one place that dedupes, orders and appends. Each rule of
 * src/attributes/change-tracker.ts against a virtual clock and an in-memory log: duplicates,
 * late and equal-time detail events, late queue snapshots (a key going back, or two changes in
 * one settle window), reads as the authority, reads racing notifications, prototype-free keys.
 */
import { describe, expect, it } from "vitest";
import { attributeMap } from "../../src/attributes/attribute-map.js";
import { InMemoryChangeLog, type ChangeEntry, type ChangeLog } from "../../src/attributes/change-log.js";
import { ChangeTracker, type ObservedParticipant } from "../../src/attributes/change-tracker.js";

function setup(settleMs = 1_000) {
  let now = 10_000;
  const log = new InMemoryChangeLog({ now: () => now, epoch: "t" });
  const entries: ChangeEntry[] = [];
  log.listen((e) => entries.push(e));
  const tracker = new ChangeTracker({ log, now: () => now, settleMs });
  return { log, tracker, entries, advance: (ms: number) => void (now += ms) };
}

const customer = (attributes: Record<string, string>): ObservedParticipant => ({
  info: { id: "p", conversationId: "c", purpose: "customer" },
  attributes: attributeMap(attributes),
});
const snapshot = (attributes: Record<string, string>, queueId = "q") =>
  ({ kind: "snapshot", conversationId: "c", queueId, participants: [customer(attributes)], ended: false }) as const;
const detail = (attributes: Record<string, string>, eventTime?: number) =>
  ({ kind: "detail", conversationId: "c", participantId: "p", attributes: attributeMap(attributes), eventTime }) as const;

describe("ChangeTracker", () => {
  it("seeds a baseline from a read without an entry, then appends only what changed", () => {
    const { tracker, entries } = setup();
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "1", b: "1" })]);
    expect(entries).toHaveLength(0);
    tracker.observe(snapshot({ a: "1", b: "2" }));
    expect(entries.map((e) => e.changes)).toEqual([[{ key: "b", previous: "1", value: "2" }]]);
    expect(entries[0]!.queueIds).toEqual(["q"]);
    // The same state again (a duplicate, or another participant's change): nothing.
    expect(tracker.observe(snapshot({ a: "1", b: "2" }))).toEqual({ appended: 0, confirm: false });
    expect(entries).toHaveLength(1);
  });

  it("lists every key with previous null for a conversation first learned from a notification", () => {
    const { tracker, entries } = setup();
    tracker.observe(snapshot({ a: "1" }));
    expect(entries[0]!.changes).toEqual([{ key: "a", previous: null, value: "1" }]);
  });

  it("drops a detail event older than the newest applied", () => {
    const { tracker, entries, advance } = setup();
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "0" })]);
    tracker.observe(detail({ a: "2" }, 200));
    advance(5);
    expect(tracker.observe(detail({ a: "1" }, 100))).toEqual({ appended: 0, confirm: false });
    expect(entries.map((e) => e.attributes.a)).toEqual(["2"]);
  });

  it("asks for a confirming read when two detail events share an eventTime, and appends the read", () => {
    const { tracker, entries, advance } = setup();
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "0" })]);
    tracker.observe(detail({ a: "2" }, 100)); // the newer write, delivered first
    advance(3);
    // a=1 was never held: some writer wrote it (a write's verify loop is told), when is unclear.
    expect(tracker.observe(detail({ a: "1" }, 100))).toEqual({
      appended: 0,
      confirm: true,
      unconfirmed: [{ participantId: "p", attributes: { a: "1" }, keys: ["a"] }],
    });
    expect(tracker.isSuspect("c")).toBe(true);
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "2" })]);
    expect(tracker.isSuspect("c")).toBe(false);
    expect(entries.map((e) => e.attributes.a)).toEqual(["2"]);
  });

  it("holds a late queue snapshot that sets a key back to a replaced value until a read confirms", () => {
    const { tracker, entries, advance } = setup();
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "0" })]);
    tracker.observe(snapshot({ a: "1" }));
    advance(5_000);
    tracker.observe(snapshot({ a: "2" }));
    advance(5_000); // well outside the settle window: only the regression rule applies
    expect(tracker.observe(snapshot({ a: "1" }))).toEqual({ appended: 0, confirm: true });
    expect(tracker.regressionsConfirmed).toBe(0);
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "2" })]);
    expect(entries.map((e) => e.attributes.a)).toEqual(["1", "2"]);
    // The read showed the notification was stale: a regression confirmed (and withheld).
    expect(tracker.regressionsConfirmed).toBe(1);
    // A genuine return to an old value is appended once a read shows it: no regression.
    advance(5_000);
    expect(tracker.observe(snapshot({ a: "1" })).confirm).toBe(true);
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "1" })]);
    expect(entries.map((e) => e.attributes.a)).toEqual(["1", "2", "1"]);
    expect(entries.at(-1)!.source).toBe("read");
    expect(tracker.regressionsConfirmed).toBe(1);
    // A read while nothing is suspect confirms nothing.
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "1" })]);
    expect(tracker.regressionsConfirmed).toBe(1);
  });

  it("confirms a snapshot change that follows another within the settle window (either could be the older)", () => {
    const { tracker, entries, advance } = setup(1_000);
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "0" })]);
    tracker.observe(snapshot({ a: "3" })); // the newest write, overtaking the one before
    advance(200);
    expect(tracker.observe(snapshot({ a: "2" })).confirm).toBe(true); // never seen, but too close to trust
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "3" })]);
    expect(entries.map((e) => e.attributes.a)).toEqual(["3"]);
    advance(1_500);
    expect(tracker.observe(snapshot({ a: "4" }))).toEqual({ appended: 1, confirm: false });
  });

  it("repeats a read that raced a change and disagrees with it, then lets the last attempt win", () => {
    const { tracker, entries, advance } = setup();
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "0" })]);
    const ticket = tracker.beginRead("c");
    tracker.observe(detail({ a: "1" }, 100)); // arrives while the read is in flight
    advance(10);
    expect(tracker.applyRead(ticket, [customer({ a: "0" })])).toEqual({ retry: true, appended: 0 });
    expect(entries.map((e) => e.attributes.a)).toEqual(["1"]);
    const again = tracker.beginRead("c");
    expect(tracker.applyRead(again, [customer({ a: "1" })])).toEqual({ retry: false, appended: 0 });
    // A read that raced and agrees needs no retry; one that still disagrees on its last attempt wins.
    const last = tracker.beginRead("c");
    tracker.observe(detail({ a: "5" }, 200));
    expect(tracker.applyRead(last, [customer({ a: "6" })], true)).toEqual({ retry: false, appended: 1 });
    expect(entries.map((e) => e.attributes.a)).toEqual(["1", "5", "6"]);
  });

  it("confirms a detail event that arrives close behind a state a read gave (the read has no eventTime)", () => {
    const { tracker, entries, advance } = setup();
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "0" })]);
    tracker.observe(detail({ a: "1" }, 100));
    advance(2_000);
    // Reconciliation read: a=3 (the events of 2 and 3 are still on their way, or lost).
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "3" })]);
    advance(100);
    expect(tracker.observe(detail({ a: "2" }, 200))).toEqual({
      appended: 0,
      confirm: true,
      unconfirmed: [{ participantId: "p", attributes: { a: "2" }, keys: ["a"] }],
    });
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "3" })]);
    expect(entries.map((e) => e.attributes.a)).toEqual(["1", "3"]);
    // Once settled, newer events are trusted by their time again.
    advance(2_000);
    expect(tracker.observe(detail({ a: "4" }, 400)).appended).toBe(1);
  });

  it("takes a read as the whole map: a key it lacks was removed (value null)", () => {
    const { tracker, entries } = setup();
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "1", b: "2" })]);
    tracker.applyRead(tracker.beginRead("c"), [customer({ b: "2" })]);
    expect(entries.map((e) => e.changes)).toEqual([[{ key: "a", previous: "1", value: null }]]);
    expect(tracker.committed("c")[0]!.attributes).toEqual({ b: "2" });
  });

  it("applies a notification lacking a known key for what it shows, and asks for a confirming read (partial map, or a removed key)", () => {
    const { tracker, entries, advance } = setup();
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "1", b: "2" })]);
    tracker.observe(detail({ a: "1", b: "2" }, 100));
    advance(2_000);
    // b is missing: a delta, or Genesys removed it (cleared with "").
    expect(tracker.observe(detail({ a: "5" }, 200))).toEqual({ appended: 1, confirm: true });
    expect(entries.at(-1)!.attributes).toEqual({ a: "5", b: "2" });
    expect(tracker.isSuspect("c")).toBe(true);
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "5" })]);
    expect(tracker.isSuspect("c")).toBe(false);
    expect(entries.at(-1)!.changes).toEqual([{ key: "b", previous: "2", value: null }]);
    // A full map is no reason for a read.
    advance(2_000);
    expect(tracker.observe(detail({ a: "6" }, 300))).toEqual({ appended: 1, confirm: false });
  });

  it("treats toString, constructor and __proto__ as plain keys", () => {
    const { tracker, entries } = setup();
    tracker.applyRead(tracker.beginRead("c"), [customer({})]);
    const tricky = JSON.parse('{"toString":"a","constructor":"b","__proto__":"c","hasOwnProperty":"d"}') as Record<string, string>;
    tracker.observe(snapshot(tricky));
    const [first] = entries;
    expect(first!.changes.map((c) => [c.key, c.previous, c.value])).toEqual([
      ["__proto__", null, "c"],
      ["constructor", null, "b"],
      ["hasOwnProperty", null, "d"],
      ["toString", null, "a"],
    ]);
    expect(Object.getPrototypeOf(first!.attributes)).toBeNull();
    expect(Object.keys(first!.attributes).sort()).toEqual(["__proto__", "constructor", "hasOwnProperty", "toString"]);
    // The same map again is a duplicate: inherited members never make a key look changed.
    expect(tracker.observe(snapshot(tricky)).appended).toBe(0);
  });

  it("gives snapshot views of what the log delivered, with the seq they include", () => {
    const { tracker, log } = setup();
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "0" })]);
    expect(tracker.committed("c")).toMatchObject([{ info: { id: "p" }, attributes: { a: "0" }, seq: 0 }]);
    tracker.observe(detail({ a: "1" }, 5));
    expect(tracker.committed("c")).toMatchObject([{ attributes: { a: "1" }, seq: log.headSeq() }]);
    expect(tracker.conversationsInQueue("q")).toEqual([]);
    tracker.observe(snapshot({ a: "1" }, "q2"));
    expect(tracker.conversationsInQueue("q2")).toEqual(["c"]);
  });
});

/** A shared log as another instance sees it: appends go in at once, deliveries to listeners wait for flush(). */
function delayedLog(inner: InMemoryChangeLog): ChangeLog & { flush(): void } {
  const listeners = new Set<(entry: ChangeEntry) => void>();
  const queue: ChangeEntry[] = [];
  inner.listen((entry) => queue.push(entry));
  return {
    append: (entry) => inner.append(entry),
    read: (cursor, limit) => inner.read(cursor, limit),
    check: (cursor) => inner.check(cursor),
    headCursor: () => inner.headCursor(),
    headSeq: () => inner.headSeq(),
    seqOf: (cursor) => inner.seqOf(cursor),
    stats: () => inner.stats(),
    listen: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    flush: () => {
      for (const entry of queue.splice(0)) for (const l of listeners) l(entry);
    },
  };
}

describe("ChangeTracker on a shared log (several instances)", () => {
  function cluster() {
    let now = 10_000;
    const log = new InMemoryChangeLog({ now: () => now, epoch: "s" });
    const entries: ChangeEntry[] = [];
    log.listen((e) => entries.push(e));
    const holder = new ChangeTracker({ log, now: () => now });
    const follower = new ChangeTracker({ log, now: () => now, appending: false });
    return { log, entries, holder, follower, advance: (ms: number) => void (now += ms) };
  }

  it("a follower absorbs the holder's entries: committed state, queues, known", () => {
    const { holder, follower, entries } = cluster();
    holder.applyRead(holder.beginRead("c"), [customer({ a: "1" })]);
    holder.observe(snapshot({ a: "2" }, "q"));
    expect(entries).toHaveLength(1);
    expect(follower.isKnown("c")).toBe(true);
    expect(follower.committed("c")).toMatchObject([{ info: { id: "p", purpose: "customer" }, attributes: { a: "2" }, seq: 1 }]);
    expect(follower.conversationsInQueue("q")).toEqual(["c"]);
  });

  it("a follower decides nothing: notifications are ignored, a read only seeds what it did not know", () => {
    const { holder, follower, entries } = cluster();
    expect(follower.observe(snapshot({ a: "1" }))).toEqual({ appended: 0, confirm: false });
    expect(follower.isKnown("c")).toBe(false);
    expect(follower.applyRead(follower.beginRead("c"), [customer({ a: "1" })])).toEqual({ retry: false, appended: 0 });
    expect(follower.committed("c")).toMatchObject([{ attributes: { a: "1" } }]);
    // Genesys changed; the follower's read answers its caller but appends nothing.
    expect(follower.applyRead(follower.beginRead("c"), [customer({ a: "9" })]).appended).toBe(0);
    expect(entries).toHaveLength(0);
    expect(follower.committed("c")).toMatchObject([{ attributes: { a: "1" } }]);
    // The holder's entry is what the follower then shows.
    holder.applyRead(holder.beginRead("c"), [customer({ a: "1" })]);
    holder.observe(detail({ a: "9" }, 1));
    expect(follower.committed("c")).toMatchObject([{ attributes: { a: "9" } }]);
  });

  it("a follower that becomes the appender decides from the absorbed state: no duplicate, late values recognised", () => {
    const { holder, follower, entries, advance } = cluster();
    holder.applyRead(holder.beginRead("c"), [customer({ a: "1" })]);
    holder.observe(snapshot({ a: "2" }));
    advance(5_000);
    holder.setAppending(false);
    follower.setAppending(true);
    // The same state again (a late duplicate): nothing.
    expect(follower.observe(snapshot({ a: "2" }))).toEqual({ appended: 0, confirm: false });
    // The replaced value coming back (a late snapshot): suspect, not appended.
    expect(follower.observe(snapshot({ a: "1" }))).toEqual({ appended: 0, confirm: true });
    advance(5_000);
    expect(follower.observe(snapshot({ a: "3" })).appended).toBe(1);
    expect(entries.at(-1)!.changes).toEqual([{ key: "a", previous: "2", value: "3" }]);
    // The old holder absorbs the new one's entry.
    expect(holder.committed("c")).toMatchObject([{ attributes: { a: "3" } }]);
  });

  it("its own appends delivered late are not taken for another instance's (the newer decision stands)", () => {
    let now = 10_000;
    const inner = new InMemoryChangeLog({ now: () => now, epoch: "d" });
    const log = delayedLog(inner);
    const tracker = new ChangeTracker({ log, now: () => now });
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "1" })]);
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "2" })]);
    now += 1;
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "3" })]);
    log.flush();
    expect(inner.stats().entries).toBe(2);
    // Still deciding from a=3: the same state is a duplicate, and the committed state is the newest delivered.
    expect(tracker.observe(snapshot({ a: "3" })).appended).toBe(0);
    expect(tracker.committed("c")).toMatchObject([{ attributes: { a: "3" }, seq: 2 }]);
  });

  it("an entry of another instance arriving while its own append is on the way commits but does not overwrite the decision", () => {
    let now = 10_000;
    const inner = new InMemoryChangeLog({ now: () => now, epoch: "e" });
    const log = delayedLog(inner);
    const tracker = new ChangeTracker({ log, now: () => now });
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "1" })]);
    // The previous holder's last entry (a=2) went into the log just before ours (a=3).
    void inner.append({
      conversationId: "c",
      participantId: "p",
      queueIds: [],
      changes: [{ key: "a", previous: "1", value: "2" }],
      attributes: attributeMap({ a: "2" }),
      version: "v-other",
      participant: { id: "p", conversationId: "c", purpose: "customer" },
      observedAt: 9_000,
      source: "notification",
    });
    tracker.applyRead(tracker.beginRead("c"), [customer({ a: "3" })]);
    log.flush();
    expect(tracker.observe(snapshot({ a: "3" })).appended).toBe(0);
    expect(tracker.committed("c")).toMatchObject([{ attributes: { a: "3" }, seq: 2 }]);
  });
});
