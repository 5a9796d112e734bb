/**
 * A pool of Genesys notification channels, so a gateway can watch more topics than one channel
 * holds (shared/genesys/README.md, "Notifications": at most 1,000 topics per channel, at most
 * 20 channels per user and app — a 21st evicts the oldest unconnected one, so the pool never
 * asks for it).
 *
 * Topics are reference-counted here and placed on the first channel with room; a channel is
 * created when every existing one is full. Each channel keeps its own socket, watchdog and
 * reconnect (./notifications.ts); the pool re-emits every channel's events, and a channel's
 * `reconnected` with the topics it holds, so consumers re-read only what that gap touched.
 * A frame delivered twice (on two channels, or again on a channel's new socket around a
 * reconnect: same topic and CorrelationId, see ./recent-notifications.ts) is emitted once, as
 * `event`; its repeats as `duplicate`.
 */
import { EventEmitter } from "node:events";
import type { NotificationChannel, NotificationEnvelope, NotificationSocketState } from "./notifications.js";
import { RecentNotifications } from "./recent-notifications.js";

/** Genesys: topics per channel. */
export const MAX_TOPICS_PER_CHANNEL = 1_000;
/** Genesys: channels per user and app. */
export const MAX_CHANNELS = 20;

/** Every channel of the pool is full: the topic cannot be watched (GraphQL code `UPSTREAM_LIMIT`). */
export class TopicLimitError extends Error {
  override name = "TopicLimitError";
  readonly code = "UPSTREAM_LIMIT";
}

/** Events of {@link NotificationChannelPool}. */
export interface ChannelPoolEvents {
  /** A topic event from any channel, the first time that frame arrives. */
  event: [NotificationEnvelope];
  /** A frame that already arrived (same topic and CorrelationId), dropped. */
  duplicate: [NotificationEnvelope];
  /** One channel's socket is open again; events of these topics in between were lost. */
  reconnected: [string[]];
  /** The pool's socket state changed (see {@link NotificationChannelPool.state}). */
  state: [NotificationSocketState];
}

/** Worst first: the pool's state is the first of these that any channel is in. */
const STATE_ORDER: readonly NotificationSocketState[] = ["down", "closed", "idle", "open"];

/** Options of {@link NotificationChannelPool}. */
export interface ChannelPoolOptions {
  /** Makes a new (not yet connected) channel. */
  createChannel: () => NotificationChannel;
  /** Default 1 000. */
  maxTopicsPerChannel?: number;
  /** Default 20. */
  maxChannels?: number;
  /** Recognises repeated frames. Default a {@link RecentNotifications} with its defaults. */
  recent?: RecentNotifications;
}

interface Slot {
  channel: NotificationChannel;
  /** The channel's socket state, from its `state` events. */
  state: NotificationSocketState;
  /** Topic → holders, for topics placed on this channel. */
  refs: Map<string, number>;
}

/** See the file comment. */
export class NotificationChannelPool extends EventEmitter<ChannelPoolEvents> {
  private readonly slots: Slot[] = [];
  private readonly placement = new Map<string, Slot>();
  private readonly maxTopics: number;
  private readonly maxChannels: number;
  private aggregate: NotificationSocketState = "idle";
  private readonly recent: RecentNotifications;
  /** Repeated frames dropped so far (for tests and metrics). */
  duplicates = 0;

  constructor(private readonly options: ChannelPoolOptions) {
    super();
    this.recent = options.recent ?? new RecentNotifications();
    this.maxTopics = options.maxTopicsPerChannel ?? MAX_TOPICS_PER_CHANNEL;
    this.maxChannels = options.maxChannels ?? MAX_CHANNELS;
  }

  /**
   * Takes a reference on each topic; resolves once every one is subscribed on its channel.
   * @throws TopicLimitError when no channel has room; GenesysError as NotificationChannel.acquire.
   */
  async acquire(topics: string[]): Promise<void> {
    const placed: Array<[Slot, string]> = [];
    try {
      for (const topic of topics) placed.push([this.place(topic), topic]);
    } catch (error) {
      for (const [slot, topic] of placed) this.unref(slot, topic);
      throw error;
    }
    const bySlot = group(placed);
    const results = await Promise.allSettled([...bySlot].map(([slot, list]) => slot.channel.acquire(list)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      // Channels that did subscribe give their references back; the failed one already did.
      const ok = [...bySlot].filter((_, i) => results[i]!.status === "fulfilled");
      await Promise.all(ok.map(([slot, list]) => slot.channel.release(list)));
      for (const [slot, topic] of placed) this.unref(slot, topic);
      throw failed.reason;
    }
  }

  /** Drops a reference on each topic; topics nobody holds are unsubscribed from their channel. */
  async release(topics: string[]): Promise<void> {
    const placed: Array<[Slot, string]> = [];
    for (const topic of topics) {
      const slot = this.placement.get(topic);
      if (slot) placed.push([slot, topic]);
    }
    for (const [slot, topic] of placed) this.unref(slot, topic);
    await Promise.all([...group(placed)].map(([slot, list]) => slot.channel.release(list)));
  }

  /** True when the topic's channel is connected with it subscribed and no gap open (NotificationChannel.isLive). */
  isLive(topic: string): boolean {
    return this.placement.get(topic)?.channel.isLive(topic) ?? false;
  }

  /** Topics subscribed on every channel. */
  get topics(): string[] {
    return this.slots.flatMap((s) => s.channel.topics);
  }

  /** Distinct topics held by at least one holder, over every channel (readiness: notifications matter only above 0). */
  get heldTopicCount(): number {
    return this.placement.size;
  }

  /**
   * The state of the pool's sockets as one: `open` when every channel's socket is open;
   * otherwise the worst state a channel is in (`down`, then `closed`, then `idle`); `idle`
   * before the first channel exists (channels are created when topics are first acquired).
   */
  get state(): NotificationSocketState {
    return this.aggregate;
  }

  /** Channels created so far. */
  get channelCount(): number {
    return this.slots.length;
  }

  /** Closes every channel. */
  close(): void {
    for (const slot of this.slots) slot.channel.close();
  }

  private place(topic: string): Slot {
    let slot = this.placement.get(topic);
    if (!slot) {
      slot = this.slots.find((s) => s.refs.size < this.maxTopics) ?? this.addSlot();
      this.placement.set(topic, slot);
    }
    slot.refs.set(topic, (slot.refs.get(topic) ?? 0) + 1);
    return slot;
  }

  private unref(slot: Slot, topic: string): void {
    const n = (slot.refs.get(topic) ?? 0) - 1;
    if (n > 0) {
      slot.refs.set(topic, n);
      return;
    }
    slot.refs.delete(topic);
    if (this.placement.get(topic) === slot) this.placement.delete(topic);
  }

  private addSlot(): Slot {
    if (this.slots.length >= this.maxChannels) {
      throw new TopicLimitError(
        `every notification channel is full (${this.maxChannels} channels × ${this.maxTopics} topics, the Genesys limits)`,
      );
    }
    const channel = this.options.createChannel();
    const slot: Slot = { channel, state: "idle", refs: new Map() };
    channel.on("event", (envelope) => {
      if (!this.recent.isRepeat(envelope)) {
        this.emit("event", envelope);
        return;
      }
      this.duplicates += 1;
      this.emit("duplicate", envelope);
    });
    channel.on("reconnected", () => this.emit("reconnected", channel.topics));
    channel.on("state", (state) => {
      slot.state = state;
      this.updateState();
    });
    this.slots.push(slot);
    this.updateState();
    return slot;
  }

  /** Recomputes {@link state}; emits `state` when it changed. */
  private updateState(): void {
    const states = new Set(this.slots.map((s) => s.state));
    const next = this.slots.length === 0 ? "idle" : (STATE_ORDER.find((state) => states.has(state)) ?? "idle");
    if (next === this.aggregate) return;
    this.aggregate = next;
    this.emit("state", next);
  }
}

function group(placed: Array<[Slot, string]>): Map<Slot, string[]> {
  const bySlot = new Map<Slot, string[]>();
  for (const [slot, topic] of placed) {
    const list = bySlot.get(slot) ?? [];
    list.push(topic);
    bySlot.set(slot, list);
  }
  return bySlot;
}
