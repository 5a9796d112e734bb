/**
 * ChangeStream: one subscriber's view of the change log. Replay after a cursor joins the live
 * stream with no gap and no duplicate (even when live traffic overflows the buffer during the
 * replay), a snapshot start drops what the snapshot covered, a consumer that stops reading is
 * ended with SLOW_CONSUMER carrying the cursor of the last event it received, and onClose runs
 * exactly once.
 */
import { describe, expect, it } from "vitest";
import { attributeMap } from "../../src/attributes/attribute-map.js";
import { InMemoryChangeLog, type NewChangeEntry } from "../../src/attributes/change-log.js";
import { ChangeStream, type StreamItem } from "../../src/attributes/change-stream.js";

function entry(value: string, participantId = "p"): NewChangeEntry {
  return {
    conversationId: "c",
    participantId,
    queueIds: [],
    changes: [{ key: "k", previous: null, value }],
    attributes: attributeMap({ k: value }),
    version: value,
    participant: { id: participantId, conversationId: "c", purpose: "customer" },
    observedAt: 0,
    source: "notification",
  };
}

/** A stream fed from the log as the feed's fan-out would feed it. */
function streamOn(log: InMemoryChangeLog, limit = 100, onlyParticipant?: string) {
  let closed = 0;
  const stream = new ChangeStream({
    log,
    limit,
    pageSize: 3,
    match: (e) => (onlyParticipant && e.participantId !== onlyParticipant ? undefined : e.changes),
    onClose: () => void (closed += 1),
  });
  const stop = log.listen((e) => stream.offer(e));
  return { stream, closed: () => closed, stop };
}

async function take(stream: ChangeStream, n: number): Promise<StreamItem[]> {
  const items: StreamItem[] = [];
  for (let i = 0; i < n; i++) {
    const r = await stream.next();
    if (r.done) break;
    items.push(r.value);
  }
  return items;
}

const values = (items: StreamItem[]) => items.map((i) => (i.kind === "change" ? i.attributes.k : `end@${i.cursor}`));

describe("ChangeStream", () => {
  it("replays after a cursor, then continues live, with no gap and no duplicate", async () => {
    const log = new InMemoryChangeLog({ epoch: "s" });
    log.appendNow(entry("0"));
    const after = log.headCursor();
    for (let i = 1; i <= 7; i++) log.appendNow(entry(String(i)));
    const { stream } = streamOn(log);
    // Appended while the replay is prepared and read: these must come exactly once, after 1..7.
    log.appendNow(entry("8"));
    stream.startAfter(after);
    const first = await take(stream, 4);
    log.appendNow(entry("9"));
    const rest = await take(stream, 5);
    expect(values([...first, ...rest])).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    expect(stream.pending).toBe(0);
  });

  it("keeps replaying from the log when live traffic overflows the buffer during a replay", async () => {
    const log = new InMemoryChangeLog({ epoch: "s" });
    const after = log.headCursor();
    for (let i = 1; i <= 3; i++) log.appendNow(entry(String(i)));
    const { stream } = streamOn(log, 4);
    stream.startAfter(after);
    for (let i = 4; i <= 20; i++) log.appendNow(entry(String(i))); // far more than the buffer of 4
    const items = await take(stream, 20);
    expect(values(items)).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)));
  });

  it("starts with a snapshot and drops live entries the snapshot already covers", async () => {
    const log = new InMemoryChangeLog({ epoch: "s" });
    const { stream } = streamOn(log);
    log.appendNow(entry("1")); // appended after registration but before the snapshot was taken
    const seq = log.headSeq();
    stream.startWithSnapshot(
      [{ info: { id: "p", conversationId: "c", purpose: "customer" }, attributes: attributeMap({ k: "1" }), version: "1", changes: [{ key: "k", previous: null, value: "1" }] }],
      seq,
      log.headCursor(),
    );
    log.appendNow(entry("2"));
    const items = await take(stream, 2);
    expect(items.map((i) => i.kind === "change" && [i.snapshot, i.attributes.k])).toEqual([
      [true, "1"],
      [false, "2"],
    ]);
    expect(stream.pending).toBe(0);
  });

  it("ends a consumer that stops reading with SLOW_CONSUMER and the cursor of the last event it received", async () => {
    const log = new InMemoryChangeLog({ epoch: "s" });
    const { stream, closed } = streamOn(log, 3);
    stream.startLive();
    log.appendNow(entry("1"));
    const [received] = await take(stream, 1);
    for (let i = 2; i <= 10; i++) log.appendNow(entry(String(i))); // never read
    const items = await take(stream, 10);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ kind: "slow-consumer", cursor: (received as { cursor: string }).cursor });
    expect((await stream.next()).done).toBe(true);
    expect(closed()).toBe(1);
    // Resuming from that cursor replays exactly what it missed.
    const again = streamOn(log, 100);
    again.stream.startAfter((items[0] as { cursor: string }).cursor);
    expect(values(await take(again.stream, 9))).toEqual(["2", "3", "4", "5", "6", "7", "8", "9", "10"]);
  });

  it("interrupt (the shared log lost) ends the stream with the cursor of the last event received; resuming after it misses nothing", async () => {
    const log = new InMemoryChangeLog({ epoch: "s" });
    const { stream, closed } = streamOn(log);
    stream.startLive();
    log.appendNow(entry("1"));
    const [received] = await take(stream, 1);
    log.appendNow(entry("2")); // queued, not yet read: dropped by the interruption, replayed on resume
    stream.interrupt("Redis lost");
    stream.interrupt("again"); // once only
    const items = await take(stream, 10);
    expect(items).toEqual([{ kind: "interrupted", cursor: (received as { cursor: string }).cursor, reason: "Redis lost" }]);
    expect((await stream.next()).done).toBe(true);
    expect(closed()).toBe(1);
    log.appendNow(entry("3"));
    const again = streamOn(log, 100);
    again.stream.startAfter((items[0] as { cursor: string }).cursor);
    expect(values(await take(again.stream, 2))).toEqual(["2", "3"]);
  });

  it("does not count a large snapshot or replay page against the live limit", async () => {
    const log = new InMemoryChangeLog({ epoch: "s" });
    const { stream } = streamOn(log, 2);
    const participants = Array.from({ length: 10 }, (_, i) => ({
      info: { id: `p${i}`, conversationId: "c", purpose: "customer" },
      attributes: attributeMap({ k: "0" }),
      version: "0",
      changes: [],
    }));
    stream.startWithSnapshot(participants, log.headSeq(), log.headCursor());
    log.appendNow(entry("1"));
    log.appendNow(entry("2"));
    const items = await take(stream, 12);
    expect(items.map((i) => i.kind)).toEqual(Array(12).fill("change"));
    expect(values(items.slice(10))).toEqual(["1", "2"]);
  });

  it("narrows by the matcher during replay and live alike", async () => {
    const log = new InMemoryChangeLog({ epoch: "s" });
    const after = log.headCursor();
    log.appendNow(entry("a1", "a"));
    log.appendNow(entry("b1", "b"));
    const { stream } = streamOn(log, 100, "b");
    stream.startAfter(after);
    log.appendNow(entry("a2", "a"));
    log.appendNow(entry("b2", "b"));
    expect(values(await take(stream, 2))).toEqual(["b1", "b2"]);
  });

  it("runs onClose once, whether the consumer returns before reading or the stream is closed again", async () => {
    const log = new InMemoryChangeLog({ epoch: "s" });
    const { stream, closed } = streamOn(log);
    await stream.return();
    stream.close();
    log.appendNow(entry("1"));
    expect(closed()).toBe(1);
    expect((await stream.next()).done).toBe(true);
  });
});
