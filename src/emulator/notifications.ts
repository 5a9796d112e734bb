/**
 * The emulator's notification service (channels, subscriptions, the streaming WebSocket and
 * topic events). This file is the stable import path; the implementation lives in
 * `./notifications/`:
 * - `service.ts`: {@link createNotificationService}, REST and control routers, sockets, faults;
 * - `events.ts`: rendering of store changes as Genesys event bodies;
 * - `topics.ts`: supported topic names.
 *
 * Spec: shared/genesys/README.md, section "Notifications (the only live feed)".
 */
export {
  createNotificationService,
  HEARTBEAT_FRAME,
  MAX_CHANNELS_PER_CLIENT,
  MAX_TOPICS_PER_CHANNEL,
  PONG_FRAME,
  type NotificationFaults,
  type NotificationService,
  type NotificationServiceOptions,
} from "./notifications/service.js";
export { parseTopic, topicName, type ParsedTopic, type TopicKind } from "./notifications/topics.js";
export {
  eventsForChange,
  renderAttributeUpdate,
  renderCallConversation,
  renderConversationSnapshot,
  type TopicEvent,
} from "./notifications/events.js";
