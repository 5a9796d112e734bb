/**
 * InMemoryChangeLog: the ChangeLog conformance suite (./change-log-conformance.ts, shared with
 * RedisChangeLog), plus what only the in-memory log does: retention by age on an injected
 * virtual clock, memory bounded by estimated bytes, and the CHANGE_LOG_RETENTION parser.
 */
import { describe, expect, it } from "vitest";
import { CursorExpiredError, hasChangeLogAge, InMemoryChangeLog, parseRetention, type ChangeLog } from "../../src/attributes/change-log.js";
import { changeLogConformance, entry } from "./change-log-conformance.js";

changeLogConformance("InMemoryChangeLog", {
  create: async ({ stream, retention }) => new InMemoryChangeLog({ epoch: stream, retention }),
  close: async () => {},
});

describe("InMemoryChangeLog", () => {
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

  it("spells no sequence number in its cursors", async () => {
    const log = new InMemoryChangeLog({ epoch: "e1" });
    const appended = [];
    for (let i = 1; i <= 3; i++) appended.push(await log.append(entry(String(i))));
    expect(appended[2]!.cursor).not.toContain("3");
    expect(log.appendNow(entry("4")).seq).toBe(4);
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
