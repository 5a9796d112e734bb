/**
 * Renders stored conversations as Genesys JSON, shaped by the SDK models
 * (`Models.Conversation`, `Models.CallConversation`, ... in purecloud-platform-client-v2
 * 262.0.0 index.d.ts) and valid against the 2018 Swagger definitions.
 *
 * Facts (shared/genesys/README.md, "Reading participants"): a generic `Participant` has no
 * `state`; its state lives per communication (`calls[].state`, `callbacks[]`, `emails[]`,
 * `messages[]`) and it carries `userId`/`queueId` strings. Media participants
 * (`CallMediaParticipant`, ...) carry a direct `state` and `user`/`queue` as
 * `{id, name, selfUri}` references. `selfUri`s are relative, as Genesys returns them.
 */
import type { Models } from "purecloud-platform-client-v2";
import type { CommunicationState, MediaType, StoredConversation, StoredParticipant } from "./store.js";

/** Display names of users and queues, for `user`/`queue` references (`name` is optional). */
export interface NameDirectory {
  /** User id → display name. */
  users: ReadonlyMap<string, string>;
  /** Queue id → queue name. */
  queues: ReadonlyMap<string, string>;
}

/** An empty directory. */
export const NO_NAMES: NameDirectory = { users: new Map(), queues: new Map() };

/** The media path segment of a media type (`call` → `calls`, ...), as used in REST paths. */
export const MEDIA_PATHS: Readonly<Record<MediaType, "calls" | "callbacks" | "emails" | "messages">> = {
  call: "calls",
  callback: "callbacks",
  email: "emails",
  message: "messages",
};

/** The media type served under a REST media path segment, or undefined. */
export function mediaTypeOfPath(segment: string): MediaType | undefined {
  return (Object.keys(MEDIA_PATHS) as MediaType[]).find((m) => MEDIA_PATHS[m] === segment);
}

/**
 * The state as the media can express it: `Email.state` allows alerting, connected,
 * disconnected, none, transmitting and `Message.state` alerting, connected, disconnected
 * (2018 spec), so pre-connect states become `alerting` and `terminated` becomes
 * `disconnected` for those media. Calls and callbacks keep every stored state.
 */
export function stateFor(media: MediaType, state: CommunicationState): CommunicationState {
  if (media === "call" || media === "callback") return state;
  if (state === "dialing" || state === "contacting" || state === "offering") return "alerting";
  if (state === "terminated") return "disconnected";
  return state;
}

/** A set of optional fields without the undefined ones (keeps JSON output tidy). */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function communication(conversation: StoredConversation, p: StoredParticipant): Record<string, unknown> {
  const disconnectedTime = p.state === "disconnected" || p.state === "terminated" ? p.endTime : undefined;
  return defined({
    state: stateFor(conversation.mediaType, p.state),
    id: p.communicationId,
    connectedTime: p.connectedTime,
    disconnectedTime,
  });
}

/** Renders one participant as a generic `Models.Participant` (no `state`; per-media arrays). */
export function renderParticipant(conversation: StoredConversation, p: StoredParticipant, names: NameDirectory = NO_NAMES): Models.Participant {
  const media = MEDIA_PATHS[conversation.mediaType];
  return defined({
    id: p.id,
    startTime: p.startTime,
    endTime: p.endTime,
    connectedTime: p.connectedTime,
    name: p.name,
    userUri: p.userId ? `/api/v2/users/${p.userId}` : undefined,
    userId: p.userId,
    queueId: p.queueId,
    queueName: p.queueId ? names.queues.get(p.queueId) : undefined,
    purpose: p.purpose,
    address: p.address,
    ani: conversation.mediaType === "call" && p.purpose === "customer" ? p.address : undefined,
    attributes: { ...p.attributes },
    [media]: [communication(conversation, p)],
  }) as Models.Participant;
}

/** Renders a conversation as the generic `Models.Conversation` (`GET /api/v2/conversations/{id}`). */
export function renderConversation(conversation: StoredConversation, names: NameDirectory = NO_NAMES): Models.Conversation {
  return defined({
    id: conversation.id,
    startTime: conversation.startTime,
    endTime: conversation.endTime,
    participants: conversation.participants.map((p) => renderParticipant(conversation, p, names)),
    selfUri: `/api/v2/conversations/${conversation.id}`,
  });
}

/** A `{id, name?, selfUri}` reference (`Models.DomainEntityRef`; 2018 `UriReference`). */
function ref(id: string | undefined, kind: "users" | "routing/queues", names: ReadonlyMap<string, string>): Models.DomainEntityRef | undefined {
  if (!id) return undefined;
  return defined({ id, name: names.get(id), selfUri: `/api/v2/${kind}/${id}` });
}

/**
 * Renders one participant as a media participant (`Models.CallMediaParticipant`,
 * `CallbackMediaParticipant`, `EmailMediaParticipant`, `MessageMediaParticipant`): direct
 * `state`, `user`/`queue` references.
 */
export function renderMediaParticipant(
  conversation: StoredConversation,
  p: StoredParticipant,
  names: NameDirectory = NO_NAMES,
): Models.CallMediaParticipant {
  return defined({
    id: p.id,
    name: p.name,
    address: p.address,
    startTime: p.startTime,
    connectedTime: p.connectedTime,
    endTime: p.endTime,
    purpose: p.purpose,
    state: stateFor(conversation.mediaType, p.state),
    user: ref(p.userId, "users", names.users),
    queue: ref(p.queueId, "routing/queues", names.queues),
    attributes: { ...p.attributes },
    ani: conversation.mediaType === "call" && p.purpose === "customer" ? p.address : undefined,
  });
}

/** The media conversation model of each media type. */
export type MediaConversation = Models.CallConversation | Models.CallbackConversation | Models.EmailConversation | Models.MessageConversation;

/**
 * Renders a conversation as its media model (`GET /api/v2/conversations/{calls|callbacks|
 * emails|messages}/{id}`): `CallConversation` for calls, and so on.
 */
export function renderMediaConversation(conversation: StoredConversation, names: NameDirectory = NO_NAMES): MediaConversation {
  return {
    id: conversation.id,
    participants: conversation.participants.map((p) => renderMediaParticipant(conversation, p, names)),
    otherMediaUris: [],
    selfUri: `/api/v2/conversations/${MEDIA_PATHS[conversation.mediaType]}/${conversation.id}`,
  };
}
