/**
 * Notification topic names the emulator supports, and which topics a store change reaches.
 *
 * Source: shared/genesys/README.md, "Notifications (the only live feed)": the topics that
 * carry participant attributes are `v2.routing.queues.{queueId}.conversations` (+ `.calls`),
 * `v2.users.{userId}.conversations` (+ `.calls`) and
 * `v2.detail.events.conversation.{conversationId}.attributes`. There is no
 * `v2.conversations.{id}` topic. Genesys's combined-topic syntax (`v2.users.{id}?presence&...`)
 * is not supported by the emulator: such a name is refused like any other unknown topic.
 */
import type { StoredConversation } from "../store.js";

/** The kinds of topic the emulator can publish. */
export type TopicKind =
  | "queue.conversations"
  | "queue.conversations.calls"
  | "user.conversations"
  | "user.conversations.calls"
  | "detail.attributes";

/** A supported topic name, split into its kind and the entity id it names. */
export interface ParsedTopic {
  /** Which of the five supported patterns matched. */
  kind: TopicKind;
  /** The queue id, user id or conversation id embedded in the topic name. */
  entityId: string;
}

/** One id segment: anything but a dot or whitespace (ids are UUIDs in practice). */
const ID = "([^.\\s?&]+)";

const PATTERNS: ReadonlyArray<[RegExp, TopicKind]> = [
  [new RegExp(`^v2\\.routing\\.queues\\.${ID}\\.conversations$`), "queue.conversations"],
  [new RegExp(`^v2\\.routing\\.queues\\.${ID}\\.conversations\\.calls$`), "queue.conversations.calls"],
  [new RegExp(`^v2\\.users\\.${ID}\\.conversations$`), "user.conversations"],
  [new RegExp(`^v2\\.users\\.${ID}\\.conversations\\.calls$`), "user.conversations.calls"],
  [new RegExp(`^v2\\.detail\\.events\\.conversation\\.${ID}\\.attributes$`), "detail.attributes"],
];

/**
 * Parses a topic name. Returns `undefined` for any name that is not one of the five supported
 * patterns (matching is exact and case-sensitive).
 */
export function parseTopic(name: string): ParsedTopic | undefined {
  for (const [pattern, kind] of PATTERNS) {
    const match = pattern.exec(name);
    if (match) return { kind, entityId: match[1]! };
  }
  return undefined;
}

/** Topic name builders (the inverse of {@link parseTopic}). */
export const topicName = {
  /** `v2.routing.queues.{queueId}.conversations` */
  queueConversations: (queueId: string): string => `v2.routing.queues.${queueId}.conversations`,
  /** `v2.routing.queues.{queueId}.conversations.calls` */
  queueCalls: (queueId: string): string => `v2.routing.queues.${queueId}.conversations.calls`,
  /** `v2.users.{userId}.conversations` */
  userConversations: (userId: string): string => `v2.users.${userId}.conversations`,
  /** `v2.users.{userId}.conversations.calls` */
  userCalls: (userId: string): string => `v2.users.${userId}.conversations.calls`,
  /** `v2.detail.events.conversation.{conversationId}.attributes` */
  detailAttributes: (conversationId: string): string => `v2.detail.events.conversation.${conversationId}.attributes`,
};

/**
 * The queue ids a conversation is visible on: its routing queue plus every participant's
 * `queueId`, de-duplicated, in first-seen order.
 */
export function queuesOf(conversation: StoredConversation): string[] {
  const ids = new Set<string>([conversation.queueId]);
  for (const p of conversation.participants) if (p.queueId) ids.add(p.queueId);
  return [...ids];
}

/** The distinct user ids of a conversation's participants, in first-seen order. */
export function usersOf(conversation: StoredConversation): string[] {
  const ids = new Set<string>();
  for (const p of conversation.participants) if (p.userId) ids.add(p.userId);
  return [...ids];
}
