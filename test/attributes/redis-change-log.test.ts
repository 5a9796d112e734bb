/**
 * RedisChangeLog on a real redis-server (test/support/redis-server.ts): the ChangeLog
 * conformance suite, then what only the shared log does — two instances on one Redis (appends
 * from both reach both listeners in one order; a cursor of one reads on the other), cursors
 * refused after FLUSHALL or a restart, the fenced append, retention by age on Redis's clock, and
 * a listener that survives dropped connections and a Redis restart without gaps or duplicates.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { CursorExpiredError, type ChangeEntry, type ChangeLog } from "../../src/attributes/change-log.js";
import { ChangeStream } from "../../src/attributes/change-stream.js";
import { RedisChangeLog, StaleFenceError, type RedisChangeLogOptions } from "../../src/attributes/redis-change-log.js";
import { hasRedisServer, startRedis, warnWithoutRedis, type RunningRedis } from "../support/redis-server.js";
import { changeLogConformance, entry } from "./change-log-conformance.js";

warnWithoutRedis("test/attributes/redis-change-log.test.ts");

describe.skipIf(!hasRedisServer)("RedisChangeLog", () => {
  let redis: RunningRedis;
  let admin: Redis;
  const logs: RedisChangeLog[] = [];
  let prefixes = 0;

  beforeAll(async () => {
    redis = await startRedis();
    admin = redis.client();
  });
  afterAll(async () => {
    await Promise.all(logs.splice(0).map((log) => log.close()));
    await redis?.stop();
  });

  /** A log on its own command connection (the listener duplicates it). */
  async function open(options: Partial<RedisChangeLogOptions> & { keyPrefix: string }): Promise<RedisChangeLog> {
    const log = await RedisChangeLog.open({ redis: redis.client(), blockMs: 200, ...options });
    logs.push(log);
    return log;
  }

  changeLogConformance("RedisChangeLog", {
    create: ({ stream, retention }) => open({ keyPrefix: `conf-${stream}:`, retention }),
    close: (log: ChangeLog) => (log as RedisChangeLog).close(),
  });

  it("two instances on one Redis: appends from both reach both listeners once, in one order; cursors are valid on both", async () => {
    const keyPrefix = `two${++prefixes}:`;
    const a = await open({ keyPrefix });
    const b = await open({ keyPrefix });
    const start = a.headCursor();
    const base = a.headSeq();
    expect(b.headSeq()).toBe(base);
    const heardA: ChangeEntry[] = [];
    const heardB: ChangeEntry[] = [];
    a.listen((e) => heardA.push(e));
    b.listen((e) => heardB.push(e));
    const appended = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a : b).append(entry(String(i), `p${i % 3}`))));
    const all = Array.from({ length: 30 }, (_, i) => base + i + 1);
    expect(appended.map((e) => e.seq).sort((x, y) => x - y)).toEqual(all);
    await expect.poll(() => heardB.length).toBe(30);
    await expect.poll(() => heardA.length).toBe(30);
    expect(heardA.map((e) => e.seq)).toEqual(all);
    expect(heardB.map((e) => e.cursor)).toEqual(heardA.map((e) => e.cursor));
    expect(heardB.map((e) => e.attributes.k)).toEqual(heardA.map((e) => e.attributes.k));
    expect(a.headCursor()).toBe(b.headCursor());
    // A cursor issued by one instance resumes on the other, exactly.
    const tenth = heardA[9]!;
    expect(b.seqOf(tenth.cursor)).toBe(base + 10);
    const page = await b.read(tenth.cursor, 100);
    expect(page.entries.map((e) => e.seq)).toEqual(all.slice(10));
    expect(page.atHead).toBe(true);
    expect((await a.read(start, 100)).entries.map((e) => e.cursor)).toEqual(heardB.map((e) => e.cursor));
    await expect(b.check(appended[0]!.cursor)).resolves.toBeUndefined();
    // A log of another stream (another prefix) refuses them.
    const other = await open({ keyPrefix: `two${++prefixes}:` });
    await expect(other.read(tenth.cursor, 10)).rejects.toBeInstanceOf(CursorExpiredError);
  });

  it("check() of a cursor another instance issued waits until this instance's listener has delivered up to it", async () => {
    const keyPrefix = `lag${++prefixes}:`;
    const a = await open({ keyPrefix });
    // B's listener connection comes back only 400 ms after it is dropped.
    const subscriber = new Redis(redis.port, "127.0.0.1", { retryStrategy: () => 400 });
    subscriber.on("error", () => {});
    const subscriberId = Number(await subscriber.client("ID"));
    const b = await open({ keyPrefix, subscriber });
    const first = await a.append(entry("1"));
    await expect.poll(() => b.headSeq()).toBe(first.seq);
    await admin.client("KILL", "ID", String(subscriberId));
    const ahead = [await a.append(entry("2")), await a.append(entry("3"))];
    expect(b.headSeq()).toBe(first.seq);
    await b.check(ahead[1]!.cursor);
    // Resolved only once B had delivered 2 and 3: a stream started now replays nothing twice.
    expect(b.headSeq()).toBe(ahead[1]!.seq);
    expect((await b.read(ahead[0]!.cursor, 10)).entries.map((e) => e.seq)).toEqual([ahead[1]!.seq]);
  });

  it("a subscriber resumes on another instance with a cursor of the first: the replay joins the live stream with no gap and no duplicate", async () => {
    const keyPrefix = `resume${++prefixes}:`;
    const a = await open({ keyPrefix });
    const b = await open({ keyPrefix });
    await a.append(entry("0"));
    const after = a.headCursor();
    for (let i = 1; i <= 7; i++) await a.append(entry(String(i)));
    // As the feed does on B: check the cursor, register for live entries, then start the replay.
    await b.check(after);
    const stream = new ChangeStream({ log: b, limit: 100, pageSize: 3, match: (e) => e.changes, onClose: () => {} });
    b.listen((e) => stream.offer(e));
    stream.startAfter(after);
    const live = (async () => {
      for (let i = 8; i <= 15; i++) await a.append(entry(String(i)));
    })();
    const received: string[] = [];
    while (received.length < 15) {
      const item = await stream.next();
      if (item.done || item.value.kind !== "change") break;
      received.push(item.value.attributes.k!);
    }
    await live;
    expect(received).toEqual(Array.from({ length: 15 }, (_, i) => String(i + 1)));
    stream.close();
  });

  it("a listener away for longer than the retention reports the entries it cannot deliver (onGap) and goes on", async () => {
    const keyPrefix = `gap${++prefixes}:`;
    // Small stream nodes, so approximate trimming (MAXLEN ~) really drops entries in a short stream.
    await admin.config("SET", "stream-node-max-entries", "2");
    try {
      const a = await open({ keyPrefix, retention: { maxEntries: 3 } });
      const subscriber = new Redis(redis.port, "127.0.0.1", { retryStrategy: () => 400 });
      subscriber.on("error", () => {});
      const subscriberId = Number(await subscriber.client("ID"));
      const gaps: Array<[number, number]> = [];
      const b = await open({ keyPrefix, subscriber, retention: { maxEntries: 3 }, onGap: (from, to) => gaps.push([from, to]) });
      const heard: number[] = [];
      b.listen((e) => heard.push(e.seq));
      const first = await a.append(entry("0"));
      await expect.poll(() => heard).toEqual([first.seq]);
      await admin.client("KILL", "ID", String(subscriberId));
      const appended = [];
      for (let i = 1; i <= 12; i++) appended.push(await a.append(entry(String(i))));
      await expect.poll(() => b.headSeq(), { timeout: 5_000 }).toBe(appended.at(-1)!.seq);
      expect(gaps).toHaveLength(1);
      const [from, to] = gaps[0]!;
      expect(from).toBe(first.seq + 1);
      // What was heard after the gap is consecutive up to the newest, and nothing in the gap.
      expect(heard.slice(1)).toEqual(Array.from({ length: appended.at(-1)!.seq - to }, (_, i) => to + 1 + i));
    } finally {
      await admin.config("SET", "stream-node-max-entries", "100");
    }
  });

  it("refuses the old cursors after FLUSHALL and keeps seq growing in the re-created stream", async () => {
    const keyPrefix = `flush${++prefixes}:`;
    const a = await open({ keyPrefix });
    const b = await open({ keyPrefix });
    const heardB: number[] = [];
    b.listen((e) => heardB.push(e.seq));
    const start = a.headCursor();
    const before = [await a.append(entry("1")), await a.append(entry("2"))];
    await expect.poll(() => b.headSeq()).toBe(before[1]!.seq);
    await admin.flushall();
    for (const cursor of [start, before[0]!.cursor, before[1]!.cursor]) {
      await expect(a.read(cursor, 10)).rejects.toMatchObject({ code: "CURSOR_EXPIRED" });
      await expect(b.check(cursor)).rejects.toBeInstanceOf(CursorExpiredError);
    }
    const after = await a.append(entry("3"));
    expect(after.seq).toBeGreaterThan(before[1]!.seq);
    await expect.poll(() => heardB).toEqual([before[0]!.seq, before[1]!.seq, after.seq]);
    await expect(b.read(before[1]!.cursor, 10)).rejects.toBeInstanceOf(CursorExpiredError);
    expect(() => b.seqOf(before[1]!.cursor)).toThrow(CursorExpiredError);
    // The new stream's cursors work on both instances.
    expect((await b.read(after.cursor, 10)).entries).toEqual([]);
    expect(b.headCursor()).toBe(after.cursor);
  });

  it("right after the stream was re-created, the head cursor is of the new stream: it resumes exactly, not CURSOR_EXPIRED", async () => {
    const keyPrefix = `flush-head${++prefixes}:`;
    const epochs: string[] = [];
    const a = await open({ keyPrefix });
    const b = await open({ keyPrefix, onEpochChange: (_previous, next) => epochs.push(next) });
    await a.append(entry("1"));
    await expect.poll(() => b.headSeq()).toBe(a.headSeq());
    await admin.flushall();
    // b's idle listener notices the new stream (and creates it) before anything is appended to it.
    await expect.poll(() => epochs.length, { timeout: 5_000 }).toBe(1);
    const head = b.headCursor(); // what a subscriber starting now is given
    expect(await b.read(head, 10)).toEqual({ entries: [], atHead: true });
    const next = await a.append(entry("2"));
    const page = await b.read(head, 10);
    expect(page.entries.map((e) => e.seq)).toEqual([next.seq]);
    expect(page.atHead).toBe(true);
  });

  it("fenced append: refused with StaleFenceError once the holder lease's fence moved on; nothing appended", async () => {
    const keyPrefix = `fence${++prefixes}:`;
    const leaseKey = `${keyPrefix}lease:channels`;
    let mine: number | undefined = 3;
    const holder = await open({ keyPrefix, fence: () => (mine === undefined ? undefined : { key: leaseKey, fence: mine }) });
    const watcher = await open({ keyPrefix });
    await admin.set(leaseKey, "3:instance-a", "PX", 60_000);
    const ok = await holder.append(entry("1"));
    expect(ok.seq).toBe(holder.headSeq());
    await admin.set(leaseKey, "4:instance-b", "PX", 60_000);
    const refused = await holder.append(entry("2")).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StaleFenceError);
    expect(refused).toMatchObject({ code: "STALE_FENCE", fence: 3, current: 4, key: leaseKey });
    await admin.del(leaseKey);
    await expect(holder.append(entry("3"))).rejects.toMatchObject({ code: "STALE_FENCE", current: undefined });
    mine = undefined;
    await expect(holder.append(entry("4"))).rejects.toBeInstanceOf(StaleFenceError);
    // The new holder's fence is accepted; the stream holds 1 and 2 only.
    mine = 4;
    await admin.set(leaseKey, "4:instance-b", "PX", 60_000);
    expect((await holder.append(entry("5"))).seq).toBe(ok.seq + 1);
    expect(await admin.xlen(`${keyPrefix}changes:stream`)).toBe(2);
    await expect.poll(() => watcher.headSeq()).toBe(ok.seq + 1);
    expect((await watcher.read(ok.cursor, 10)).entries.map((e) => e.attributes.k)).toEqual(["5"]);
  });

  it("drops entries by age on Redis's clock, refusing cursors before them", async () => {
    const log = await open({ keyPrefix: `age${++prefixes}:`, retention: { maxAgeMs: 300 } });
    const start = log.headCursor();
    const first = await log.append(entry("1"));
    await expect(log.read(start, 10)).resolves.toMatchObject({ entries: [{ seq: first.seq }] });
    // No sleep: poll until Redis's clock has passed the bound (about 300 ms).
    await expect.poll(() => log.check(start).then(() => "kept", (error: unknown) => (error as Error).name), { timeout: 5_000, interval: 50 }).toBe("CursorExpiredError");
    // Nothing after the newest entry was dropped: its cursor resumes.
    expect((await log.read(first.cursor, 10)).entries).toEqual([]);
    await expect.poll(() => log.stats().entries, { timeout: 5_000 }).toBe(0);
  });

  it("the listener survives dropped connections: no gap, no duplicate", async () => {
    const keyPrefix = `drop${++prefixes}:`;
    const writer = await open({ keyPrefix });
    const reader = await open({ keyPrefix, maxRetryDelayMs: 100 });
    const heard: number[] = [];
    reader.listen((e) => heard.push(e.seq));
    for (let i = 1; i <= 5; i++) await writer.append(entry(String(i)));
    await expect.poll(() => heard.length).toBe(5);
    const base = heard[0]! - 1;
    await admin.client("KILL", "TYPE", "normal", "SKIPME", "yes");
    for (let i = 6; i <= 10; i++) {
      // The writer's own connection was dropped too: retry until it is back.
      await expect.poll(() => writer.append(entry(String(i))).then(() => true, () => false), { timeout: 10_000 }).toBe(true);
    }
    await expect.poll(() => heard.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(10);
    expect(heard).toEqual(Array.from({ length: heard.length }, (_, i) => base + i + 1));
    expect((await reader.read(writer.headCursor(), 10)).entries).toEqual([]);
  });

  it("the listener survives a Redis restart: old cursors are CURSOR_EXPIRED, new entries keep arriving in order", async () => {
    const keyPrefix = `restart${++prefixes}:`;
    const epochs: string[] = [];
    const writer = await open({ keyPrefix, maxRetryDelayMs: 100 });
    const reader = await open({ keyPrefix, maxRetryDelayMs: 100, onEpochChange: (_, next) => epochs.push(next) });
    const heard: number[] = [];
    reader.listen((e) => heard.push(e.seq));
    const before = [await writer.append(entry("1")), await writer.append(entry("2"))];
    const [s1, s2] = before.map((e) => e.seq);
    await expect.poll(() => heard).toEqual([s1, s2]);
    await redis.restart();
    // A new instance opens first and creates the new stream: it had seen nothing, yet seq keeps growing.
    let fresh: RedisChangeLog | undefined;
    await expect.poll(() => open({ keyPrefix }).then((log) => ((fresh = log), true), () => false), { timeout: 15_000 }).toBe(true);
    expect(fresh!.headSeq()).toBeGreaterThan(s2!);
    let after: ChangeEntry | undefined;
    await expect
      .poll(
        () =>
          writer.append(entry("3")).then(
            (e) => ((after = e), true),
            () => false,
          ),
        { timeout: 15_000 },
      )
      .toBe(true);
    expect(after!.seq).toBeGreaterThan(s2!);
    await expect.poll(() => heard, { timeout: 15_000 }).toEqual([s1, s2, after!.seq]);
    expect(epochs).toHaveLength(1);
    await expect(reader.read(before[0]!.cursor, 10)).rejects.toMatchObject({ code: "CURSOR_EXPIRED" });
    await expect(writer.check(before[1]!.cursor)).rejects.toMatchObject({ code: "CURSOR_EXPIRED" });
    const fourth = await writer.append(entry("4"));
    await expect.poll(() => heard, { timeout: 15_000 }).toEqual([s1, s2, after!.seq, fourth.seq]);
    expect(fourth.seq).toBe(after!.seq + 1);
    expect((await reader.read(after!.cursor, 10)).entries.map((e) => e.seq)).toEqual([fourth.seq]);
  });

  it("rejects appends and reads with a clear error when Redis is gone, and close() stops the listener", async () => {
    const lone = await startRedis();
    try {
      const errors: unknown[] = [];
      const log = await RedisChangeLog.open({ redis: lone.client(), keyPrefix: "down:", blockMs: 200, maxRetryDelayMs: 50, onListenerError: (e) => errors.push(e) });
      const first = await log.append(entry("1"));
      await lone.stop();
      await expect(log.append(entry("2"))).rejects.toMatchObject({ code: "CHANGE_LOG_UNAVAILABLE", message: expect.stringMatching(/could not append to the change log in Redis/) });
      await expect(log.read(first.cursor, 10)).rejects.toMatchObject({ code: "CHANGE_LOG_UNAVAILABLE" });
      await expect.poll(() => errors.length).toBeGreaterThan(0);
      await log.close();
      const seen = errors.length;
      await expect(log.append(entry("3"))).rejects.toMatchObject({ code: "CHANGE_LOG_UNAVAILABLE" });
      expect(errors.length).toBe(seen);
    } finally {
      await lone.stop();
    }
  });
});
