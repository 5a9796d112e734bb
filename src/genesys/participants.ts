/**
 * The gateway's view of a conversation and its participants, mapped from Genesys models.
 *
 * Two sources share one shape here:
 * - `GET /api/v2/conversations/{id}` → `Models.Conversation` / `Models.Participant`;
 * - notification snapshots (`v2.routing.queues.{id}.conversations`, `v2.users.{id}.conversations`)
 *   → `ConversationEventTopicConversation` / `ConversationEventTopicParticipant`, which have
 *   no participant `startTime`.
 * Neither has a participant-level state: it lives on each communication (`calls[].state`,
 * `callbacks[].state`, ...). The participant's state is that of its most recent communication.
 */

/** A communication as both models carry it (only what we read). */
interface CommunicationLike {
  state?: string;
}

/** The participant fields common to `Participant` and `ConversationEventTopicParticipant`. */
export interface GenesysParticipantLike {
  id?: string;
  name?: string;
  purpose?: string;
  address?: string;
  userId?: string;
  queueId?: string;
  startTime?: string;
  connectedTime?: string;
  endTime?: string;
  attributes?: { [key: string]: string };
  calls?: CommunicationLike[];
  callbacks?: CommunicationLike[];
  chats?: CommunicationLike[];
  emails?: CommunicationLike[];
  messages?: CommunicationLike[];
}

/** The conversation fields common to `Conversation` and `ConversationEventTopicConversation`. */
export interface GenesysConversationLike {
  id?: string;
  startTime?: string;
  endTime?: string;
  participants?: GenesysParticipantLike[];
}

/** A participant as the gateway serves it. Times are ISO-8601 strings. */
export interface ParticipantSnapshot {
  id: string;
  conversationId: string;
  name?: string;
  purpose: string;
  /** State of the most recent communication (`calls[].state`, ...), e.g. `connected`. */
  state?: string;
  address?: string;
  userId?: string;
  queueId?: string;
  startTime?: string;
  endTime?: string;
  /** The participant's whole attribute map (string values), without a prototype. */
  attributes: Record<string, string>;
}

/** A conversation as the gateway serves it. */
export interface ConversationSnapshot {
  id: string;
  startTime?: string;
  endTime?: string;
  participants: ParticipantSnapshot[];
}

const MEDIA = ["calls", "callbacks", "chats", "emails", "messages"] as const;

/** The state of the participant's most recent communication, if any. */
export function participantState(p: GenesysParticipantLike): string | undefined {
  for (const media of MEDIA) {
    const list = p[media];
    if (list && list.length > 0) {
      const state = list[list.length - 1]?.state;
      if (state) return state;
    }
  }
  return undefined;
}

/** Maps one Genesys participant (REST or event model). */
export function toParticipantSnapshot(conversationId: string, p: GenesysParticipantLike): ParticipantSnapshot {
  return {
    id: p.id ?? "",
    conversationId,
    name: p.name,
    purpose: p.purpose ?? "unknown",
    state: participantState(p),
    address: p.address,
    userId: p.userId,
    queueId: p.queueId,
    startTime: p.startTime,
    endTime: p.endTime,
    // No prototype: "toString", "constructor", … are plain keys (a lookup never finds Object.prototype).
    attributes: Object.assign(Object.create(null) as Record<string, string>, p.attributes),
  };
}

/** Maps a Genesys conversation (REST or event model); participants without an id are skipped. */
export function toConversationSnapshot(c: GenesysConversationLike): ConversationSnapshot {
  const id = c.id ?? "";
  return {
    id,
    startTime: c.startTime,
    endTime: c.endTime,
    participants: (c.participants ?? []).filter((p) => p.id).map((p) => toParticipantSnapshot(id, p)),
  };
}
