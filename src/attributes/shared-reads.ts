/**
 * Conversation reads for queries, shared across operations.
 *
 * - Single flight: identical concurrent reads of one conversation become one
 *   `GET /api/v2/conversations/{id}`, whichever operations ask; a read joins a GET already in
 *   flight (so its answer may predate the request by up to one GET's latency).
 * - Served from the change log: a conversation the log tracks is answered from it, with no
 *   Genesys call, while its state is known current ({@link TrackedConversations.current}: the
 *   notification channel is up with no gap, nothing suspect, not ended) and its last REST read
 *   is at most `maxAgeMs` old — the staleness bound for what notifications cannot show (Genesys
 *   delivers them at most once: a dropped event without a socket drop is invisible until the
 *   next read). Otherwise it is fetched.
 * - `fresh: true` always sends its own GET (started after the request; later readers join it).
 *
 * Pure apart from its ports; tested in test/attributes/shared-reads.test.ts.
 */
import type { ConversationSnapshot } from "../genesys/participants.js";

/** The change log's side (implemented by the change feed). */
export interface TrackedConversations {
  /**
   * The conversation as the log holds it, when that is known current and its last REST read is
   * at most `maxAgeMs` old; undefined otherwise.
   */
  current(conversationId: string, maxAgeMs: number): ConversationSnapshot | undefined;
  /** Called just before a GET; the returned callback takes its result (the log learns from every read). */
  observeRead(conversationId: string): ((conversation: ConversationSnapshot | null) => void) | undefined;
}

/** Options of {@link SharedConversationReads}. */
export interface SharedConversationReadsOptions {
  /** `GET /api/v2/conversations/{id}`, mapped; null on 404. @throws GenesysError, BudgetExhaustedError */
  fetch: (conversationId: string) => Promise<ConversationSnapshot | null>;
  tracked?: TrackedConversations;
  /** Staleness bound of answers served from the log, ms (`TRACKED_READ_MAX_AGE_MS`). Default 30 000; 0 disables serving from the log. */
  maxAgeMs?: number;
}

/** See the file comment. */
export class SharedConversationReads {
  private readonly flights = new Map<string, Promise<ConversationSnapshot | null>>();
  /** Answers by source (for tests and the benchmark). */
  readonly counts = { fetched: 0, joined: 0, fromLog: 0 };

  constructor(private readonly options: SharedConversationReadsOptions) {}

  /**
   * One conversation; null when Genesys does not know it.
   * @param fresh insist on a GET started now (never the log, never a GET already in flight).
   * @throws whatever `fetch` throws.
   */
  get(conversationId: string, fresh = false): Promise<ConversationSnapshot | null> {
    if (!fresh) {
      const maxAge = this.options.maxAgeMs ?? 30_000;
      const tracked = maxAge > 0 ? this.options.tracked?.current(conversationId, maxAge) : undefined;
      if (tracked) {
        this.counts.fromLog += 1;
        return Promise.resolve(tracked);
      }
      const flight = this.flights.get(conversationId);
      if (flight) {
        this.counts.joined += 1;
        return flight;
      }
    }
    return this.launch(conversationId);
  }

  private launch(conversationId: string): Promise<ConversationSnapshot | null> {
    this.counts.fetched += 1;
    const observe = this.options.tracked?.observeRead(conversationId);
    const flight = this.options.fetch(conversationId).then((conversation) => {
      observe?.(conversation);
      return conversation;
    });
    this.flights.set(conversationId, flight);
    const done = () => {
      if (this.flights.get(conversationId) === flight) this.flights.delete(conversationId);
    };
    flight.then(done, done);
    return flight;
  }
}
