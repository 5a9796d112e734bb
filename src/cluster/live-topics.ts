/**
 * The channel holder's live topics, published for the followers: which topics are subscribed on
 * a connected channel with no gap open (so events of them reach the change log), which ones
 * Genesys refused, and a heartbeat that says the holder is alive. A follower's
 * `isLive(topic)` is true only while the heartbeat is fresh and the topic is in the set.
 *
 * With each live topic the holder publishes the log `seq` since which it has held it live with
 * no gap (its takeover or reconnect re-read of the topic applied), so every instance can accept a
 * resume cursor at or after it (see change-feed.ts `continuousSince`).
 *
 * Redis keys: `<prefix>live-topics` (set), `<prefix>live-refused` (hash topic → reason),
 * `<prefix>live-since` (JSON topic → seq), `<prefix>live-heartbeat` (`<fence>:<version>` with a TTL). Publishing is fenced against the
 * channels lease (only its current holder writes); `version` grows with every change of the set,
 * so a follower re-reads the members only when they changed.
 */
import type { Redis } from "ioredis";
import { CHANNEL_HOLDER_LEASE } from "./channel-holder.js";
import { redisLeaseKeys, type LeaseStore } from "./lease.js";

/** What the holder publishes. */
export interface LiveTopicsState {
  /** Topics whose events flow (subscribed, socket open, no gap). */
  topics: string[];
  /** Topics Genesys refused, with its reason. */
  refused: Record<string, string>;
  /**
   * Live topics the holder has held with no gap since a log `seq` (topic → seq): every change of
   * what they cover after that seq is in the change log. A live topic absent here is not proven
   * continuous yet (its re-read after a takeover or reconnect is still open). Absent: none.
   */
  since?: Record<string, number>;
}

/** A follower's view of the holder's live topics. */
export interface LiveTopicsView extends LiveTopicsState {
  /** The publishing holder's fence. */
  fence: number;
  /** Grows with every change of the state. */
  version: number;
}

/** Answer of {@link LiveTopicsStore.publish}. */
export type PublishResult = "ok" | "stale" | "missing";

/** Where the holder's live topics are kept. */
export interface LiveTopicsStore {
  /**
   * Refreshes the heartbeat for `ttlMs` (ms) and, with `state`, replaces the published state; only
   * when `fence` is the channels lease's current fence.
   * @returns `ok`; `stale` when the fence is not the lease's (nothing written); `missing` when
   *   only a heartbeat was asked but no state is kept (expired, Redis restarted): publish the state.
   * @throws the store's error.
   */
  publish(fence: number, ttlMs: number, state?: LiveTopicsState): Promise<PublishResult>;
  /**
   * The published state, or undefined when no holder's heartbeat is fresh. With `knownVersion`
   * equal to the current version, `topics`/`refused` are omitted (unchanged: reuse yours).
   * @throws the store's error.
   */
  read(knownVersion?: number): Promise<(Omit<LiveTopicsView, "topics" | "refused"> & Partial<LiveTopicsState>) | undefined>;
}

/** Options of {@link InMemoryLiveTopics}. */
export interface InMemoryLiveTopicsOptions {
  leases: LeaseStore;
  /** Default {@link CHANNEL_HOLDER_LEASE}. */
  leaseKey?: string;
  /** Clock, epoch ms (heartbeat expiry). Default `Date.now`. */
  now?: () => number;
}

/** Live topics in this process's memory (tests of several instances in one process). */
export class InMemoryLiveTopics implements LiveTopicsStore {
  private state?: LiveTopicsView;
  private expiresAt = 0;
  private version = 0;
  private readonly now: () => number;

  /** @param options lease store (fencing) and clock. */
  constructor(private readonly options: InMemoryLiveTopicsOptions) {
    this.now = options.now ?? Date.now;
  }

  /** See {@link LiveTopicsStore.publish}. */
  async publish(fence: number, ttlMs: number, state?: LiveTopicsState): Promise<PublishResult> {
    const current = await this.options.leases.current(this.options.leaseKey ?? CHANNEL_HOLDER_LEASE);
    if (current?.fence !== fence) return "stale";
    if (state) {
      this.version += 1;
      this.state = { fence, version: this.version, topics: [...state.topics], refused: { ...state.refused }, since: { ...state.since } };
    } else if (this.state && this.expiresAt > this.now()) this.state = { ...this.state, fence };
    else return "missing";
    this.expiresAt = this.now() + ttlMs;
    return "ok";
  }

  /** See {@link LiveTopicsStore.read}. */
  async read(knownVersion?: number) {
    if (!this.state || this.expiresAt <= this.now()) return undefined;
    const { fence, version, topics, refused, since } = this.state;
    return knownVersion === version ? { fence, version } : { fence, version, topics: [...topics], refused: { ...refused }, since: { ...since } };
  }
}

/**
 * KEYS[1] lease, KEYS[2] set, KEYS[3] refused hash, KEYS[4] heartbeat, KEYS[5] version counter,
 * KEYS[6] since (JSON string); ARGV[1] fence, ARGV[2] ttl ms, ARGV[3] "1" to replace the state,
 * ARGV[4] refused JSON, ARGV[5] since JSON, ARGV[6..] topics.
 */
const PUBLISH = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, #ARGV[1] + 1) ~= ARGV[1] .. ':' then return 0 end
local version
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[2], KEYS[3])
  for i = 6, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
  redis.call('SET', KEYS[6], ARGV[5])
  local refused = cjson.decode(ARGV[4])
  for topic, reason in pairs(refused) do redis.call('HSET', KEYS[3], topic, reason) end
  version = redis.call('INCR', KEYS[5])
else
  local hb = redis.call('GET', KEYS[4])
  if not hb then return 2 end
  version = tonumber(string.match(hb, ':(%d+)$'))
end
redis.call('SET', KEYS[4], ARGV[1] .. ':' .. version, 'PX', ARGV[2])
return 1
`;

/** KEYS[1] heartbeat, KEYS[2] set, KEYS[3] refused hash, KEYS[4] since; ARGV[1] known version or ''. */
const READ = `
local hb = redis.call('GET', KEYS[1])
if not hb then return false end
local fence, version = string.match(hb, '^(%d+):(%d+)$')
if ARGV[1] == version then return {fence, version} end
return {fence, version, redis.call('SMEMBERS', KEYS[2]), redis.call('HGETALL', KEYS[3]), redis.call('GET', KEYS[4]) or '{}'}
`;

interface LiveCommands {
  gwLivePublish(lease: string, set: string, refused: string, heartbeat: string, version: string, since: string, fence: number, ttlMs: number, replace: string, refusedJson: string, sinceJson: string, ...topics: string[]): Promise<number>;
  gwLiveRead(heartbeat: string, set: string, refused: string, since: string, knownVersion: string): Promise<[string, string, string[]?, string[]?, string?] | null>;
}

/** Options of {@link RedisLiveTopics}. */
export interface RedisLiveTopicsOptions {
  redis: Redis;
  /** Prefix of every key (e.g. `gw:`). */
  keyPrefix: string;
  /** Default {@link CHANNEL_HOLDER_LEASE}. */
  leaseKey?: string;
}

/** Live topics in Redis (keys in the file comment). */
export class RedisLiveTopics implements LiveTopicsStore {
  private readonly redis: Redis & LiveCommands;
  private readonly keys: { lease: string; set: string; refused: string; heartbeat: string; version: string; since: string };

  /** @param options client, key prefix, lease key. */
  constructor(options: RedisLiveTopicsOptions) {
    const redis = options.redis as Redis & Partial<LiveCommands>;
    if (!redis.gwLivePublish) {
      redis.defineCommand("gwLivePublish", { numberOfKeys: 6, lua: PUBLISH });
      redis.defineCommand("gwLiveRead", { numberOfKeys: 4, lua: READ });
    }
    this.redis = redis as Redis & LiveCommands;
    const p = options.keyPrefix;
    this.keys = {
      lease: redisLeaseKeys(p, options.leaseKey ?? CHANNEL_HOLDER_LEASE).lease,
      set: `${p}live-topics`,
      refused: `${p}live-refused`,
      heartbeat: `${p}live-heartbeat`,
      version: `${p}live-version`,
      since: `${p}live-since`,
    };
  }

  /** See {@link LiveTopicsStore.publish}; one round trip (topics in one script call: keep the set to the Genesys limits, 20 000). */
  async publish(fence: number, ttlMs: number, state?: LiveTopicsState): Promise<PublishResult> {
    const k = this.keys;
    const answer = await this.redis.gwLivePublish(k.lease, k.set, k.refused, k.heartbeat, k.version, k.since, fence, ttlMs, state ? "1" : "0", JSON.stringify(state?.refused ?? {}), JSON.stringify(state?.since ?? {}), ...(state?.topics ?? []));
    return answer === 0 ? "stale" : answer === 2 ? "missing" : "ok";
  }

  /** See {@link LiveTopicsStore.read}; one round trip. */
  async read(knownVersion?: number) {
    const k = this.keys;
    const answer = await this.redis.gwLiveRead(k.heartbeat, k.set, k.refused, k.since, knownVersion === undefined ? "" : String(knownVersion));
    if (!answer) return undefined;
    const fence = Number(answer[0]);
    const version = Number(answer[1]);
    if (answer.length < 3) return { fence, version };
    const flat = answer[3] ?? [];
    const refused: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) refused[flat[i]!] = flat[i + 1]!;
    return { fence, version, topics: answer[2] ?? [], refused, since: parseSince(answer[4]) };
  }
}

/** The published `since` JSON (topic → seq); entries that are not a finite number are dropped. */
function parseSince(json: string | undefined): Record<string, number> {
  const since: Record<string, number> = {};
  try {
    const parsed: unknown = JSON.parse(json ?? "{}");
    if (parsed && typeof parsed === "object") for (const [topic, seq] of Object.entries(parsed)) if (typeof seq === "number" && Number.isFinite(seq)) since[topic] = seq;
  } catch {
    // An unreadable value proves nothing: no topic is continuous.
  }
  return since;
}
