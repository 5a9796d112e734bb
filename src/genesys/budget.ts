/**
 * The Genesys request budget: one governor in front of every Platform API call.
 *
 * Genesys limits requests per OAuth client token (shared/genesys/README.md, "Rate limits":
 * 300 per minute [likely], counted in a fixed 60 s window by the emulator; over it → 429 with
 * `Retry-After` in seconds). Everything the gateway does shares that budget, so calls wait here
 * for a token instead of meeting a 429:
 * - a token bucket of `burst` tokens refilled at `(requestsPerMinute − burst)` per minute, so no
 *   60 s window (fixed or sliding) ever holds more than `requestsPerMinute` grants;
 * - priorities, FIFO within each: `confirm` (a write under way: its PATCH, re-sends and verify
 *   reads — finishing a started write first, so budget spent on its first read is not wasted —
 *   and client-credentials logins, which every other call may be waiting on),
 *   then `write` (the read that starts a write), then `read` (queries, subscription baselines),
 *   then `background` (reconciliation, re-reads after a reconnect);
 * - a 429 from Genesys pauses every grant for its `Retry-After`;
 * - a caller whose turn cannot come before its deadline is refused at once with
 *   {@link BudgetExhaustedError} (GraphQL code `UPSTREAM_BUDGET_EXHAUSTED`) instead of piling up;
 *   one still queued when its deadline passes is refused then.
 *
 * {@link RequestBudget} is the seam: {@link InMemoryRequestBudget} is the one-process default,
 * pure apart from its injected timers (tested with a virtual clock in test/genesys/budget.test.ts);
 * `RedisRequestBudget` (./redis-budget.ts) shares one bucket between instances on one Redis.
 */
import { systemTimers, type Timers } from "../timers.js";

/** Who a call is for, highest first (see the file comment). */
export type BudgetPriority = "confirm" | "write" | "read" | "background";

/** Every priority, in grant order (for metrics). */
export const BUDGET_PRIORITIES: readonly BudgetPriority[] = ["confirm", "write", "read", "background"];

const RANK: Record<BudgetPriority, number> = { confirm: 0, write: 1, read: 2, background: 3 };

/** No budget could be granted before the caller's deadline (GraphQL code `UPSTREAM_BUDGET_EXHAUSTED`). Nothing was sent. */
export class BudgetExhaustedError extends Error {
  override name = "BudgetExhaustedError";
  readonly code = "UPSTREAM_BUDGET_EXHAUSTED";
  constructor(
    readonly priority: BudgetPriority,
    /** ms the caller would have had to wait (Infinity when unknown). */
    readonly waitMs: number,
  ) {
    super(
      `the Genesys request budget cannot serve this ${priority} call in time (${Number.isFinite(waitMs) ? `about ${Math.ceil(waitMs)} ms of queue ahead` : "queue full"}); nothing was sent to Genesys`,
    );
  }
}

/** A snapshot of the budget (for /metrics and tests). */
export interface BudgetStats {
  /** Tokens available now (fractional). */
  tokens: number;
  /** Callers waiting, by priority. */
  waiting: Record<BudgetPriority, number>;
  /** Epoch ms until which a 429 paused grants (0 when not paused). */
  pausedUntil: number;
  /** Grants so far, by priority. */
  granted: Record<BudgetPriority, number>;
  /** Refusals so far, by priority. */
  refused: Record<BudgetPriority, number>;
}

/** The governor's seam. */
export interface RequestBudget {
  /**
   * Waits for one request's worth of budget.
   * @param deadline epoch ms by which the grant must come (undefined: wait as long as it takes).
   * @throws BudgetExhaustedError when it cannot be granted before `deadline`.
   */
  take(priority: BudgetPriority, deadline?: number): Promise<void>;
  /** Genesys answered 429: no grant for `ms` (a longer pause already running is kept). */
  pause(ms: number): void;
  /** See {@link BudgetStats}. */
  stats(): BudgetStats;
  /** Refuses every waiter and stops the timer. */
  close(): void;
}

/**
 * The token bucket that keeps every 60 s window (fixed or sliding) within `requestsPerMinute`:
 * `burst` tokens at most, refilled at `(requestsPerMinute − burst)` per minute, so a full bucket
 * plus 60 s of refill is never more than the budget. Shared by the in-memory and Redis budgets.
 * @param requestsPerMinute the budget (≥ 1).
 * @param burst tokens held at most; default 5 % of the budget, clamped to [1, budget − 1].
 * @returns `burst` (tokens) and `perMs` (refill, tokens per ms).
 */
export function bucketShape(requestsPerMinute: number, burst?: number): { burst: number; perMs: number } {
  const rpm = requestsPerMinute;
  const held = Math.max(1, Math.min(rpm - 1 || 1, Math.floor(burst ?? rpm * 0.05)));
  return { burst: held, perMs: Math.max(1, rpm - held) / 60_000 };
}

/** Options of {@link InMemoryRequestBudget}. */
export interface InMemoryRequestBudgetOptions {
  /** The Genesys budget, requests per minute (`GENESYS_REQUESTS_PER_MINUTE`, default 300). */
  requestsPerMinute: number;
  /** Tokens held at most (calls sent at once after a quiet spell). Default 5 % of the budget, at least 1. */
  burst?: number;
  timers?: Timers;
  /** Told of every grant (ms waited) and refusal, for metrics. */
  onGrant?: (priority: BudgetPriority, waitedMs: number) => void;
  onRefuse?: (priority: BudgetPriority) => void;
}

/** A caller waiting for a grant, in a budget's local queue (deadline and queuedAt: epoch ms). */
export interface BudgetWaiter {
  priority: BudgetPriority;
  deadline: number;
  queuedAt: number;
  resolve: () => void;
  reject: (error: Error) => void;
  cancelDeadline?: () => void;
}

interface Waiter extends BudgetWaiter {
  rank: number;
}

/** A count per priority, all 0 (for {@link BudgetStats}). */
export const zeroPerPriority = (): Record<BudgetPriority, number> => ({ confirm: 0, write: 0, read: 0, background: 0 });
const zero = zeroPerPriority;

/** See the file comment. */
export class InMemoryRequestBudget implements RequestBudget {
  private readonly timers: Timers;
  private readonly burst: number;
  /** Refill rate, tokens per ms. */
  private readonly perMs: number;
  private tokens: number;
  private refilledAt: number;
  private pausedUntil = 0;
  /** Waiters per rank, FIFO. */
  private readonly queues: Waiter[][] = [[], [], [], []];
  private cancelWake?: () => void;
  private wakeAt = Number.POSITIVE_INFINITY;
  private readonly granted = zero();
  private readonly refused = zero();

  constructor(private readonly options: InMemoryRequestBudgetOptions) {
    if (!(options.requestsPerMinute >= 1)) throw new Error("requestsPerMinute must be >= 1");
    this.timers = options.timers ?? systemTimers;
    ({ burst: this.burst, perMs: this.perMs } = bucketShape(options.requestsPerMinute, options.burst));
    this.tokens = this.burst;
    this.refilledAt = this.timers.now();
  }

  /** {@inheritDoc RequestBudget.take} */
  take(priority: BudgetPriority, deadline = Number.POSITIVE_INFINITY): Promise<void> {
    this.refill();
    const rank = RANK[priority];
    const now = this.timers.now();
    const ahead = this.queues.slice(0, rank + 1).reduce((n, q) => n + q.length, 0);
    if (ahead === 0 && this.tokens >= 1 && now >= this.pausedUntil) {
      this.tokens -= 1;
      this.granted[priority] += 1;
      this.options.onGrant?.(priority, 0);
      return Promise.resolve();
    }
    const waitMs = this.estimate(ahead, now);
    if (now + waitMs > deadline) {
      this.refused[priority] += 1;
      this.options.onRefuse?.(priority);
      return Promise.reject(new BudgetExhaustedError(priority, waitMs));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { priority, rank, deadline, queuedAt: now, resolve, reject };
      if (Number.isFinite(deadline)) {
        waiter.cancelDeadline = this.timers.schedule(() => {
          const queue = this.queues[rank]!;
          const index = queue.indexOf(waiter);
          if (index < 0) return;
          queue.splice(index, 1);
          this.refused[priority] += 1;
          this.options.onRefuse?.(priority);
          reject(new BudgetExhaustedError(priority, this.estimate(index, this.timers.now())));
        }, Math.max(0, deadline - now));
      }
      this.queues[rank]!.push(waiter);
      this.schedule();
    });
  }

  /** {@inheritDoc RequestBudget.pause} */
  pause(ms: number): void {
    const until = this.timers.now() + Math.max(0, ms);
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    this.schedule();
  }

  /** {@inheritDoc RequestBudget.stats} */
  stats(): BudgetStats {
    this.refill();
    const waiting = zero();
    for (const queue of this.queues) for (const w of queue) waiting[w.priority] += 1;
    return {
      tokens: this.tokens,
      waiting,
      pausedUntil: this.pausedUntil > this.timers.now() ? this.pausedUntil : 0,
      granted: { ...this.granted },
      refused: { ...this.refused },
    };
  }

  /** {@inheritDoc RequestBudget.close} */
  close(): void {
    this.cancelWake?.();
    this.cancelWake = undefined;
    for (const queue of this.queues) {
      for (const w of queue.splice(0)) {
        w.cancelDeadline?.();
        w.reject(new BudgetExhaustedError(w.priority, Number.POSITIVE_INFINITY));
      }
    }
  }

  /** ms until a caller with `ahead` waiters before it would be granted. */
  private estimate(ahead: number, now: number): number {
    const pause = Math.max(0, this.pausedUntil - now);
    const missing = Math.max(0, ahead + 1 - this.tokens);
    // While paused the bucket keeps filling (up to burst): count that refill.
    const refillDuringPause = Math.min(this.burst - this.tokens, pause * this.perMs);
    return pause + Math.max(0, missing - Math.max(0, refillDuringPause)) / this.perMs;
  }

  private refill(): void {
    const now = this.timers.now();
    if (now > this.refilledAt) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) * this.perMs);
      this.refilledAt = now;
    }
  }

  /** Grants what can be granted now, then sets the timer for the next grant. */
  private drain(): void {
    this.wakeAt = Number.POSITIVE_INFINITY;
    this.cancelWake = undefined;
    this.refill();
    const now = this.timers.now();
    while (now >= this.pausedUntil && this.tokens >= 1) {
      const queue = this.queues.find((q) => q.length > 0);
      if (!queue) break;
      const waiter = queue.shift()!;
      waiter.cancelDeadline?.();
      this.tokens -= 1;
      this.granted[waiter.priority] += 1;
      this.options.onGrant?.(waiter.priority, now - waiter.queuedAt);
      waiter.resolve();
    }
    this.schedule();
  }

  private schedule(): void {
    if (!this.queues.some((q) => q.length > 0)) return;
    const now = this.timers.now();
    const at = Math.max(this.pausedUntil, now + Math.max(0, (1 - this.tokens) / this.perMs));
    if (at >= this.wakeAt) return;
    this.cancelWake?.();
    this.wakeAt = at;
    this.cancelWake = this.timers.schedule(() => this.drain(), Math.max(0, Math.ceil(at - now)));
  }
}
