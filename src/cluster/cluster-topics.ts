/**
 * The change feed's notification side for a cluster of gateway instances
 * (`ClusterTopics implements TopicSubscriptions`).
 *
 * - Every instance publishes its own topic demand ({@link TopicDemand}); `acquire`/`release`
 *   take and drop this instance's references.
 * - The instance elected channel holder ({@link ChannelHolder}) runs a real
 *   {@link NotificationChannelPool} that subscribes the **union** of every live instance's
 *   demand (re-read every `pollMs`, and at once for its own acquires), on the channel ids kept
 *   in the {@link ChannelDirectory} (a new holder reconnects to the previous holder's channels),
 *   and emits the pool's `event`/`reconnected` locally: only the holder's feed sees
 *   notifications, and it alone appends to the change log.
 * - The holder publishes its live topics ({@link LiveTopicsStore}) with a heartbeat; a
 *   follower's `acquire` resolves once the holder has the topic live, and its `isLive(topic)` is
 *   true while its view of that set is fresh (read at most `2 × pollMs` ago), the holder's
 *   heartbeat has not expired and the topic is in the set.
 * - `subscribed(topics)` on the holder when the union grew by topics only other instances want,
 *   so the holder's feed reads their baseline.
 * - Continuity for `after` on every instance: the holder's feed proves a topic continuous once
 *   its baseline, reconnect re-read or takeover re-read is applied ({@link ClusterTopics.beginContinuity});
 *   the holder publishes, with the live set, the log seq since which each topic has been live
 *   with no gap. A reconnect of its channel, a release or a new holder starts it over. Every
 *   instance's {@link ClusterTopics.continuousSince} answers from it (a follower: from its fresh view).
 * - Role changes: `holding(topics)` once a newly elected holder has subscribed the union (the
 *   feed then re-reads what those topics cover: {@link followClusterRole}); `following` when it
 *   is deposed (its channels are closed at once, so it never kicks the new holder's sockets).
 *
 * Composition (one ioredis client `redis`, key prefix `p`, instance id `id`; test/cluster/cluster-feed.test.ts does exactly this):
 * ```ts
 * const holder = new ChannelHolder({ leases: new RedisLeaseStore({ redis, keyPrefix: p }), owner: id, logger });
 * const log = await RedisChangeLog.open({ redis, keyPrefix: p, fence: () => holder.redisFence(p) });
 * const topics = new ClusterTopics({ holder, logger,
 *   demand: new RedisTopicDemand({ redis, keyPrefix: p, instanceId: id, logger }),
 *   live: new RedisLiveTopics({ redis, keyPrefix: p }), directory: new RedisChannelDirectory({ redis, keyPrefix: p }),
 *   createChannel: ({ existing, mayReconnect }) => new NotificationChannel({ client: genesys, logger, existing, mayReconnect }) });
 * const feed = new AttributeChangeFeed({ topics, log, role: "follower", onAppendError: (e) => holder.noteAppendError(e), ... });
 * followClusterRole(feed, topics);
 * topics.start();   // shutdown: feed.close(); await topics.stop(); await log.close()
 * ```
 */
import { EventEmitter } from "node:events";
import type { TopicSubscriptions } from "../attributes/change-feed.js";
import { NotificationChannelPool } from "../genesys/channel-pool.js";
import { GenesysError } from "../genesys/errors.js";
import type { NotificationChannel, NotificationChannelRef, NotificationEnvelope, NotificationSocketState, NotificationStateSource } from "../genesys/notifications.js";
import type { Logger } from "../logger.js";
import { systemTimers, type Timers } from "../timers.js";
import type { ChannelDirectory } from "./channel-directory.js";
import type { ChannelHolder } from "./channel-holder.js";
import type { LiveTopicsStore } from "./live-topics.js";
import type { TopicDemand } from "./topic-demand.js";

/** Options of {@link ClusterTopics}. Durations in ms. */
export interface ClusterTopicsOptions {
  holder: ChannelHolder;
  demand: TopicDemand;
  live: LiveTopicsStore;
  directory: ChannelDirectory;
  /**
   * Makes one notification channel of the holder's pool: `existing` is the slot's channel from
   * the directory (reconnect to it), `mayReconnect` answers whether this instance still holds the
   * channels lease (pass both to `new NotificationChannel`).
   */
  createChannel: (options: { existing?: NotificationChannelRef; mayReconnect: () => Promise<boolean> }) => NotificationChannel;
  /** Genesys: 1 000 topics per channel (lower only in tests). */
  maxTopicsPerChannel?: number;
  /** Genesys: 20 channels per user and app (lower only in tests). */
  maxChannels?: number;
  /** Holder: union re-read and live-set heartbeat period; follower: live-set refresh period. Default 1 000. */
  pollMs?: number;
  /** TTL of the holder's live-set heartbeat. Default `3 × pollMs`. */
  liveTtlMs?: number;
  /** How long a follower's `acquire` waits for the holder to have its topics live. Default 15 000 (a takeover: ≤ TTL + TTL/3). */
  acquireTimeoutMs?: number;
  /** While waiting, how often a follower re-reads the live set. Default 100. */
  acquirePollMs?: number;
  /** A topic Genesys refused is tried again after this long (if still wanted). Default 60 000. */
  refusedRetryMs?: number;
  timers?: Timers;
  logger: Logger;
}

/** Events of {@link ClusterTopics}. */
export interface ClusterTopicsEvents {
  /** A topic event (holder only). */
  event: [NotificationEnvelope];
  /** One of the holder's channels reconnected; events of these topics in between were lost (holder only). */
  reconnected: [string[]];
  /**
   * (Holder) topics newly subscribed for the cluster's union at a poll (not for this instance's
   * own acquire, whose caller reads its baseline), and topics held before that another instance
   * now wants and that were never proven continuous (once each): the feed reads what they cover
   * and proves them ({@link ClusterTopics.beginContinuity}).
   */
  subscribed: [string[]];
  /** This instance became the holder and has subscribed these topics (the cluster's union). */
  holding: [string[]];
  /** This instance is no longer the holder. */
  following: [];
  /** {@link ClusterTopics.state} changed. */
  state: [NotificationSocketState];
}

/** The holder's pool: one pool reference per topic held (or being subscribed). */
interface Holding {
  fence: number;
  pool: NotificationChannelPool;
  /** Subscribed topics. */
  held: Set<string>;
  /** Topics being subscribed, with their subscription. */
  pending: Map<string, Promise<void>>;
  /** Signature of the last live state published. */
  published?: string;
  /** `holding` was emitted (later additions are announced with `subscribed`). */
  electedDone?: boolean;
  /** Topic → the log seq since which it has been live with no gap (proven by the feed). */
  since: Map<string, number>;
  /** Topic → gaps seen (reconnects, releases): a proof begun before the latest one is void. */
  gaps: Map<string, number>;
  /** Topics proven once on this holding, or announced with `subscribed` to be proven (never announced twice). */
  announced: Set<string>;
}

/** See the file comment. */
export class ClusterTopics extends EventEmitter<ClusterTopicsEvents> implements TopicSubscriptions, NotificationStateSource {
  private readonly timers: Timers;
  private readonly pollMs: number;
  private readonly liveTtlMs: number;
  /** The holder's pool and what it holds. */
  private holding?: Holding;
  /** Topic → when Genesys refused it (epoch ms) and why (holder). */
  private readonly refused = new Map<string, { at: number; reason: string }>();
  /** A follower's view of the holder's live set. */
  private view?: { version: number; topics: Set<string>; refused: Record<string, string>; since: Record<string, number>; fetchedAt: number };
  /** The follower's live-set read in flight. */
  private viewing?: Promise<ClusterTopics["view"]>;
  /** The union of every instance's demand at the last successful read. */
  private union = new Set<string>();
  private reconciling?: Promise<void>;
  private cancelPoll?: () => void;
  private cancelPublish?: () => void;
  private running = false;
  private lastState: NotificationSocketState = "idle";

  /** @param options see {@link ClusterTopicsOptions}. Call {@link start}. */
  constructor(private readonly options: ClusterTopicsOptions) {
    super();
    this.timers = options.timers ?? systemTimers;
    this.pollMs = options.pollMs ?? 1_000;
    this.liveTtlMs = options.liveTtlMs ?? 3 * this.pollMs;
    options.holder.on("elected", (fence) => void this.becomeHolder(fence));
    options.holder.on("deposed", () => this.becomeFollower());
  }

  /** Starts the election, the demand heartbeat and the poll loop. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.options.demand.start();
    this.options.holder.start();
    this.schedulePoll(0);
  }

  /** Stops everything: steps down (releasing the lease), withdraws this instance's demand, closes the channels. */
  async stop(): Promise<void> {
    this.running = false;
    this.cancelPoll?.();
    this.cancelPublish?.();
    await this.options.holder.stop();
    this.becomeFollower();
    await this.options.demand.stop().catch((error: unknown) => this.options.logger.warn({ err: String(error) }, "could not withdraw the topic demand"));
  }

  /**
   * The notification side as readiness and metrics see it (NotificationStateSource): on the holder
   * its pool's state; on a follower `open` while it has a fresh view of a holder's live topics,
   * `down` when no holder's heartbeat was found (a takeover under way, or Redis unreachable), `idle`
   * before the first look.
   */
  get state(): NotificationSocketState {
    return this.lastState;
  }

  /** Whether this instance holds the channels (and its pool is up). */
  get isHolder(): boolean {
    return this.holding !== undefined;
  }

  /** Distinct topics this instance holds references on. */
  get heldTopicCount(): number {
    return this.options.demand.local().length;
  }

  /**
   * Topics wanted anywhere in the cluster, as last known: the union of every instance's demand
   * read at the last poll (kept while Redis cannot be read), plus this instance's own demand.
   */
  wantedTopics(): string[] {
    const topics = new Set(this.options.demand.local());
    for (const t of this.union) topics.add(t);
    return [...topics];
  }

  /** Whether the topic is in {@link wantedTopics} (synchronous, from the last poll). */
  isWanted(topic: string): boolean {
    return this.union.has(topic) || this.options.demand.holds(topic);
  }

  /**
   * Takes this instance's reference on each topic; resolves once the holder has them live.
   * @throws TopicLimitError when every channel of the holder is full (holder); GenesysError
   *   `notification.topic.rejected` (403) when Genesys refused a topic; GenesysError
   *   `notification.holder.unavailable` (503) when no holder had them live within
   *   `acquireTimeoutMs` (follower); the store's error when the demand cannot be published.
   *   On any error the references are given back.
   */
  async acquire(topics: string[]): Promise<void> {
    await this.options.demand.acquire(topics);
    try {
      const deadline = this.timers.now() + (this.options.acquireTimeoutMs ?? 15_000);
      for (;;) {
        const holding = this.holding;
        if (holding) {
          await this.hold(holding, topics, true);
          // Deposed meanwhile: its pool is closed; wait for the next holder like a follower.
          if (this.holding !== holding) continue;
          this.publishSoon();
          return;
        }
        const view = await this.refreshView();
        const refused = topics.find((t) => view?.refused[t] !== undefined);
        if (refused) throw new GenesysError({ status: 403, code: "notification.topic.rejected", message: `Genesys refused ${refused} (${view!.refused[refused]})` });
        if (view && topics.every((t) => view.topics.has(t))) return;
        if (this.timers.now() >= deadline || !this.running) {
          throw new GenesysError({ status: 503, code: "notification.holder.unavailable", message: "no channel holder subscribed the topic in time (takeover under way or Redis unreachable)" });
        }
        await new Promise<void>((resolve) => this.timers.schedule(resolve, Math.min(this.options.acquirePollMs ?? 100, Math.max(1, deadline - this.timers.now()))));
      }
    } catch (error) {
      await this.options.demand.release(topics).catch(() => undefined);
      throw error;
    }
  }

  /** Drops this instance's reference on each topic; the holder unsubscribes topics no instance wants any more. */
  async release(topics: string[]): Promise<void> {
    await this.options.demand.release(topics).catch((error: unknown) => this.options.logger.warn({ err: String(error) }, "could not withdraw topic demand"));
    if (this.holding) await this.reconcile();
  }

  /** Holder: the pool's isLive. Follower: the topic is in a fresh view of the holder's live set (see the file comment). */
  isLive(topic: string): boolean {
    if (this.holding) return this.holding.pool.isLive(topic);
    const view = this.view;
    return view !== undefined && this.timers.now() - view.fetchedAt <= 2 * this.pollMs && view.topics.has(topic);
  }

  /**
   * The log seq since which the holder has had the topic live with no gap (TopicSubscriptions
   * `continuousSince`): on the holder from its own record while the pool has the topic live; on a
   * follower from what the holder published, read afresh (one Redis round trip, shared with any
   * read in flight). Undefined otherwise, also when Redis cannot be read. Never rejects.
   */
  async continuousSince(topic: string): Promise<number | undefined> {
    const holding = this.holding;
    if (holding) return holding.pool.isLive(topic) ? holding.since.get(topic) : undefined;
    const view = await this.refreshView();
    if (this.holding) return this.continuousSince(topic);
    return view && this.isLive(topic) ? view.since[topic] : undefined;
  }

  /**
   * Holder: starts proving `topics` continuous (TopicSubscriptions `beginContinuity`). The
   * returned function records `seq` for each topic that is still live on this holding with no
   * reconnect or release since this call and no earlier proof (the earliest stands), and
   * publishes it. On a follower, or once deposed, it does nothing.
   */
  beginContinuity(topics: string[]): (seq: number) => void {
    const holding = this.holding;
    if (!holding) return () => undefined;
    const begun = topics.map((t) => [t, holding.gaps.get(t) ?? 0] as const);
    return (seq) => {
      if (this.holding !== holding) return;
      let changed = false;
      for (const [t, gaps] of begun) {
        if ((holding.gaps.get(t) ?? 0) !== gaps || !holding.pool.isLive(t) || holding.since.has(t)) continue;
        holding.since.set(t, seq);
        holding.announced.add(t);
        changed = true;
      }
      if (changed) this.publishSoon();
    };
  }

  /** Holder: the topics' continuity is broken (a gap, or no longer held): proofs start over. */
  private breakContinuity(holding: Holding, topics: Iterable<string>): void {
    for (const t of topics) {
      holding.since.delete(t);
      holding.gaps.set(t, (holding.gaps.get(t) ?? 0) + 1);
    }
  }

  private async becomeHolder(fence: number): Promise<void> {
    if (!this.running) return;
    const slots = await this.options.directory.load().catch((error: unknown) => {
      this.options.logger.warn({ err: String(error) }, "could not load the channel directory; creating channels");
      return [] as Array<NotificationChannelRef | undefined>;
    });
    if (this.options.holder.fence !== fence) return; // deposed meanwhile
    let next = 0;
    const pool = new NotificationChannelPool({
      createChannel: () => {
        const slot = next++;
        const existing = slots[slot];
        const channel = this.options.createChannel({ existing, mayReconnect: () => this.options.holder.stillHolds() });
        const save = (ref: NotificationChannelRef) =>
          void this.options.directory.save(slot, ref, fence).catch((error: unknown) => this.options.logger.warn({ err: String(error), slot }, "could not save the channel id"));
        channel.on("channel", save);
        if (existing) save(existing);
        return channel;
      },
      maxTopicsPerChannel: this.options.maxTopicsPerChannel,
      maxChannels: this.options.maxChannels,
    });
    const holding: Holding = { fence, pool, held: new Set(), pending: new Map(), since: new Map(), gaps: new Map(), announced: new Set() };
    pool.on("event", (envelope) => {
      if (this.holding === holding) this.emit("event", envelope);
    });
    pool.on("reconnected", (topics) => {
      if (this.holding !== holding) return;
      // Events were lost in the gap: continuous again once the feed's re-read is applied.
      this.breakContinuity(holding, topics);
      this.publishSoon();
      this.emit("reconnected", topics);
    });
    pool.on("state", (state) => {
      if (this.holding !== holding) return;
      this.setState(state);
      this.publishSoon();
    });
    this.holding = holding;
    this.view = undefined;
    this.setState(pool.state);
    await this.reconcile();
    if (this.holding !== holding) return;
    holding.electedDone = true;
    this.emit("holding", [...holding.held]);
  }

  private becomeFollower(): void {
    const holding = this.holding;
    if (!holding) return;
    this.holding = undefined;
    this.cancelPublish?.();
    holding.pool.close();
    this.setState("idle");
    this.emit("following");
  }

  /** Holder: makes the pool hold the union of every instance's demand (serialized; concurrent callers share one run). */
  private reconcile(): Promise<void> {
    this.reconciling ??= this.reconcileOnce().finally(() => {
      this.reconciling = undefined;
    });
    return this.reconciling;
  }

  private async reconcileOnce(): Promise<void> {
    const holding = this.holding;
    if (!holding) return;
    const union = await this.refreshUnion();
    if (!union) return;
    const wanted = new Set([...union, ...this.options.demand.local()]);
    const removed = [...holding.held].filter((t) => !wanted.has(t));
    for (const t of removed) holding.held.delete(t);
    this.breakContinuity(holding, removed);
    if (removed.length > 0) await holding.pool.release(removed).catch(() => undefined);
    for (const t of this.refused.keys()) if (!wanted.has(t)) this.refused.delete(t);
    const before = new Set(holding.held);
    await this.hold(holding, [...wanted], false);
    await this.publish(holding);
    const added = [...holding.held].filter((t) => !before.has(t) && !this.options.demand.holds(t));
    // Held for this instance's own writes before another instance wanted them: never proven
    // continuous for the cluster; announced once so the feed reads their baseline and proves them.
    const unproven = [...before].filter((t) => holding.held.has(t) && this.union.has(t) && !holding.announced.has(t) && holding.pool.isLive(t));
    const announce = [...added, ...unproven];
    if (announce.length > 0 && this.holding === holding && holding.electedDone) {
      for (const t of announce) holding.announced.add(t);
      this.emit("subscribed", announce);
    }
  }

  /**
   * Holder: subscribes each topic not held yet (one pool reference per topic; concurrent
   * subscriptions share one PUT per channel), skipping topics refused within `refusedRetryMs`;
   * waits for topics another caller is subscribing.
   * @throws (strict only) the first refusal or limit error among `topics`, or their earlier refusal.
   */
  private async hold(holding: Holding, topics: string[], strict: boolean): Promise<void> {
    const now = this.timers.now();
    const retryAfter = this.options.refusedRetryMs ?? 60_000;
    const waits: Array<Promise<void>> = [];
    for (const topic of new Set(topics)) {
      if (holding.held.has(topic)) continue;
      const pending = holding.pending.get(topic);
      if (pending) {
        waits.push(pending);
        continue;
      }
      const refused = this.refused.get(topic);
      if (refused && now - refused.at < retryAfter) continue;
      const subscribing: Promise<void> = holding.pool.acquire([topic]).then(
        () => {
          holding.pending.delete(topic);
          holding.held.add(topic);
          this.refused.delete(topic);
        },
        (error: unknown) => {
          holding.pending.delete(topic);
          const reason = error instanceof Error ? error.message : String(error);
          if (error instanceof GenesysError && error.code === "notification.topic.rejected") this.refused.set(topic, { at: now, reason });
          else if (this.holding === holding) this.options.logger.warn({ topic, err: reason }, "the channel holder could not subscribe a topic; trying again at the next poll");
          throw error;
        },
      );
      holding.pending.set(topic, subscribing);
      waits.push(subscribing);
    }
    const results = await Promise.allSettled(waits);
    if (!strict || this.holding !== holding) return;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    const refused = topics.find((t) => !holding.held.has(t) && this.refused.has(t));
    if (refused) throw new GenesysError({ status: 403, code: "notification.topic.rejected", message: `Genesys refused ${refused} (${this.refused.get(refused)!.reason})` });
  }

  /** Holder: publishes the live set (the whole state when it changed, else a heartbeat). */
  private async publish(holding: Holding): Promise<void> {
    const topics = [...holding.held].filter((t) => holding.pool.isLive(t)).sort();
    // Not live now: whatever happens before it is live again is a gap.
    this.breakContinuity(holding, [...holding.since.keys()].filter((t) => !holding.pool.isLive(t)));
    const refused: Record<string, string> = {};
    for (const [t, r] of this.refused) refused[t] = r.reason;
    const since: Record<string, number> = {};
    for (const t of topics) {
      const seq = holding.since.get(t);
      if (seq !== undefined) since[t] = seq;
    }
    const signature = JSON.stringify([topics, refused, since]);
    try {
      let result = await this.options.live.publish(holding.fence, this.liveTtlMs, signature === holding.published ? undefined : { topics, refused, since });
      if (result === "missing") result = await this.options.live.publish(holding.fence, this.liveTtlMs, { topics, refused, since });
      if (result === "stale") {
        this.options.holder.stepDown("the live topics were refused: another instance holds the channels lease");
        return;
      }
      holding.published = signature;
    } catch (error) {
      this.options.logger.warn({ err: String(error) }, "could not publish the live topics");
    }
  }

  private publishSoon(): void {
    if (this.cancelPublish) return;
    this.cancelPublish = this.timers.schedule(() => {
      this.cancelPublish = undefined;
      const holding = this.holding;
      if (holding) void this.publish(holding);
    }, 0);
  }

  /** Re-reads the union of every instance's demand; undefined when Redis cannot be read (the last one is kept). */
  private async refreshUnion(): Promise<string[] | undefined> {
    try {
      const union = await this.options.demand.union();
      this.union = new Set(union);
      return union;
    } catch (error) {
      this.options.logger.warn({ err: String(error) }, "could not read the cluster's topic demand");
      return undefined;
    }
  }

  /**
   * Follower: re-reads the holder's live set (undefined when no holder heartbeat is fresh). One
   * read in flight at a time, shared by every caller (a burst of waiting acquires costs one round trip).
   */
  private refreshView(): Promise<ClusterTopics["view"]> {
    this.viewing ??= this.readView().finally(() => {
      this.viewing = undefined;
    });
    return this.viewing;
  }

  private async readView(): Promise<ClusterTopics["view"]> {
    try {
      const read = await this.options.live.read(this.view?.version);
      const fetchedAt = this.timers.now();
      if (!read) this.view = undefined;
      else if (read.topics && read.refused) this.view = { version: read.version, topics: new Set(read.topics), refused: read.refused, since: read.since ?? {}, fetchedAt };
      else if (this.view) this.view.fetchedAt = fetchedAt;
    } catch (error) {
      this.options.logger.warn({ err: String(error) }, "could not read the holder's live topics");
      if (this.view && this.timers.now() - this.view.fetchedAt > 2 * this.pollMs) this.view = undefined;
    }
    if (!this.holding) this.setState(this.view ? "open" : "down");
    return this.view;
  }

  private setState(state: NotificationSocketState): void {
    if (state === this.lastState) return;
    this.lastState = state;
    this.emit("state", state);
  }

  private schedulePoll(delayMs: number): void {
    if (!this.running) return;
    this.cancelPoll = this.timers.schedule(() => {
      const work = this.holding ? this.reconcile() : Promise.all([this.refreshView(), this.refreshUnion()]);
      void work.finally(() => this.schedulePoll(this.pollMs));
    }, delayMs);
  }
}

/** The role switch of a change feed (AttributeChangeFeed). */
export interface FeedRole {
  /** Starts appending and reconciling; re-reads what `topics` cover. */
  becomeHolder(topics: string[]): Promise<void>;
  /** Stops appending and reconciling. */
  becomeFollower(): void;
}

/**
 * Wires a feed's role to the cluster's: `holding(topics)` → `feed.becomeHolder(topics)` (appends,
 * reconciles, re-reads what the topics cover), `following` → `feed.becomeFollower()`. Call once
 * after constructing both, before {@link ClusterTopics.start}. Returns the unwiring.
 */
export function followClusterRole(feed: FeedRole, topics: ClusterTopics): () => void {
  const onHolding = (held: string[]) => void feed.becomeHolder(held);
  const onFollowing = () => feed.becomeFollower();
  topics.on("holding", onHolding);
  topics.on("following", onFollowing);
  return () => {
    topics.off("holding", onHolding);
    topics.off("following", onFollowing);
  };
}
