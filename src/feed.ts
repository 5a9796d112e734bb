/**
 * Builds a gateway's change feed: the change log, the Genesys notification channels, and the
 * AttributeChangeFeed over them, with the Genesys REST reads it needs. server.ts calls
 * {@link createChangeFeed} once.
 *
 * - One process (no Redis): the in-memory change log and this process's own pool of channels.
 * - Several instances (`REDIS_URL`, README "Running several instances"): the change log on Redis
 *   Streams (RedisChangeLog, appends fenced by the channel holder's lease), the channel holder
 *   election, the cluster's topic demand and ClusterTopics (only the holder holds the Genesys
 *   channels; every instance's feed fans out from the shared log).
 */
import { AttributeChangeFeed } from "./attributes/change-feed.js";
import { InMemoryChangeLog, type ChangeLog, type ChangeLogRetention } from "./attributes/change-log.js";
import type { Models } from "purecloud-platform-client-v2";
import type { GenesysClient } from "./genesys/client.js";
import { NotificationChannelPool } from "./genesys/channel-pool.js";
import { NotificationChannel } from "./genesys/notifications.js";
import { toConversationSnapshot } from "./genesys/participants.js";
import type { Logger } from "./logger.js";
import type { WriteConfirmations } from "./attributes/update.js";
import { RedisChangeLog } from "./attributes/redis-change-log.js";
import { ChannelHolder, CHANNEL_HOLDER_LEASE } from "./cluster/channel-holder.js";
import { RedisChannelDirectory } from "./cluster/channel-directory.js";
import { ClusterTopics, followClusterRole } from "./cluster/cluster-topics.js";
import { RedisLeaseStore } from "./cluster/lease.js";
import { RedisLiveTopics } from "./cluster/live-topics.js";
import type { RedisConnections } from "./cluster/redis-connection.js";
import { RedisTopicDemand } from "./cluster/topic-demand.js";

/** Settings of the change feed (all optional; defaults in README "Configuration"). Durations in ms. */
export interface ChangeFeedSettings {
  /** Change log retention (`CHANGE_LOG_RETENTION`). */
  retention?: Partial<ChangeLogRetention>;
  /** Reconciliation reads per minute (`GENESYS_REQUESTS_PER_MINUTE` × `RECONCILE_BUDGET_SHARE`). Default 60. */
  reconcileRequestsPerMinute?: number;
  /** Events held for a slow subscriber before SLOW_CONSUMER. Default 1 000. */
  subscriberBufferLimit?: number;
  /** Window in which two snapshot changes are confirmed by a read (`CHANGE_SETTLE_MS`). Default 1 000. */
  settleMs?: number;
  /** Topics per notification channel (Genesys: 1 000; lower only in tests). */
  maxTopicsPerChannel?: number;
  /** How long a conversation or queue stays watched after its last subscriber left (`WATCH_LINGER_MS`). Default 60 000. */
  lingerMs?: number;
  /** Notification channels (Genesys: 20 per user and app; lower only in tests). */
  maxChannels?: number;
}

/** The feed and what it owns. */
export interface ChangeFeedParts {
  /** The feed: subscriptions, tracker, reconciler (src/attributes/change-feed.ts). */
  feed: AttributeChangeFeed;
  /** The change log it appends to and fans out from: in memory, or RedisChangeLog with several instances. */
  log: ChangeLog;
  /**
   * What readiness and metrics follow: this process's pool (one process), or with several
   * instances a view of the cluster's topics (`heldTopicCount` and `channelCount` 0 — the sockets
   * are the channel holder's; notifications on every instance follow the holder's, see
   * ClusterTopics.isLive; its events and reconnects are counted on the instance that sees them).
   */
  channels: Pick<NotificationChannelPool, "on" | "heldTopicCount" | "channelCount">;
  /** With several instances: the cluster's topics (role, holder). */
  cluster?: { topics: ClusterTopics; holder: ChannelHolder };
  /** For AttributeUpdater `confirmations`: the verify loop waits on the change log. */
  confirmations: WriteConfirmations;
  /** For AttributeUpdater `observeRead`: the verify loop's reads reach the change log. */
  observeRead(conversationId: string): ((conversation: Models.Conversation | null) => void) | undefined;
  /** Stops the reconciler and closes every channel (with several instances: also steps down as holder, withdraws this instance's topic demand and stops the log's listener). */
  close(): Promise<void>;
}

/** The channel holder's lease: TTL (ms) and renewal period (ms, a third of it). Takeover ≤ TTL + renewal period after a holder dies. */
export const CHANNEL_HOLDER_TTL_MS = 10_000;

/**
 * Creates the change feed of one gateway; with `redis`, as one instance of a cluster (starts the
 * holder election and the topic demand heartbeat).
 * @param options.instance this gateway's instance id (lease owner, demand key), with `redis`.
 * @throws ChangeLogUnavailableError when the shared change log cannot be opened on Redis.
 */
export async function createChangeFeed(options: {
  genesys: GenesysClient;
  logger: Logger;
  heartbeatTimeoutMs?: number;
  settings?: ChangeFeedSettings;
  redis?: RedisConnections;
  instance?: string;
}): Promise<ChangeFeedParts> {
  const { genesys, logger, settings = {} } = options;
  if (options.redis) return createClusterChangeFeed({ ...options, redis: options.redis, instance: options.instance ?? "gateway" });
  const log = new InMemoryChangeLog({ retention: settings.retention });
  const channels = new NotificationChannelPool({
    createChannel: () => new NotificationChannel({ client: genesys, logger, heartbeatTimeoutMs: options.heartbeatTimeoutMs }),
    maxTopicsPerChannel: settings.maxTopicsPerChannel,
    maxChannels: settings.maxChannels,
  });
  const feed = newFeed(genesys, logger, log, channels, settings);
  return {
    ...feedHooks(feed),
    log,
    channels,
    close: async () => {
      feed.close();
      channels.close();
    },
  };
}

/** The cluster variant of {@link createChangeFeed} (see the file comment). */
async function createClusterChangeFeed(options: {
  genesys: GenesysClient;
  logger: Logger;
  heartbeatTimeoutMs?: number;
  settings?: ChangeFeedSettings;
  redis: RedisConnections;
  instance: string;
}): Promise<ChangeFeedParts> {
  const { genesys, logger, settings = {}, redis, instance } = options;
  const keyPrefix = redis.settings.keyPrefix;
  const holder = new ChannelHolder({ leases: new RedisLeaseStore({ redis: redis.commands, keyPrefix }), owner: instance, ttlMs: CHANNEL_HOLDER_TTL_MS, logger });
  /** The feed, once built (the log's callbacks may in principle run before). */
  let built: AttributeChangeFeed | undefined;
  let listenerErrorLoggedAt = Number.NEGATIVE_INFINITY;
  const log = await RedisChangeLog.open({
    redis: redis.commands,
    subscriber: redis.reader,
    keyPrefix,
    retention: settings.retention,
    // Only the holder appends, and only under its current fence (checked by Redis in the append script).
    fence: () => holder.redisFence(keyPrefix),
    onListenerError: (error) => {
      // At most one line per 10 s: while Redis is away the listener retries every ≤ 2 s.
      if (Date.now() - listenerErrorLoggedAt < 10_000) return;
      listenerErrorLoggedAt = Date.now();
      logger.warn({ err: String(error) }, "change log listener: Redis error, retrying");
    },
    // Entries this instance could not deliver (away longer than the retention): its subscribers
    // would miss them, so they are ended with their resume cursor (which the log then serves or refuses exactly).
    onGap: (fromSeq, toSeq) => {
      const ended = built?.interruptSubscriptions("this instance missed change log entries (it was away from Redis longer than the retention)");
      logger.warn({ fromSeq, toSeq, ended }, "change log entries missed: subscriptions ended with their resume cursor");
    },
    // The stream re-created without a connection dropping (FLUSHALL, eviction): entries of the
    // old one not delivered here are gone, and every cursor subscribers hold is refused from now
    // on, so they are ended with it (their resume then answers CURSOR_EXPIRED) rather than go on past a silent gap.
    onEpochChange: (previous, next) => {
      const ended = built?.interruptSubscriptions("the shared change log was re-created in Redis (its entries and cursors were lost)");
      logger.warn({ previous, next, ended }, "the shared change log was re-created (Redis lost it): older cursors are refused, subscriptions ended");
    },
  });
  const topics = new ClusterTopics({
    holder,
    demand: new RedisTopicDemand({ redis: redis.commands, keyPrefix, instanceId: instance, logger }),
    live: new RedisLiveTopics({ redis: redis.commands, keyPrefix, leaseKey: CHANNEL_HOLDER_LEASE }),
    directory: new RedisChannelDirectory({ redis: redis.commands, keyPrefix, leaseKey: CHANNEL_HOLDER_LEASE }),
    createChannel: ({ existing, mayReconnect }) =>
      new NotificationChannel({ client: genesys, logger, heartbeatTimeoutMs: options.heartbeatTimeoutMs, existing, mayReconnect }),
    maxTopicsPerChannel: settings.maxTopicsPerChannel,
    maxChannels: settings.maxChannels,
    logger,
  });
  // Every instance starts as a follower (absorbs the log, never appends); followClusterRole makes
  // the elected one the holder (re-reads what the cluster watches and appends what changed).
  const feed = newFeed(genesys, logger, log, topics, settings, { role: "follower", onAppendError: (error) => holder.noteAppendError(error) });
  built = feed;
  holder.on("elected", (fence) => logger.info({ instance, fence }, "elected channel holder: this instance holds the Genesys notification channels and appends to the change log"));
  holder.on("deposed", (reason) => logger.warn({ instance, reason }, "no longer the channel holder"));
  const unwire = followClusterRole(feed, topics);
  // Redis lost: every subscription ends with its resume cursor (the shared log cannot promise
  // "nothing lost" meanwhile); clients resume with after once /readyz is 200 again.
  const onRedisState = (state: { status: "up" } | { status: "down"; reason: string }) => {
    if (state.status !== "down") return;
    const ended = feed.interruptSubscriptions("the gateway lost its connection to the shared Redis");
    logger.warn({ ended, reason: state.reason }, "Redis lost: subscriptions ended with their resume cursor");
  };
  redis.on("state", onRedisState);
  topics.start();
  const channels: ChangeFeedParts["channels"] = {
    heldTopicCount: 0,
    channelCount: 0,
    on: (event: string, listener: (...args: never[]) => void) => {
      // The sockets are the holder's; metrics count the events and reconnects this instance sees.
      if (event === "event" || event === "reconnected") topics.on(event, listener as never);
      return channels;
    },
  } as unknown as ChangeFeedParts["channels"];
  return {
    ...feedHooks(feed),
    log,
    channels,
    cluster: { topics, holder },
    close: async () => {
      redis.off("state", onRedisState);
      unwire();
      feed.close();
      await topics.stop().catch((error: unknown) => logger.warn({ err: String(error) }, "could not stop the cluster's topics cleanly"));
      await log.close();
    },
  };
}

function newFeed(
  genesys: GenesysClient,
  logger: Logger,
  log: ChangeLog,
  topics: ConstructorParameters<typeof AttributeChangeFeed>[0]["topics"],
  settings: ChangeFeedSettings,
  cluster: Pick<ConstructorParameters<typeof AttributeChangeFeed>[0], "role" | "onAppendError"> = {},
): AttributeChangeFeed {
  return new AttributeChangeFeed({
    ...cluster,
    topics,
    log,
    logger,
    genesys: {
      getConversation: async (id, priority) => {
        const conversation = await genesys.getConversation(id, { priority });
        return conversation ? toConversationSnapshot(conversation) : null;
      },
      listQueueConversations: (queueId) => genesys.listQueueConversations(queueId, { priority: "background" }),
    },
    subscriberBufferLimit: settings.subscriberBufferLimit,
    settleMs: settings.settleMs,
    reconcileRequestsPerMinute: settings.reconcileRequestsPerMinute,
    lingerMs: settings.lingerMs,
  });
}

function feedHooks(feed: AttributeChangeFeed): Pick<ChangeFeedParts, "feed" | "confirmations" | "observeRead"> {
  return {
    feed,
    confirmations: { watch: (conversationId, participantId) => feed.watchParticipant(conversationId, participantId) },
    observeRead: (conversationId) => {
      const apply = feed.observeRead(conversationId);
      return apply && ((conversation) => apply(conversation ? toConversationSnapshot(conversation) : null));
    },
  };
}
