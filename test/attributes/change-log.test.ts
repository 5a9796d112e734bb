/**
 * InMemoryChangeLog: sequencing, opaque cursors, replay in pages, retention by age, count and
 * size, and the refusal of cursors it cannot resume from. Time is a virtual clock.
 */
import { describe, expect, it } from "vitest";
import { attributeMap } from "../../src/attributes/attribute-map.js";
import { CursorExpiredError, hasChangeLogAge, InMemoryChangeLog, parseRetention, type ChangeLog, type NewChangeEntry } from "../../src/attributes/change-log.js";

function entry(value: string, participantId = "p"): NewChangeEntry {
  const attributes = attributeMap({ k: value });
  return {
    conversationId: "c",
    participantId,
    queueIds: [],
    changes: [{ key: "k", previous: null, value }],
    attributes,
    version: value,
    participant: { id: participantId, conversationId: "c", purpose: "customer" },
    observedAt: 0,
    source: "notification",
  };
}

describe("InMemoryChangeLog", () => {
  it("sequences entries, tells listeners in order, and replays after a cursor in pages", async () => {
    const log = new InMemoryChangeLog({ epoch: "e1" });
    const heard: number[] = [];
    log.listen((e) => heard.push(e.seq));
    const start = log.headCursor();
    const appended = [];
    for (let i = 1; i <= 5; i++) appended.push(await log.append(entry(String(i))));
    expect(appended.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(heard).toEqual([1, 2, 3, 4, 5]);
    const first = await log.read(start, 2);
    expect(first.entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(first.atHead).toBe(false);
    const rest = await log.read(first.entries[1]!.cursor, 10);
    expect(rest.entries.map((e) => e.attributes.k)).toEqual(["3", "4", "5"]);
    expect(rest.atHead).toBe(true);
    expect((await log.read(log.headCursor(), 10)).entries).toEqual([]);
    // Opaque: the cursor does not spell out the sequence number.
    expect(appended[2]!.cursor).not.toContain("3");
  });

  it("refuses malformed, foreign and future cursors with CURSOR_EXPIRED", async () => {
    const log = new InMemoryChangeLog({ epoch: "e1" });
    const other = new InMemoryChangeLog({ epoch: "e2" });
    await other.append(entry("x"));
    for (const bad of ["", "nonsense", "!!!", other.headCursor()]) {
      await expect(log.read(bad, 10)).rejects.toBeInstanceOf(CursorExpiredError);
    }
    await log.append(entry("1"));
    const ahead = Buffer.from("cl1:e1:99").toString("base64url");
    await expect(log.check(ahead)).rejects.toMatchObject({ code: "CURSOR_EXPIRED" });
  });

  it("drops entries by count, refusing cursors whose following entries are gone", async () => {
    const log = new InMemoryChangeLog({ epoch: "e1", retention: { maxEntries: 3 } });
    const start = log.headCursor();
    const all = [];
    for (let i = 1; i <= 5; i++) all.push(await log.append(entry(String(i))));
    expect(log.stats()).toMatchObject({ entries: 3, firstSeq: 3, lastSeq: 5 });
    await expect(log.read(start, 10)).rejects.toBeInstanceOf(CursorExpiredError);
    await expect(log.read(all[0]!.cursor, 10)).rejects.toBeInstanceOf(CursorExpiredError);
    // After entry 2, everything (3..5) is still held: a full replay, not a partial one.
    expect((await log.read(all[1]!.cursor, 10)).entries.map((e) => e.seq)).toEqual([3, 4, 5]);
  });

  it("drops entries by age on the injected clock", async () => {
    let now = 0;
    const log = new InMemoryChangeLog({ epoch: "e1", now: () => now, retention: { maxAgeMs: 1_000 } });
    const first = await log.append(entry("1"));
    now = 600;
    const second = await log.append(entry("2"));
    now = 1_100;
    await expect(log.check(log.headCursor())).resolves.toBeUndefined();
    expect((await log.read(first.cursor, 10)).entries.map((e) => e.seq)).toEqual([2]);
    now = 1_700;
    expect(log.stats().entries).toBe(1); // read() trimmed: entry 2 is 1.1 s old → dropped at next trim
    log.trim();
    expect(log.stats().entries).toBe(0);
    await expect(log.read(first.cursor, 10)).rejects.toBeInstanceOf(CursorExpiredError);
    // Nothing after the newest entry was dropped: its cursor resumes (with nothing to replay yet).
    expect((await log.read(second.cursor, 10)).entries).toEqual([]);
  });

  it("tells when its oldest retained entry was appended (for /metrics), following retention", async () => {
    let now = 5_000;
    const log = new InMemoryChangeLog({ epoch: "e1", now: () => now, retention: { maxAgeMs: 1_000 } });
    expect(hasChangeLogAge(log)).toBe(true);
    expect(hasChangeLogAge({ ...log, oldestAppendedAt: undefined } as unknown as ChangeLog)).toBe(false);
    expect(log.oldestAppendedAt()).toBeUndefined();
    await log.append(entry("1"));
    now = 5_600;
    await log.append(entry("2"));
    expect(log.oldestAppendedAt()).toBe(5_000);
    now = 6_200; // entry 1 is past the 1 s bound
    expect(log.oldestAppendedAt()).toBe(5_600);
    now = 7_000;
    expect(log.oldestAppendedAt()).toBeUndefined();
  });

  it("bounds memory by estimated bytes", async () => {
    const log = new InMemoryChangeLog({ epoch: "e1", retention: { maxBytes: 64 * 1024 } });
    for (let i = 0; i < 200; i++) await log.append(entry("v".repeat(1_000) + i));
    const stats = log.stats();
    expect(stats.approximateBytes).toBeLessThanOrEqual(64 * 1024);
    expect(stats.entries).toBeGreaterThan(10);
    expect(stats.entries).toBeLessThan(200);
  });

  it("parses CHANGE_LOG_RETENTION", () => {
    expect(parseRetention("15m,100000")).toMatchObject({ maxAgeMs: 900_000, maxEntries: 100_000 });
    expect(parseRetention("1h, 500, 2mb")).toEqual({ maxAgeMs: 3_600_000, maxEntries: 500, maxBytes: 2 * 1024 * 1024 });
    expect(() => parseRetention("15 minutes")).toThrow(/not an age/);
    expect(() => parseRetention("0")).toThrow(/positive/);
  });
});
