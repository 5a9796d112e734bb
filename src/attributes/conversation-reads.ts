/**
 * Conversation re-reads that feed the change tracker, shared per conversation.
 *
 * One `GET /api/v2/conversations/{id}` in flight per conversation: a burst of subscribes to one
 * conversation costs one read. Reads are numbered as they start; a caller that needs a read
 * started after some moment (a confirmation, a gap re-read, a baseline after the topic was
 * subscribed) passes the {@link ConversationReads.mark} of that moment: a flight started before
 * it is not joined, a follow-up read is queued behind it instead, shared by every such request.
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
  /** Its number in start order (see `mark`). */
  launch: number;
  done: Promise<void>;
  /** The follow-up fresh read, shared by every fresh request made while `done` runs. */
  next?: Promise<void>;
}

/** See the file comment. */
export class ConversationReads {
  private readonly flights = new Map<string, Flight>();
  private launches = 0;
  /** GETs sent (for tests and metrics). */
  sent = 0;

  constructor(private readonly options: ConversationReadsOptions) {}

  /** The number of the newest read started: `read(id, mark())` is a read that starts after now. */
  mark(): number {
    return this.launches;
  }

  /**
   * Reads a conversation and applies the result to the tracker.
   * @param after the read must have started after this {@link mark} (default -1: any read in flight will do).
   * @throws whatever the fetcher throws (GenesysError).
   */
  read(conversationId: string, after = -1): Promise<void> {
    const flight = this.flights.get(conversationId);
    if (!flight) return this.launch(conversationId);
    if (flight.launch > after) return flight.done;
    flight.next ??= flight.done.catch(() => undefined).then(() => this.read(conversationId, flight.launch));
    return flight.next;
  }

  /** Stops sharing a flight for a conversation that was forgotten (its result reaches no one who cares). */
  forget(conversationId: string): void {
    this.flights.delete(conversationId);
  }

  /** Reads in flight. */
  get inFlight(): number {
    return this.flights.size;
  }

  private launch(conversationId: string): Promise<void> {
    const flight: Flight = { launch: ++this.launches, done: this.run(conversationId) };
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
