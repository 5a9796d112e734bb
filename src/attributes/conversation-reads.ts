/**
 * Conversation re-reads that feed the change tracker, shared per conversation.
 *
 * One `GET /api/v2/conversations/{id}` in flight per conversation: a burst of subscribes to one
 * conversation costs one read. A *fresh* read (a confirmation, a gap re-read) must start after it
 * was asked for, so it never joins a read already in flight: it is queued behind it, and every
 * fresh request made meanwhile shares that one follow-up read.
 * A read whose result raced a change (see ChangeTracker.applyRead) is repeated up to
 * `maxAttempts` times; the last attempt wins.
 */
import type { ChangeTracker, ObservedParticipant } from "./change-tracker.js";

/** What the reads need from Genesys: `GET /api/v2/conversations/{id}` (null on 404), mapped to participants. */
export type ConversationFetcher = (conversationId: string) => Promise<readonly ObservedParticipant[] | null>;

/** Options of {@link ConversationReads}. */
export interface ConversationReadsOptions {
  fetch: ConversationFetcher;
  tracker: ChangeTracker;
  /** Reads per conversation before a racing result is accepted. Default 3. */
  maxAttempts?: number;
}

interface Flight {
  done: Promise<void>;
  /** The follow-up fresh read, shared by every fresh request made while `done` runs. */
  next?: Promise<void>;
}

/** See the file comment. */
export class ConversationReads {
  private readonly flights = new Map<string, Flight>();
  /** GETs sent (for tests and metrics). */
  sent = 0;

  constructor(private readonly options: ConversationReadsOptions) {}

  /**
   * Reads a conversation and applies the result to the tracker.
   * @param fresh the read must start after this call (confirmations, gap re-reads).
   * @throws whatever the fetcher throws (GenesysError).
   */
  read(conversationId: string, fresh = false): Promise<void> {
    const flight = this.flights.get(conversationId);
    if (!flight) return this.launch(conversationId);
    if (!fresh) return flight.done;
    flight.next ??= flight.done.catch(() => undefined).then(() => this.read(conversationId, false));
    return flight.next;
  }

  /** Reads in flight. */
  get inFlight(): number {
    return this.flights.size;
  }

  private launch(conversationId: string): Promise<void> {
    const flight: Flight = { done: this.run(conversationId) };
    this.flights.set(conversationId, flight);
    flight.done
      .finally(() => {
        if (this.flights.get(conversationId) === flight) this.flights.delete(conversationId);
      })
      .catch(() => undefined);
    return flight.done;
  }

  private async run(conversationId: string): Promise<void> {
    const attempts = this.options.maxAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      const ticket = this.options.tracker.beginRead(conversationId);
      this.sent += 1;
      const participants = await this.options.fetch(conversationId);
      const { retry } = this.options.tracker.applyRead(ticket, participants, attempt >= attempts);
      if (!retry) return;
    }
  }
}
