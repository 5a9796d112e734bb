/**
 * Builds a gateway's change feed: the change log (in memory; a shared log later), the pool of
 * Genesys notification channels, and the AttributeChangeFeed over them, with the Genesys REST
 * reads it needs. server.ts calls {@link createChangeFeed} once.
 */
import { AttributeChangeFeed } from "./attributes/change-feed.js";
import { InMemoryChangeLog, type ChangeLog, type ChangeLogRetention } from "./attributes/change-log.js";
import type { GenesysClient } from "./genesys/client.js";
import { NotificationChannelPool } from "./genesys/channel-pool.js";
import { NotificationChannel } from "./genesys/notifications.js";
import { toConversationSnapshot } from "./genesys/participants.js";
import type { Logger } from "./logger.js";

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
}

/** The feed and what it owns. */
export interface ChangeFeedParts {
  feed: AttributeChangeFeed;
  log: ChangeLog;
  channels: NotificationChannelPool;
  /** Stops the reconciler and closes every channel. */
  close(): void;
}

/** Creates the change feed of one gateway. */
export function createChangeFeed(options: {
  genesys: GenesysClient;
  logger: Logger;
  heartbeatTimeoutMs?: number;
  settings?: ChangeFeedSettings;
}): ChangeFeedParts {
  const { genesys, logger, settings = {} } = options;
  const log = new InMemoryChangeLog({ retention: settings.retention });
  const channels = new NotificationChannelPool({
    createChannel: () => new NotificationChannel({ client: genesys, logger, heartbeatTimeoutMs: options.heartbeatTimeoutMs }),
    maxTopicsPerChannel: settings.maxTopicsPerChannel,
  });
  const feed = new AttributeChangeFeed({
    topics: channels,
    log,
    logger,
    genesys: {
      getConversation: async (id) => {
        const conversation = await genesys.getConversation(id);
        return conversation ? toConversationSnapshot(conversation) : null;
      },
      listQueueConversations: (queueId) => genesys.listQueueConversations(queueId),
    },
    subscriberBufferLimit: settings.subscriberBufferLimit,
    settleMs: settings.settleMs,
    reconcileRequestsPerMinute: settings.reconcileRequestsPerMinute,
  });
  return {
    feed,
    log,
    channels,
    close: () => {
      feed.close();
      channels.close();
    },
  };
}
