/**
 * The change feed: Genesys notifications in, `attributesChanged` streams out, with the change
 * log in between.
 *
 * - Notifications (genesys/attribute-events.ts) and REST reads go to the {@link ChangeTracker},
 *   the one place that dedupes, orders and appends; suspect notifications are confirmed by a
 *   read through the {@link Reconciler}, which also sweeps watched conversations at a bounded
 *   rate to heal events Genesys dropped.
 * - Each subscriber is a {@link ChangeStream}, registered in an index by conversation and by
 *   queue, so an appended entry reaches only the streams that can match it.
 * - Topics are held on a pool of notification channels while a subscriber needs them. After a
 *   channel reconnects, the conversations its topics cover are re-read, and for its queue
 *   topics the queue's live conversations are listed (queue observations) to find those that
 *   entered the queue during the gap. The same listing gives a queue subscription its baseline,
 *   and background reconciliation repeats it for every watched queue once per round, to find
 *   conversations whose queue notification was dropped without a socket drop.
 * - Several instances on one shared log (`role`): only the **holder** (the instance holding the
 *   Genesys channels, src/cluster/) decides, appends and reconciles; a **follower** sees no
 *   notifications, its tracker absorbs what the holder appends (so its snapshots, queries served
 *   from the log and write confirmations see the cluster's state) and its own REST reads answer
 *   their callers without being appended. {@link AttributeChangeFeed.becomeHolder} switches a
 *   follower over and re-reads what the cluster watches, appending what changed meanwhile.
 */
import pLimit from "p-limit";
import type { Logger } from "../logger.js";
import type { NotificationEnvelope } from "../genesys/notifications.js";
import {
  conversationAttributesTopic,
  conversationOfTopic,
  parseAttributeNotification,
  queueConversationsTopic,
  queueOfTopic,
} from "../genesys/attribute-events.js";
import type { ConversationSnapshot, ParticipantSnapshot } from "../genesys/participants.js";
import { attributeMap } from "./attribute-map.js";
import { snapshotChanges, type AttributeChange } from "./changes.js";
import { CursorExpiredError, type ChangeEntry, type ChangeLog, type ParticipantInfo } from "./change-log.js";
import { ChangeStream, type SnapshotParticipant, type StreamItem } from "./change-stream.js";
import { ChangeTracker, type ObservedParticipant, type Verdict } from "./change-tracker.js";
import { ConversationReads, type ReadPriority } from "./conversation-reads.js";
import { ParticipantStates } from "./participant-watch.js";
import { Reconciler } from "./reconciler.js";
import { systemTimers, type Timers } from "../timers.js";
import { attributesVersion } from "./version.js";

export type { AttributesChangeEvent, SlowConsumerEnd, StreamItem } from "./change-stream.js";

/** What a subscriber watches: exactly one of `conversationId` / `queueId` (checked at the edge). */
export interface ChangeFilter {
  conversationId?: string;
  queueId?: string;
  participantId?: string;
  /** Only these keys; entries touching none of them are skipped and `changes` is narrowed to them. */
  keys?: string[];
}

/** Where a subscription starts. At most one of the two (checked at the edge). */
export interface StreamStart {
  /** Replay every matching change after this cursor, then live. @see CursorExpiredError */
  after?: string;
  /** First one event per matching participant with its current state. */
  includeSnapshot?: boolean;
}

/** The notification side the feed needs (implemented by `NotificationChannelPool`). */
export interface TopicSubscriptions {
  acquire(topics: string[]): Promise<void>;
  release(topics: string[]): Promise<void>;
  on(event: "event", listener: (envelope: NotificationEnvelope) => void): unknown;
  on(event: "reconnected", listener: (topics: string[]) => void): unknown;
  /**
   * (Clusters) the holder subscribed topics another instance wants: the holder's feed reads the
   * baseline of what they cover, so its first entries list real `previous` values. Never emitted in one process.
   */
  on(event: "subscribed", listener: (topics: string[]) => void): unknown;
  /** True while the topic is subscribed on a connected channel with no gap since (see NotificationChannel.live). */
  isLive(topic: string): boolean;
  /**
   * Whether any instance of a cluster wants the topic (cluster/cluster-topics.ts). Absent (one
   * process): only this feed's own watches count.
   */
  isWanted?(topic: string): boolean;
  /** Every topic wanted in the cluster, as last known (absent: only this feed's own watches). */
  wantedTopics?(): string[];
  /**
   * (Clusters) The log `seq` since which the cluster's appender (the channel holder) has had the
   * topic live with no gap, so every change of what it covers after that seq is in the log; on
   * a follower as the holder published it (cluster/live-topics.ts, read afresh). Undefined when
   * the topic is not live, a gap's or a takeover's re-read is still open, or no holder is known
   * (never rejects: unknown is undefined). Absent (one process): only this feed's own watches
   * count for `after`.
   */
  continuousSince?(topic: string): Promise<number | undefined>;
  /**
   * (Clusters, holder) Starts proving `topics` continuous: call before the (re-)read of what they
   * cover, then call the returned function with the log's `headSeq()` once that read has been
   * applied: each topic still live with no gap opened in between is then continuous since that
   * seq (see {@link continuousSince}). A no-op when absent or not the holder.
   */
  beginContinuity?(topics: string[]): (seq: number) => void;
}

/** A feed's part in a cluster: the `holder` decides and appends; a `follower` only absorbs and fans out. */
export type FeedRole = "holder" | "follower";

/** What the feed needs from Genesys REST. */
export interface ConversationSource {
  /** `GET /api/v2/conversations/{id}`, mapped; null on 404. `priority`: the budget class (genesys/budget.ts). */
  getConversation(conversationId: string, priority: ReadPriority): Promise<ConversationSnapshot | null>;
  /** The ids of a queue's live conversations (queue observations). */
  listQueueConversations(queueId: string): Promise<{ conversationIds: string[]; truncated: boolean }>;
}

/** Options of {@link AttributeChangeFeed}. Durations in ms. */
export interface AttributeChangeFeedOptions {
  topics: TopicSubscriptions;
  genesys: ConversationSource;
  log: ChangeLog;
  logger: Logger;
  /** Clock, epoch ms. */
  now?: () => number;
  /** Events held for a subscriber that is not reading before it is ended with SLOW_CONSUMER. Default 1 000. */
  subscriberBufferLimit?: number;
  /** How long an ended conversation's state is kept to absorb late duplicates. Default 60 000. */
  endedRetentionMs?: number;
  /** Re-reads after a reconnect running at once. Default 8. */
  resyncConcurrency?: number;
  /** Waits before retrying a failed re-read after a reconnect. Default [500, 1 000, 2 000]. */
  resyncRetryDelaysMs?: number[];
  /** See ChangeTracker `settleMs`. Default 1 000. */
  settleMs?: number;
  /** Reconciliation reads per minute. Default 60 (20 % of a 300/min budget). */
  reconcileRequestsPerMinute?: number;
  /** Timers of the reconciler (tests). */
  timers?: Timers;
  /**
   * How long a conversation or queue stays watched after its last subscriber left, so a client
   * that reconnects within it resumes with `after` without a gap (ms). Default 60 000.
   */
  lingerMs?: number;
  /** The role at start (see the file comment). Default `holder` (one process). */
  role?: FeedRole;
  /** How long {@link AttributeChangeFeed.becomeHolder} waits for the log listener to deliver what the log holds, ms. Default 5 000. */
  catchUpTimeoutMs?: number;
  /** Also called (after logging) when an append fails, e.g. `ChannelHolder.noteAppendError` for a stale fence. */
  onAppendError?: (error: unknown) => void;
}

/** A conversation or queue being watched: its topic held while subscribers (or the linger) need it. */
interface Watch {
  topic: string;
  holders: number;
  /** Log head when the watch began: changes after it are all in the log; cursors before it cannot resume. */
  sinceSeq: number;
  /** Resolves once the topic is subscribed. */
  ready: Promise<void>;
  /** `ConversationReads.mark()` when the topic was subscribed: baseline reads start after it. */
  readMark: number;
  /** Set while lingering after the last holder left. */
  cancelLinger?: () => void;
  /** A subscriber held it (not only write confirmations): background reconciliation covers it. */
  subscribed: boolean;
}

/** Counters and sizes of a feed since it started, for /metrics (observability/change-feed-metrics.ts). */
export interface ChangeFeedStats {
  /** Subscribers registered now. */
  subscribers: number;
  /** Conversations and queues watched now (lingering ones included). */
  watches: number;
  /** Subscriptions refused with CURSOR_EXPIRED. */
  cursorsRefused: number;
  /** Subscribers ended with SLOW_CONSUMER. */
  slowConsumerEnds: number;
  /** Reconciliation requests started: confirming a suspect notification, sweeping watched conversations, re-listing watched queues. */
  reconciliationReads: { confirm: number; sweep: number; queue: number };
  /** Suspect notifications whose confirming read showed they were not Genesys's newest state (withheld). */
  regressionsConfirmed: number;
}

/** A registered subscriber. */
interface Subscriber {
  stream: ChangeStream;
  filter: ChangeFilter;
}

/** See the file comment. */
export class AttributeChangeFeed {
  readonly tracker: ChangeTracker;
  readonly reads: ConversationReads;
  readonly reconciler: Reconciler;
  private readonly byConversation = new Map<string, Set<Subscriber>>();
  private readonly byQueue = new Map<string, Set<Subscriber>>();
  /** Keyed `c:{conversationId}` / `q:{queueId}`. */
  private readonly watches = new Map<string, Watch>();
  /** Queues whose baseline listing ran while they were watched. */
  private readonly seededQueues = new Map<string, Promise<unknown>>();
  /** Queues whose baseline listing succeeded: background reconciliation re-lists them. */
  private readonly listedQueues = new Set<string>();
  private readonly now: () => number;
  private lastSweep = 0;
  private readonly stopListening: () => void;
  /** Write confirmations waiting on a conversation's entries. */
  private readonly confirmations = new Map<string, Set<ParticipantStates>>();
  /** Per conversation: its conversation-level fields from the last REST read, and when that read was answered (epoch ms). */
  private readonly lastRead = new Map<string, { conversation: Omit<ConversationSnapshot, "participants">; at: number }>();
  /** Conversations being re-read after a channel reconnect: their state may be behind (a gap is open). */
  private readonly resyncing = new Map<string, number>();
  private cursorsRefused = 0;
  private slowConsumerEnds = 0;
  private currentRole: FeedRole;

  constructor(private readonly options: AttributeChangeFeedOptions) {
    this.now = options.now ?? Date.now;
    this.currentRole = options.role ?? "holder";
    this.tracker = new ChangeTracker({
      log: options.log,
      now: this.now,
      settleMs: options.settleMs,
      appending: this.currentRole === "holder",
      onAppendError: (error) => {
        options.logger.error({ err: String(error) }, "could not append to the change log");
        options.onAppendError?.(error);
      },
    });
    this.reads = new ConversationReads({ tracker: this.tracker, fetch: (id, priority) => this.fetch(id, priority) });
    this.reconciler = new Reconciler({
      read: (id) => (this.isCovered(id) ? this.reads.read(id, this.reads.mark(), "background") : Promise.resolve()),
      watched: () => this.watchedConversations(),
      watchedQueues: () => this.relistedQueues(),
      listQueue: (queueId) => this.relist(queueId),
      requestsPerMinute: options.reconcileRequestsPerMinute ?? 60,
      timers: options.timers,
      onError: (id, error) => options.logger.warn({ id, err: String(error) }, "reconciliation read or queue listing failed"),
    });
    this.stopListening = options.log.listen((entry) => this.fanOut(entry));
    options.topics.on("event", (envelope) => this.onNotification(envelope));
    options.topics.on("reconnected", (topics) => {
      void this.resync(topics);
    });
    options.topics.on("subscribed", (topics) => {
      void this.baselineWanted(topics);
    });
    if (this.currentRole === "holder") this.reconciler.start();
  }

  /** This feed's role (see the file comment). */
  get role(): FeedRole {
    return this.currentRole;
  }

  /**
   * Becomes the cluster's appender (this instance was elected channel holder and has subscribed
   * `topics`): decides and appends notifications, runs reconciliation, and re-reads every
   * conversation the topics and this feed's own watches cover (queue topics: the queue's live
   * conversations are listed) at `background` priority, appending what changed while no one was
   * appending. First waits (at most `catchUpTimeoutMs`) until this process's log listener has
   * delivered every entry already in the log, so the previous holder's last entries are absorbed
   * before anything is decided (no change is appended twice). Resolves once the re-reads are done
   * (failures are left to reconciliation). Does nothing when already the holder.
   */
  async becomeHolder(topics: string[] = this.options.topics.wantedTopics?.() ?? []): Promise<void> {
    if (this.currentRole === "holder") return;
    this.currentRole = "holder";
    // The previous holder's last entries may still be on their way to this process: decide from them.
    await this.catchUpWithLog();
    if (this.currentRole !== "holder") return;
    this.tracker.setAppending(true);
    this.reconciler.start();
    this.options.logger.info({ topics: topics.length }, "change feed is the appender now; re-reading what the cluster watches");
    const all = new Set(topics);
    for (const watch of this.watches.values()) all.add(watch.topic);
    await this.resync([...all], true);
  }

  /**
   * Waits until the log's listener has delivered every entry the log holds now (a shared log
   * delivers asynchronously), polling `headSeq` every 10 ms on the feed's timers, at most
   * `catchUpTimeoutMs` (then goes on, logged).
   */
  private async catchUpWithLog(): Promise<void> {
    const log = this.options.log;
    let cursor = log.headCursor();
    let last = log.headSeq();
    try {
      for (;;) {
        const page = await log.read(cursor, 1_000);
        const tail = page.entries.at(-1);
        if (tail) {
          last = tail.seq;
          cursor = tail.cursor;
        }
        if (page.atHead || !tail) break;
      }
    } catch (error) {
      this.options.logger.warn({ err: String(error) }, "could not read the change log's head before taking over");
      return;
    }
    const timers = this.options.timers ?? systemTimers;
    const deadline = timers.now() + (this.options.catchUpTimeoutMs ?? 5_000);
    while (log.headSeq() < last) {
      if (timers.now() >= deadline) {
        this.options.logger.warn({ delivered: log.headSeq(), head: last }, "the change log listener did not catch up before taking over; deciding anyway");
        return;
      }
      await new Promise<void>((resolve) => timers.schedule(resolve, 10));
    }
  }

  /** Stops deciding, appending and reconciling (this instance is no longer the channel holder). */
  becomeFollower(): void {
    if (this.currentRole === "follower") return;
    this.currentRole = "follower";
    this.tracker.setAppending(false);
    this.reconciler.stop();
    this.options.logger.info("change feed follows the cluster's appender now");
  }

  /**
   * Starts a subscription: resolves once its Genesys topic is subscribed, its baseline known and
   * its start (`after` replay or snapshot) prepared, to an async iterator of stream items.
   * Ending the iterator (`return()`) releases the watch (after `lingerMs`).
   * `after` is accepted when this feed has watched the conversation or queue since at or before
   * the cursor, or (clusters) the channel holder has had its topic live with no gap since at or
   * before it ({@link TopicSubscriptions.continuousSince}); the stream is registered for live
   * entries before the replay is read, so it goes on live with no gap and no duplicate.
   * @throws CursorExpiredError for an `after` the log cannot resume from, or from a position
   *   where neither this feed nor the cluster's holder was watching this conversation or queue
   *   continuously (changes would be missing; never a partial replay);
   *   TopicLimitError when every notification channel is full; GenesysError when the topic
   *   cannot be subscribed, or (with `includeSnapshot`) the current state cannot be read.
   */
  async subscribe(filter: ChangeFilter, start: StreamStart = {}): Promise<AsyncIterableIterator<StreamItem>> {
    const conversationId = filter.conversationId;
    const queueId = conversationId === undefined ? filter.queueId : undefined;
    if (conversationId === undefined && queueId === undefined) throw new Error("a filter needs conversationId or queueId");
    const key = conversationId !== undefined ? `c:${conversationId}` : `q:${queueId}`;
    const topic = conversationId !== undefined ? conversationAttributesTopic(conversationId) : queueConversationsTopic(queueId!);
    if (start.after !== undefined) {
      try {
        await this.options.log.check(start.after);
        const seq = this.options.log.seqOf(start.after);
        // Watched here since the cursor, or (clusters) live on the holder with no gap since it.
        const since = this.watches.get(key)?.sinceSeq;
        const local = since !== undefined && seq >= since;
        const clusterSince = local ? undefined : await this.options.topics.continuousSince?.(topic);
        const cluster = clusterSince !== undefined && seq >= clusterSince;
        if (!local && !cluster) {
          throw new CursorExpiredError(
            `the gateway was not watching this ${conversationId !== undefined ? "conversation" : "queue"} continuously since that cursor, so changes may be missing`,
          );
        }
      } catch (error) {
        if (error instanceof CursorExpiredError) this.cursorsRefused += 1;
        throw error;
      }
    }
    const index = conversationId !== undefined ? this.byConversation : this.byQueue;
    const indexKey = (conversationId ?? queueId)!;
    const keys = filter.keys && filter.keys.length > 0 ? new Set(filter.keys) : undefined;
    let watching = false;
    const subscriber: Subscriber = {
      filter,
      stream: new ChangeStream({
        log: this.options.log,
        limit: this.options.subscriberBufferLimit ?? 1_000,
        now: this.now,
        match: (entry) => matchEntry(filter, keys, entry),
        onClose: () => {
          this.unregister(index, indexKey, subscriber);
          if (watching) {
            watching = false;
            this.unwatch(key);
          }
        },
        onSlowConsumer: (end) => {
          this.slowConsumerEnds += 1;
          this.options.logger.warn({ filter, behind: end.behind }, "subscriber fell too far behind; ended with SLOW_CONSUMER");
        },
      }),
    };
    // Registered before anything is read: whatever is appended from now on reaches the stream.
    this.register(index, indexKey, subscriber);
    try {
      const watch = this.watch(key, topic);
      watch.subscribed = true;
      watching = true;
      await watch.ready;
      // The holder proves the topic continuous once its baseline is known (clusters; no-op otherwise).
      const proven = this.beginContinuity([topic]);
      const known =
        conversationId !== undefined
          ? await this.baselineConversation(conversationId, watch, start.includeSnapshot === true)
          : await this.baselineQueue(queueId!, start.includeSnapshot === true);
      if (known) proven(this.options.log.headSeq());
      if (start.after !== undefined) subscriber.stream.startAfter(start.after);
      else if (start.includeSnapshot) {
        const ids = conversationId !== undefined ? [conversationId] : this.tracker.conversationsInQueue(queueId!).filter((id) => this.tracker.endedAt(id) === undefined);
        // Taken synchronously with the log head: every entry up to it is in these states.
        const seq = this.options.log.headSeq();
        const cursor = this.options.log.headCursor();
        subscriber.stream.startWithSnapshot(this.snapshot(ids, filter, keys), seq, cursor);
      } else subscriber.stream.startLive();
    } catch (error) {
      subscriber.stream.close();
      throw error;
    }
    return subscriber.stream;
  }

  /**
   * Takes a share of the watch of a conversation or queue: the first holder subscribes the
   * Genesys topic; a watch lingering after its last holder left is taken over as it is.
   */
  private watch(key: string, topic: string): Watch {
    let watch = this.watches.get(key);
    if (watch) {
      watch.cancelLinger?.();
      watch.cancelLinger = undefined;
      watch.holders += 1;
      return watch;
    }
    const created: Watch = { topic, holders: 1, sinceSeq: this.options.log.headSeq(), readMark: 0, ready: Promise.resolve(), subscribed: false };
    // A baseline read must start after the topic is subscribed, or a change in between is never notified.
    created.ready = this.options.topics.acquire([topic]).then(() => {
      created.readMark = this.reads.mark();
    });
    this.watches.set(key, created);
    created.ready.catch(() => {
      if (this.watches.get(key) !== created) return;
      this.watches.delete(key);
      if (key.startsWith("c:")) this.forgetUnwatched([key.slice(2)]);
    });
    return created;
  }

  /** Drops a share of a watch; the last one lets it linger `lingerMs`, then ends it. */
  private unwatch(key: string): void {
    const watch = this.watches.get(key);
    if (!watch) return;
    watch.holders -= 1;
    if (watch.holders > 0) return;
    const end = () => {
      if (this.watches.get(key) !== watch || watch.holders > 0) return;
      this.watches.delete(key);
      watch.ready.then(() => this.options.topics.release([watch.topic])).catch(() => undefined);
      if (key.startsWith("q:")) {
        const queueId = key.slice(2);
        this.seededQueues.delete(queueId);
        this.listedQueues.delete(queueId);
        this.forgetUnwatched(this.tracker.conversationsInQueue(queueId));
      } else this.forgetUnwatched([key.slice(2)]);
    };
    const linger = this.options.lingerMs ?? 60_000;
    if (linger <= 0) return end();
    const timer = setTimeout(end, linger);
    timer.unref();
    watch.cancelLinger = () => clearTimeout(timer);
  }

  /**
   * Watches one participant for a write's verify loop (update.ts `WriteConfirmations`): takes a
   * share of the conversation's watch (subscribing its topic if nobody else does; it lingers
   * `lingerMs` after, so the next write to the conversation finds it subscribed), and queues
   * every entry appended for the participant. Conversations watched only for writes are not
   * swept by background reconciliation (the verify loop has its own fallback reads).
   * @returns undefined when the topic cannot be subscribed (topic limit, channel failure): the
   *   verify loop then polls. Never rejects.
   */
  async watchParticipant(conversationId: string, participantId: string): Promise<ParticipantStates | undefined> {
    const key = `c:${conversationId}`;
    const topic = conversationAttributesTopic(conversationId);
    let watch: Watch;
    try {
      watch = this.watch(key, topic);
    } catch (error) {
      this.options.logger.warn({ err: String(error), conversationId }, "write confirmation cannot watch the conversation; polling");
      return undefined;
    }
    try {
      await watch.ready;
    } catch (error) {
      this.options.logger.warn({ err: String(error), conversationId }, "write confirmation cannot subscribe the conversation's topic; polling");
      return undefined;
    }
    let set = this.confirmations.get(conversationId);
    if (!set) this.confirmations.set(conversationId, (set = new Set()));
    const states: ParticipantStates = new ParticipantStates(
      participantId,
      () => this.isCurrent(conversationId),
      () => {
        const current = this.confirmations.get(conversationId);
        current?.delete(states);
        if (current?.size === 0) this.confirmations.delete(conversationId);
        if (this.watches.get(key) === watch) this.unwatch(key);
      },
    );
    set.add(states);
    return states;
  }

  /**
   * Whether the log's state of a conversation is current as far as the gateway can know: it is
   * watched, its topic is live on a connected channel with no gap since, no re-read after a
   * reconnect is pending, and no suspect notification awaits confirmation. (Genesys delivers
   * notifications at most once: an event dropped without a socket drop is invisible here and
   * healed by reconciliation or a later read.)
   */
  isCurrent(conversationId: string): boolean {
    const watch = this.watches.get(`c:${conversationId}`);
    const viaQueue = watch ? undefined : this.tracker.queuesOf(conversationId).map((q) => this.watches.get(`q:${q}`)).find((w) => w !== undefined);
    const held = watch ?? viaQueue;
    if (!held || !this.options.topics.isLive(held.topic)) return false;
    return !this.resyncing.has(conversationId) && !this.tracker.isSuspect(conversationId);
  }

  /**
   * The conversation as the log holds it, for queries (attributes/shared-reads.ts): only when
   * {@link isCurrent}, not ended, and its last REST read was answered at most `maxAgeMs` ago.
   */
  current(conversationId: string, maxAgeMs: number): ConversationSnapshot | undefined {
    const read = this.lastRead.get(conversationId);
    if (!read || this.now() - read.at > maxAgeMs) return undefined;
    if (this.tracker.endedAt(conversationId) !== undefined || !this.isCurrent(conversationId)) return undefined;
    const participants = this.tracker.committed(conversationId).map((p) => ({ ...p.info, attributes: p.attributes }));
    if (participants.length === 0) return undefined;
    return { ...read.conversation, participants };
  }

  /**
   * For reads made elsewhere (the verify loop of updateAttributes): call before the GET; the
   * returned callback takes its result (null on 404) to the tracker like any other read.
   * Undefined when no subscriber covers the conversation (nothing to track).
   */
  observeRead(conversationId: string): ((conversation: ConversationSnapshot | null) => void) | undefined {
    if (!this.isCovered(conversationId)) return undefined;
    const ticket = this.tracker.beginRead(conversationId);
    return (conversation) => {
      this.noteRead(conversationId, conversation);
      const { retry } = this.tracker.applyRead(ticket, conversation ? conversation.participants.map(observed) : null);
      // It raced a notification and disagrees: let reconciliation settle which is newer.
      if (retry) this.reconciler.suspect(conversationId);
    };
  }

  /** Conversations and queues watched, lingering ones included (for tests and metrics). */
  get watchCount(): number {
    return this.watches.size;
  }

  /** Subscribers registered (for tests and metrics). */
  get subscriberCount(): number {
    let n = 0;
    for (const set of this.byConversation.values()) n += set.size;
    for (const set of this.byQueue.values()) n += set.size;
    return n;
  }

  /**
   * Ends every subscription with an `interrupted` item carrying its resume cursor (the shared
   * change log became unavailable: several instances with Redis lost). New subscriptions may be
   * made again at any time; they fail while the log cannot serve them.
   * @returns how many subscriptions were ended.
   */
  interruptSubscriptions(reason: string): number {
    const streams = new Set<ChangeStream>();
    for (const set of [...this.byConversation.values(), ...this.byQueue.values()]) for (const s of set) streams.add(s.stream);
    for (const stream of streams) stream.interrupt(reason);
    return streams.size;
  }

  /** Counters since start and current sizes (for /metrics). */
  stats(): ChangeFeedStats {
    return {
      subscribers: this.subscriberCount,
      watches: this.watches.size,
      cursorsRefused: this.cursorsRefused,
      slowConsumerEnds: this.slowConsumerEnds,
      reconciliationReads: { ...this.reconciler.readsByReason },
      regressionsConfirmed: this.tracker.regressionsConfirmed,
    };
  }

  /** Stops the reconciler and the log listener (the channels are closed by their owner). */
  close(): void {
    for (const watch of this.watches.values()) watch.cancelLinger?.();
    this.reconciler.stop();
    this.stopListening();
  }

  private register(index: Map<string, Set<Subscriber>>, key: string, subscriber: Subscriber): void {
    let set = index.get(key);
    if (!set) index.set(key, (set = new Set()));
    set.add(subscriber);
  }

  private unregister(index: Map<string, Set<Subscriber>>, key: string, subscriber: Subscriber): void {
    const set = index.get(key);
    if (!set) return;
    set.delete(subscriber);
    if (set.size === 0) index.delete(key);
  }

  /** Hands an appended entry to the streams that can match it, and only those. */
  private fanOut(entry: ChangeEntry): void {
    // A follower sees no notifications: its clean-up runs on the entries it absorbs.
    if (this.currentRole === "follower") this.sweep();
    const confirming = this.confirmations.get(entry.conversationId);
    if (confirming) for (const states of confirming) states.push(entry);
    const direct = this.byConversation.get(entry.conversationId);
    if (direct) for (const s of direct) s.stream.offer(entry);
    for (const queueId of entry.queueIds) {
      const viaQueue = this.byQueue.get(queueId);
      if (viaQueue) for (const s of viaQueue) s.stream.offer(entry);
    }
  }

  private snapshot(conversationIds: string[], filter: ChangeFilter, keys: Set<string> | undefined): SnapshotParticipant[] {
    const participants: SnapshotParticipant[] = [];
    for (const id of conversationIds) {
      for (const p of this.tracker.committed(id)) {
        if (filter.participantId !== undefined && p.info.id !== filter.participantId) continue;
        const all = snapshotChanges(p.attributes);
        participants.push({
          info: p.info,
          attributes: p.attributes,
          version: attributesVersion(p.attributes),
          changes: keys ? all.filter((c) => keys.has(c.key)) : all,
        });
      }
    }
    return participants;
  }

  /** Reads the conversation's baseline unless known; false when the read failed (and was not `required`). */
  private async baselineConversation(conversationId: string, watch: Watch, required: boolean): Promise<boolean> {
    if (this.tracker.isKnown(conversationId)) return true;
    try {
      // Shared by every subscriber of a burst: they all wait for the same read after the topic.
      await this.reads.read(conversationId, watch.readMark);
      return true;
    } catch (error) {
      if (required) throw error;
      this.options.logger.warn({ err: String(error), conversationId }, "could not read initial state");
      return false;
    }
  }

  /**
   * Lists the queue's live conversations once while it is watched, and reads those not known yet.
   * False when the listing failed (and was not `required`).
   */
  private async baselineQueue(queueId: string, required: boolean): Promise<boolean> {
    let seeding = this.seededQueues.get(queueId);
    if (!seeding) {
      const started = this.discover(queueId, false);
      seeding = started;
      this.seededQueues.set(queueId, started);
      started.then(
        () => {
          if (this.seededQueues.get(queueId) === started) this.listedQueues.add(queueId);
        },
        () => {
          if (this.seededQueues.get(queueId) === started) this.seededQueues.delete(queueId);
        },
      );
    }
    try {
      await seeding;
      return true;
    } catch (error) {
      if (required) throw error;
      this.options.logger.warn({ err: String(error), queueId }, "could not list the queue's conversations; first events will list every key");
      return false;
    }
  }

  /** The holder's {@link TopicSubscriptions.beginContinuity} (a no-op on a follower or in one process). */
  private beginContinuity(topics: string[]): (seq: number) => void {
    if (this.currentRole !== "holder" || topics.length === 0) return () => undefined;
    return this.options.topics.beginContinuity?.(topics) ?? (() => undefined);
  }

  /**
   * Lists a queue's live conversations and reads them: those not known yet (`fresh` false:
   * baseline), or all of them (`fresh`: after a gap). Resolves true when every read succeeded.
   * @throws GenesysError when the listing fails.
   */
  private async discover(queueId: string, fresh: boolean): Promise<boolean> {
    const listing = await this.options.genesys.listQueueConversations(queueId);
    if (listing.truncated) this.options.logger.warn({ queueId, listed: listing.conversationIds.length }, "queue observations truncated; some conversations are found only by their next event");
    const ids = new Set(listing.conversationIds);
    if (fresh) for (const id of this.tracker.conversationsInQueue(queueId)) ids.add(id);
    for (const id of ids) {
      if (fresh && !this.tracker.isKnown(id)) this.tracker.announce(id);
      this.tracker.addQueue(id, queueId);
    }
    const limit = pLimit(this.options.resyncConcurrency ?? 8);
    const done = await Promise.all(
      [...ids]
        .filter((id) => fresh || !this.tracker.isKnown(id))
        .map((id) => limit(() => this.readWithRetries(id, fresh))),
    );
    return done.every(Boolean);
  }

  /**
   * Background reconciliation's re-listing of a watched queue: conversations listed that the
   * feed does not know entered the queue while their notification was dropped (no socket drop,
   * so no reconnect re-read); they are announced (new to every subscriber: their keys come
   * with `previous: null`) and read. Known ones are left to the conversation sweep.
   * @throws GenesysError when the listing fails (the reconciler logs it and lists again next round).
   */
  private async relist(queueId: string): Promise<void> {
    const watched = () => this.watches.has(`q:${queueId}`) || this.wanted(queueConversationsTopic(queueId));
    if (this.currentRole !== "holder" || !watched()) return;
    const listing = await this.options.genesys.listQueueConversations(queueId);
    if (!watched()) return;
    // A conversation watched on its own gets its baseline from that watch's read (maybe in flight).
    const found = listing.conversationIds.filter((id) => !this.tracker.isKnown(id) && !this.watches.has(`c:${id}`));
    for (const id of listing.conversationIds) this.tracker.addQueue(id, queueId);
    for (const id of found) this.tracker.announce(id);
    const limit = pLimit(this.options.resyncConcurrency ?? 8);
    await Promise.all(found.map((id) => limit(() => this.readWithRetries(id, false))));
  }

  /**
   * Holder: reads the baseline of conversations (and lists queues) that topics wanted by other
   * instances cover and this tracker does not know yet, at `background` priority, then proves
   * each topic whose baseline is known continuous (clusters: `after` is accepted on every
   * instance from then on). Failures are left to reconciliation (those topics are not proven).
   */
  private async baselineWanted(topics: string[]): Promise<void> {
    if (this.currentRole !== "holder") return;
    const limit = pLimit(this.options.resyncConcurrency ?? 8);
    await Promise.all(
      topics.map(async (topic) => {
        const c = conversationOfTopic(topic);
        // A re-read after a gap is under way: it proves the topic once applied.
        if (c !== undefined && this.resyncing.has(c)) return;
        const proven = this.beginContinuity([topic]);
        let known = true;
        if (c !== undefined && !this.tracker.isKnown(c)) known = await limit(() => this.readWithRetries(c, false));
        const q = queueOfTopic(topic);
        if (q !== undefined && !this.seededQueues.has(q)) {
          known = await this.discover(q, false).catch((error: unknown) => {
            this.options.logger.warn({ err: String(error), queueId: q }, "could not list a queue another instance watches");
            return false;
          });
        }
        if (known) proven(this.options.log.headSeq());
      }),
    );
  }

  /**
   * After a channel reconnect (or a takeover: `all`): re-reads what its topics cover; queue topics
   * also list the queue. Without `all` only topics watched here or elsewhere in the cluster count.
   * (Clusters, holder) each topic whose re-read succeeded is proven continuous from the log head
   * once its re-read has been applied: a cursor from before the gap is not accepted for it on
   * instances that did not watch it themselves.
   */
  private async resync(topics: string[], all = false): Promise<void> {
    const conversations = new Map<string, string>();
    const queues = new Map<string, string>();
    for (const topic of topics) {
      const c = conversationOfTopic(topic);
      if (c !== undefined && (all || this.watches.has(`c:${c}`) || this.wanted(topic))) conversations.set(c, topic);
      const q = queueOfTopic(topic);
      if (q !== undefined && (all || this.watches.has(`q:${q}`) || this.wanted(topic))) queues.set(q, topic);
    }
    const limit = pLimit(this.options.resyncConcurrency ?? 8);
    for (const id of conversations.keys()) this.resyncing.set(id, (this.resyncing.get(id) ?? 0) + 1);
    const prove = (topic: string) => {
      const proven = this.beginContinuity([topic]);
      return (ok: boolean) => {
        if (ok) proven(this.options.log.headSeq());
      };
    };
    const reread = async (id: string) => {
      const proven = prove(conversations.get(id)!);
      try {
        proven(await this.readWithRetries(id, true));
      } finally {
        const n = (this.resyncing.get(id) ?? 1) - 1;
        if (n > 0) this.resyncing.set(id, n);
        else this.resyncing.delete(id);
      }
    };
    await Promise.all([
      ...[...conversations.keys()].map((id) => limit(() => reread(id))),
      ...[...queues].map(async ([q, topic]) => {
        const proven = prove(topic);
        try {
          proven(await this.discover(q, true));
        } catch (error) {
          this.options.logger.warn({ err: String(error), queueId: q }, "queue listing after reconnect failed; re-reading its known conversations");
          await Promise.all(this.tracker.conversationsInQueue(q).map((id) => limit(() => this.readWithRetries(id, true))));
        }
      }),
    ]);
  }

  /** Reads a conversation at `background` priority, retrying after `resyncRetryDelaysMs`; false when every attempt failed (logged). */
  private async readWithRetries(conversationId: string, fresh: boolean): Promise<boolean> {
    const delays = this.options.resyncRetryDelaysMs ?? [500, 1_000, 2_000];
    for (let attempt = 0; ; attempt++) {
      try {
        await this.reads.read(conversationId, fresh ? this.reads.mark() : -1, "background");
        return true;
      } catch (error) {
        if (attempt >= delays.length) {
          this.options.logger.warn({ err: String(error), conversationId }, "re-read failed; left to reconciliation");
          return false;
        }
        await new Promise((resolve) => setTimeout(resolve, delays[attempt]).unref());
      }
    }
  }

  /** Remembers a REST read's conversation-level fields and time (see {@link current}). */
  private noteRead(conversationId: string, conversation: ConversationSnapshot | null): void {
    if (!conversation || !this.isCovered(conversationId)) {
      this.lastRead.delete(conversationId);
      return;
    }
    const { participants: _participants, ...fields } = conversation;
    this.lastRead.set(conversationId, { conversation: fields, at: this.now() });
  }

  private async fetch(conversationId: string, priority: ReadPriority): Promise<ObservedParticipant[] | null> {
    const conversation = await this.options.genesys.getConversation(conversationId, priority);
    this.noteRead(conversationId, conversation);
    return conversation ? conversation.participants.map(observed) : null;
  }

  private onNotification(envelope: NotificationEnvelope): void {
    if (this.currentRole !== "holder") return;
    const notification = parseAttributeNotification(envelope);
    if (!notification) return;
    this.sweep();
    if (notification.kind === "snapshot") {
      const id = notification.conversation.id;
      const viaTopic =
        notification.queueId !== undefined && (this.watches.has(`q:${notification.queueId}`) || this.wanted(queueConversationsTopic(notification.queueId)));
      // Late events for something nobody covers any more would only rebuild stale state.
      if (!viaTopic && !this.isCovered(id)) return;
      const verdict = this.tracker.observe({
        kind: "snapshot",
        conversationId: id,
        queueId: notification.queueId,
        participants: notification.conversation.participants.map(observed),
        ended: notification.ended,
      });
      if (verdict.confirm) this.reconciler.suspect(id);
      this.hintConfirmations(id, verdict);
      return;
    }
    if (!this.isCovered(notification.conversationId)) return;
    const verdict = this.tracker.observe({
      kind: "detail",
      conversationId: notification.conversationId,
      participantId: notification.participantId,
      attributes: attributeMap(notification.attributes),
      eventTime: notification.eventTime,
    });
    if (verdict.confirm) this.reconciler.suspect(notification.conversationId);
    this.hintConfirmations(notification.conversationId, verdict);
  }

  /** Hands the states a suspect notification showed (not appended) to the writes confirming on the conversation. */
  private hintConfirmations(conversationId: string, verdict: Verdict): void {
    const confirming = verdict.unconfirmed && this.confirmations.get(conversationId);
    if (!confirming) return;
    for (const u of verdict.unconfirmed!) for (const states of confirming) states.hint(u.participantId, u.attributes, u.keys, conversationId);
  }

  /**
   * True when a subscriber watches the conversation directly or through one of its queues, here
   * or (in a cluster) on another instance.
   */
  private isCovered(conversationId: string): boolean {
    if (this.watches.has(`c:${conversationId}`)) return true;
    const queues = this.tracker.queuesOf(conversationId);
    if (queues.some((q) => this.watches.has(`q:${q}`))) return true;
    return this.wanted(conversationAttributesTopic(conversationId)) || queues.some((q) => this.wanted(queueConversationsTopic(q)));
  }

  /** Whether another instance of the cluster wants the topic (false in one process). */
  private wanted(topic: string): boolean {
    return this.options.topics.isWanted?.(topic) ?? false;
  }

  /** Queues background reconciliation re-lists: listed here once, or (in a cluster) watched by another instance. */
  private relistedQueues(): string[] {
    const queues = new Set(this.listedQueues);
    for (const topic of this.options.topics.wantedTopics?.() ?? []) {
      const q = queueOfTopic(topic);
      if (q !== undefined) queues.add(q);
    }
    return [...queues];
  }

  /** Conversations the reconciliation sweep covers: watched (here or elsewhere in the cluster), not ended. */
  private watchedConversations(): string[] {
    const ids = new Set<string>();
    for (const [key, watch] of this.watches) {
      if (key.startsWith("c:")) {
        if (watch.subscribed) ids.add(key.slice(2));
      } else for (const id of this.tracker.conversationsInQueue(key.slice(2))) ids.add(id);
    }
    for (const topic of this.options.topics.wantedTopics?.() ?? []) {
      // Another instance's watch (one of this feed's own is covered above, as it always was).
      const c = conversationOfTopic(topic);
      if (c !== undefined && !this.watches.has(`c:${c}`)) ids.add(c);
      const q = queueOfTopic(topic);
      if (q !== undefined) for (const id of this.tracker.conversationsInQueue(q)) ids.add(id);
    }
    return [...ids].filter((id) => this.tracker.endedAt(id) === undefined);
  }

  private forgetUnwatched(conversationIds: string[]): void {
    for (const id of conversationIds) if (!this.isCovered(id)) this.forget(id);
  }

  /** Forgets a conversation's state; a read still in flight for it is left to finish unheard. */
  private forget(conversationId: string): void {
    this.tracker.forget(conversationId);
    this.lastRead.delete(conversationId);
    this.reads.forget(conversationId);
  }

  /** Drops states nobody covers any more, and ended conversations past their retention (every 5 s at most). */
  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < 5_000) return;
    this.lastSweep = now;
    const retention = this.options.endedRetentionMs ?? 60_000;
    for (const id of this.tracker.conversationIds()) {
      const endedAt = this.tracker.endedAt(id);
      const expired = endedAt !== undefined && now - endedAt > retention;
      if ((expired && !this.watches.has(`c:${id}`)) || !this.isCovered(id)) this.forget(id);
    }
  }
}

function observed(p: ParticipantSnapshot): ObservedParticipant {
  const { attributes, ...info } = p;
  return { info: info as ParticipantInfo, attributes: attributeMap(attributes) };
}

function matchEntry(filter: ChangeFilter, keys: Set<string> | undefined, entry: ChangeEntry): readonly AttributeChange[] | undefined {
  if (filter.conversationId !== undefined && entry.conversationId !== filter.conversationId) return undefined;
  if (filter.queueId !== undefined && filter.conversationId === undefined && !entry.queueIds.includes(filter.queueId)) return undefined;
  if (filter.participantId !== undefined && entry.participantId !== filter.participantId) return undefined;
  if (!keys) return entry.changes;
  const changes = entry.changes.filter((c) => keys.has(c.key));
  return changes.length > 0 ? changes : undefined;
}
