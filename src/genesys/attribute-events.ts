/**
 * Genesys notification topics that carry participant attributes, and the parsing of their
 * events (shared/genesys/README.md, "Notifications (the only live feed)").
 *
 * - `v2.routing.queues.{queueId}.conversations` (and `v2.users.{userId}.conversations`):
 *   the whole conversation (`QueueConversationEventTopicConversation`), each participant with
 *   its full attribute map and no time of its own;
 * - `v2.detail.events.conversation.{conversationId}.attributes`:
 *   `AttributeDetailEventTopicAttributeUpdateEvent {eventTime (epoch ms), conversationId,
 *   participantId, attributes, communications[]}`; full map or delta is unknown.
 * There is no `v2.conversations.{id}` topic.
 */
import type { NotificationEnvelope } from "./notifications.js";
import { toConversationSnapshot, type ConversationSnapshot, type GenesysConversationLike } from "./participants.js";

/** Genesys topic carrying a conversation's attribute events. */
export const conversationAttributesTopic = (conversationId: string): string => `v2.detail.events.conversation.${conversationId}.attributes`;

/** Genesys topic carrying snapshots of a queue's conversations. */
export const queueConversationsTopic = (queueId: string): string => `v2.routing.queues.${queueId}.conversations`;

const QUEUE_TOPIC = /^v2\.routing\.queues\.([^.]+)\.conversations(?:\.calls)?$/;
const USER_TOPIC = /^v2\.users\.([^.]+)\.conversations(?:\.calls)?$/;
const DETAIL_TOPIC = /^v2\.detail\.events\.conversation\.([^.]+)\.attributes$/;

/** The queue id a queue topic names, or undefined for any other topic. */
export function queueOfTopic(topic: string): string | undefined {
  return QUEUE_TOPIC.exec(topic)?.[1];
}

/** The conversation id an attribute-detail topic names, or undefined for any other topic. */
export function conversationOfTopic(topic: string): string | undefined {
  return DETAIL_TOPIC.exec(topic)?.[1];
}

/** A parsed attribute-carrying notification. */
export type AttributeNotification =
  | {
      kind: "snapshot";
      /** The queue of the topic, for queue topics. */
      queueId?: string;
      conversation: ConversationSnapshot;
      /** Every participant has an `endTime`. */
      ended: boolean;
    }
  | {
      kind: "detail";
      conversationId: string;
      participantId: string;
      /** As sent (own string entries only are kept by the consumer). */
      attributes: Record<string, unknown>;
      /** Epoch ms, when present and a number. */
      eventTime?: number;
    };

/**
 * Parses one notification envelope; undefined for topics that carry no attributes and for
 * bodies that do not have the documented shape (they are ignored, never thrown on).
 */
export function parseAttributeNotification(envelope: NotificationEnvelope): AttributeNotification | undefined {
  const body = envelope.eventBody;
  if (!body || typeof body !== "object" || Array.isArray(body)) return undefined;
  const queueId = queueOfTopic(envelope.topicName);
  if (queueId !== undefined || USER_TOPIC.test(envelope.topicName)) {
    const conversation = toConversationSnapshot(body as GenesysConversationLike);
    if (!conversation.id) return undefined;
    const ended = conversation.participants.length > 0 && conversation.participants.every((p) => p.endTime);
    return { kind: "snapshot", queueId, conversation, ended };
  }
  const topicConversation = conversationOfTopic(envelope.topicName);
  if (topicConversation === undefined) return undefined;
  const event = body as { conversationId?: unknown; participantId?: unknown; attributes?: unknown; eventTime?: unknown };
  const conversationId = typeof event.conversationId === "string" && event.conversationId ? event.conversationId : topicConversation;
  if (typeof event.participantId !== "string" || !event.participantId) return undefined;
  if (!event.attributes || typeof event.attributes !== "object" || Array.isArray(event.attributes)) return undefined;
  return {
    kind: "detail",
    conversationId,
    participantId: event.participantId,
    attributes: event.attributes as Record<string, unknown>,
    eventTime: typeof event.eventTime === "number" && Number.isFinite(event.eventTime) ? event.eventTime : undefined,
  };
}
