/**
 * The ChangeLog port's behaviour, as one suite run against every implementation
 * (test/attributes/change-log.test.ts: InMemoryChangeLog; redis-change-log.test.ts:
 * RedisChangeLog on a real redis-server): sequencing, delivery to listeners exactly once in
 * order (before `append` resolves), opaque cursors, replay in pages, refusal of malformed,
 * foreign and future cursors, retention by count without partial replays, and attribute maps
 * that survive the round trip with hostile keys.
 */
import { afterEach, describe, expect, it } from "vitest";
import { attributeMap } from "../../src/attributes/attribute-map.js";
import { CursorExpiredError, type ChangeLog, type ChangeLogRetention, type NewChangeEntry } from "../../src/attributes/change-log.js";

/** How the suite makes logs of one implementation. */
export interface ChangeLogFactory {
  /**
   * A new, empty log. Logs created with the same `stream` share one log (the same Redis stream;
   * the in-memory implementation has no sharing, so the suite only asks for distinct streams).
   */
  create(options: { stream: string; retention?: Partial<ChangeLogRetention> }): Promise<ChangeLog>;
  /** Releases a log made by `create`. */
  close(log: ChangeLog): Promise<void>;
}

/** A test entry: one key `k` set to `value` on participant `participantId` of conversation `c`. */
export function entry(value: string, participantId = "p"): NewChangeEntry {
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

/** The same cursor with its position replaced by `seq` (both implementations spell `<tag>:<epoch>:<seq>…` in base64url). */
export function forgeSeq(cursor: string, seq: number): string {
  const parts = Buffer.from(cursor, "base64url").toString("utf8").split(":");
  parts[2] = String(seq);
  return Buffer.from(parts.join(":")).toString("base64url");
}

let streams = 0;

/** Registers the conformance suite for one implementation. */
export function changeLogConformance(name: string, factory: ChangeLogFactory): void {
  describe(`${name} (ChangeLog conformance)`, () => {
    const open: ChangeLog[] = [];
    const create = async (options: { stream?: string; retention?: Partial<ChangeLogRetention> } = {}) => {
      const log = await factory.create({ stream: options.stream ?? `s${++streams}`, retention: options.retention });
      open.push(log);
      return log;
    };
    afterEach(async () => {
      for (const log of open.splice(0)) await factory.close(log);
    });

    it("sequences entries, tells listeners in order before append resolves, and replays after a cursor in pages", async () => {
      const log = await create();
      const base = log.headSeq(); // 0 in memory; Redis starts a stream's seqs after a time-based base
      const seqs = (n: number) => Array.from({ length: n }, (_, i) => base + i + 1);
      const heard: number[] = [];
      log.listen((e) => heard.push(e.seq));
      const start = log.headCursor();
      const appended = [];
      for (let i = 1; i <= 5; i++) {
        const e = await log.append(entry(String(i)));
        expect(heard).toContain(e.seq);
        expect(log.headSeq()).toBe(e.seq);
        appended.push(e);
      }
      expect(appended.map((e) => e.seq)).toEqual(seqs(5));
      expect(heard).toEqual(seqs(5));
      const first = await log.read(start, 2);
      expect(first.entries.map((e) => e.seq)).toEqual(seqs(2));
      expect(first.atHead).toBe(false);
      const rest = await log.read(first.entries[1]!.cursor, 10);
      expect(rest.entries.map((e) => e.attributes.k)).toEqual(["3", "4", "5"]);
      expect(rest.atHead).toBe(true);
      expect(rest.entries.map((e) => e.cursor)).toEqual(appended.slice(2).map((e) => e.cursor));
      expect((await log.read(log.headCursor(), 10)).entries).toEqual([]);
      expect(log.seqOf(appended[3]!.cursor)).toBe(base + 4);
      expect(log.seqOf(log.headCursor())).toBe(base + 5);
      // Opaque: a URL-safe token, not the sequence number or a readable `epoch:seq`.
      for (const e of appended) {
        expect(e.cursor).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(e.cursor).not.toBe(String(e.seq));
      }
    });

    it("delivers concurrent appends to every listener exactly once, in seq order", async () => {
      const log = await create();
      const base = log.headSeq();
      const a: number[] = [];
      const b: number[] = [];
      log.listen((e) => a.push(e.seq));
      const stop = log.listen((e) => b.push(e.seq));
      const appended = await Promise.all(Array.from({ length: 40 }, (_, i) => log.append(entry(String(i)))));
      expect(appended.map((e) => e.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => base + i + 1));
      expect(a).toEqual(Array.from({ length: 40 }, (_, i) => base + i + 1));
      expect(b).toEqual(a);
      stop();
      await log.append(entry("after"));
      expect(a).toHaveLength(41);
      expect(b).toHaveLength(40);
    });

    it("keeps entries whole: the participant, changes and a null-prototype map with hostile keys", async () => {
      const log = await create();
      const start = log.headCursor();
      const hostile = attributeMap(JSON.parse('{"__proto__":"p","toString":"t","constructor":"c","k":"v"}') as Record<string, unknown>);
      const input: NewChangeEntry = {
        ...entry("v", "p9"),
        queueIds: ["q1", "q2"],
        attributes: hostile,
        changes: [{ key: "toString", previous: "old", value: "t" }],
        participant: { id: "p9", conversationId: "c", purpose: "agent", name: "Ann" } as NewChangeEntry["participant"],
        observedAt: 1_234,
        source: "read",
      };
      const appended = await log.append(input);
      const [read] = (await log.read(start, 10)).entries;
      for (const e of [appended, read!]) {
        expect(Object.getPrototypeOf(e.attributes)).toBeNull();
        expect(Object.keys(e.attributes).sort()).toEqual(["__proto__", "constructor", "k", "toString"]);
        expect(e.attributes["toString"]).toBe("t");
        expect(e).toMatchObject({ conversationId: "c", participantId: "p9", queueIds: ["q1", "q2"], observedAt: 1_234, source: "read" });
        expect(e.changes).toEqual([{ key: "toString", previous: "old", value: "t" }]);
        expect(e.participant).toMatchObject({ id: "p9", purpose: "agent", name: "Ann" });
      }
      expect(read!.cursor).toBe(appended.cursor);
    });

    it("refuses malformed, foreign and future cursors with CURSOR_EXPIRED", async () => {
      const log = await create();
      const other = await create();
      await other.append(entry("x"));
      for (const bad of ["", "nonsense", "!!!", other.headCursor(), Buffer.from("cl1:zz:0").toString("base64url")]) {
        await expect(log.read(bad, 10)).rejects.toBeInstanceOf(CursorExpiredError);
        await expect(log.check(bad)).rejects.toMatchObject({ code: "CURSOR_EXPIRED" });
      }
      expect(() => log.seqOf("nonsense")).toThrow(CursorExpiredError);
      expect(() => log.seqOf(other.headCursor())).toThrow(CursorExpiredError);
      await log.append(entry("1"));
      await expect(log.check(forgeSeq(log.headCursor(), log.headSeq() + 99))).rejects.toMatchObject({ code: "CURSOR_EXPIRED" });
      await expect(log.check(log.headCursor())).resolves.toBeUndefined();
    });

    it("drops entries by count, refusing cursors whose following entries are gone (never a partial replay)", async () => {
      const log = await create({ retention: { maxEntries: 3 } });
      const base = log.headSeq();
      const start = log.headCursor();
      const all = [];
      for (let i = 1; i <= 5; i++) all.push(await log.append(entry(String(i))));
      await expect.poll(() => log.stats()).toMatchObject({ entries: 3, firstSeq: base + 3, lastSeq: base + 5 });
      await expect(log.read(start, 10)).rejects.toBeInstanceOf(CursorExpiredError);
      await expect(log.read(all[0]!.cursor, 10)).rejects.toBeInstanceOf(CursorExpiredError);
      await expect(log.check(all[0]!.cursor)).rejects.toBeInstanceOf(CursorExpiredError);
      // After entry 2, everything (3..5) is still held: a full replay, not a partial one.
      expect((await log.read(all[1]!.cursor, 10)).entries.map((e) => e.seq)).toEqual([base + 3, base + 4, base + 5]);
      expect((await log.read(all[4]!.cursor, 10)).entries).toEqual([]);
    });
  });
}
