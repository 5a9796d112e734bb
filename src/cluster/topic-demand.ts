/**
 * Topic demand: which Genesys notification topics each gateway instance needs, so the channel
 * holder subscribes the union of all of them and one instance leaving does not drop a topic
 * another still needs.
 *
 * Each instance counts its own references in memory (its subscribers and write confirmations)
 * and publishes the set of topics it holds at least once. In Redis that set is the hash
 * `<prefix>demand:<instanceId>` (field = topic) with a heartbeat TTL, and the instance is a
 * member of the set `<prefix>demand-instances`: an instance that dies stops refreshing its hash,
 * which expires, and its topics leave the union. The instance's memory is the authority: a
 * heartbeat that finds its hash gone (Redis restarted, or the instance was paused past the TTL)
 * writes it again whole.
 */
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import { systemTimers, type Timers } from "../timers.js";

/** One instance's demand and the cluster's union. */
export interface TopicDemand {
  /** Takes a reference on each topic for this instance; resolves once published. @throws the store's error (references not taken). */
  acquire(topics: readonly string[]): Promise<void>;
  /** Drops a reference on each topic; a topic at 0 references leaves this instance's demand. @throws the store's error (references dropped anyway). */
  release(topics: readonly string[]): Promise<void>;
  /** Topics this instance holds (at least one reference). */
  local(): string[];
  /** Whether this instance holds at least one reference on the topic. */
  holds(topic: string): boolean;
  /** The union of every live instance's topics (one round trip in Redis). @throws the store's error. */
  union(): Promise<string[]>;
  /** Starts the heartbeat (Redis); idempotent. */
  start(): void;
  /** Stops the heartbeat and withdraws this instance's demand (its topics leave the union at once). */
  stop(): Promise<void>;
}

/** Reference counts per topic, in memory. */
class TopicCounts {
  private readonly counts = new Map<string, number>();
  /** Adds one reference per topic; returns the topics that went from 0 to 1. */
  add(topics: readonly string[]): string[] {
    const added: string[] = [];
    for (const t of topics) {
      const n = this.counts.get(t) ?? 0;
      if (n === 0) added.push(t);
      this.counts.set(t, n + 1);
    }
    return [...new Set(added)];
  }
  /** Drops one reference per topic; returns the topics that went to 0. */
  remove(topics: readonly string[]): string[] {
    const removed: string[] = [];
    for (const t of topics) {
      const n = (this.counts.get(t) ?? 0) - 1;
      if (n > 0) this.counts.set(t, n);
      else if (this.counts.delete(t)) removed.push(t);
    }
    return removed;
  }
  keys(): string[] {
    return [...this.counts.keys()];
  }
  has(topic: string): boolean {
    return this.counts.has(topic);
  }
}

/** Several instances' demand in one process (the one-process default, and tests of several instances). */
export class InMemoryDemandBoard {
  /** Instance id → its topics. */
  readonly instances = new Map<string, Set<string>>();
  /** The union of every instance's topics. */
  union(): string[] {
    const all = new Set<string>();
    for (const topics of this.instances.values()) for (const t of topics) all.add(t);
    return [...all];
  }
}

/** Options of {@link InMemoryTopicDemand}. */
export interface InMemoryTopicDemandOptions {
  /** This instance's id on the board. Default `local`. */
  instanceId?: string;
  /** Shared by the instances of one process (tests); default a board of its own. */
  board?: InMemoryDemandBoard;
}

/** Demand in memory: no heartbeat (an instance in this process cannot die without the others). */
export class InMemoryTopicDemand implements TopicDemand {
  private readonly counts = new TopicCounts();
  private readonly board: InMemoryDemandBoard;
  private readonly instanceId: string;

  /** @param options board and instance id ({@link InMemoryTopicDemandOptions}). */
  constructor(options: InMemoryTopicDemandOptions = {}) {
    this.board = options.board ?? new InMemoryDemandBoard();
    this.instanceId = options.instanceId ?? "local";
  }

  /** See {@link TopicDemand.acquire}. */
  async acquire(topics: readonly string[]): Promise<void> {
    this.counts.add(topics);
    this.board.instances.set(this.instanceId, new Set(this.counts.keys()));
  }

  /** See {@link TopicDemand.release}. */
  async release(topics: readonly string[]): Promise<void> {
    this.counts.remove(topics);
    this.board.instances.set(this.instanceId, new Set(this.counts.keys()));
  }

  /** See {@link TopicDemand.local}. */
  local(): string[] {
    return this.counts.keys();
  }

  /** See {@link TopicDemand.holds}. */
  holds(topic: string): boolean {
    return this.counts.has(topic);
  }

  /** See {@link TopicDemand.union}. */
  async union(): Promise<string[]> {
    return this.board.union();
  }

  /** Nothing to do in memory. */
  start(): void {}

  /** Withdraws this instance from the board. */
  async stop(): Promise<void> {
    this.board.instances.delete(this.instanceId);
  }
}

/** KEYS[1] instance hash, KEYS[2] instance set; ARGV[1] ttl ms, ARGV[2] instance id, ARGV[3..] topics. */
const ADD = `
for i = 3, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], '1') end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return 1
`;

/** KEYS[1] instance hash; ARGV[1..] topics. */
const REMOVE = `
for i = 1, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
return 1
`;

/** KEYS[1] instance hash, KEYS[2] instance set; ARGV[1] ttl ms, ARGV[2] instance id. 1 when refreshed, 0 when the hash is gone. */
const BEAT = `
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[2])
return 1
`;

/** KEYS[1] instance hash, KEYS[2] instance set; ARGV[1] ttl ms, ARGV[2] instance id, ARGV[3..] topics: replaces the hash. */
const REWRITE = `
redis.call('DEL', KEYS[1])
if #ARGV < 3 then return 1 end
for i = 3, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], '1') end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return 1
`;

/** KEYS[1] instance set; ARGV[1] hash key prefix. The union of live instances' topics; members whose hash is gone are removed. */
const UNION = `
local seen = {}
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local hash = ARGV[1] .. id
  if redis.call('EXISTS', hash) == 0 then
    redis.call('SREM', KEYS[1], id)
  else
    for _, topic in ipairs(redis.call('HKEYS', hash)) do
      if not seen[topic] then seen[topic] = true; out[#out + 1] = topic end
    end
  end
end
return out
`;

interface DemandCommands {
  gwDemandAdd(hash: string, set: string, ttlMs: number, instanceId: string, ...topics: string[]): Promise<number>;
  gwDemandRemove(hash: string, ...topics: string[]): Promise<number>;
  gwDemandBeat(hash: string, set: string, ttlMs: number, instanceId: string): Promise<number>;
  gwDemandRewrite(hash: string, set: string, ttlMs: number, instanceId: string, ...topics: string[]): Promise<number>;
  gwDemandUnion(set: string, hashPrefix: string): Promise<string[]>;
}

/** Topics per Lua call (Lua's argument stack limits `unpack`; loops over ARGV are fine, but keep calls bounded). */
const BATCH = 1_000;

/** Options of {@link RedisTopicDemand}. Durations in ms. */
export interface RedisTopicDemandOptions {
  /** Command connection (created and closed by the composition; this store defines its `gwDemand*` Lua commands on it). */
  redis: Redis;
  /** Prefix of every key (e.g. `gw:`). */
  keyPrefix: string;
  /** This instance's id (unique per process run); the same as its channel-holder owner id. */
  instanceId: string;
  /** How long this instance's demand outlives its last heartbeat. Default 10 000. */
  heartbeatTtlMs?: number;
  /** Heartbeat period. Default `floor(heartbeatTtlMs / 3)`. */
  heartbeatEveryMs?: number;
  /** Heartbeat scheduler (default {@link systemTimers}; tests inject virtual ones). */
  timers?: Timers;
  /** Heartbeat failures and rewrites; none when absent. */
  logger?: Logger;
}

/** Demand in Redis, shared by every instance (see the file comment for the keys). */
export class RedisTopicDemand implements TopicDemand {
  private readonly counts = new TopicCounts();
  private readonly redis: Redis & DemandCommands;
  private readonly hash: string;
  private readonly set: string;
  private readonly hashPrefix: string;
  private readonly ttlMs: number;
  private readonly everyMs: number;
  private readonly timers: Timers;
  /** Every write runs after the previous one, so a heartbeat's rewrite never reorders with an add or remove. */
  private tail: Promise<unknown> = Promise.resolve();
  private cancelBeat?: () => void;
  private running = false;
  /** A write failed (Redis may or may not have applied it): the next heartbeat rewrites the whole demand from memory. */
  private dirty = false;

  /** @param options see {@link RedisTopicDemandOptions}. */
  constructor(private readonly options: RedisTopicDemandOptions) {
    const redis = options.redis as Redis & Partial<DemandCommands>;
    if (!redis.gwDemandAdd) {
      redis.defineCommand("gwDemandAdd", { numberOfKeys: 2, lua: ADD });
      redis.defineCommand("gwDemandRemove", { numberOfKeys: 1, lua: REMOVE });
      redis.defineCommand("gwDemandBeat", { numberOfKeys: 2, lua: BEAT });
      redis.defineCommand("gwDemandRewrite", { numberOfKeys: 2, lua: REWRITE });
      redis.defineCommand("gwDemandUnion", { numberOfKeys: 1, lua: UNION });
    }
    this.redis = redis as Redis & DemandCommands;
    this.hashPrefix = `${options.keyPrefix}demand:`;
    this.hash = `${this.hashPrefix}${options.instanceId}`;
    this.set = `${options.keyPrefix}demand-instances`;
    this.ttlMs = options.heartbeatTtlMs ?? 10_000;
    this.everyMs = options.heartbeatEveryMs ?? Math.floor(this.ttlMs / 3);
    this.timers = options.timers ?? systemTimers;
  }

  /** See {@link TopicDemand.acquire}; one round trip when a topic is new to this instance. */
  async acquire(topics: readonly string[]): Promise<void> {
    const added = this.counts.add(topics);
    if (added.length === 0) return;
    try {
      await this.serial(async () => {
        for (let i = 0; i < added.length; i += BATCH) await this.redis.gwDemandAdd(this.hash, this.set, this.ttlMs, this.options.instanceId, ...added.slice(i, i + BATCH));
      });
    } catch (error) {
      this.counts.remove(topics);
      this.dirty = true;
      throw error;
    }
  }

  /** See {@link TopicDemand.release}. */
  async release(topics: readonly string[]): Promise<void> {
    const removed = this.counts.remove(topics);
    if (removed.length === 0) return;
    try {
      await this.serial(async () => {
        for (let i = 0; i < removed.length; i += BATCH) await this.redis.gwDemandRemove(this.hash, ...removed.slice(i, i + BATCH));
      });
    } catch (error) {
      this.dirty = true;
      throw error;
    }
  }

  /** See {@link TopicDemand.local}. */
  local(): string[] {
    return this.counts.keys();
  }

  /** See {@link TopicDemand.holds}. */
  holds(topic: string): boolean {
    return this.counts.has(topic);
  }

  /** See {@link TopicDemand.union}. */
  async union(): Promise<string[]> {
    return this.redis.gwDemandUnion(this.set, this.hashPrefix);
  }

  /** Starts the heartbeat (the first one at once). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.scheduleBeat(0);
  }

  /** Stops the heartbeat and deletes this instance's hash. @throws the store's error. */
  async stop(): Promise<void> {
    this.running = false;
    this.cancelBeat?.();
    this.cancelBeat = undefined;
    await this.serial(() => this.redis.gwDemandRewrite(this.hash, this.set, this.ttlMs, this.options.instanceId));
  }

  /**
   * One heartbeat now: refreshes the TTL, or rewrites the whole demand from this instance's
   * memory when Redis lost it or an earlier add/remove failed (Redis may have applied it or not).
   * @throws the store's error (the demand then stays due for a rewrite).
   */
  async beat(): Promise<void> {
    await this.serial(async () => {
      const topics = this.counts.keys();
      const rewrite = this.dirty;
      this.dirty = false;
      try {
        if (!rewrite && ((await this.redis.gwDemandBeat(this.hash, this.set, this.ttlMs, this.options.instanceId)) === 1 || topics.length === 0)) return;
        this.options.logger?.info({ topics: topics.length }, rewrite ? "topic demand: an earlier write failed; writing it again" : "topic demand was missing in Redis; writing it again");
        await this.redis.gwDemandRewrite(this.hash, this.set, this.ttlMs, this.options.instanceId, ...topics.slice(0, BATCH));
        for (let i = BATCH; i < topics.length; i += BATCH) await this.redis.gwDemandAdd(this.hash, this.set, this.ttlMs, this.options.instanceId, ...topics.slice(i, i + BATCH));
      } catch (error) {
        if (rewrite) this.dirty = true;
        throw error;
      }
    });
  }

  private scheduleBeat(delayMs: number): void {
    if (!this.running) return;
    this.cancelBeat = this.timers.schedule(() => {
      this.beat()
        .catch((error: unknown) => this.options.logger?.warn({ err: String(error) }, "topic demand heartbeat failed"))
        .finally(() => this.scheduleBeat(this.everyMs));
    }, delayMs);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
