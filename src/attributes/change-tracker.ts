/**
 * The one place where every participant state the gateway learns is deduplicated, ordered and
 * appended to the change log.
 *
 * Inputs (already parsed from Genesys, see genesys/attribute-events.ts):
 * - conversation snapshots (`v2.routing.queues.{id}.conversations`): each participant's full
 *   map, **no time** — a late snapshot looks exactly like a new one;
 * - attribute detail events (`v2.detail.events.conversation.{id}.attributes`): one participant's
 *   map (full or delta: unknown) with `eventTime` in epoch ms, which may be equal for two
 *   writes made visible in the same millisecond;
 * - REST reads (`GET /api/v2/conversations/{id}`): what Genesys shows now — the authority.
 *
 * Rules, so that the state a subscriber sees never goes back to an older one:
 * 1. a state equal to the one known yields nothing (duplicates, heartbeat-like snapshots);
 * 2. a detail event older than the newest one applied is dropped;
 * 3. a notification is *suspect* — not appended, and a confirming REST read is asked for — when
 *    - it sets a key back to a value the log already replaced (a late snapshot or event), or
 *    - it is a detail event with the same `eventTime` as the newest one and a different map, or
 *    - it is a timeless snapshot changing a conversation that changed less than `settleMs` ago
 *      (two changes that close together may arrive in either order);
 * 4. a read is appended as the truth — the whole map: keys it lacks are removed (changes with
 *    `value: null`) — unless the conversation changed while the read was in flight and the read
 *    disagrees: then the read is repeated (the caller re-reads).
 * 5. a notification lacking a key the log holds is applied for what it shows, and a confirming
 *    read is asked for: it is a partial map, or Genesys removed the key (cleared with "": unknown
 *    which); the read settles it, and until then queries are not served from the log.
 * A conversation first learned from a read gets its baseline without an entry (nothing
 * changed as far as anyone can tell); one first learned from a notification gets entries with
 * `previous: null` (it is new to every subscriber).
 *
 * Several gateway instances share one log and exactly one of them decides (the channel holder,
 * `appending` on). Every tracker *absorbs* entries it did not append itself (another instance's,
 * or a previous holder's): they become the committed state and the base the next decision is
 * compared with, so a follower's snapshots and write confirmations see the cluster's state and a
 * follower that becomes holder starts up to date. With `appending` off the tracker decides
 * nothing: notifications are ignored and a read only seeds what it did not know (it answers its
 * caller; the holder heals the log).
 *
 * Pure apart from the injected log and clock; tested with a virtual clock in
 * test/attributes/change-tracker.test.ts.
 */
import { attributeMap, attributeValue, mergeAttributes, type AttributeMap } from "./attribute-map.js";
import { diffAttributes, diffWholeAttributes, type AttributeChange } from "./changes.js";
import type { ChangeEntry, ChangeLog, ChangeSource, NewChangeEntry, ParticipantInfo } from "./change-log.js";
import { attributesVersion } from "./version.js";

/** One participant as a snapshot or a read shows it. */
export interface ObservedParticipant {
  info: ParticipantInfo;
  attributes: AttributeMap;
}

/** A notification, parsed. */
export type Observation =
  | {
      kind: "snapshot";
      conversationId: string;
      /** The queue of the topic it came on, if any. */
      queueId?: string;
      participants: readonly ObservedParticipant[];
      /** Every participant has ended. */
      ended: boolean;
    }
  | {
      kind: "detail";
      conversationId: string;
      participantId: string;
      attributes: AttributeMap;
      /** Epoch ms, when the event carries it. */
      eventTime?: number;
    };

/** What the tracker made of an observation. */
export interface Verdict {
  /** Entries appended (0 for duplicates, dropped and suspect observations). */
  appended: number;
  /** A REST read of the conversation should confirm what the notification claimed. */
  confirm: boolean;
  /**
   * For a suspect observation: per participant, the keys it shows with a value the log never
   * held for them (neither the current value nor a replaced one) — proof that some writer wrote
   * them, though not of when. The verify loop of a write uses it to notice another writer whose
   * state was never appended (e.g. two writes made visible in the same millisecond). Absent
   * when there are none.
   */
  unconfirmed?: UnconfirmedState[];
}

/** See {@link Verdict.unconfirmed}. */
export interface UnconfirmedState {
  participantId: string;
  /** The participant's map as the notification showed it (merged over the known state for a detail event). */
  attributes: AttributeMap;
  /** Keys with a value the log never held. */
  keys: string[];
}

/** Handed out by {@link ChangeTracker.beginRead}; gives the read's result back its context. */
export interface ReadTicket {
  conversationId: string;
  /** The tracked record when the read started: a result for a conversation forgotten meanwhile is ignored. */
  record: object;
  /** The conversation's revision when the read started. */
  revision: number;
}

/** A participant's state as the log has delivered it (what a snapshot event shows). */
export interface CommittedParticipant {
  info: ParticipantInfo;
  attributes: AttributeMap;
  /** The newest log `seq` this state includes. */
  seq: number;
}

/** Options of {@link ChangeTracker}. */
export interface ChangeTrackerOptions {
  log: ChangeLog;
  /** Clock, epoch ms. */
  now: () => number;
  /**
   * Two snapshot changes of one conversation closer than this (ms) may have arrived out of
   * order: the later one is confirmed by a read. Should exceed the notification reorder window.
   * Default 1 000.
   */
  settleMs?: number;
  /** Replaced values remembered per key, to recognise a key going back. Default 8. */
  historyDepth?: number;
  /** Called when an append fails (a shared log unreachable, a stale fence); the state is re-learned by reconciliation. */
  onAppendError?: (error: unknown) => void;
  /** Whether this tracker decides and appends (one process, or the cluster's channel holder). Default true. See {@link ChangeTracker.setAppending}. */
  appending?: boolean;
}

interface TrackedParticipant {
  info: ParticipantInfo;
  /** The newest state decided on (what the next observation is compared with). */
  attributes: AttributeMap;
  /** Per key, values it had and lost (newest last), at most `historyDepth`. */
  replaced: Map<string, string[]>;
  /** Newest detail `eventTime` applied. */
  eventTime?: number;
  /** Where the current state came from: a read's state has no eventTime to order late events against. */
  lastSource?: ChangeSource | "snapshot";
  committed: { attributes: AttributeMap; seq: number };
}

interface TrackedConversation {
  queueIds: Set<string>;
  participants: Map<string, TrackedParticipant>;
  /** A read or notification set the baseline. */
  known: boolean;
  /** Epoch ms of the newest change decided or suspected. */
  changedAt: number;
  /** Bumped on every appended change. */
  revision: number;
  /** Epoch ms when every participant was seen ended. */
  endedAt?: number;
  /** A confirming read is wanted. */
  suspect: boolean;
}

/** See the file comment. */
export class ChangeTracker {
  private readonly conversations = new Map<string, TrackedConversation>();
  private readonly settleMs: number;
  private readonly historyDepth: number;
  /**
   * Reads that found a conversation suspect and appended nothing: the notification that made it
   * suspect was not Genesys's newest state (a regression or stale event withheld). For metrics.
   */
  regressionsConfirmed = 0;
  private appending: boolean;
  /** Per participant (`conversationId|participantId`): signatures of this tracker's appends not yet delivered back by the log. */
  private readonly own = new Map<string, string[]>();

  constructor(private readonly options: ChangeTrackerOptions) {
    this.settleMs = options.settleMs ?? 1_000;
    this.historyDepth = options.historyDepth ?? 8;
    this.appending = options.appending ?? true;
    options.log.listen((entry) => this.delivered(entry));
  }

  /** Whether this tracker decides and appends (see {@link setAppending}). */
  get isAppending(): boolean {
    return this.appending;
  }

  /**
   * Turns deciding and appending on (this instance became the channel holder) or off (a
   * follower). Either way every participant's decision base is reset to its committed state (what
   * the log holds), so a decision never builds on a state that did not reach the log.
   */
  setAppending(on: boolean): void {
    this.appending = on;
    for (const conversation of this.conversations.values()) {
      for (const p of conversation.participants.values()) p.attributes = p.committed.attributes;
    }
  }

  /**
   * Takes an entry another instance appended into the tracked state: it becomes the
   * participant's committed state and the base of the next decision (its old values count as
   * replaced, so a late notification of them is recognised). Called for every entry the log
   * delivers that this tracker did not append; public for logs that deliver elsewhere.
   */
  absorb(entry: ChangeEntry): void {
    const conversation = this.conversation(entry.conversationId);
    conversation.known = true;
    for (const q of entry.queueIds) conversation.queueIds.add(q);
    if (entry.participant.queueId) conversation.queueIds.add(entry.participant.queueId);
    const tracked = this.participant(conversation, entry.participant);
    tracked.committed = { attributes: entry.attributes, seq: entry.seq };
    // Our own decision still on its way to the log is newer than what another instance appended before it.
    if ((this.own.get(participantKey(entry.conversationId, entry.participantId))?.length ?? 0) > 0) return;
    const changes = diffWholeAttributes(tracked.attributes, entry.attributes);
    // What the appender replaced, and what this tracker had that the entry replaces.
    this.remember(tracked, entry.changes);
    this.remember(tracked, changes);
    tracked.attributes = entry.attributes;
    tracked.lastSource = entry.source;
    if (changes.length > 0) conversation.revision += 1;
    conversation.changedAt = Math.max(conversation.changedAt, entry.observedAt);
    const participants = [...conversation.participants.values()];
    if (participants.length > 0 && participants.every((p) => p.info.endTime)) conversation.endedAt ??= this.options.now();
  }

  /** The log delivered an entry: ours (commit it) or another instance's (absorb it). */
  private delivered(entry: ChangeEntry): void {
    const key = participantKey(entry.conversationId, entry.participantId);
    const pending = this.own.get(key);
    const index = pending?.indexOf(signature(entry)) ?? -1;
    if (pending && index >= 0) {
      pending.splice(index, 1);
      if (pending.length === 0) this.own.delete(key);
      const p = this.conversations.get(entry.conversationId)?.participants.get(entry.participantId);
      if (p) p.committed = { attributes: entry.attributes, seq: entry.seq };
      return;
    }
    this.absorb(entry);
  }

  /** Applies a notification (see the rules in the file comment); nothing while not appending. */
  observe(observation: Observation): Verdict {
    if (!this.appending) return { appended: 0, confirm: false };
    const now = this.options.now();
    const conversation = this.conversation(observation.conversationId);
    const fresh = !conversation.known;
    conversation.known = true;
    let appended = 0;
    let suspect = false;
    const unconfirmed: UnconfirmedState[] = [];
    const noteUnconfirmed = (tracked: TrackedParticipant, next: AttributeMap) => {
      const keys = diffAttributes(tracked.attributes, next)
        .filter((c) => c.value !== null && !tracked.replaced.get(c.key)?.includes(c.value))
        .map((c) => c.key);
      if (keys.length > 0) unconfirmed.push({ participantId: tracked.info.id, attributes: next, keys });
    };
    if (observation.kind === "snapshot") {
      if (observation.queueId) conversation.queueIds.add(observation.queueId);
      for (const p of observation.participants) if (p.info.queueId) conversation.queueIds.add(p.info.queueId);
      const settling = !fresh && now - conversation.changedAt < this.settleMs;
      for (const observed of observation.participants) {
        const tracked = this.participant(conversation, observed.info);
        if (!fresh && lacksKeys(tracked.attributes, observed.attributes)) suspect = true;
        const changes = diffAttributes(tracked.attributes, observed.attributes);
        if (changes.length === 0) continue;
        if (settling || this.goesBack(tracked, observed.attributes)) {
          suspect = true;
          noteUnconfirmed(tracked, observed.attributes);
          continue;
        }
        appended += this.append(observation.conversationId, conversation, tracked, observed.attributes, "notification");
        tracked.lastSource = "snapshot";
      }
      if (observation.ended && observation.participants.length > 0) conversation.endedAt ??= now;
    } else {
      const tracked = this.participant(conversation, { id: observation.participantId, conversationId: observation.conversationId, purpose: "unknown" });
      const next = mergeAttributes(tracked.attributes, observation.attributes);
      const changes = diffAttributes(tracked.attributes, next);
      const time = observation.eventTime;
      if (!fresh && lacksKeys(tracked.attributes, observation.attributes)) suspect = true;
      if (time !== undefined && tracked.eventTime !== undefined && time < tracked.eventTime) {
        // Overtaken by a newer event: nothing to do.
      } else if (changes.length > 0) {
        const tie = time !== undefined && time === tracked.eventTime;
        // Without a time of its own (or against a state a read or snapshot gave, which has none),
        // an event close behind the last change may be older than it.
        const unordered = time === undefined || tracked.lastSource !== "notification";
        const settling = unordered && !fresh && now - conversation.changedAt < this.settleMs;
        if (tie || settling || this.goesBack(tracked, next)) {
          suspect = true;
          noteUnconfirmed(tracked, next);
        } else {
          if (time !== undefined) tracked.eventTime = time;
          appended += this.append(observation.conversationId, conversation, tracked, next, "notification");
        }
      } else if (time !== undefined && (tracked.eventTime === undefined || time > tracked.eventTime)) {
        tracked.eventTime = time;
      }
    }
    if (suspect) {
      conversation.suspect = true;
      conversation.changedAt = now;
    }
    return unconfirmed.length > 0 ? { appended, confirm: suspect, unconfirmed } : { appended, confirm: suspect };
  }

  /** Starts a REST read of a conversation; pass the ticket to {@link applyRead} with its result. */
  beginRead(conversationId: string): ReadTicket {
    const record = this.conversation(conversationId);
    return { conversationId, record, revision: record.revision };
  }

  /**
   * Applies what a REST read showed (`null`: Genesys no longer knows the conversation).
   * @returns `retry: true` when the conversation changed during the read and the read disagrees
   *   with that change: read again (at most a few times; the last read then wins).
   */
  applyRead(ticket: ReadTicket, participants: readonly ObservedParticipant[] | null, lastAttempt = false): { retry: boolean; appended: number } {
    const conversation = this.conversations.get(ticket.conversationId);
    // Forgotten (nobody watched it) while the read was in flight: the result is stale context.
    if (conversation === undefined || conversation !== ticket.record) return { retry: false, appended: 0 };
    if (participants === null) {
      conversation.endedAt ??= this.options.now();
      conversation.suspect = false;
      return { retry: false, appended: 0 };
    }
    for (const p of participants) if (p.info.queueId) conversation.queueIds.add(p.info.queueId);
    if (!this.appending) {
      // A follower: the read answers its caller; only what the tracker did not know is seeded.
      for (const observed of participants) {
        if (conversation.participants.has(observed.info.id)) continue;
        const tracked = this.participant(conversation, observed.info);
        tracked.attributes = attributeMap(observed.attributes);
        tracked.committed = { attributes: tracked.attributes, seq: this.options.log.headSeq() };
      }
      conversation.known = true;
      return { retry: false, appended: 0 };
    }
    const seed = !conversation.known;
    conversation.known = true;
    if (conversation.revision !== ticket.revision && !lastAttempt) {
      const disagrees = participants.some((p) => {
        const tracked = conversation.participants.get(p.info.id);
        return tracked !== undefined && diffWholeAttributes(tracked.attributes, p.attributes).length > 0;
      });
      if (disagrees) return { retry: true, appended: 0 };
    }
    let appended = 0;
    for (const observed of participants) {
      const known = conversation.participants.has(observed.info.id);
      const tracked = this.participant(conversation, observed.info);
      if (seed && !known) {
        tracked.attributes = attributeMap(observed.attributes);
        tracked.committed = { attributes: tracked.attributes, seq: this.options.log.headSeq() };
        continue;
      }
      if (diffWholeAttributes(tracked.attributes, observed.attributes).length > 0) {
        appended += this.append(ticket.conversationId, conversation, tracked, attributeMap(observed.attributes), "read");
      }
    }
    if (participants.length > 0 && participants.every((p) => p.info.endTime)) conversation.endedAt ??= this.options.now();
    if (conversation.suspect && appended === 0) this.regressionsConfirmed += 1;
    conversation.suspect = false;
    return { retry: false, appended };
  }

  /** Whether the conversation's state is known (a read or notification gave a baseline). */
  isKnown(conversationId: string): boolean {
    return this.conversations.get(conversationId)?.known ?? false;
  }

  /** Whether a confirming read is wanted. */
  isSuspect(conversationId: string): boolean {
    return this.conversations.get(conversationId)?.suspect ?? false;
  }

  /** Epoch ms when every participant was seen ended (or Genesys forgot it), else undefined. */
  endedAt(conversationId: string): number | undefined {
    return this.conversations.get(conversationId)?.endedAt;
  }

  /**
   * Marks a conversation not seen before as new to every subscriber: its next read appends
   * each participant's keys with `previous: null` instead of taking them as a silent baseline
   * (a conversation found in a queue after a gap entered it during the gap).
   */
  announce(conversationId: string): void {
    this.conversation(conversationId).known = true;
  }

  /** Records that a conversation is routed through a queue (from a queue listing). */
  addQueue(conversationId: string, queueId: string): void {
    this.conversation(conversationId).queueIds.add(queueId);
  }

  /** Queues the conversation is known to be routed through. */
  queuesOf(conversationId: string): string[] {
    return [...(this.conversations.get(conversationId)?.queueIds ?? [])];
  }

  /** Known conversations routed through `queueId`. */
  conversationsInQueue(queueId: string): string[] {
    const ids: string[] = [];
    for (const [id, c] of this.conversations) if (c.queueIds.has(queueId)) ids.push(id);
    return ids;
  }

  /** Every tracked conversation id. */
  conversationIds(): string[] {
    return [...this.conversations.keys()];
  }

  /** The participants' states as delivered by the log, for snapshot events. */
  committed(conversationId: string): CommittedParticipant[] {
    const conversation = this.conversations.get(conversationId);
    if (!conversation?.known) return [];
    return [...conversation.participants.values()].map((p) => ({ info: p.info, attributes: p.committed.attributes, seq: p.committed.seq }));
  }

  /** Forgets a conversation (nobody watches it any more). */
  forget(conversationId: string): void {
    this.conversations.delete(conversationId);
  }

  /** Tracked conversations (for metrics and tests). */
  get size(): number {
    return this.conversations.size;
  }

  private goesBack(tracked: TrackedParticipant, next: AttributeMap): boolean {
    for (const key of Object.keys(next)) {
      const value = next[key]!;
      if (attributeValue(tracked.attributes, key) === value) continue;
      if (tracked.replaced.get(key)?.includes(value)) return true;
    }
    return false;
  }

  /** Appends `next` as the participant's state; from a read it is the whole map (keys it lacks are removed). */
  private append(conversationId: string, conversation: TrackedConversation, tracked: TrackedParticipant, next: AttributeMap, source: ChangeSource): number {
    const changes = source === "read" ? diffWholeAttributes(tracked.attributes, next) : diffAttributes(tracked.attributes, next);
    if (changes.length === 0) return 0;
    this.remember(tracked, changes);
    const attributes = attributeMap(next);
    tracked.attributes = attributes;
    tracked.lastSource = source;
    conversation.revision += 1;
    conversation.changedAt = this.options.now();
    const entry = {
      conversationId,
      participantId: tracked.info.id,
      queueIds: [...conversation.queueIds],
      changes,
      attributes,
      version: attributesVersion(attributes),
      participant: tracked.info,
      observedAt: this.options.now(),
      source,
    };
    const key = participantKey(conversationId, tracked.info.id);
    const mine = signature(entry);
    const pending = this.own.get(key) ?? [];
    pending.push(mine);
    this.own.set(key, pending);
    this.options.log.append(entry).catch((error: unknown) => {
      const list = this.own.get(key);
      const index = list?.indexOf(mine) ?? -1;
      if (list && index >= 0) {
        list.splice(index, 1);
        if (list.length === 0) this.own.delete(key);
      }
      this.options.onAppendError?.(error);
    });
    return 1;
  }

  /** Records the values `changes` replaced, so a late notification setting them back is recognised. */
  private remember(tracked: TrackedParticipant, changes: readonly AttributeChange[]): void {
    for (const change of changes) {
      const history = tracked.replaced.get(change.key) ?? [];
      const kept = history.filter((v) => v !== change.value);
      if (change.previous !== null) kept.push(change.previous);
      tracked.replaced.set(change.key, kept.slice(-this.historyDepth));
    }
  }

  private conversation(conversationId: string): TrackedConversation {
    let conversation = this.conversations.get(conversationId);
    if (!conversation) {
      conversation = { queueIds: new Set(), participants: new Map(), known: false, changedAt: Number.NEGATIVE_INFINITY, revision: 0, suspect: false };
      this.conversations.set(conversationId, conversation);
    }
    return conversation;
  }

  private participant(conversation: TrackedConversation, info: ParticipantInfo): TrackedParticipant {
    let tracked = conversation.participants.get(info.id);
    if (!tracked) {
      const empty = attributeMap();
      tracked = { info, attributes: empty, replaced: new Map(), committed: { attributes: empty, seq: 0 } };
      conversation.participants.set(info.id, tracked);
    } else if (info.purpose !== "unknown") {
      // Snapshots lack startTime; keep what a read told.
      tracked.info = { ...info, startTime: info.startTime ?? tracked.info.startTime };
    }
    return tracked;
  }
}

function participantKey(conversationId: string, participantId: string): string {
  return `${conversationId}|${participantId}`;
}

/** Tells this tracker's appends from other instances' when the log delivers them (same participant, state and time: the same decision). */
function signature(entry: NewChangeEntry): string {
  return `${entry.version}|${entry.observedAt}|${entry.source}`;
}

/** Whether `observed` lacks a key `known` holds (see rule 3 in the file comment). */
function lacksKeys(known: AttributeMap, observed: Readonly<Record<string, string>>): boolean {
  for (const key of Object.keys(known)) if (!Object.hasOwn(observed, key)) return true;
  return false;
}
