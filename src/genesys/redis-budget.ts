/**
 * The Genesys request budget shared by every gateway instance on one Redis (issue 10): one
 * token bucket for the cluster, because Genesys counts requests per OAuth client, not per
 * instance (shared/genesys/README.md, "Rate limits").
 *
 * - The bucket is the one of {@link bucketShape} (`burst` tokens, refilled at
 *   `(requestsPerMinute − burst)` per minute, so no 60 s window, fixed or sliding, holds more than
 *   `requestsPerMinute` grants cluster-wide), kept in a Redis hash and taken by a small Lua script
 *   on Redis's clock (`TIME`), so every instance refills and spends the same tokens.
 * - Why not rate-limiter-flexible's `RateLimiterRedis`: it counts fixed windows that start at
 *   the first consume; two adjacent windows let up to twice its points through within one 60 s
 *   span, and keeping every 60 s span within the budget would force its points down to
 *   `requestsPerMinute × D / (60 s + D)` per window of D (e.g. 240 of 300 per minute with 1 s
 *   windows). Its `BurstyRateLimiter` is two fixed windows with the same edge. A token bucket
 *   expresses the bound exactly, in 20 lines of Lua.
 * - Priorities and deadlines are those of {@link InMemoryRequestBudget}: each instance queues its
 *   own callers by priority (FIFO within each) in front of the shared bucket and asks Redis for
 *   one token at a time, for its highest-priority waiter. Priorities order each instance's own
 *   callers; between instances tokens go to whichever asks first.
 * - `pause(ms)` (a 429's `Retry-After`) pauses this instance at once and sets a shared key with
 *   `PX ms` (kept when a longer pause already runs); the take script refuses every grant while the
 *   key lives, so every instance honours the pause before its next grant.
 * - Deadlines: a caller whose turn cannot come before its deadline, by this instance's view of
 *   the bucket (the tokens and pause Redis last reported, refilled locally), is refused at once
 *   with {@link BudgetExhaustedError}; one still queued when its deadline passes is refused then.
 *   The view ignores other instances' demand, so the at-once refusal is optimistic and the
 *   deadline timer is the bound.
 * - Redis unreachable: nothing is granted (nothing is sent to Genesys without a token); waiters
 *   stay queued, the take is retried with backoff (50 ms doubling to 1 s), and waiters with a
 *   deadline are refused when it passes. After a Redis restart the bucket starts full: the window
 *   around the restart may see one extra `burst`.
 *
 * Keys (under the composition's `keyPrefix`): `<prefix>budget:bucket` (hash `tokens`, `at`; it
 * expires once it would be full again anyway) and `<prefix>budget:pause`.
 */
import type { Redis } from "ioredis";
import { systemTimers, type Timers } from "../timers.js";
import { BUDGET_PRIORITIES, BudgetExhaustedError, bucketShape, zeroPerPriority, type BudgetPriority, type BudgetStats, type BudgetWaiter, type RequestBudget } from "./budget.js";

/** Options of {@link RedisRequestBudget}. */
export interface RedisRequestBudgetOptions {
  /** Command connection (one script call per grant). Created and closed by the composition. */
  redis: Redis;
  /** Prefix of every key (e.g. `gw:`). */
  keyPrefix: string;
  /** The Genesys budget of the whole cluster, requests per minute (`GENESYS_REQUESTS_PER_MINUTE`). Every instance must pass the same. */
  requestsPerMinute: number;
  /** Tokens held at most (calls sent at once after a quiet spell), cluster-wide. Default 5 % of the budget, at least 1. */
  burst?: number;
  /** Local timers: deadlines, retry delays, the local view of the bucket (Redis's clock runs the bucket itself). */
  timers?: Timers;
  /** Told of every grant (ms waited) and refusal, for metrics. */
  onGrant?: (priority: BudgetPriority, waitedMs: number) => void;
  onRefuse?: (priority: BudgetPriority) => void;
  /** Told when Redis cannot be reached or refuses a script (grants stop until it answers again). */
  onError?: (error: unknown) => void;
}

/** The Redis keys of the budget under `keyPrefix` (see the file comment). */
export function redisBudgetKeys(keyPrefix: string): { bucket: string; pause: string } {
  return { bucket: `${keyPrefix}budget:bucket`, pause: `${keyPrefix}budget:pause` };
}

/**
 * KEYS[1] bucket hash, KEYS[2] pause key; ARGV[1] burst, ARGV[2] refill per ms, ARGV[3] `take`
 * or `refund`, ARGV[4] bucket TTL ms. Returns {granted 1/0, tokens left (string), pause left ms}.
 */
const TAKE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local burst = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * perMs)
  at = now
end
local pause = redis.call('PTTL', KEYS[2])
if pause < 0 then pause = 0 end
local granted = 0
if ARGV[3] == 'refund' then
  tokens = math.min(burst, tokens + 1)
elseif pause == 0 and tokens >= 1 then
  tokens = tokens - 1
  granted = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', string.format('%.3f', at))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {granted, string.format('%.6f', tokens), pause}
`;

/** KEYS[1] pause key; ARGV[1] ms. Sets the pause unless a longer one runs. Returns the pause left, ms. */
const PAUSE_LUA = `
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
  return tonumber(ARGV[1])
end
return left
`;

type ScriptedRedis = Redis & {
  gwBudgetTake(bucket: string, pause: string, burst: string, perMs: string, op: string, ttlMs: string): Promise<[number, string, number]>;
  gwBudgetPause(pause: string, ms: string): Promise<number>;
};

type Waiter = BudgetWaiter;
const zero = zeroPerPriority;

/** See the file comment. Construct one per instance, with the same options on every instance. */
export class RedisRequestBudget implements RequestBudget {
  private readonly redis: ScriptedRedis;
  private readonly keys: { bucket: string; pause: string };
  private readonly timers: Timers;
  private readonly burst: number;
  /** Refill rate, tokens per ms. */
  private readonly perMs: number;
  private readonly bucketTtlMs: number;
  /** Waiters per priority rank (BUDGET_PRIORITIES order), FIFO. */
  private readonly queues: Waiter[][] = [[], [], [], []];
  /** Tokens Redis last reported, and when (local ms). */
  private knownTokens: number;
  private knownAt: number;
  /** Local ms until which grants are paused (this instance's 429s and the shared pause as last seen). */
  private pausedUntil = 0;
  private pumping = false;
  private closed = false;
  private cancelWait?: () => void;
  private wake?: () => void;
  private readonly granted = zero();
  private readonly refused = zero();

  /** @throws Error when `requestsPerMinute` is below 1. */
  constructor(private readonly options: RedisRequestBudgetOptions) {
    if (!(options.requestsPerMinute >= 1)) throw new Error("requestsPerMinute must be >= 1");
    this.redis = options.redis as ScriptedRedis;
    if (typeof this.redis.gwBudgetTake !== "function") this.redis.defineCommand("gwBudgetTake", { numberOfKeys: 2, lua: TAKE_LUA });
    if (typeof this.redis.gwBudgetPause !== "function") this.redis.defineCommand("gwBudgetPause", { numberOfKeys: 1, lua: PAUSE_LUA });
    this.keys = redisBudgetKeys(options.keyPrefix);
    this.timers = options.timers ?? systemTimers;
    ({ burst: this.burst, perMs: this.perMs } = bucketShape(options.requestsPerMinute, options.burst));
    this.bucketTtlMs = Math.ceil(this.burst / this.perMs) + 1_000;
    this.knownTokens = this.burst;
    this.knownAt = this.timers.now();
  }

  /** {@inheritDoc RequestBudget.take} */
  take(priority: BudgetPriority, deadline = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.closed) return Promise.reject(new BudgetExhaustedError(priority, Number.POSITIVE_INFINITY));
    const rank = BUDGET_PRIORITIES.indexOf(priority);
    const now = this.timers.now();
    const ahead = this.queues.slice(0, rank + 1).reduce((n, q) => n + q.length, 0);
    const waitMs = this.estimate(ahead, now);
    if (now + waitMs > deadline) {
      this.refuse(priority);
      return Promise.reject(new BudgetExhaustedError(priority, waitMs));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { priority, deadline, queuedAt: now, resolve, reject };
      if (Number.isFinite(deadline)) {
        waiter.cancelDeadline = this.timers.schedule(() => {
          const queue = this.queues[rank]!;
          const index = queue.indexOf(waiter);
          if (index < 0) return;
          queue.splice(index, 1);
          this.refuse(priority);
          reject(new BudgetExhaustedError(priority, this.estimate(index, this.timers.now())));
        }, Math.max(0, deadline - now));
      }
      this.queues[rank]!.push(waiter);
      void this.pump();
    });
  }

  /** {@inheritDoc RequestBudget.pause} Shared: sets `<prefix>budget:pause` with PX `ms` (errors go to `onError`). */
  pause(ms: number): void {
    const duration = Math.max(0, Math.ceil(ms));
    this.pausedUntil = Math.max(this.pausedUntil, this.timers.now() + duration);
    if (duration === 0 || this.closed) return;
    this.redis.gwBudgetPause(this.keys.pause, String(duration)).catch((error: unknown) => this.options.onError?.(error));
  }

  /** {@inheritDoc RequestBudget.stats} `tokens` is this instance's view (what Redis last reported, refilled since). */
  stats(): BudgetStats {
    const now = this.timers.now();
    const waiting = zero();
    for (const queue of this.queues) for (const w of queue) waiting[w.priority] += 1;
    return {
      tokens: this.tokensAt(now),
      waiting,
      pausedUntil: this.pausedUntil > now ? this.pausedUntil : 0,
      granted: { ...this.granted },
      refused: { ...this.refused },
    };
  }

  /** {@inheritDoc RequestBudget.close} Never closes `redis`. */
  close(): void {
    this.closed = true;
    this.cancelWait?.();
    this.wake?.();
    for (const queue of this.queues) {
      for (const w of queue.splice(0)) {
        w.cancelDeadline?.();
        w.reject(new BudgetExhaustedError(w.priority, Number.POSITIVE_INFINITY));
      }
    }
  }

  /** Asks Redis for one token at a time while anyone waits; each token goes to the highest-priority waiter when it arrives. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    let retryMs = 0;
    try {
      while (!this.closed && this.queues.some((q) => q.length > 0)) {
        const now = this.timers.now();
        if (now < this.pausedUntil) {
          await this.sleep(this.pausedUntil - now);
          continue;
        }
        let reply: [number, string, number];
        try {
          reply = await this.redis.gwBudgetTake(this.keys.bucket, this.keys.pause, String(this.burst), String(this.perMs), "take", String(this.bucketTtlMs));
          retryMs = 0;
        } catch (error) {
          this.options.onError?.(error);
          retryMs = Math.min(1_000, retryMs === 0 ? 50 : retryMs * 2);
          await this.sleep(retryMs);
          continue;
        }
        const at = this.timers.now();
        const [granted, tokens, pauseLeft] = reply;
        this.knownTokens = Number(tokens);
        this.knownAt = at;
        if (pauseLeft > 0) this.pausedUntil = Math.max(this.pausedUntil, at + pauseLeft);
        if (Number(granted) === 1) {
          const waiter = this.queues.find((q) => q.length > 0)?.shift();
          if (waiter) this.grant(waiter, at);
          else this.refund();
          continue;
        }
        if (pauseLeft > 0) continue; // sleeps until the pause ends at the top of the loop
        await this.sleep(Math.max(1, Math.ceil((1 - this.knownTokens) / this.perMs)));
      }
    } finally {
      this.pumping = false;
    }
  }

  private grant(waiter: Waiter, now: number): void {
    waiter.cancelDeadline?.();
    this.granted[waiter.priority] += 1;
    this.options.onGrant?.(waiter.priority, now - waiter.queuedAt);
    waiter.resolve();
  }

  private refuse(priority: BudgetPriority): void {
    this.refused[priority] += 1;
    this.options.onRefuse?.(priority);
  }

  /** Gives back a token whose waiter left (deadline) while it was being taken. */
  private refund(): void {
    this.redis
      .gwBudgetTake(this.keys.bucket, this.keys.pause, String(this.burst), String(this.perMs), "refund", String(this.bucketTtlMs))
      .catch((error: unknown) => this.options.onError?.(error));
  }

  /** Tokens by this instance's view at `now`. */
  private tokensAt(now: number): number {
    return Math.min(this.burst, this.knownTokens + Math.max(0, now - this.knownAt) * this.perMs);
  }

  /** ms until a caller with `ahead` local waiters before it would be granted, by this instance's view. */
  private estimate(ahead: number, now: number): number {
    const tokens = this.tokensAt(now);
    const pause = Math.max(0, this.pausedUntil - now);
    const missing = Math.max(0, ahead + 1 - tokens);
    const refillDuringPause = Math.min(this.burst - tokens, pause * this.perMs);
    return pause + Math.max(0, missing - Math.max(0, refillDuringPause)) / this.perMs;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.cancelWait = this.timers.schedule(resolve, Math.max(0, Math.ceil(ms)));
    });
  }
}
