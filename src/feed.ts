/**
 * Builds a gateway's change feed: the change log (in memory; a shared log later), the pool of
 * Genesys notification channels, and the AttributeChangeFeed over them, with the Genesys REST
 * reads it needs. server.ts calls {@link createChangeFeed} once.
 */
import { AttributeChangeFeed } from "./attributes/change-feed.js";
import { InMemoryChangeLog, type ChangeLog, type ChangeLogRetention } from "./attributes/change-log.js";
import type { Models } from "purecloud-platform-client-v2";
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
  /** How long a conversation or queue stays watched after its last subscriber left (`WATCH_LINGER_MS`). Default 60 000. */
  lingerMs?: number;
  /** Notification channels (Genesys: 20 per user and app; lower only in tests). */
  maxChannels?: number;
}

/** The feed and what it owns. */
export interface ChangeFeedParts {
  feed: AttributeChangeFeed;
  log: ChangeLog;
  channels: NotificationChannelPool;
  /** For AttributeUpdater `observeRead`: the verify loop's reads reach the change log. */
  observeRead(conversationId: string): ((conversation: Models.Conversation | null) => void) | undefined;
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
    maxChannels: settings.maxChannels,
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
    lingerMs: settings.lingerMs,
  });
  return {
    feed,
    log,
    channels,
    observeRead: (conversationId) => {
      const apply = feed.observeRead(conversationId);
      return apply && ((conversation) => apply(conversation ? toConversationSnapshot(conversation) : null));
    },
    close: () => {
      feed.close();
      channels.close();
    },
  };
}
