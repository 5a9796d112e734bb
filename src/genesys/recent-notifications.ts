/**
 * Recognises a notification frame delivered more than once: Genesys notifications are
 * at-most-once but may be duplicated (shared/genesys/README.md, "Notifications": "Ordering and
 * duplicates: unknown — the gateway must tolerate both"), and a client with several channels
 * (or a socket replaced around a reconnect) can receive one event on two sockets.
 *
 * A frame is identified by its `topicName` and `metadata.CorrelationId` (the envelope
 * `{topicName, version, eventBody, metadata: {CorrelationId}}`): the pair names one event of
 * one topic. The topic is part of the key because nothing says Genesys never reuses a
 * correlation id for the events one change causes on different topics. Frames without a
 * CorrelationId are never treated as repeats (the change tracker still dedupes their state).
 */
import type { NotificationEnvelope } from "./notifications.js";

/** Options of {@link RecentNotifications}. */
export interface RecentNotificationsOptions {
  /** Most frame keys remembered (oldest forgotten first). Default 10 000 (about 1.5 MB). */
  capacity?: number;
  /** How long a frame key is remembered, ms. Default 300 000 (5 minutes). */
  maxAgeMs?: number;
  /** Clock, epoch ms. */
  now?: () => number;
}

/** See the file comment. */
export class RecentNotifications {
  /** Frame key → when first seen (epoch ms), in insertion order (oldest first). */
  private readonly seen = new Map<string, number>();
  private readonly capacity: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(options: RecentNotificationsOptions = {}) {
    this.capacity = Math.max(1, options.capacity ?? 10_000);
    this.maxAgeMs = options.maxAgeMs ?? 300_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * True when a frame with the same topic and CorrelationId was seen within the bounds (a
   * repeat to drop); otherwise remembers it and returns false.
   */
  isRepeat(envelope: NotificationEnvelope): boolean {
    const id = envelope.metadata?.CorrelationId;
    if (typeof id !== "string" || id.length === 0) return false;
    const key = `${envelope.topicName}\u0000${id}`;
    const now = this.now();
    this.expire(now);
    const at = this.seen.get(key);
    if (at !== undefined) return true;
    this.seen.set(key, now);
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value as string);
    return false;
  }

  /** Frame keys remembered now (for tests). */
  get size(): number {
    return this.seen.size;
  }

  private expire(now: number): void {
    for (const [key, at] of this.seen) {
      if (now - at <= this.maxAgeMs) return;
      this.seen.delete(key);
    }
  }
}
