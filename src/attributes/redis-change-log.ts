/**
 * The change log on Redis Streams, shared by every gateway instance on one Redis (issue 10).
 *
 * Layout (every key under the `keyPrefix` the composition passes, e.g. `gw:`):
 * - `<prefix>changes:stream` — a Redis stream, one stream entry per {@link ChangeEntry}, with
 *   the fields `e` (the log's epoch), `s` (its `seq`) and `d` (the entry as JSON, without `seq`
 *   and `cursor`);
 * - `<prefix>changes:meta` — a hash: `epoch` (random id naming this incarnation of the stream),
 *   `seq` (the newest `seq` appended, or the stream's base while it has none) and `base` (the
 *   `seq` before the stream's first entry).
 *
 * Appending is one Lua script (`INCR`-like `HINCRBY seq` + `XADD` + trimming, optionally behind
 * a fence check), so entries get one cluster-wide `seq` and `seq` order is stream order. Every
 * instance runs one listener on a dedicated blocking connection (`XREAD BLOCK` from the last
 * stream id it delivered — never pub/sub, which is at-most-once) and hands every entry, its own
 * and other instances', to its `listen()` listeners exactly once, in `seq` order. The port's
 * synchronous methods (`headCursor`, `headSeq`, `seqOf`, `stats`) answer from what this
 * listener has delivered; `read` and `check` ask Redis.
 *
 * Cursors are opaque (base64url of `rc1:<epoch>:<seq>:<stream id>`) and valid on every instance
 * of the same stream. The epoch is created with the stream: after a `FLUSHALL`, a Redis restart
 * without persistence, or against another Redis, the epoch differs and every older cursor is
 * refused with {@link CursorExpiredError}. A stream's seqs are consecutive (no gaps) but start
 * after a base fixed when the stream is created, not at 1: Redis's time in µs then (about
 * 1.8e15, a safe integer for centuries), or the highest seq the creating process had seen if
 * that is higher. So `seq` keeps growing across a reset for every instance, also one started
 * after it, and what a process keyed on `seq` (streams' covered positions, the tracker's
 * committed seq) is not confused by a restart, as long as the stream took less than 1 µs per
 * entry on average.
 *
 * Retention: physical trimming is approximate (`XADD … MAXLEN ~ maxEntries` and
 * `XTRIM … MINID ~ <now − maxAgeMs>`, Redis's time), which is cheap but may keep a few more
 * entries than the bounds. The expiry check of `read`/`check` is exact all the same: an entry
 * counts as dropped when it is older than `maxAgeMs` by its stream id's time or more than
 * `maxEntries` behind the newest, whether or not Redis still holds it, and a cursor is refused
 * unless the entry right after it (`seq + 1`) is still there and retained — never a partial
 * replay. `maxBytes` is not enforced in Redis (bound Redis's memory with `maxmemory`; entries
 * are about the JSON size of their attributes); every instance must use the same retention.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { attributeMap } from "./attribute-map.js";
import {
  CursorExpiredError,
  DEFAULT_RETENTION,
  type ChangeEntry,
  type ChangeLog,
  type ChangeLogRetention,
  type ChangeLogStats,
  type ChangePage,
  type NewChangeEntry,
} from "./change-log.js";
import { systemTimers, type Timers } from "../timers.js";

/** The fence an append is made under: the holder lease's key and this instance's fence of it. */
export interface ChangeLogFence {
  /**
   * Full Redis key of the lease (already prefixed), whose string value starts with the current
   * fence in decimal: `<fence>` or `<fence>:<owner>` (the layout of `redisLeaseKeys(…).lease`
   * in src/cluster/lease.ts). Absent (expired or released) counts as stale.
   */
  key: string;
  /** The fence this instance acquired the lease with. */
  fence: number;
}

/** Options of {@link RedisChangeLog.open}. */
export interface RedisChangeLogOptions {
  /** Command connection (appends, reads, stats). Created and closed by the composition. */
  redis: Redis;
  /**
   * A connection of the log's own for the blocking `XREAD` (it is blocked most of the time, so it
   * cannot serve anything else). Default `redis.duplicate()`. `close()` disconnects it either way.
   */
  subscriber?: Redis;
  /** Prefix of every key (e.g. `gw:`). */
  keyPrefix: string;
  /** Retention bounds (`maxAgeMs` ms, `maxEntries`; `maxBytes` is not enforced in Redis: see the file comment). */
  retention?: Partial<ChangeLogRetention>;
  /**
   * When given, every append is fenced: the append script refuses it with {@link StaleFenceError}
   * unless the lease named by the returned key still holds the returned fence (checked in the same
   * script as the `XADD`). Returning undefined (not the holder) refuses every append.
   */
  fence?: () => ChangeLogFence | undefined;
  /** Entries fetched per `XREAD` (default 512). */
  batchSize?: number;
  /** How long one `XREAD` blocks, ms (default 2 000); also how often a flushed stream is noticed while idle. */
  blockMs?: number;
  /** Longest wait between the listener's reconnection attempts, ms (default 2 000; it starts at 50 and doubles). */
  maxRetryDelayMs?: number;
  /**
   * How long `read`/`check` wait for this process's listener to deliver up to the cursor they
   * were given (a cursor issued by another instance may be a few ms ahead), ms (default 5 000).
   */
  catchUpTimeoutMs?: number;
  /** Told of listener errors (Redis unreachable, a listener that threw), for the logs. */
  onListenerError?: (error: unknown) => void;
  /**
   * Told when this listener could not deliver entries `fromSeq`..`toSeq` because retention
   * dropped them while it was disconnected (longer than the retention allows). Entries after them
   * are still delivered; whoever relied on a continuous `listen()` (live subscribers of this
   * instance) should be ended with a resumable cursor, which the log will then refuse or serve exactly.
   */
  onGap?: (fromSeq: number, toSeq: number) => void;
  /** Told when the stream was re-created under a new epoch (FLUSHALL, restart): older cursors are refused from now on. */
  onEpochChange?: (previous: string, next: string) => void;
  /** Timers for the reconnection backoff and the catch-up wait (default the real ones). */
  timers?: Timers;
}

/** An append refused because this instance's fence is no longer the holder lease's (it was deposed). Nothing was appended. */
export class StaleFenceError extends Error {
  override name = "StaleFenceError";
  /** Stable code. */
  readonly code = "STALE_FENCE";
  constructor(
    /** The lease key checked. */
    readonly key: string | undefined,
    /** The fence the append was made under (undefined: this instance holds none). */
    readonly fence: number | undefined,
    /** The lease's current fence (undefined when free or expired). */
    readonly current: number | undefined,
  ) {
    super(
      fence === undefined
        ? "this instance holds no change-log fence: only the channel holder appends"
        : `the change-log fence ${fence} is stale (the lease ${key} is ${current === undefined ? "free" : `held with fence ${current}`}): this instance is no longer the holder; nothing was appended`,
    );
  }
}

/** The change log could not reach Redis (or Redis refused a command). What was being done is in the message; the Redis error is `cause`. */
export class ChangeLogUnavailableError extends Error {
  override name = "ChangeLogUnavailableError";
  /** Stable code. */
  readonly code = "CHANGE_LOG_UNAVAILABLE";
}

/** The Redis keys of the change log under `keyPrefix` (see the file comment), e.g. for operators and tests. */
export function redisChangeLogKeys(keyPrefix: string): { stream: string; meta: string } {
  return { stream: `${keyPrefix}changes:stream`, meta: `${keyPrefix}changes:meta` };
}

const CURSOR_PREFIX = "rc1";
const CLOSED = Symbol("closed");
const EPOCH_PATTERN = /^[A-Za-z0-9-]{1,32}$/;
const ID_PATTERN = /^\d{1,20}-\d{1,20}$/;

/**
 * KEYS[1] meta, KEYS[2] stream, KEYS[3] fence lease key (or the meta key when unfenced).
 * ARGV[1] new epoch (used when the stream is re-created), ARGV[2] seq floor, ARGV[3] entry JSON,
 * ARGV[4] maxEntries, ARGV[5] maxAgeMs, ARGV[6] fenced (1/0), ARGV[7] fence.
 * Returns {'ok', epoch, seq, id} or {'stale', current fence or ''}.
 */
/** Lua: (re-)creates the stream under a new epoch; its seq starts after Redis's time in µs (or the floor, if higher). */
const CREATE_LUA = `
local function create(meta, stream, epoch, floor)
  local t = redis.call('TIME')
  local base = tonumber(t[1]) * 1000000 + tonumber(t[2])
  if tonumber(floor) > base then base = tonumber(floor) end
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'epoch', epoch, 'seq', string.format('%d', base), 'base', string.format('%d', base))
end
`;

const APPEND_LUA = `${CREATE_LUA}
if ARGV[6] == '1' then
  local held = redis.call('GET', KEYS[3])
  local current = held and string.match(held, '^(%d+)') or nil
  if current ~= ARGV[7] then return {'stale', current or ''} end
end
if redis.call('HEXISTS', KEYS[1], 'epoch') == 0 then create(KEYS[1], KEYS[2], ARGV[1], ARGV[2]) end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'e', epoch, 's', string.format('%d', seq), 'd', ARGV[3])
local t = redis.call('TIME')
local oldest = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[5])
if oldest > 0 then redis.call('XTRIM', KEYS[2], 'MINID', '~', string.format('%d', oldest)) end
return {'ok', epoch, seq, id}
`;

/**
 * KEYS[1] meta, KEYS[2] stream; ARGV[1] new epoch, ARGV[2] seq floor. Creates the meta hash when
 * missing (a new, empty stream). Returns {epoch, seq, id of the newest stream entry or '0-0', base
 * (the seq before the stream's first entry; absent for a stream created without it)}.
 */
const OPEN_LUA = `${CREATE_LUA}
if redis.call('HEXISTS', KEYS[1], 'epoch') == 0 then create(KEYS[1], KEYS[2], ARGV[1], ARGV[2]) end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local id = '0-0'
if #last > 0 then id = last[1][1] end
return {redis.call('HGET', KEYS[1], 'epoch'), redis.call('HGET', KEYS[1], 'seq'), id, redis.call('HGET', KEYS[1], 'base')}
`;

type ScriptedRedis = Redis & {
  gwChangeLogAppend(meta: string, stream: string, fenceKey: string, ...args: string[]): Promise<[string, ...unknown[]]>;
  gwChangeLogOpen(meta: string, stream: string, epoch: string, floor: string): Promise<[string, string, string, (string | null)?]>;
};

function scripted(redis: Redis): ScriptedRedis {
  const client = redis as ScriptedRedis;
  if (typeof client.gwChangeLogAppend !== "function") client.defineCommand("gwChangeLogAppend", { numberOfKeys: 3, lua: APPEND_LUA });
  if (typeof client.gwChangeLogOpen !== "function") client.defineCommand("gwChangeLogOpen", { numberOfKeys: 2, lua: OPEN_LUA });
  return client;
}

interface Decoded {
  epoch: string;
  seq: number;
  id: string;
}

/** A stream entry as XRANGE/XREAD return it. */
type StreamRecord = [id: string, fields: string[]];

interface Waiter {
  epoch: string;
  seq: number;
  resolve: (delivered: boolean) => void;
}

/**
 * {@link ChangeLog} on Redis Streams (see the file comment). Create it with
 * {@link RedisChangeLog.open}; stop it with {@link RedisChangeLog.close}.
 *
 * `append` resolves once the entry is in the stream **and** this process's listener has
 * delivered it to every `listen()` listener (as the in-memory log does), so a write's verify loop
 * (src/attributes/participant-watch.ts, fed by the change feed's listener) has the entry when the
 * append that produced it resolves. Other instances' listeners get it a moment later. The wait
 * for the local listener is bounded by `catchUpTimeoutMs` (Redis slow or the listener
 * reconnecting): after it, `append` resolves all the same (the entry is in the stream, and the
 * listener delivers it once it catches up, in order).
 *
 * A listener disconnected for longer than the retention allows finds the entries it missed
 * trimmed: it cannot deliver them, says so through `onGap`, and goes on with the next ones.
 *
 * Pass clients without ioredis's own `keyPrefix` option (every key, the fence's too, is named
 * in full from `keyPrefix`). Needs Redis ≥ 6.2 (`XTRIM MINID`, exclusive `XRANGE` ranges; tested on 7.0). Defines the
 * ioredis commands `gwChangeLogAppend` and `gwChangeLogOpen` on the clients it is given. A client
 * configured with `maxRetriesPerRequest: null` makes `append`/`read` wait for Redis instead of
 * rejecting while it is unreachable.
 */
export class RedisChangeLog implements ChangeLog {
  private readonly redis: ScriptedRedis;
  private readonly subscriber: ScriptedRedis;
  private readonly streamKey: string;
  private readonly metaKey: string;
  private readonly retention: ChangeLogRetention;
  private readonly timers: Timers;
  private readonly listeners = new Set<(entry: ChangeEntry) => void>();
  private waiters: Waiter[] = [];
  private epoch = "";
  private head = 0;
  private headId = "0-0";
  /** Highest seq this process appended or delivered: the floor of a re-created stream. */
  private highest = 0;
  private closed = false;
  /** Settles when `close()` is called: the listener stops waiting for Redis replies then (ioredis may never settle a command queued while reconnecting). */
  private readonly closing: Promise<typeof CLOSED>;
  private signalClosed!: () => void;
  private loop?: Promise<void>;
  private cancelBackoff?: () => void;
  private wakeBackoff?: () => void;
  private statsCache: ChangeLogStats = { entries: 0, approximateBytes: 0, firstSeq: 1, lastSeq: 0 };
  private statsAt = Number.NEGATIVE_INFINITY;
  private statsPending = false;
  private averageBytes = 0;
  private deliveredCount = 0;

  private constructor(private readonly options: RedisChangeLogOptions) {
    this.redis = scripted(options.redis);
    if (options.subscriber) this.subscriber = scripted(options.subscriber);
    else {
      // Ours alone: its connection errors go to onListenerError (ioredis prints unhandled ones).
      this.subscriber = scripted(options.redis.duplicate());
      this.subscriber.on("error", (error: unknown) => options.onListenerError?.(error));
    }
    const keys = redisChangeLogKeys(options.keyPrefix);
    this.streamKey = keys.stream;
    this.metaKey = keys.meta;
    this.retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.timers = options.timers ?? systemTimers;
    this.closing = new Promise((resolve) => (this.signalClosed = () => resolve(CLOSED)));
    if (!(this.retention.maxEntries >= 1) || !(this.retention.maxAgeMs >= 1)) throw new Error("change log retention bounds must be positive");
  }

  /**
   * Connects to the stream (creating it, with a new epoch, when Redis has none) and starts the
   * listener from the stream's newest entry: entries appended from now on reach `listen()`;
   * older ones are readable with cursors. Resolves once the head is known.
   * @throws ChangeLogUnavailableError when Redis cannot be reached.
   */
  static async open(options: RedisChangeLogOptions): Promise<RedisChangeLog> {
    const log = new RedisChangeLog(options);
    try {
      await log.sync(log.redis);
    } catch (error) {
      if (!options.subscriber) log.subscriber.disconnect();
      throw new ChangeLogUnavailableError(`could not open the change log in Redis: ${message(error)}`, { cause: error });
    }
    log.loop = log.run();
    return log;
  }

  /**
   * Appends one entry (one Lua script: fence check, seq, `XADD`, trimming) and resolves with it
   * sequenced once it is in the stream and this process's listeners have had it.
   * @throws StaleFenceError when fenced and the fence is no longer the lease's (nothing appended).
   * @throws ChangeLogUnavailableError when Redis cannot be reached or refuses the script.
   */
  async append(input: NewChangeEntry): Promise<ChangeEntry> {
    if (this.closed) throw new ChangeLogUnavailableError("the change log is closed");
    const fence = this.options.fence ? this.options.fence() : undefined;
    if (this.options.fence && !fence) throw new StaleFenceError(undefined, undefined, undefined);
    const json = JSON.stringify(input);
    let reply: [string, ...unknown[]];
    try {
      reply = await this.redis.gwChangeLogAppend(
        this.metaKey,
        this.streamKey,
        fence?.key ?? this.metaKey,
        newEpoch(),
        String(this.highest),
        json,
        String(this.retention.maxEntries),
        String(this.retention.maxAgeMs),
        fence ? "1" : "0",
        fence ? String(fence.fence) : "",
      );
    } catch (error) {
      throw new ChangeLogUnavailableError(`could not append to the change log in Redis: ${message(error)}`, { cause: error });
    }
    if (reply[0] === "stale") {
      const current = String(reply[1] ?? "");
      throw new StaleFenceError(fence!.key, fence!.fence, current === "" ? undefined : Number(current));
    }
    const epoch = String(reply[1]);
    const seq = Number(reply[2]);
    const id = String(reply[3]);
    this.highest = Math.max(this.highest, seq);
    // In the stream now; wait (bounded) until this process's listeners have it too.
    await this.delivered(epoch, seq);
    return this.materialise(input, epoch, seq, id);
  }

  /**
   * Up to `limit` entries after `cursor`, oldest first, from Redis (possibly entries this
   * process's listener has not delivered yet). Waits first until the listener has delivered up to
   * the cursor (see `catchUpTimeoutMs`).
   * @throws CursorExpiredError when the cursor is malformed, of another stream or epoch, ahead of
   *   the log, or the entries after it are no longer retained.
   * @throws ChangeLogUnavailableError when Redis cannot be reached.
   */
  async read(cursor: string, limit: number): Promise<ChangePage> {
    return this.readAfter(cursor, Math.max(1, Math.floor(limit)));
  }

  /**
   * The test of {@link read} (one entry fetched, none returned), then waits until this process's
   * listener has delivered up to the cursor, so a stream started after `check` replays from the
   * log exactly what its live part will not deliver.
   * @throws CursorExpiredError, ChangeLogUnavailableError as {@link read}.
   */
  async check(cursor: string): Promise<void> {
    await this.readAfter(cursor, 1);
  }

  /** The cursor after the newest entry this process's listener delivered. */
  headCursor(): string {
    return encodeCursor(this.epoch, this.head, this.headId);
  }

  /** The newest `seq` this process's listener delivered (the stream's newest at `open` when none since). */
  headSeq(): number {
    return this.head;
  }

  /** `seq` of a cursor's position. @throws CursorExpiredError when malformed or of another stream or epoch (as far as this process knows). */
  seqOf(cursor: string): number {
    const decoded = decodeCursor(cursor);
    if (!decoded || decoded.epoch !== this.epoch) throw new CursorExpiredError("this cursor is not one this gateway cluster issued (or it was issued before its Redis was reset)");
    return decoded.seq;
  }

  /** Registers a live listener; returns its removal. A listener that throws is reported to `onListenerError` and does not stop the others. */
  listen(listener: (entry: ChangeEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Size of the retained log as last sampled from Redis (refreshed in the background at most once
   * a second while entries are delivered or stats are asked for); `lastSeq` is {@link headSeq};
   * `approximateBytes` is entries × the mean JSON size of the entries delivered here.
   */
  stats(): ChangeLogStats {
    this.refreshStats();
    const { firstSeq } = this.statsCache;
    const first = Math.min(Math.max(firstSeq, this.head - this.retention.maxEntries + 1), this.head + 1);
    const entries = Math.max(0, this.head - first + 1);
    return { entries, approximateBytes: Math.round(entries * this.averageBytes), firstSeq: first, lastSeq: this.head };
  }

  /** Stops the listener and disconnects its connection (never `redis`); pending appends and reads resolve or reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.signalClosed();
    this.cancelBackoff?.();
    this.wakeBackoff?.();
    this.subscriber.disconnect();
    for (const waiter of this.waiters.splice(0)) waiter.resolve(false);
    await this.loop;
  }

  /** Reads meta + newest id and adopts them (at open, and after a listener error or an idle block). */
  private async sync(client: ScriptedRedis): Promise<void> {
    const reply = await this.unlessClosed(client.gwChangeLogOpen(this.metaKey, this.streamKey, newEpoch(), String(this.highest)));
    if (reply === CLOSED) return;
    const [epoch, seq, id, base] = reply;
    if (this.epoch === "") {
      this.epoch = epoch;
      this.head = Number(seq);
      this.headId = id;
      this.highest = Math.max(this.highest, this.head);
      return;
    }
    if (epoch !== this.epoch) this.adopt(epoch, base ? Number(base) : undefined);
  }

  /** `command`'s result, or CLOSED as soon as the log is closed (whichever comes first). */
  private unlessClosed<T>(command: Promise<T>): Promise<T | typeof CLOSED> {
    command.catch(() => {}); // settled after close: nobody awaits it any more
    return Promise.race([command, this.closing]);
  }

  /**
   * The stream was re-created: follow the new one from its start. With its `base` (the seq before
   * its first entry) the head cursor is at once the new stream's start, so a subscriber starting
   * before the listener delivered its first entry resumes exactly rather than CURSOR_EXPIRED.
   */
  private adopt(epoch: string, base?: number): void {
    const previous = this.epoch;
    this.epoch = epoch;
    this.headId = "0-0";
    if (base !== undefined && Number.isSafeInteger(base)) this.head = base;
    this.statsAt = Number.NEGATIVE_INFINITY;
    // Entries of the replaced stream will never be delivered.
    this.waiters = this.waiters.filter((w) => {
      if (w.epoch !== previous) return true;
      w.resolve(false);
      return false;
    });
    this.options.onEpochChange?.(previous, epoch);
  }

  private async run(): Promise<void> {
    let delay = 0;
    while (!this.closed) {
      try {
        if (delay > 0) {
          await this.backoff(delay);
          if (this.closed) return;
          await this.sync(this.subscriber);
        }
        const reply = (await this.unlessClosed(
          this.subscriber.xread("COUNT", this.options.batchSize ?? 512, "BLOCK", this.options.blockMs ?? 2_000, "STREAMS", this.streamKey, this.headId),
        )) as Array<[string, StreamRecord[]]> | null | typeof CLOSED;
        delay = 0;
        if (this.closed || reply === CLOSED) return;
        if (!reply) {
          await this.sync(this.subscriber);
          continue;
        }
        for (const [, records] of reply) this.deliver(records);
      } catch (error) {
        if (this.closed) return;
        this.options.onListenerError?.(error);
        delay = Math.min(this.options.maxRetryDelayMs ?? 2_000, delay === 0 ? 50 : delay * 2);
      }
    }
  }

  private deliver(records: StreamRecord[]): void {
    for (const [id, fields] of records) {
      if (this.closed) return;
      const record = fieldsOf(fields);
      if (record.e !== this.epoch) {
        // Entries of a re-created stream: restart from its first entry (none of it delivered yet).
        if (record.e) this.adopt(record.e);
        return;
      }
      const seq = Number(record.s);
      if (seq > this.head + 1 && this.headId !== "0-0") this.options.onGap?.(this.head + 1, seq - 1);
      let entry: ChangeEntry | undefined;
      try {
        entry = this.materialise(JSON.parse(record.d ?? "null") as NewChangeEntry, this.epoch, seq, id);
      } catch (error) {
        // Not written by this log (the script always writes whole entries): skip it rather than stall on it.
        this.options.onListenerError?.(new Error(`change log stream entry ${id} is not a change entry: ${message(error)}`));
      }
      this.head = seq;
      this.headId = id;
      if (!entry) continue;
      this.highest = Math.max(this.highest, seq);
      this.deliveredCount += 1;
      this.averageBytes += ((record.d?.length ?? 0) + 64 - this.averageBytes) / Math.min(this.deliveredCount, 1_000);
      for (const listener of this.listeners) {
        try {
          listener(entry);
        } catch (error) {
          this.options.onListenerError?.(error);
        }
      }
    }
    this.release();
    this.refreshStats();
  }

  private release(): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (w.epoch !== this.epoch || w.seq > this.head) return true;
      w.resolve(true);
      return false;
    });
  }

  /**
   * Resolves true once the listener delivered `seq` of `epoch`, false when that does not happen
   * within `catchUpTimeoutMs` (or the log closed, or `epoch` was replaced by a newer one).
   */
  private async delivered(epoch: string, seq: number): Promise<boolean> {
    if (epoch === this.epoch && seq <= this.head) return true;
    if (this.closed) return false;
    const timeoutMs = this.options.catchUpTimeoutMs ?? 5_000;
    let cancel: (() => void) | undefined;
    const outcome = await new Promise<boolean>((resolve) => {
      const waiter: Waiter = { epoch, seq, resolve: (ok) => resolve(ok) };
      this.waiters.push(waiter);
      cancel = this.timers.schedule(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
    });
    cancel?.();
    return outcome;
  }

  private async readAfter(cursor: string, limit: number): Promise<ChangePage> {
    const decoded = decodeCursor(cursor);
    if (!decoded) throw new CursorExpiredError("this cursor is not one this gateway issued");
    let results: Array<[Error | null, unknown]> | null;
    try {
      results = await this.redis
        .multi()
        .time()
        .hmget(this.metaKey, "epoch", "seq")
        .xrange(this.streamKey, `(${decoded.id}`, "+", "COUNT", limit)
        .exec();
    } catch (error) {
      throw new ChangeLogUnavailableError(`could not read the change log in Redis: ${message(error)}`, { cause: error });
    }
    if (!results) throw new ChangeLogUnavailableError("could not read the change log in Redis: the transaction was aborted");
    const failed = results.find(([error]) => error);
    if (failed) throw new ChangeLogUnavailableError(`could not read the change log in Redis: ${message(failed[0])}`, { cause: failed[0] });
    const [sec, micro] = results[0]![1] as [string, string];
    const nowMs = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
    const [epoch, last] = results[1]![1] as [string | null, string | null];
    const records = results[2]![1] as StreamRecord[];
    if (epoch === null || epoch !== decoded.epoch) throw new CursorExpiredError("this cursor is not one this gateway cluster issued (or it was issued before its Redis was reset)");
    const lastSeq = Number(last);
    if (decoded.seq > lastSeq) throw new CursorExpiredError("this cursor is ahead of the change log (it was not issued by this gateway)");
    const entries: ChangeEntry[] = [];
    let expected = decoded.seq + 1;
    for (const [id, fields] of records) {
      const record = fieldsOf(fields);
      const seq = Number(record.s);
      if (record.e !== epoch || seq !== expected) break;
      entries.push(this.materialise(JSON.parse(record.d ?? "null") as NewChangeEntry, epoch, seq, id));
      expected += 1;
    }
    if (decoded.seq < lastSeq) {
      const next = entries[0];
      const retained =
        next !== undefined && next.seq > lastSeq - this.retention.maxEntries && idTime(records[0]![0]) >= nowMs - this.retention.maxAgeMs;
      if (!retained) throw new CursorExpiredError("the changes after this cursor are no longer retained (see CHANGE_LOG_RETENTION)");
    }
    await this.catchUp(decoded.epoch, decoded.seq);
    const tail = entries.at(-1)?.seq ?? decoded.seq;
    return { entries, atHead: tail >= lastSeq };
  }

  /** Waits (bounded by `catchUpTimeoutMs`) until this process delivered up to `seq` of `epoch`. @throws ChangeLogUnavailableError when it did not. */
  private async catchUp(epoch: string, seq: number): Promise<void> {
    if (await this.delivered(epoch, seq)) return;
    throw new ChangeLogUnavailableError(
      `this instance's change-log listener has not caught up with the cursor within ${this.options.catchUpTimeoutMs ?? 5_000} ms (Redis slow or unreachable)`,
    );
  }

  private backoff(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeBackoff = resolve;
      this.cancelBackoff = this.timers.schedule(resolve, ms);
    });
  }

  /** Samples the oldest retained entry's seq from Redis in the background (at most once a second). */
  private refreshStats(): void {
    const now = this.timers.now();
    if (this.closed || this.statsPending || now - this.statsAt < 1_000) return;
    this.statsPending = true;
    this.statsAt = now;
    void (async () => {
      try {
        const [sec, micro] = await this.redis.time();
        const oldest = Number(sec) * 1000 + Math.floor(Number(micro) / 1000) - this.retention.maxAgeMs;
        const kept = (await this.redis.xrange(this.streamKey, String(Math.max(0, oldest)), "+", "COUNT", 1))[0];
        const record = kept ? fieldsOf(kept[1]) : undefined;
        if (!record || record.e === this.epoch) this.statsCache = { ...this.statsCache, firstSeq: record ? Number(record.s) : this.head + 1 };
      } catch {
        /* stats stay as last sampled */
      } finally {
        this.statsPending = false;
      }
    })();
  }

  private materialise(input: NewChangeEntry, epoch: string, seq: number, id: string): ChangeEntry {
    return {
      ...input,
      queueIds: [...input.queueIds],
      changes: input.changes.map((c) => ({ ...c })),
      attributes: attributeMap(input.attributes),
      participant: { ...input.participant },
      seq,
      cursor: encodeCursor(epoch, seq, id),
    };
  }
}

function newEpoch(): string {
  return randomUUID().replaceAll("-", "").slice(0, 12);
}

function encodeCursor(epoch: string, seq: number, id: string): string {
  return Buffer.from(`${CURSOR_PREFIX}:${epoch}:${seq}:${id}`).toString("base64url");
}

function decodeCursor(cursor: string): Decoded | undefined {
  if (typeof cursor !== "string" || cursor.length === 0 || cursor.length > 160 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  const parts = Buffer.from(cursor, "base64url").toString("utf8").split(":");
  if (parts.length !== 4 || parts[0] !== CURSOR_PREFIX || !EPOCH_PATTERN.test(parts[1]!) || !/^\d{1,16}$/.test(parts[2]!) || !ID_PATTERN.test(parts[3]!)) return undefined;
  return { epoch: parts[1]!, seq: Number(parts[2]), id: parts[3]! };
}

function fieldsOf(fields: string[]): Record<string, string> {
  const record: Record<string, string> = Object.create(null);
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
  return record;
}

/** The ms part of a stream id (Redis's clock when the entry was added). */
function idTime(id: string): number {
  return Number(id.slice(0, id.indexOf("-")));
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
