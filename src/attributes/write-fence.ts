/**
 * The write fence port of `updateAttributes`: the right to write one participant's attributes,
 * held for one update and checked right before each PATCH and each re-send.
 *
 * In one process the updater's in-process KeyedLock already serializes the writes to a
 * participant, so the default ({@link IN_PROCESS_WRITE_FENCE}) always holds. With several
 * instances the fence is a lease in Redis per participant (src/cluster/write-lease.ts), taken
 * inside the KeyedLock, so writes to one participant are serialized across the cluster, and an
 * instance whose lease expired or was lost (Redis gone) sends nothing more under it.
 *
 * What it cannot do: Genesys has no conditional write (no version, ETag or If-Match), so a PATCH
 * checked a moment before it was sent may still arrive after the lease has passed on (a slow
 * network, a paused process); and Architect flows or other clients write without any lease.
 * The fence saves work (a second writer reads the first one's result instead of racing it) and
 * orders the gateway's own writes; the verify loop still decides what Genesys actually shows.
 */

/** The participant a fence is for. */
export interface FenceTarget {
  /** Genesys conversation id. */
  conversationId: string;
  /** Genesys participant id within it. */
  participantId: string;
}

/** A fence held for one update. */
export interface HeldWriteFence {
  /** The lease's fence number (grows with every acquisition of this participant's lease; 0 in one process). */
  readonly fence: number;
  /** Whether it is still held (one Redis round trip with several instances); false when lost or when the store cannot tell (Redis down). Never throws. */
  check(): Promise<boolean>;
  /** Gives it up (best effort; never throws). */
  release(): Promise<void>;
}

/** Why a fence could not be taken. */
export type WriteFenceRefusal =
  /** Another instance held the participant's write lease until the update's deadline. */
  | "HELD_ELSEWHERE"
  /** The lease store (Redis) could not be reached. */
  | "STORE_UNAVAILABLE"
  /** The fence was taken but lost before anything was sent (expired, or Redis lost it). */
  | "LOST";

/** Where updates take their write fence. */
export interface WriteFence {
  /**
   * Takes the fence of `target` for an update that must end by `deadline` (epoch ms, on the
   * updater's clock), waiting while another instance holds it.
   * @throws WriteFenceUnavailableError when it cannot be taken before the deadline
   *   (`HELD_ELSEWHERE`) or the store fails (`STORE_UNAVAILABLE`).
   */
  acquire(target: FenceTarget, deadline: number): Promise<HeldWriteFence>;
}

/** The update's write fence could not be taken or was lost before anything was sent: nothing was written. */
export class WriteFenceUnavailableError extends Error {
  override name = "WriteFenceUnavailableError";

  /** @param reason why (see {@link WriteFenceRefusal}); @param message one sentence for the caller. */
  constructor(
    readonly reason: WriteFenceRefusal,
    message: string,
  ) {
    super(message);
  }
}

const ALWAYS_HELD: HeldWriteFence = { fence: 0, check: async () => true, release: async () => undefined };

/** One process: the KeyedLock in front is the whole serialization, so the fence always holds. */
export const IN_PROCESS_WRITE_FENCE: WriteFence = { acquire: async () => ALWAYS_HELD };
