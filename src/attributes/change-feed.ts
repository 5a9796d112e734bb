/**
 * The stream of confirmed attribute changes, derived from Genesys notifications.
 *
 * Sources (shared/genesys/README.md, "Notifications"):
 * - `v2.routing.queues.{queueId}.conversations` — whole conversation snapshots, each participant
 *   with its full attribute map (used for queue subscriptions);
 * - `v2.detail.events.conversation.{conversationId}.attributes` — `{eventTime (epoch ms),
 *   conversationId, participantId, attributes}`, full map or delta (unknown), used for
 *   conversation subscriptions.
 * Notifications only show what Genesys made visible, so every change here is confirmed.
 *
 * Changes are computed against the last state the gateway knew for the participant; a key
 * missing from an event never means deleted; a duplicate event yields nothing. Delivery is
 * at-most-once, so after every socket reconnect the watched conversations are re-read through
 * the REST API and whatever changed meanwhile is emitted.
 */
import { EventEmitter } from "node:events";
import pLimit from "p-limit";
import type { Logger } from "../logger.js";
import type { GenesysClient } from "../genesys/client.js";
import type { NotificationChannel, NotificationEnvelope } from "../genesys/notifications.js";
import { toConversationSnapshot, type GenesysConversationLike } from "../genesys/participants.js";
import { diffAttributes, type AttributeChange } from "./changes.js";
import { SubscriberQueue } from "./subscriber-queue.js";
import { attributesVersion } from "./version.js";

/** One confirmed change of one participant's attributes. */
export interface AttributesChangeEvent {
  conversationId: string;
  participantId: string;
  /** Queues the conversation is known to be routed through. */
  queueIds: string[];
  /** Only the keys whose value changed, sorted by key. */
  changes: AttributeChange[];
  /** The participant's whole map afterwards. */
  attributes: Record<string, string>;
  version: string;
  observedAt: Date;
}

/** What a subscriber watches: exactly one of `conversationId` / `queueId` (checked at the edge). */
export interface ChangeFilter {
  conversationId?: string;
  queueId?: string;
  participantId?: string;
  /** Only these keys; events touching none of them are skipped and `changes` is narrowed to them. */
  keys?: string[];
}

/** Options of {@link AttributeChangeFeed}. */
export interface AttributeChangeFeedOptions {
  channel: NotificationChannel;
  genesys: Pick<GenesysClient, "getConversation">;
  logger: Logger;
  /** Clock for `observedAt`, epoch ms. */
  now?: () => number;
  /** Events held for a subscriber that is not reading before it is ended. Default 1 000. */
  subscriberBufferLimit?: number;
  /** How long an ended conversation's last state is kept to absorb late duplicates (ms). Default 60 000. */
  endedRetentionMs?: number;
  /** Re-reads after a reconnect running at once. Default 8. */
  resyncConcurrency?: number;
  /** Waits before retrying a failed re-read after a reconnect (ms). Default [500, 1 000, 2 000]. */
  resyncRetryDelaysMs?: number[];
}

interface ConversationState {
  /** Epoch ms when a snapshot showed every participant ended; the state is dropped a while later. */
  endedAt?: number;
  queueIds: Set<string>;
  participants: Map<string, Record<string, string>>;
  /** Newest detail-event time applied per participant (epoch ms), to drop older events arriving late. */
  eventTimes: Map<string, number>;
}

const QUEUE_TOPIC = /^v2\.routing\.queues\.([^.]+)\.conversations(?:\.calls)?$/;
const USER_TOPIC = /^v2\.users\.([^.]+)\.conversations(?:\.calls)?$/;
const DETAIL_TOPIC = /^v2\.detail\.events\.conversation\.([^.]+)\.attributes$/;

/** Genesys topic carrying a conversation's attribute events. */
export const conversationAttributesTopic = (conversationId: string): string =>
  `v2.detail.events.conversation.${conversationId}.attributes`;
/** Genesys topic carrying snapshots of a queue's conversations. */
export const queueConversationsTopic = (queueId: string): string => `v2.routing.queues.${queueId}.conversations`;

/**
 * Fans Genesys notifications out to GraphQL subscribers as attribute changes. All subscribers
 * share the one {@link NotificationChannel}; topics are held while a subscriber needs them.
 */
export class AttributeChangeFeed {
  private readonly conversations = new Map<string, ConversationState>();
  private readonly bus = new EventEmitter<{ change: [AttributesChangeEvent] }>();
  private readonly watched = new Map<string, number>();
  private lastSweep = 0;
  private readonly now: () => number;

  constructor(private readonly options: AttributeChangeFeedOptions) {
    this.now = options.now ?? Date.now;
    this.bus.setMaxListeners(0);
    options.channel.on("event", (envelope) => this.onNotification(envelope));
    options.channel.on("reconnected", () => {
      void this.resync();
    });
  }

  /**
   * Starts a subscription: resolves once the Genesys topic is subscribed (and, for a
   * conversation, its current state is known), to an async iterator of matching changes.
   * Ending the iterator (`return()`) releases the topic.
   * @throws GenesysError when the topic cannot be subscribed.
   */
  async subscribe(filter: ChangeFilter): Promise<AsyncIterableIterator<AttributesChangeEvent>> {
    const topic = filter.conversationId
      ? conversationAttributesTopic(filter.conversationId)
      : queueConversationsTopic(filter.queueId ?? "");
    await this.options.channel.acquire([topic]);
    if (filter.conversationId) {
      this.watch(filter.conversationId, +1);
      await this.seed(filter.conversationId).catch((error) =>
        this.options.logger.warn({ err: String(error), conversationId: filter.conversationId }, "could not read initial state"),
      );
    }
    const listener = (event: AttributesChangeEvent) => {
      const narrowed = match(filter, event);
      if (narrowed) queue.push(narrowed);
    };
    // Registered now, released by the queue however it ends (even before the first next()).
    const queue = new SubscriberQueue<AttributesChangeEvent>(
      this.options.subscriberBufferLimit ?? 1_000,
      () => {
        this.bus.off("change", listener);
        if (filter.conversationId) this.watch(filter.conversationId, -1);
        void this.options.channel.release([topic]);
      },
      () => this.options.logger.warn({ filter }, "subscriber fell too far behind; its subscription was ended"),
    );
    this.bus.on("change", listener);
    return queue;
  }

  private watch(conversationId: string, delta: number): void {
    const n = (this.watched.get(conversationId) ?? 0) + delta;
    if (n > 0) {
      this.watched.set(conversationId, n);
      return;
    }
    this.watched.delete(conversationId);
    // Forget the conversation unless a queue subscription still covers it.
    const queues = this.subscribedQueues();
    const state = this.conversations.get(conversationId);
    if (state && ![...state.queueIds].some((q) => queues.has(q))) this.conversations.delete(conversationId);
  }

  private subscribedQueues(): Set<string> {
    return new Set(this.options.channel.topics.map((t) => QUEUE_TOPIC.exec(t)?.[1]).filter((q): q is string => Boolean(q)));
  }

  /** Records the conversation's current maps as the baseline, without emitting, if none is known yet. */
  private async seed(conversationId: string): Promise<void> {
    if (this.conversations.get(conversationId)?.participants.size) return;
    const conversation = await this.options.genesys.getConversation(conversationId);
    if (!conversation) return;
    const state = this.state(conversationId);
    for (const p of toConversationSnapshot(conversation).participants) {
      if (p.queueId) state.queueIds.add(p.queueId);
      if (!state.participants.has(p.id)) state.participants.set(p.id, Object.assign(Object.create(null), p.attributes));
    }
  }

  /**
   * Re-reads every conversation a subscriber may care about and emits what changed meanwhile.
   * At most `resyncConcurrency` GETs at once; a failed read is retried after each of
   * `resyncRetryDelaysMs`, then given up (logged).
   */
  private async resync(): Promise<void> {
    const ids = new Set<string>(this.watched.keys());
    const queues = this.subscribedQueues();
    for (const [id, state] of this.conversations) {
      if ([...state.queueIds].some((q) => queues.has(q))) ids.add(id);
    }
    const limit = pLimit(this.options.resyncConcurrency ?? 8);
    const delays = this.options.resyncRetryDelaysMs ?? [500, 1_000, 2_000];
    await Promise.all(
      [...ids].map((id) =>
        limit(async () => {
          for (let attempt = 0; ; attempt++) {
            try {
              const conversation = await this.options.genesys.getConversation(id);
              if (conversation && this.isCovered(id)) this.applySnapshot(conversation);
              return;
            } catch (error) {
              if (attempt >= delays.length) {
                this.options.logger.warn({ err: String(error), conversationId: id }, "re-read after reconnect failed; giving up");
                return;
              }
              await new Promise((resolve) => setTimeout(resolve, delays[attempt]).unref());
            }
          }
        }),
      ),
    );
  }

  /** True when a subscriber watches the conversation directly or through one of its queues. */
  private isCovered(conversationId: string, extraQueueId?: string): boolean {
    if (this.watched.has(conversationId)) return true;
    const queues = this.subscribedQueues();
    if (extraQueueId && queues.has(extraQueueId)) return true;
    const state = this.conversations.get(conversationId);
    return state !== undefined && [...state.queueIds].some((q) => queues.has(q));
  }

  /** Drops states nobody covers any more, and ended conversations past their retention. */
  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < 5_000) return;
    this.lastSweep = now;
    const retention = this.options.endedRetentionMs ?? 60_000;
    for (const [id, state] of this.conversations) {
      const expired = state.endedAt !== undefined && now - state.endedAt > retention;
      if ((expired && !this.watched.has(id)) || !this.isCovered(id)) this.conversations.delete(id);
    }
  }

  private onNotification(envelope: NotificationEnvelope): void {
    const body = envelope.eventBody as Record<string, unknown> | undefined;
    if (!body || typeof body !== "object") return;
    this.sweep();
    const queue = QUEUE_TOPIC.exec(envelope.topicName);
    if (queue || USER_TOPIC.test(envelope.topicName)) {
      const id = (body as GenesysConversationLike).id;
      // Late events for something no subscriber covers any more would only rebuild stale state.
      if (typeof id === "string" && this.isCovered(id, queue?.[1])) this.applySnapshot(body as GenesysConversationLike, queue?.[1]);
      return;
    }
    const detail = DETAIL_TOPIC.exec(envelope.topicName);
    if (detail) {
      const conversationId = typeof body.conversationId === "string" ? body.conversationId : detail[1];
      const participantId = body.participantId;
      const attributes = body.attributes;
      if (typeof participantId !== "string" || !isStringMap(attributes) || !conversationId) return;
      if (!this.isCovered(conversationId)) return;
      const eventTime = typeof body.eventTime === "number" ? body.eventTime : undefined;
      this.apply(conversationId, participantId, attributes, eventTime);
    }
  }

  private applySnapshot(body: GenesysConversationLike, queueId?: string): void {
    const snapshot = toConversationSnapshot(body);
    if (!snapshot.id) return;
    const state = this.state(snapshot.id);
    if (queueId) state.queueIds.add(queueId);
    for (const p of snapshot.participants) if (p.queueId) state.queueIds.add(p.queueId);
    for (const p of snapshot.participants) this.apply(snapshot.id, p.id, p.attributes);
    const ended = snapshot.participants.length > 0 && snapshot.participants.every((p) => p.endTime);
    // Kept a while after the end, so a duplicate of the final snapshot still diffs to nothing.
    if (ended) state.endedAt ??= this.now();
  }

  private apply(conversationId: string, participantId: string, attributes: Record<string, string>, eventTime?: number): void {
    const state = this.state(conversationId);
    if (eventTime !== undefined) {
      const newest = state.eventTimes.get(participantId);
      if (newest !== undefined && eventTime < newest) return; // an older event overtaken by a newer one
      state.eventTimes.set(participantId, eventTime);
    }
    const known = state.participants.get(participantId);
    const changes = diffAttributes(known, attributes);
    if (changes.length === 0) return;
    // No prototype: keys such as "toString" stay plain keys when looked up later.
    const merged: Record<string, string> = Object.assign(Object.create(null), known, attributes);
    state.participants.set(participantId, merged);
    this.bus.emit("change", {
      conversationId,
      participantId,
      queueIds: [...state.queueIds],
      changes,
      attributes: merged,
      version: attributesVersion(merged),
      observedAt: new Date(this.now()),
    });
  }

  private state(conversationId: string): ConversationState {
    let state = this.conversations.get(conversationId);
    if (!state) {
      state = { queueIds: new Set(), participants: new Map(), eventTimes: new Map() };
      this.conversations.set(conversationId, state);
    }
    return state;
  }
}

function match(filter: ChangeFilter, event: AttributesChangeEvent): AttributesChangeEvent | undefined {
  if (filter.conversationId && event.conversationId !== filter.conversationId) return undefined;
  if (filter.queueId && !event.queueIds.includes(filter.queueId)) return undefined;
  if (filter.participantId && event.participantId !== filter.participantId) return undefined;
  if (filter.keys && filter.keys.length > 0) {
    const keys = new Set(filter.keys);
    const changes = event.changes.filter((c) => keys.has(c.key));
    if (changes.length === 0) return undefined;
    return { ...event, changes };
  }
  return event;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === "string")
  );
}
