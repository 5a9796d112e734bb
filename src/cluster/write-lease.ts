/**
 * The per-participant write fence of several instances (issue 10): a fenced lease per
 * participant (key `write:<conversationId>:<participantId>`, src/cluster/lease.ts), taken by the
 * updater inside its in-process lock, with a TTL equal to the update's remaining deadline, and
 * checked (compare fence, still held: one round trip) right before each PATCH and re-send.
 */
import type { Logger } from "../logger.js";
import type { Timers } from "../timers.js";
import { WriteFenceUnavailableError, type FenceTarget, type HeldWriteFence, type WriteFence } from "../attributes/write-fence.js";
import { describeRedisError } from "./redis-errors.js";
import { waitForLease, type LeaseStore } from "./lease.js";

/** The lease key of one participant's writes. */
export function writeLeaseKey(target: FenceTarget): string {
  return `write:${target.conversationId}:${target.participantId}`;
}

/** Options of {@link LeaseWriteFence}. */
export interface LeaseWriteFenceOptions {
  /** The cluster's lease store (RedisLeaseStore; InMemoryLeaseStore in tests). */
  store: LeaseStore;
  /** This instance's id (the lease owner; one update at a time per participant and instance, by the KeyedLock). */
  owner: string;
  /** Clock and scheduler of the waits between attempts; its clock must be the updater's. */
  timers: Timers;
  /** Lease taken (debug) and store failures (warn, reason without the Redis URL); none when absent. */
  logger?: Logger;
}

/** {@link WriteFence} on fenced leases: see the file comment. */
export class LeaseWriteFence implements WriteFence {
  /** @param options store, owner and timers ({@link LeaseWriteFenceOptions}). */
  constructor(private readonly options: LeaseWriteFenceOptions) {}

  /**
   * See {@link WriteFence.acquire}: waits (backoff 10 → 250 ms) until `deadline` while another
   * instance holds the lease; the lease's TTL is what is left until `deadline` when it is taken.
   */
  async acquire(target: FenceTarget, deadline: number): Promise<HeldWriteFence> {
    const { store, owner, timers, logger } = this.options;
    const key = writeLeaseKey(target);
    const ttlMs = Math.ceil(deadline - timers.now());
    if (ttlMs <= 0) throw new WriteFenceUnavailableError("HELD_ELSEWHERE", "The update's deadline passed before its write lease could be taken; nothing was sent.");
    // Each attempt asks for what is left of the deadline then, so a lease taken after waiting
    // still ends at the deadline (a crashed holder blocks the others no longer than needed).
    const untilDeadline: LeaseStore = {
      tryAcquire: (k, o) => store.tryAcquire(k, o, Math.max(1, Math.ceil(deadline - timers.now()))),
      current: (k) => store.current(k),
    };
    let lease;
    try {
      lease = await waitForLease(untilDeadline, key, owner, ttlMs, { deadline, timers });
    } catch (error) {
      logger?.warn({ key, reason: describeRedisError(error) }, "write lease store unavailable");
      throw new WriteFenceUnavailableError(
        "STORE_UNAVAILABLE",
        "The cluster's write lease for this participant could not be taken (Redis is unavailable); nothing was sent. Retry once the gateway is ready again.",
      );
    }
    if (!lease) {
      throw new WriteFenceUnavailableError(
        "HELD_ELSEWHERE",
        "Another gateway instance held this participant's write lease until this update's deadline; nothing was sent. Retry, with expectedVersion from a fresh read.",
      );
    }
    const held = lease;
    logger?.debug({ key, fence: held.fence }, "write lease taken");
    return {
      fence: held.fence,
      check: async () => {
        try {
          return await held.check();
        } catch (error) {
          logger?.warn({ key, fence: held.fence, reason: describeRedisError(error) }, "write lease cannot be checked: counted as lost");
          return false;
        }
      },
      release: async () => {
        await held.release().catch(() => undefined);
      },
    };
  }
}
