/**
 * Renders store changes as Genesys notification event bodies and computes which topics a
 * change is published on.
 *
 * Field names follow the event-topic models of the official JavaScript SDK
 * (`purecloud-platform-client-v2` 262.0.0 `index.d.ts`); the SDK is imported for its types
 * only, so the emulator keeps no run-time dependency on it:
 * - `*.conversations` topics: `QueueConversationEventTopicConversation` (identical in shape
 *   to `ConversationEventTopicConversation` used by `v2.users.{id}.conversations`).
 *   Snapshot participants have no `startTime` and no participant-level `state`; the state is
 *   on the communication (`calls[].state`, `callbacks[].state`, ...). The conversation model
 *   has no `name` field, so none is sent.
 * - `*.conversations.calls` topics: `QueueConversationCallEventTopicCallConversation`
 *   (= `ConversationCallEventTopicCallConversation`), whose participants *do* carry
 *   `startTime`, a direct `state`, and `user`/`queue` as `{id}` references.
 * - `v2.detail.events.conversation.{id}.attributes`: `AttributeDetailEventTopicAttributeUpdateEvent`
 *   `{eventTime (epoch ms), conversationId, participantId, attributes, communications[]}`.
 *   Full map or delta is [unknown] in Genesys's docs; the emulator sends the participant's
 *   full visible map (documented assumption).
 */
import type { Models } from "purecloud-platform-client-v2";
import type { ConversationChange, StoredConversation, StoredParticipant } from "../store.js";
import { queuesOf, topicName, usersOf } from "./topics.js";

/** One event to publish: a topic name and its `eventBody`. */
export interface TopicEvent {
  /** The full topic name, e.g. `v2.routing.queues.{queueId}.conversations`. */
  topicName: string;
  /** The event body (one of the SDK event-topic models, see the file header). */
  eventBody: unknown;
}

/** The analytics media type of a conversation's communications (detail-events `mediaType`). */
const ANALYTICS_MEDIA: Record<StoredConversation["mediaType"], string> = {
  call: "voice",
  callback: "callback",
  email: "email",
  message: "message",
};

/** Direction of a participant's communication: customers call in, everyone else is reached. */
function directionOf(p: StoredParticipant): string {
  return p.purpose === "customer" || p.purpose === "external" ? "inbound" : "outbound";
}

/**
 * Renders the conversation snapshot carried by `v2.routing.queues.{id}.conversations` and
 * `v2.users.{id}.conversations` (model `QueueConversationEventTopicConversation`).
 */
export function renderConversationSnapshot(conversation: StoredConversation): Models.QueueConversationEventTopicConversation {
  return {
    id: conversation.id,
    participants: conversation.participants.map((p) => renderSnapshotParticipant(conversation, p)),
    recordingState: "none",
  };
}

function renderSnapshotParticipant(
  conversation: StoredConversation,
  p: StoredParticipant,
): Models.QueueConversationEventTopicParticipant {
  const participant: Models.QueueConversationEventTopicParticipant = {
    id: p.id,
    ...(p.connectedTime ? { connectedTime: p.connectedTime } : {}),
    ...(p.endTime ? { endTime: p.endTime } : {}),
    ...(p.userId ? { userId: p.userId } : {}),
    ...(p.name !== undefined ? { name: p.name } : {}),
    ...(p.queueId ? { queueId: p.queueId } : {}),
    purpose: p.purpose,
    ...(p.address !== undefined ? { address: p.address } : {}),
    wrapupRequired: false,
    attributes: { ...p.attributes },
  };
  const base = {
    id: p.communicationId,
    state: p.state,
    initialState: p.connectedTime ? "connected" : p.state,
    held: false,
    ...(p.endTime ? { disconnectType: "endpoint" } : {}),
  };
  switch (conversation.mediaType) {
    case "call":
      participant.calls = [
        {
          ...base,
          direction: directionOf(p),
          recording: false,
          recordingState: "none",
          muted: false,
          confined: false,
          provider: "Edge",
          ...(p.connectedTime ? { connectedTime: p.connectedTime } : {}),
          ...(p.endTime ? { disconnectedTime: p.endTime } : {}),
          ...(p.address !== undefined ? { self: { addressNormalized: p.address } } : {}),
        } satisfies Models.QueueConversationEventTopicCall,
      ];
      break;
    case "callback":
      participant.callbacks = [{ ...base, direction: directionOf(p) } satisfies Models.QueueConversationEventTopicCallback];
      break;
    case "email":
      participant.emails = [{ ...base } satisfies Models.QueueConversationEventTopicEmail];
      break;
    case "message":
      participant.messages = [
        {
          ...base,
          direction: directionOf(p),
          ...(p.connectedTime ? { connectedTime: p.connectedTime } : {}),
        } satisfies Models.QueueConversationEventTopicMessage,
      ];
      break;
  }
  return participant;
}

/**
 * Renders the body of `v2.routing.queues.{id}.conversations.calls` and
 * `v2.users.{id}.conversations.calls` (model `QueueConversationCallEventTopicCallConversation`).
 * Only meaningful for `call` conversations.
 */
export function renderCallConversation(conversation: StoredConversation): Models.QueueConversationCallEventTopicCallConversation {
  return {
    id: conversation.id,
    participants: conversation.participants.map(
      (p): Models.QueueConversationCallEventTopicCallMediaParticipant => ({
        id: p.id,
        ...(p.name !== undefined ? { name: p.name } : {}),
        ...(p.address !== undefined ? { address: p.address } : {}),
        startTime: p.startTime,
        ...(p.connectedTime ? { connectedTime: p.connectedTime } : {}),
        ...(p.endTime ? { endTime: p.endTime } : {}),
        purpose: p.purpose,
        state: p.state,
        direction: directionOf(p),
        ...(p.endTime ? { disconnectType: "endpoint" } : {}),
        held: false,
        wrapupRequired: false,
        ...(p.userId ? { user: { id: p.userId } } : {}),
        ...(p.queueId ? { queue: { id: p.queueId } } : {}),
        attributes: { ...p.attributes },
        provider: "Edge",
        muted: false,
        confined: false,
        recording: false,
        recordingState: "none",
      }),
    ),
    recordingState: "none",
  };
}

/**
 * Renders the body of `v2.detail.events.conversation.{id}.attributes`
 * (model `AttributeDetailEventTopicAttributeUpdateEvent`) for one participant.
 * `eventTime` is epoch ms; `attributes` is the participant's full visible map.
 */
export function renderAttributeUpdate(
  conversation: StoredConversation,
  participant: StoredParticipant,
  eventTime: number,
): Models.AttributeDetailEventTopicAttributeUpdateEvent {
  return {
    eventTime,
    conversationId: conversation.id,
    participantId: participant.id,
    attributes: { ...participant.attributes },
    communications: [{ id: participant.communicationId, mediaType: ANALYTICS_MEDIA[conversation.mediaType] }],
  };
}

/**
 * Every (topic, body) pair a store change is published as:
 * - the snapshot on `v2.routing.queues.{q}.conversations` for the conversation's queue and
 *   every participant queue, and on `v2.users.{u}.conversations` for every participant user;
 * - for `call` conversations, the call body on the matching `.conversations.calls` topics;
 * - for `attributes` changes, the attribute update on
 *   `v2.detail.events.conversation.{id}.attributes`, its `eventTime` rounded down to a multiple
 *   of `eventTimeResolutionMs` (the `eventTimeResolutionMs` fault; 1 = the change's own ms).
 * Bodies are built once per change and shared by every topic of the same kind.
 */
export function eventsForChange(change: ConversationChange, eventTimeResolutionMs = 1): TopicEvent[] {
  const { conversation } = change;
  const events: TopicEvent[] = [];
  const snapshot = renderConversationSnapshot(conversation);
  const calls = conversation.mediaType === "call" ? renderCallConversation(conversation) : undefined;
  for (const queueId of queuesOf(conversation)) {
    events.push({ topicName: topicName.queueConversations(queueId), eventBody: snapshot });
    if (calls) events.push({ topicName: topicName.queueCalls(queueId), eventBody: calls });
  }
  for (const userId of usersOf(conversation)) {
    events.push({ topicName: topicName.userConversations(userId), eventBody: snapshot });
    if (calls) events.push({ topicName: topicName.userCalls(userId), eventBody: calls });
  }
  if (change.kind === "attributes" && change.participantId) {
    const participant = conversation.participants.find((p) => p.id === change.participantId);
    if (participant) {
      events.push({
        topicName: topicName.detailAttributes(conversation.id),
        eventBody: renderAttributeUpdate(conversation, participant, change.at - (change.at % Math.max(1, eventTimeResolutionMs))),
      });
    }
  }
  return events;
}
