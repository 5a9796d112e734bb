/**
 * What one `attributesChanged` subscriber reads: a bounded, push-fed async iterator over the
 * change log, able to start from a cursor (replay, then live) or from a snapshot, with no gap
 * and no duplicate.
 *
 * Life of a stream (driven by the change feed, ./change-feed.ts):
 * 1. created and registered in the fan-out index *before* any read, so nothing appended from
 *    then on is missed: matching entries are held while the start is being prepared;
 * 2. started one way:
 *    - {@link ChangeStream.startLive}: entries appended after registration;
 *    - {@link ChangeStream.startAfter}: every matching entry after a cursor, read from the log in
 *      pages as the consumer pulls, then the held live entries not already replayed;
 *    - {@link ChangeStream.startWithSnapshot}: one event per participant with its state as the
 *      log delivered it up to `seq`, then the held live entries after `seq`;
 * 3. a consumer that lets `limit` live events pile up (replayed and snapshot events do not
 *    count: they are read from the log page by page) is ended: its queue is dropped and the last
 *    item is a {@link SlowConsumerEnd} carrying the cursor of the last event it received, so it
 *    can resume with `after`. Producers are never blocked or thrown into;
 * 4. a stream can be interrupted ({@link ChangeStream.interrupt}: the shared change log became
 *    unavailable, several instances with Redis lost): the same, with an {@link InterruptedEnd}.
 * `onClose` runs exactly once, however the stream ends.
 */
import type { AttributeMap } from "./attribute-map.js";
import type { AttributeChange } from "./changes.js";
import type { ChangeEntry, ChangeLog, ParticipantInfo } from "./change-log.js";

/** One event as the subscriber receives it. */
export interface AttributesChangeEvent {
  kind: "change";
  /** Resume after this event with `attributesChanged(after: cursor)`. */
  cursor: string;
  conversationId: string;
  participantId: string;
  /** The changed keys (narrowed to the subscription's `keys`); for a snapshot every key, `previous: null`. */
  changes: readonly AttributeChange[];
  /** The participant's whole map afterwards. */
  attributes: AttributeMap;
  version: string;
  participant: ParticipantInfo;
  observedAt: Date;
  /** True for the events of `includeSnapshot`. */
  snapshot: boolean;
}

/** The last item of a stream ended for falling behind. */
export interface SlowConsumerEnd {
  kind: "slow-consumer";
  /** The cursor of the last event the subscriber received (or where it started). */
  cursor: string;
  /** How many events were waiting. */
  behind: number;
}

/** The last item of a stream ended because the change log became unavailable (several instances: Redis lost). */
export interface InterruptedEnd {
  kind: "interrupted";
  /** The cursor of the last event the subscriber received (or where it started): resume after it once the gateway is ready again. */
  cursor: string;
  /** Why, in words. */
  reason: string;
}

/** What a stream yields. */
export type StreamItem = AttributesChangeEvent | SlowConsumerEnd | InterruptedEnd;

/** Decides whether an entry is for this subscriber; returns the changes it sees, or undefined. */
export type EntryMatcher = (entry: ChangeEntry) => readonly AttributeChange[] | undefined;

/** A snapshot participant handed to {@link ChangeStream.startWithSnapshot}. */
export interface SnapshotParticipant {
  info: ParticipantInfo;
  attributes: AttributeMap;
  version: string;
  changes: readonly AttributeChange[];
}

/** Options of {@link ChangeStream}. */
export interface ChangeStreamOptions {
  log: ChangeLog;
  match: EntryMatcher;
  /** Events held for a consumer that is not reading before the stream ends with SLOW_CONSUMER. */
  limit: number;
  /** Entries read from the log per page while replaying. Default 256. */
  pageSize?: number;
  /** Clock for snapshot `observedAt`, epoch ms. */
  now?: () => number;
  /** Runs once when the stream ends for any reason (release topics and index slots here). */
  onClose: () => void;
  /** Called when the stream ends for falling behind. */
  onSlowConsumer?: (end: SlowConsumerEnd) => void;
}

type Phase = "starting" | "replay" | "live" | "closed";

/** See the file comment. */
export class ChangeStream implements AsyncIterableIterator<StreamItem> {
  private phase: Phase = "starting";
  /** Items ready for the consumer. */
  private readonly ready: StreamItem[] = [];
  /** Matching live entries received before the stream is live. */
  private held: ChangeEntry[] = [];
  /** Entries with `seq` ≤ this are never delivered live (replayed, or covered by a snapshot). */
  private coveredSeq: number;
  /** Live entries are complete from this seq on (entries ≤ it come from the log when replaying). */
  private liveFromSeq: number;
  private replayCursor = "";
  private lastCursor: string;
  private waiter?: () => void;
  private terminal = false;
  /**
   * Live events among `ready` (always its tail: replayed and snapshot events are queued before
   * the stream goes live). Only these count against `limit`.
   */
  private liveQueued = 0;

  constructor(private readonly options: ChangeStreamOptions) {
    this.coveredSeq = options.log.headSeq();
    this.liveFromSeq = this.coveredSeq;
    this.lastCursor = options.log.headCursor();
  }

  /** Hands an appended entry to the stream (from the fan-out index). Never throws. */
  offer(entry: ChangeEntry): void {
    if (this.phase === "closed" || entry.seq <= this.coveredSeq) return;
    const changes = this.options.match(entry);
    if (!changes) return;
    if (this.phase === "live") {
      this.coveredSeq = entry.seq;
      this.enqueue(toEvent(entry, changes));
      return;
    }
    this.held.push(entry);
    if (this.held.length > this.options.limit) {
      if (this.phase === "replay") {
        // The replay will read these from the log instead.
        this.held = [];
        this.liveFromSeq = entry.seq;
      } else this.slowConsumer(this.held.length);
    }
  }

  /** Starts with what is appended from registration on. */
  startLive(): void {
    if (this.phase !== "starting") return;
    this.goLive();
  }

  /** Starts with every matching entry after `cursor` (already checked), then live. */
  startAfter(cursor: string): void {
    if (this.phase !== "starting") return;
    this.replayCursor = cursor;
    this.lastCursor = cursor;
    this.phase = "replay";
    this.wake();
  }

  /**
   * Starts with one snapshot event per participant, as of log position `seq` (the head when the
   * snapshot was taken: every entry up to it is reflected), then the live entries after it.
   */
  startWithSnapshot(participants: readonly SnapshotParticipant[], seq: number, cursor: string): void {
    if (this.phase !== "starting") return;
    const observedAt = new Date((this.options.now ?? Date.now)());
    this.coveredSeq = Math.max(this.coveredSeq, seq);
    this.lastCursor = cursor;
    for (const p of participants) {
      this.ready.push({
        kind: "change",
        cursor,
        conversationId: p.info.conversationId,
        participantId: p.info.id,
        changes: p.changes,
        attributes: p.attributes,
        version: p.version,
        participant: p.info,
        observedAt,
        snapshot: true,
      });
    }
    this.goLive();
  }

  async next(): Promise<IteratorResult<StreamItem>> {
    for (;;) {
      const wasLive = this.ready.length <= this.liveQueued;
      const item = this.ready.shift();
      if (item !== undefined) {
        if (wasLive && this.liveQueued > 0) this.liveQueued -= 1;
        if (item.kind === "change") this.lastCursor = item.cursor;
        return { value: item, done: false };
      }
      if (this.phase === "closed") return { value: undefined, done: true };
      if (this.phase === "replay") {
        await this.replayPage();
        continue;
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Ends the stream from the consumer's side (graphql-ws `complete`, client gone). */
  return(): Promise<IteratorResult<StreamItem>> {
    this.ready.length = 0;
    this.liveQueued = 0;
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Ends the stream because of a consumer-side error. */
  throw(error?: unknown): Promise<IteratorResult<StreamItem>> {
    this.ready.length = 0;
    this.liveQueued = 0;
    this.close();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<StreamItem> {
    return this;
  }

  /** Ends the stream: a pending `next()` resolves (after any queued items), `onClose` runs once. */
  close(): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    this.held = [];
    this.wake();
    this.options.onClose();
  }

  /**
   * Ends the stream now because the change log cannot serve it (`reason`): events not yet read
   * are dropped (resuming after the returned end's cursor replays them) and the last item is an
   * {@link InterruptedEnd}. Does nothing on a stream already ending.
   */
  interrupt(reason: string): void {
    if (this.terminal || this.phase === "closed") return;
    this.terminal = true;
    this.ready.length = 0;
    this.liveQueued = 0;
    this.ready.push({ kind: "interrupted", cursor: this.lastCursor, reason });
    this.close();
  }

  /** Items waiting for the consumer (for tests and metrics). */
  get pending(): number {
    return this.ready.length + this.held.length;
  }

  private async replayPage(): Promise<void> {
    let page;
    try {
      page = await this.options.log.read(this.replayCursor, this.options.pageSize ?? 256);
    } catch {
      // The replay position left retention while the consumer was reading: it fell behind.
      this.slowConsumer(0);
      return;
    }
    if (this.phase !== "replay") return;
    for (const entry of page.entries) {
      if (entry.seq > this.liveFromSeq) {
        this.finishReplay();
        return;
      }
      this.replayCursor = entry.cursor;
      this.coveredSeq = entry.seq;
      const changes = this.options.match(entry);
      if (changes) this.ready.push(toEvent(entry, changes));
    }
    if (page.atHead || page.entries.length === 0) this.finishReplay();
  }

  private finishReplay(): void {
    this.goLive();
  }

  private goLive(): void {
    const held = this.held.filter((e) => e.seq > this.coveredSeq);
    this.held = [];
    this.phase = "live";
    for (const entry of held) {
      const changes = this.options.match(entry);
      if (!changes) continue;
      this.coveredSeq = entry.seq;
      this.enqueue(toEvent(entry, changes));
    }
    this.wake();
  }

  private enqueue(event: AttributesChangeEvent): void {
    if (this.terminal) return;
    this.ready.push(event);
    this.liveQueued += 1;
    if (this.liveQueued > this.options.limit) this.slowConsumer(this.liveQueued);
    else this.wake();
  }

  private slowConsumer(behind: number): void {
    if (this.terminal) return;
    this.terminal = true;
    const end: SlowConsumerEnd = { kind: "slow-consumer", cursor: this.lastCursor, behind };
    this.ready.length = 0;
    this.liveQueued = 0;
    this.ready.push(end);
    this.options.onSlowConsumer?.(end);
    this.close();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

/**
 * The event of the entry being fanned out (no `keys` narrowing), shared by every stream that
 * delivers it live: the fan-out hands one entry to all its streams in one go, so remembering
 * only the latest entry shares it without keeping events alive as long as the log keeps entries.
 */
let lastShared: { entry: ChangeEntry; event: AttributesChangeEvent } | undefined;

function toEvent(entry: ChangeEntry, changes: readonly AttributeChange[]): AttributesChangeEvent {
  if (changes !== entry.changes) return build(entry, changes);
  if (lastShared?.entry !== entry) lastShared = { entry, event: build(entry, changes) };
  return lastShared.event;
}

function build(entry: ChangeEntry, changes: readonly AttributeChange[]): AttributesChangeEvent {
  return {
    kind: "change",
    cursor: entry.cursor,
    conversationId: entry.conversationId,
    participantId: entry.participantId,
    changes,
    attributes: entry.attributes,
    version: entry.version,
    participant: entry.participant,
    observedAt: new Date(entry.observedAt),
    snapshot: false,
  };
}
