/**
 * The attribute write pipeline: accept → (maybe lose) → delay → visible, and the
 * ground-truth log of every accepted write (`GET /emulator/log`).
 *
 * Facts and assumptions (shared/genesys/README.md, "Writing attributes"): 202 means
 * accepted, not visible; the emulator makes a write visible after a delay drawn from
 * `visibilityDelayMs` and applies it as a per-key upsert (store.applyAttributes). Writes to
 * the same participant become visible in acceptance order: a write's due time is never
 * earlier than the previous write's to that participant. Due times are on the emulator
 * clock, so `POST /emulator/clock` can make pending writes visible at once ({@link flushDue}).
 */
import type { ConversationStore } from "./store.js";
import { drawBetween, type RandomFn } from "./random.js";

/** One entry of the ground-truth log; times are ISO-8601 strings. */
export interface WriteLogEntry {
  /** 1-based position in acceptance order (restarts at 1 after reset). */
  seq: number;
  /** When the write was accepted (the 202), emulator clock. */
  acceptedAt: string;
  /** When it became visible to readers, or null while pending and forever when lost. */
  visibleAt: string | null;
  /** True when the `lostWriteRate` draw dropped it: it was answered 202 but is never applied. */
  lost: boolean;
  /** OAuth client id of the writer (`architect-flow` for the demo background flow). */
  clientId: string;
  /** Target conversation id. */
  conversationId: string;
  /** Target participant id. */
  participantId: string;
  /** The attributes exactly as sent. */
  attributes: Record<string, string>;
}

/** Settings the pipeline reads at acceptance time (a view of the current faults). */
export interface WriteFaults {
  /** Delay range (ms) between acceptance and visibility; drawn uniformly per write. */
  visibilityDelayMs: { min: number; max: number };
  /** Probability in [0, 1] that an accepted write is never applied. */
  lostWriteRate: number;
  /** What `""` does to a key: stored as the empty string, or the key removed (see faults.ts). */
  clearedAttributes: "empty" | "removed";
}

interface PendingWrite {
  entry: WriteLogEntry;
  dueAt: number;
  /** The `clearedAttributes` fault when the write was accepted. */
  cleared: "empty" | "removed";
}

/** Options of {@link WritePipeline}. */
export interface WritePipelineOptions {
  /** The store visible writes are applied to (store.applyAttributes). */
  store: ConversationStore;
  /** Emulator clock, epoch ms. */
  now: () => number;
  /** Seeded stream for lost draws and delays; a getter so reset can swap the stream. */
  random: () => RandomFn;
  /** Current write faults, read at acceptance time. */
  faults: () => WriteFaults;
}

/** Accepts writes, schedules their visibility and keeps the log. */
export class WritePipeline {
  private entries: WriteLogEntry[] = [];
  private pending: PendingWrite[] = [];
  private lastDueByParticipant = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /** @param options store, clock, seeded random stream and fault getter */
  constructor(private readonly options: WritePipelineOptions) {}

  /**
   * Records an accepted write and schedules it (or drops it when the lost draw says so).
   * The caller has already validated the target; returns a copy of the log entry.
   */
  accept(clientId: string, conversationId: string, participantId: string, attributes: Record<string, string>): WriteLogEntry {
    const { now, faults } = this.options;
    const random = this.options.random();
    const settings = faults();
    const acceptedAt = now();
    const lost = random() < settings.lostWriteRate;
    const entry: WriteLogEntry = {
      seq: this.entries.length + 1,
      acceptedAt: new Date(acceptedAt).toISOString(),
      visibleAt: null,
      lost,
      clientId,
      conversationId,
      participantId,
      attributes: { ...attributes },
    };
    this.entries.push(entry);
    if (!lost) {
      const key = `${conversationId}/${participantId}`;
      const delay = drawBetween(random, settings.visibilityDelayMs.min, settings.visibilityDelayMs.max);
      const dueAt = Math.max(acceptedAt + delay, this.lastDueByParticipant.get(key) ?? 0);
      this.lastDueByParticipant.set(key, dueAt);
      this.pending.push({ entry, dueAt, cleared: settings.clearedAttributes });
      // Stable sort keeps acceptance order among equal due times.
      this.pending.sort((a, b) => a.dueAt - b.dueAt);
      this.flushDue();
    }
    return structuredClone(entry);
  }

  /** Applies every pending write whose due time has come (emulator clock), then re-arms the timer. */
  flushDue(): void {
    if (this.closed) return;
    const now = this.options.now();
    while (this.pending.length > 0 && this.pending[0]!.dueAt <= now) {
      const { entry, cleared } = this.pending.shift()!;
      entry.visibleAt = new Date(now).toISOString();
      try {
        this.options.store.applyAttributes(entry.conversationId, entry.participantId, entry.attributes, cleared);
      } catch {
        // The conversation vanished (cannot happen outside reset, which clears pending writes).
      }
    }
    this.arm();
  }

  /** Copies of all log entries in acceptance order. */
  log(): WriteLogEntry[] {
    return structuredClone(this.entries);
  }

  /** Drops pending writes and the log (used by reset). */
  clear(): void {
    this.entries = [];
    this.pending = [];
    this.lastDueByParticipant.clear();
    this.disarm();
  }

  /** Stops the timer for good (server close). */
  close(): void {
    this.closed = true;
    this.clear();
  }

  private arm(): void {
    this.disarm();
    const next = this.pending[0];
    if (!next || this.closed) return;
    const wait = Math.max(1, next.dueAt - this.options.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushDue();
    }, wait);
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
