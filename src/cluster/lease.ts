/**
 * Fenced leases: the cluster's one primitive for "exactly one instance does this" (the holder of
 * the Genesys notification channels, the writer of one participant's attributes).
 *
 * A lease is a key held by one owner until its TTL runs out or it is released. Every acquisition
 * of a key gets a **fence**, a number that strictly grows per key and is never reused, so work
 * done under a lease can be refused once the lease has passed to someone else (the change log's
 * fenced append, the updater's check before each PATCH): a paused or partitioned owner whose
 * TTL ran out cannot tell it lost the lease, but its fence is no longer the current one.
 *
 * Two stores behind one port ({@link LeaseStore}): {@link InMemoryLeaseStore} (one process, an
 * injected clock) and {@link RedisLeaseStore} (ioredis; atomic Lua scripts). Waiting for a lease
 * until a deadline is {@link waitForLease}, on top of `tryAcquire`.
 */
import type { Redis } from "ioredis";
import type { Timers } from "../timers.js";

/** A held lease. Its methods never throw for "lost"; they throw only when the store fails (e.g. Redis unreachable). */
export interface Lease {
  /** The leased key, as given to {@link LeaseStore.tryAcquire}. */
  readonly key: string;
  /** This acquisition's fence: greater than every earlier acquisition's of the same key. */
  readonly fence: number;
  /** The owner given to {@link LeaseStore.tryAcquire} (e.g. an instance id). */
  readonly owner: string;
  /** Still held with this fence (one round trip). */
  check(): Promise<boolean>;
  /** Extends to `ttlMs` (ms, positive integer) from now; false when lost (expired and/or taken). */
  renew(ttlMs: number): Promise<boolean>;
  /** Gives the key up if still held with this fence; does nothing otherwise. */
  release(): Promise<void>;
}

/** Where leases live. */
export interface LeaseStore {
  /**
   * Takes `key` for `ttlMs` (ms, positive integer) if free or expired; null when held by another
   * owner (or by the same owner under an earlier acquisition: a lease is not re-entrant). The fence
   * grows on every acquisition of the key and is never reused (also after a Redis restart).
   * @throws RangeError for a ttlMs that is not a positive integer; the store's error when it fails.
   */
  tryAcquire(key: string, owner: string, ttlMs: number): Promise<Lease | null>;
  /** The owner and fence of the current holder of `key`, or undefined when it is free or expired. */
  current(key: string): Promise<{ owner: string; fence: number } | undefined>;
}

function assertTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`lease ttlMs must be a positive integer of ms, got ${ttlMs}`);
}

/** Options of {@link InMemoryLeaseStore}. */
export interface InMemoryLeaseStoreOptions {
  /** The clock, epoch ms (default `Date.now`); a test injects a virtual one. */
  now?: () => number;
}

/** Leases in this process's memory: for one process and for tests (virtual clock via `now`). */
export class InMemoryLeaseStore implements LeaseStore {
  private readonly now: () => number;
  private readonly held = new Map<string, { owner: string; fence: number; expiresAt: number }>();
  private readonly fences = new Map<string, number>();

  /** @param options the clock ({@link InMemoryLeaseStoreOptions}). */
  constructor(options: InMemoryLeaseStoreOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** See {@link LeaseStore.tryAcquire}. */
  async tryAcquire(key: string, owner: string, ttlMs: number): Promise<Lease | null> {
    assertTtl(ttlMs);
    if (this.live(key)) return null;
    const fence = (this.fences.get(key) ?? 0) + 1;
    this.fences.set(key, fence);
    this.held.set(key, { owner, fence, expiresAt: this.now() + ttlMs });
    const holds = () => {
      const entry = this.live(key);
      return entry !== undefined && entry.fence === fence ? entry : undefined;
    };
    return {
      key,
      fence,
      owner,
      check: async () => holds() !== undefined,
      renew: async (ttl) => {
        assertTtl(ttl);
        const entry = holds();
        if (!entry) return false;
        entry.expiresAt = this.now() + ttl;
        return true;
      },
      release: async () => {
        if (holds()) this.held.delete(key);
      },
    };
  }

  /** See {@link LeaseStore.current}. */
  async current(key: string): Promise<{ owner: string; fence: number } | undefined> {
    const entry = this.live(key);
    return entry && { owner: entry.owner, fence: entry.fence };
  }

  private live(key: string) {
    const entry = this.held.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      this.held.delete(key);
      return undefined;
    }
    return entry;
  }
}

/**
 * The Redis keys of one lease, the contract with other Lua scripts that check a fence (the
 * change log's fenced append): `lease` holds the string `<fence>:<owner>` with the lease's TTL
 * (absent when free or expired); `fence` is the key's fence counter.
 * @param keyPrefix the cluster's key prefix (e.g. `gw:`); @param key the lease's key (e.g. `channels`).
 */
export function redisLeaseKeys(keyPrefix: string, key: string): { lease: string; fence: string } {
  return { lease: `${keyPrefix}lease:${key}`, fence: `${keyPrefix}lease-fence:${key}` };
}

/** How long a key's fence counter outlives its last acquisition or renewal, ms (then the clock floor below keeps fences growing). */
const FENCE_COUNTER_LINGER_MS = 3_600_000;

/**
 * KEYS[1] lease, KEYS[2] fence counter; ARGV[1] owner, ARGV[2] ttl ms, ARGV[3] counter linger ms.
 * Returns the new fence, or false when held. The fence is INCR of the counter, floored at
 * Redis's clock in ms: after a Redis restart without persistence (or the counter's expiry) the
 * counter starts again but the clock does not, so a fence is never handed out twice.
 */
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local fence = redis.call('INCR', KEYS[2])
local t = redis.call('TIME')
local floor = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if fence < floor then
  fence = floor
  redis.call('SET', KEYS[2], string.format('%d', fence))
end
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]))
redis.call('SET', KEYS[1], string.format('%d', fence) .. ':' .. ARGV[1], 'PX', ARGV[2])
return fence
`;

/** KEYS[1] lease, KEYS[2] fence counter; ARGV[1] `<fence>:<owner>`, ARGV[2] ttl ms, ARGV[3] linger ms. 1 when renewed. */
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]))
return 1
`;

/** KEYS[1] lease; ARGV[1] `<fence>:<owner>`. 1 when released. */
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;

/** KEYS[1] lease; ARGV[1] `<fence>:<owner>`. 1 when held. */
const CHECK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
`;

interface LeaseCommands {
  gwLeaseAcquire(lease: string, fence: string, owner: string, ttlMs: number, lingerMs: number): Promise<number | null>;
  gwLeaseRenew(lease: string, fence: string, value: string, ttlMs: number, lingerMs: number): Promise<number>;
  gwLeaseRelease(lease: string, value: string): Promise<number>;
  gwLeaseCheck(lease: string, value: string): Promise<number>;
}

/** Options of {@link RedisLeaseStore}. */
export interface RedisLeaseStoreOptions {
  /** The ioredis client (created by the composition; this store defines its `gwLease*` Lua commands on it). */
  redis: Redis;
  /** Prefix of every key (e.g. `gw:`); see {@link redisLeaseKeys}. */
  keyPrefix: string;
}

/**
 * Leases in Redis, shared by every instance: `SET … PX` under a Lua script that also INCRs the
 * key's fence counter; renew, release and check are Lua compare-and-act on `<fence>:<owner>`, so
 * an owner whose lease expired and was taken can neither renew nor release the new one. Expiry
 * is Redis's clock (PX), not the instances'.
 */
export class RedisLeaseStore implements LeaseStore {
  private readonly redis: Redis & LeaseCommands;
  private readonly keyPrefix: string;

  /** @param options the client and key prefix ({@link RedisLeaseStoreOptions}). */
  constructor(options: RedisLeaseStoreOptions) {
    const redis = options.redis as Redis & Partial<LeaseCommands>;
    if (!redis.gwLeaseAcquire) {
      redis.defineCommand("gwLeaseAcquire", { numberOfKeys: 2, lua: ACQUIRE });
      redis.defineCommand("gwLeaseRenew", { numberOfKeys: 2, lua: RENEW });
      redis.defineCommand("gwLeaseRelease", { numberOfKeys: 1, lua: RELEASE });
      redis.defineCommand("gwLeaseCheck", { numberOfKeys: 1, lua: CHECK });
    }
    this.redis = redis as Redis & LeaseCommands;
    this.keyPrefix = options.keyPrefix;
  }

  /** See {@link LeaseStore.tryAcquire}; one round trip. */
  async tryAcquire(key: string, owner: string, ttlMs: number): Promise<Lease | null> {
    assertTtl(ttlMs);
    const keys = redisLeaseKeys(this.keyPrefix, key);
    const fence = await this.redis.gwLeaseAcquire(keys.lease, keys.fence, owner, ttlMs, FENCE_COUNTER_LINGER_MS);
    if (fence === null) return null;
    const value = `${fence}:${owner}`;
    return {
      key,
      fence: Number(fence),
      owner,
      check: async () => (await this.redis.gwLeaseCheck(keys.lease, value)) === 1,
      renew: async (ttl) => {
        assertTtl(ttl);
        return (await this.redis.gwLeaseRenew(keys.lease, keys.fence, value, ttl, FENCE_COUNTER_LINGER_MS)) === 1;
      },
      release: async () => void (await this.redis.gwLeaseRelease(keys.lease, value)),
    };
  }

  /** See {@link LeaseStore.current}; one round trip. */
  async current(key: string): Promise<{ owner: string; fence: number } | undefined> {
    const value = await this.redis.get(redisLeaseKeys(this.keyPrefix, key).lease);
    if (value === null) return undefined;
    const colon = value.indexOf(":");
    return { fence: Number(value.slice(0, colon)), owner: value.slice(colon + 1) };
  }
}

/** Options of {@link waitForLease}. */
export interface WaitForLeaseOptions {
  /** Give up at this time, epoch ms on `timers`' clock: no attempt starts at or after it. */
  deadline: number;
  /** Clock and scheduler (default {@link systemTimers} by the caller; tests inject virtual ones). */
  timers: Timers;
  /** First pause between attempts, ms (default 10); doubles each attempt. */
  initialDelayMs?: number;
  /** Longest pause between attempts, ms (default 250). */
  maxDelayMs?: number;
  /** Stops waiting early (resolves null) when aborted. */
  signal?: AbortSignal;
}

/**
 * Takes `key` for `ttlMs`, retrying {@link LeaseStore.tryAcquire} with exponential backoff
 * (never sleeping past the deadline) while another owner holds it.
 * @returns the lease, or null when the deadline came (or `signal` aborted) first.
 * @throws the store's error (e.g. Redis unreachable) at once: a store failure is not "busy".
 */
export async function waitForLease(store: LeaseStore, key: string, owner: string, ttlMs: number, options: WaitForLeaseOptions): Promise<Lease | null> {
  const { deadline, timers, signal } = options;
  let delay = options.initialDelayMs ?? 10;
  const maxDelay = options.maxDelayMs ?? 250;
  for (;;) {
    if (signal?.aborted || timers.now() >= deadline) return null;
    const lease = await store.tryAcquire(key, owner, ttlMs);
    if (lease) return lease;
    const pause = Math.min(delay, maxDelay, deadline - timers.now());
    if (pause <= 0) return null;
    delay *= 2;
    await new Promise<void>((resolve) => {
      const onAbort = () => {
        cancel();
        resolve();
      };
      const cancel = timers.schedule(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, pause);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
