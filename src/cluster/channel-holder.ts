/**
 * Election of the cluster's one **channel holder**: the instance that holds the Genesys
 * notification channels and is the only one that appends to the shared change log.
 *
 * Every instance runs a {@link ChannelHolder} on the same lease key (`channels`). A follower
 * tries to take the lease every `renewEveryMs`; the holder renews it every `renewEveryMs`
 * (default a third of the TTL, so two renewals may fail before it expires). The holder steps
 * down (`deposed`) when a renewal answers "lost", when it could not renew before its lease would
 * have run out (Redis unreachable or slow: it can no longer prove it holds it), when an append is
 * refused as stale ({@link ChannelHolder.noteAppendError}), or when stopped. A holder that dies
 * is replaced within `ttlMs + renewEveryMs` (default ≤ 13.4 s).
 *
 * The lease's fence (`elected(fence)`) is what the change log's fenced append compares against
 * ({@link ChannelHolder.fenceToken}); a deposed holder that has not noticed yet is refused there.
 */
import { EventEmitter } from "node:events";
import type { Logger } from "../logger.js";
import { systemTimers, type Timers } from "../timers.js";
import { redisLeaseKeys, type Lease, type LeaseStore } from "./lease.js";

/** The lease key of the channel holder. */
export const CHANNEL_HOLDER_LEASE = "channels";

/** Options of {@link ChannelHolder}. Durations in ms. */
export interface ChannelHolderOptions {
  /** Where the lease lives (RedisLeaseStore across instances; InMemoryLeaseStore in tests). */
  leases: LeaseStore;
  /** This instance's id (unique per process run, e.g. hostname + pid + random). */
  owner: string;
  /** Lease key. Default {@link CHANNEL_HOLDER_LEASE}. */
  key?: string;
  /** Lease TTL. Default 10 000. */
  ttlMs?: number;
  /** How often the holder renews and a follower tries to take the lease. Default `floor(ttlMs / 3)`. */
  renewEveryMs?: number;
  /** Default {@link systemTimers}; tests inject virtual ones. */
  timers?: Timers;
  /** Election and step-down lines (fence, reason); none when absent. */
  logger?: Logger;
}

/** Events of {@link ChannelHolder}; listeners run synchronously and must not throw. */
export interface ChannelHolderEvents {
  /** This instance took the lease with this fence: it is the holder now. */
  elected: [fence: number];
  /** This instance is no longer the holder (why, in words). */
  deposed: [reason: string];
}

/** See the file comment. */
export class ChannelHolder extends EventEmitter<ChannelHolderEvents> {
  private readonly key: string;
  private readonly ttlMs: number;
  private readonly renewEveryMs: number;
  private readonly timers: Timers;
  private held?: Lease;
  /** Epoch ms until which the held lease is surely ours (send time of the last successful renewal + TTL). */
  private validUntil = 0;
  private cancelTick?: () => void;
  private cancelExpiry?: () => void;
  private running = false;
  private busy = false;
  /** The attempt (acquire or renew) under way, for {@link stop} to wait on. */
  private inflight?: Promise<void>;

  /** @param options see {@link ChannelHolderOptions}. @throws RangeError when `renewEveryMs` is not below `ttlMs`. */
  constructor(private readonly options: ChannelHolderOptions) {
    super();
    this.key = options.key ?? CHANNEL_HOLDER_LEASE;
    this.ttlMs = options.ttlMs ?? 10_000;
    this.renewEveryMs = options.renewEveryMs ?? Math.floor(this.ttlMs / 3);
    if (!(this.renewEveryMs > 0 && this.renewEveryMs < this.ttlMs)) throw new RangeError("renewEveryMs must be > 0 and below ttlMs");
    this.timers = options.timers ?? systemTimers;
  }

  /** Starts trying to take (then renewing) the lease; the first attempt runs at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /**
   * Stops the loop; a holder emits `deposed("stopped")` and releases the lease so another instance
   * takes it at once. Waits first for an attempt under way (a lease it takes is released too), so
   * the store's connection may be closed once this resolves.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.cancelTick?.();
    this.cancelTick = undefined;
    await this.inflight;
    const lease = this.held;
    this.depose("stopped");
    await lease?.release().catch(() => undefined);
  }

  /** Whether this instance holds the lease (as far as it knows: check the fence where it matters). */
  get isHolder(): boolean {
    return this.held !== undefined;
  }

  /** The held lease's fence, or undefined when not the holder. */
  get fence(): number | undefined {
    return this.held?.fence;
  }

  /** `{key, fence}` of the held lease (`key` as given, unprefixed), or undefined when not the holder. See {@link redisFence}. */
  fenceToken(): { key: string; fence: number } | undefined {
    return this.held && { key: this.key, fence: this.held.fence };
  }

  /**
   * For `RedisChangeLog`'s `fence` option: `{key, fence}` with `key` the full Redis key of the
   * lease under `keyPrefix` (the {@link RedisLeaseStore} layout), or undefined when not the holder
   * (the log then refuses every append).
   */
  redisFence(keyPrefix: string): { key: string; fence: number } | undefined {
    return this.held && { key: redisLeaseKeys(keyPrefix, this.key).lease, fence: this.held.fence };
  }

  /** One round trip: true while the lease is still held with this instance's fence (false when not the holder or Redis fails). */
  async stillHolds(): Promise<boolean> {
    const lease = this.held;
    if (!lease) return false;
    return lease.check().catch(() => false);
  }

  /**
   * Steps down now (emits `deposed(reason)` when holding) and gives the lease up if still ours;
   * the loop goes on as a follower and may be elected again later.
   */
  stepDown(reason: string): void {
    const lease = this.held;
    if (!lease) return;
    this.depose(reason);
    void lease.release().catch(() => undefined);
  }

  /**
   * For the change feed's append errors: a `StaleFenceError` (the change log refused an append
   * because another instance holds the lease now) makes this instance step down.
   * @returns true when it stepped down.
   */
  noteAppendError(error: unknown): boolean {
    const name = (error as { name?: unknown } | null)?.name;
    if (name !== "StaleFenceError" || !this.held) return false;
    this.stepDown("an append was refused: another instance holds the channels lease");
    return true;
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.cancelTick?.();
    this.cancelTick = this.timers.schedule(() => {
      this.cancelTick = undefined;
      void this.tick();
    }, delayMs);
  }

  private async tick(): Promise<void> {
    if (!this.running || this.busy) return;
    this.busy = true;
    const attempt = this.held ? this.renew(this.held) : this.acquire();
    this.inflight = attempt.catch(() => undefined);
    try {
      await attempt;
    } finally {
      this.busy = false;
      this.inflight = undefined;
      this.schedule(this.renewEveryMs);
    }
  }

  private async acquire(): Promise<void> {
    const sentAt = this.timers.now();
    let lease: Lease | null;
    try {
      lease = await this.options.leases.tryAcquire(this.key, this.options.owner, this.ttlMs);
    } catch (error) {
      this.options.logger?.warn({ err: String(error) }, "could not try the channels lease");
      return;
    }
    if (!lease) return;
    if (!this.running) {
      await lease.release().catch(() => undefined);
      return;
    }
    this.held = lease;
    this.extend(sentAt);
    this.options.logger?.info({ fence: lease.fence }, "elected channel holder");
    this.emit("elected", lease.fence);
  }

  private async renew(lease: Lease): Promise<void> {
    const sentAt = this.timers.now();
    let renewed: boolean;
    try {
      renewed = await lease.renew(this.ttlMs);
    } catch (error) {
      this.options.logger?.warn({ err: String(error) }, "could not renew the channels lease");
      // Step down before the lease may have run out without us knowing.
      if (this.held === lease && this.timers.now() + this.renewEveryMs >= this.validUntil) this.depose("the channels lease could not be renewed in time");
      return;
    }
    if (this.held !== lease) return;
    if (renewed) this.extend(sentAt);
    else this.depose("the channels lease was lost");
  }

  /** Records a successful acquisition or renewal sent at `sentAt`, and arms the expiry watchdog. */
  private extend(sentAt: number): void {
    this.validUntil = sentAt + this.ttlMs;
    this.cancelExpiry?.();
    const lease = this.held;
    this.cancelExpiry = this.timers.schedule(() => {
      if (this.held === lease) this.depose("the channels lease expired without a renewal");
    }, Math.max(0, this.validUntil - this.timers.now()));
  }

  private depose(reason: string): void {
    this.cancelExpiry?.();
    this.cancelExpiry = undefined;
    if (!this.held) return;
    const fence = this.held.fence;
    this.held = undefined;
    this.options.logger?.warn({ fence, reason }, "no longer the channel holder");
    this.emit("deposed", reason);
  }
}
