/**
 * The change log: an ordered, sequenced record of confirmed participant attribute states.
 *
 * Every state the gateway learns (notifications, re-reads after gaps, reconciliation reads)
 * is decided on by the change tracker (./change-tracker.ts) and appended here once; GraphQL
 * subscriptions replay from it (`after`) and follow it live. The log sits behind the
 * {@link ChangeLog} port: {@link InMemoryChangeLog} is the one-process default, and a Redis
 * Streams implementation can replace it for several gateway instances without touching the
 * subscribers (entries and cursors are plain data; `append` and `read` are asynchronous).
 *
 * Cursors are opaque strings naming one position of one log. A cursor of another log (another
 * process run, another epoch), a malformed one, or one whose following entries were already
 * dropped by retention is refused with {@link CursorExpiredError}: a replay is never partial.
 */
import { randomUUID } from "node:crypto";
import { approximateBytes, type AttributeMap } from "./attribute-map.js";
import type { ParticipantSnapshot } from "../genesys/participants.js";
import type { AttributeChange } from "./changes.js";

/** Who a participant is, without its attributes (the rest of `ParticipantSnapshot`). Times ISO-8601. */
export type ParticipantInfo = Omit<ParticipantSnapshot, "attributes">;

/** Where the state in an entry was learned. */
export type ChangeSource = "notification" | "read";

/** One appended change: the state of one participant after it. */
export interface ChangeEntry {
  /** Position in the log, 1, 2, 3, … without gaps (internal ordering; clients see `cursor`). */
  seq: number;
  /** Opaque position to resume after (`attributesChanged(after:)`). */
  cursor: string;
  conversationId: string;
  participantId: string;
  /** Queues the conversation is known to be routed through when the change was appended. */
  queueIds: readonly string[];
  /** Only the keys whose value changed, sorted by key. */
  changes: readonly AttributeChange[];
  /** The participant's whole map afterwards (null prototype). */
  attributes: AttributeMap;
  /** `attributesVersion(attributes)`. */
  version: string;
  /** The participant as last known (name, purpose, state, …). */
  participant: ParticipantInfo;
  /** When the gateway learned the state, epoch ms. */
  observedAt: number;
  source: ChangeSource;
}

/** What a caller appends: an entry without its position. */
export type NewChangeEntry = Omit<ChangeEntry, "seq" | "cursor">;

/** How long entries are kept: an entry goes when any bound is exceeded. */
export interface ChangeLogRetention {
  /** Entries older than this are dropped (ms). */
  maxAgeMs: number;
  /** At most this many entries are kept. */
  maxEntries: number;
  /** At most about this many bytes of entries are kept (estimated heap size). */
  maxBytes: number;
}

/** Default retention: 15 minutes, 100,000 entries, 64 MiB. */
export const DEFAULT_RETENTION: ChangeLogRetention = { maxAgeMs: 15 * 60_000, maxEntries: 100_000, maxBytes: 64 * 1024 * 1024 };

/** A cursor this log cannot resume from (unknown, malformed, from another log, or expired). */
export class CursorExpiredError extends Error {
  override name = "CursorExpiredError";
  /** Stable code (`CURSOR_EXPIRED`), surfaced as the GraphQL `extensions.code`. */
  readonly code = "CURSOR_EXPIRED";
}

/** A page of entries read from the log. */
export interface ChangePage {
  entries: ChangeEntry[];
  /** True when the page ends at the newest entry the log holds. */
  atHead: boolean;
}

/** Size of the log, for /metrics and tests. */
export interface ChangeLogStats {
  entries: number;
  approximateBytes: number;
  firstSeq: number;
  lastSeq: number;
}

/**
 * The port. Implementations deliver each appended entry to every listener exactly once, in
 * `seq` order, before `append` resolves (the in-memory log) or as soon as the entry is durable
 * (a shared log). `headSeq` is the newest `seq` delivered to this process's listeners.
 */
export interface ChangeLog {
  /** Appends one entry and resolves with it sequenced. */
  append(entry: NewChangeEntry): Promise<ChangeEntry>;
  /**
   * Up to `limit` entries after `cursor`, oldest first.
   * @throws CursorExpiredError when the cursor is unknown or entries after it were dropped.
   */
  read(cursor: string, limit: number): Promise<ChangePage>;
  /**
   * Checks that `cursor` can be resumed from (the same test as `read`, reading nothing).
   * @throws CursorExpiredError
   */
  check(cursor: string): Promise<void>;
  /** The cursor of the position after the newest delivered entry (resuming from it replays nothing). */
  headCursor(): string;
  /** The newest `seq` delivered to listeners (0 when empty). */
  headSeq(): number;
  /** `seq` of the position a cursor names. @throws CursorExpiredError when malformed or foreign. */
  seqOf(cursor: string): number;
  /** Registers a live listener; returns its removal. Listeners must not throw. */
  listen(listener: (entry: ChangeEntry) => void): () => void;
  /** Current size. */
  stats(): ChangeLogStats;
}

/**
 * Optional beside {@link ChangeLog} (not part of the port): when the oldest retained entry was
 * appended, for /metrics (`change_log_oldest_entry_age_seconds`). A log without it reports no age.
 */
export interface ChangeLogAge {
  /** Epoch ms the oldest retained entry was appended; undefined when the log holds none. */
  oldestAppendedAt(): number | undefined;
}

/** Whether a change log also tells its oldest entry's age ({@link ChangeLogAge}). */
export function hasChangeLogAge(log: ChangeLog): log is ChangeLog & ChangeLogAge {
  return typeof (log as Partial<ChangeLogAge>).oldestAppendedAt === "function";
}

/** Options of {@link InMemoryChangeLog}. */
export interface InMemoryChangeLogOptions {
  retention?: Partial<ChangeLogRetention>;
  /** Clock, epoch ms (retention by age). */
  now?: () => number;
  /** Names this log in its cursors; a random id by default, so a restarted process refuses old cursors. */
  epoch?: string;
}

interface Stored {
  entry: ChangeEntry;
  appendedAt: number;
  bytes: number;
}

const CURSOR_PREFIX = "cl1";

/**
 * The one-process change log: entries in an array, trimmed by age, count and size on every
 * append (and on {@link trim}). Memory is bounded by `retention.maxBytes` (estimated) and
 * `maxEntries`.
 */
export class InMemoryChangeLog implements ChangeLog, ChangeLogAge {
  private readonly stored: Stored[] = [];
  /** Index in `stored` of the oldest retained entry (the array is compacted now and then). */
  private start = 0;
  private lastSeq = 0;
  private bytes = 0;
  private readonly listeners = new Set<(entry: ChangeEntry) => void>();
  private readonly retention: ChangeLogRetention;
  private readonly now: () => number;
  private readonly epoch: string;

  constructor(options: InMemoryChangeLogOptions = {}) {
    this.retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.now = options.now ?? Date.now;
    this.epoch = options.epoch ?? randomUUID().slice(0, 8);
    if (!/^[A-Za-z0-9-]+$/.test(this.epoch)) throw new Error("change log epoch must be [A-Za-z0-9-]+");
  }

  async append(input: NewChangeEntry): Promise<ChangeEntry> {
    return this.appendNow(input);
  }

  /** Synchronous append (the in-memory log needs no I/O); listeners have the entry when this returns. */
  appendNow(input: NewChangeEntry): ChangeEntry {
    const seq = ++this.lastSeq;
    const entry: ChangeEntry = { ...input, seq, cursor: this.cursorOf(seq) };
    const bytes = 256 + approximateBytes(entry.attributes) + 96 * entry.changes.length;
    this.stored.push({ entry, appendedAt: this.now(), bytes });
    this.bytes += bytes;
    this.trim();
    for (const listener of this.listeners) listener(entry);
    return entry;
  }

  async read(cursor: string, limit: number): Promise<ChangePage> {
    return this.readNow(cursor, limit);
  }

  /** Synchronous {@link read}. @throws CursorExpiredError */
  readNow(cursor: string, limit: number): ChangePage {
    this.trim();
    const after = this.resumable(cursor);
    const from = this.start + (after + 1 - this.firstSeq());
    const to = Math.min(this.stored.length, from + Math.max(1, limit));
    const entries = this.stored.slice(from, to).map((s) => s.entry);
    return { entries, atHead: to >= this.stored.length };
  }

  async check(cursor: string): Promise<void> {
    this.trim();
    this.resumable(cursor);
  }

  headCursor(): string {
    return this.cursorOf(this.lastSeq);
  }

  headSeq(): number {
    return this.lastSeq;
  }

  seqOf(cursor: string): number {
    const decoded = decodeCursor(cursor);
    if (!decoded || decoded.epoch !== this.epoch) throw new CursorExpiredError("this cursor is not one this gateway issued (or it was issued before a restart)");
    return decoded.seq;
  }

  listen(listener: (entry: ChangeEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): ChangeLogStats {
    return { entries: this.stored.length - this.start, approximateBytes: this.bytes, firstSeq: this.firstSeq(), lastSeq: this.lastSeq };
  }

  oldestAppendedAt(): number | undefined {
    this.trim();
    return this.start < this.stored.length ? this.stored[this.start]!.appendedAt : undefined;
  }

  /** Drops entries beyond the retention bounds (called on every append and read). */
  trim(): void {
    const { maxAgeMs, maxEntries, maxBytes } = this.retention;
    const oldest = this.now() - maxAgeMs;
    while (this.start < this.stored.length) {
      const first = this.stored[this.start]!;
      const count = this.stored.length - this.start;
      if (count <= maxEntries && this.bytes <= maxBytes && first.appendedAt >= oldest) break;
      this.bytes -= first.bytes;
      this.start += 1;
    }
    if (this.start > 1024 && this.start * 2 > this.stored.length) {
      this.stored.splice(0, this.start);
      this.start = 0;
    }
  }

  /** Seq of the oldest retained entry (lastSeq + 1 when empty). */
  private firstSeq(): number {
    return this.start < this.stored.length ? this.stored[this.start]!.entry.seq : this.lastSeq + 1;
  }

  /** The seq a cursor resumes after, when every entry after it is still held. @throws CursorExpiredError */
  private resumable(cursor: string): number {
    const seq = this.seqOf(cursor);
    if (seq > this.lastSeq) throw new CursorExpiredError("this cursor is ahead of the change log (it was not issued by this gateway)");
    if (seq + 1 < this.firstSeq()) throw new CursorExpiredError("the changes after this cursor are no longer retained (see CHANGE_LOG_RETENTION)");
    return seq;
  }

  private cursorOf(seq: number): string {
    return Buffer.from(`${CURSOR_PREFIX}:${this.epoch}:${seq}`).toString("base64url");
  }
}

function decodeCursor(cursor: string): { epoch: string; seq: number } | undefined {
  if (typeof cursor !== "string" || cursor.length === 0 || cursor.length > 128 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  const parts = Buffer.from(cursor, "base64url").toString("utf8").split(":");
  if (parts.length !== 3 || parts[0] !== CURSOR_PREFIX || !/^\d{1,15}$/.test(parts[2]!)) return undefined;
  return { epoch: parts[1]!, seq: Number(parts[2]) };
}

/**
 * Parses `CHANGE_LOG_RETENTION`: comma-separated bounds, each `<number><unit>`: an age
 * (`ms`, `s`, `m`, `h`), a count of entries (no unit), or a size (`kb`, `mb`, `gb`, 1024-based).
 * Bounds not given keep their default. Examples: `15m,100000`, `1h,500000,256mb`.
 * @throws Error naming the part that is not understood.
 */
export function parseRetention(text: string): ChangeLogRetention {
  const retention = { ...DEFAULT_RETENTION };
  for (const raw of text.split(",")) {
    const part = raw.trim().toLowerCase();
    if (part === "") continue;
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|kb|mb|gb)?$/.exec(part);
    if (!m) throw new Error(`"${raw.trim()}" is not an age (15m), an entry count (100000) or a size (64mb)`);
    const n = Number(m[1]);
    const unit = m[2];
    const ages: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
    const sizes: Record<string, number> = { kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
    if (unit && unit in ages) retention.maxAgeMs = Math.round(n * ages[unit]!);
    else if (unit && unit in sizes) retention.maxBytes = Math.round(n * sizes[unit]!);
    else {
      if (!Number.isInteger(n)) throw new Error(`"${raw.trim()}": an entry count must be a whole number`);
      retention.maxEntries = n;
    }
  }
  if (retention.maxAgeMs < 1 || retention.maxEntries < 1 || retention.maxBytes < 1024) throw new Error("every retention bound must be positive (size at least 1kb)");
  return retention;
}
