/**
 * Background reconciliation: re-reads watched conversations to heal notifications Genesys
 * dropped without a socket drop (delivery is at-most-once), re-lists watched queues to find
 * conversations that entered them while their queue notification was dropped, and confirms
 * suspect notifications (see ChangeTracker) soonest.
 *
 * Reads are paced by a token bucket of `requestsPerMinute` (a share of the Genesys budget,
 * default 20 % of 300/min = 60/min) holding at most `burst` tokens. Confirmations of suspect
 * conversations go first and may use any token; the sweep keeps `reserve` tokens back for
 * them. A sweep round lists every watched queue (one queue observations query each), then
 * re-reads every watched conversation, one token per request. With Q watched queues, N watched
 * conversations and the default rate, a round (the reconciliation period) takes about Q + N
 * seconds.
 */
import { systemTimers, type Timers } from "../timers.js";
/** Options of {@link Reconciler}. */
export interface ReconcilerOptions {
  /** Re-reads one conversation (fresh); failures are the reader's to log. */
  read: (conversationId: string) => Promise<void>;
  /** Conversations the sweep covers (watched and not ended), asked at the start of every round. */
  watched: () => string[];
  /** Queues the sweep re-lists, asked at the start of every round. Default none. */
  watchedQueues?: () => string[];
  /** Lists one queue's live conversations and takes in those not known yet; failures are the lister's to log. */
  listQueue?: (queueId: string) => Promise<void>;
  /** Reads per minute this loop may spend. */
  requestsPerMinute: number;
  /** Most tokens held (reads sent at once after a quiet spell). Default 5. */
  burst?: number;
  /** Tokens the sweep leaves for confirmations. Default 2 (capped below `burst`). */
  reserve?: number;
  timers?: Timers;
  /** Called when a read (or a queue listing: the id is the queue's) fails; it is retried at the next round or confirmation. */
  onError?: (id: string, error: unknown) => void;
}

/** One request of a sweep round. */
type SweepItem = { kind: "queue"; queueId: string } | { kind: "conversation"; conversationId: string };

/** See the file comment. */
export class Reconciler {
  private readonly suspects = new Set<string>();
  private round: SweepItem[] = [];
  private tokens: number;
  private refilledAt: number;
  private cancel?: () => void;
  private wakeAt = Number.POSITIVE_INFINITY;
  private running = false;
  private readonly timers: Timers;
  private readonly burst: number;
  private readonly reserve: number;
  private readonly perMs: number;
  /** Reads started (for tests and metrics). */
  reads = 0;
  /** Requests started, by why: confirming a suspect conversation, the sweep's conversation reads, its queue listings (for metrics). */
  readonly readsByReason = { confirm: 0, sweep: 0, queue: 0 };

  constructor(private readonly options: ReconcilerOptions) {
    if (!(options.requestsPerMinute > 0)) throw new Error("requestsPerMinute must be > 0");
    this.timers = options.timers ?? systemTimers;
    this.burst = Math.max(1, options.burst ?? 5);
    this.reserve = Math.min(this.burst - 1, Math.max(0, options.reserve ?? 2));
    this.perMs = options.requestsPerMinute / 60_000;
    // Start with the reserve only: confirmations can run at once, the sweep waits for its budget.
    this.tokens = this.reserve;
    this.refilledAt = this.timers.now();
  }

  /** Starts the loop. */
  start(): void {
    this.running = true;
    this.wake(0);
  }

  /** Stops the loop (reads in flight finish). */
  stop(): void {
    this.running = false;
    this.cancel?.();
    this.cancel = undefined;
    this.wakeAt = Number.POSITIVE_INFINITY;
  }

  /** Asks for a confirming read of a conversation as soon as a token allows. */
  suspect(conversationId: string): void {
    this.suspects.add(conversationId);
    this.wake(0);
  }

  /** Conversations waiting for a confirming read. */
  get suspected(): number {
    return this.suspects.size;
  }

  private wake(delayMs: number): void {
    if (!this.running) return;
    const at = this.timers.now() + delayMs;
    if (at >= this.wakeAt) return;
    this.cancel?.();
    this.wakeAt = at;
    this.cancel = this.timers.schedule(() => {
      this.wakeAt = Number.POSITIVE_INFINITY;
      this.cancel = undefined;
      this.tick();
    }, delayMs);
  }

  private tick(): void {
    if (!this.running) return;
    this.refill();
    while (this.suspects.size > 0 && this.tokens >= 1) {
      const id = this.suspects.values().next().value as string;
      this.suspects.delete(id);
      this.readsByReason.confirm += 1;
      this.spend(id);
    }
    while (this.suspects.size === 0 && this.tokens >= 1 + this.reserve) {
      const item = this.nextInRound();
      if (item === undefined) break;
      if (item.kind === "queue") this.spendOnQueue(item.queueId);
      else {
        this.readsByReason.sweep += 1;
        this.spend(item.conversationId);
      }
    }
    const idle = this.suspects.size === 0 && this.round.length === 0 && this.options.watched().length === 0 && this.queues().length === 0;
    const needed = this.suspects.size > 0 ? 1 : 1 + this.reserve;
    const wait = idle ? 1_000 : Math.max(1, Math.ceil((needed - this.tokens) / this.perMs));
    this.wake(wait);
  }

  private nextInRound(): SweepItem | undefined {
    if (this.round.length === 0) {
      this.round = [
        ...this.queues().map((queueId): SweepItem => ({ kind: "queue", queueId })),
        ...this.options.watched().map((conversationId): SweepItem => ({ kind: "conversation", conversationId })),
      ];
    }
    return this.round.shift();
  }

  private queues(): string[] {
    return this.options.listQueue ? (this.options.watchedQueues?.() ?? []) : [];
  }

  private spendOnQueue(queueId: string): void {
    this.tokens -= 1;
    this.readsByReason.queue += 1;
    this.options.listQueue!(queueId).catch((error: unknown) => this.options.onError?.(queueId, error));
  }

  private spend(conversationId: string): void {
    this.tokens -= 1;
    this.reads += 1;
    this.options.read(conversationId).catch((error: unknown) => this.options.onError?.(conversationId, error));
  }

  private refill(): void {
    const now = this.timers.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) * this.perMs);
    this.refilledAt = now;
  }
}
