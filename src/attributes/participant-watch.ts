/**
 * One participant's states from the change log, queued for the verify loop of one write
 * (see update.ts `ParticipantWatch`). The change feed pushes every entry appended for the
 * participant; `live` asks the feed whether its notifications are current.
 */
import type { AttributeMap } from "./attribute-map.js";
import type { ChangeEntry } from "./change-log.js";
import type { ParticipantWatch, WatchedState } from "./update.js";

/** See the file comment. */
export class ParticipantStates implements ParticipantWatch {
  private readonly queued: WatchedState[] = [];
  private waiter?: (state: WatchedState | undefined) => void;
  private closed = false;

  /**
   * @param participantId the participant whose entries are kept (others are ignored).
   * @param isLive whether the feed's notifications for the conversation are current.
   * @param onClose called once when the watch closes (the feed releases its share of the topic).
   */
  constructor(
    readonly participantId: string,
    private readonly isLive: () => boolean,
    private readonly onClose: () => void,
  ) {}

  /** Takes an entry appended to the log for this participant's conversation. */
  push(entry: ChangeEntry): void {
    if (this.closed || entry.participantId !== this.participantId) return;
    this.deliver({ participant: { ...entry.participant, attributes: entry.attributes }, changedKeys: entry.changes.map((c) => c.key), fromRead: entry.source === "read" });
  }

  private deliver(state: WatchedState): void {
    if (this.closed) return;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter(state);
    } else this.queued.push(state);
  }

  /**
   * Takes a notification of this participant that the log did not append (its order is unclear;
   * see ChangeTracker `Verdict.unconfirmed`): queued as an `unconfirmed` state naming `keys`.
   */
  hint(participantId: string, attributes: AttributeMap, keys: readonly string[], conversationId: string): void {
    if (participantId !== this.participantId) return;
    this.deliver({ participant: { id: participantId, conversationId, purpose: "unknown", attributes }, changedKeys: [...keys], unconfirmed: true });
  }

  /** {@inheritDoc ParticipantWatch.live} */
  live(): boolean {
    return !this.closed && this.isLive();
  }

  /** {@inheritDoc ParticipantWatch.next} */
  next(): Promise<WatchedState | undefined> {
    if (this.queued.length > 0) return Promise.resolve(this.queued.shift());
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** {@inheritDoc ParticipantWatch.drain} */
  drain(): WatchedState[] {
    return this.queued.splice(0);
  }

  /** {@inheritDoc ParticipantWatch.close} */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queued.length = 0;
    this.waiter?.(undefined);
    this.waiter = undefined;
    this.onClose();
  }
}
