/**
 * The emulator's in-memory model of live Genesys Cloud conversations.
 *
 * This is the emulator's single source of truth for conversations, participants and their
 * *visible* attribute maps. REST handlers read it and render Genesys JSON from it; the
 * notification service listens to its `change` events and publishes topic events.
 *
 * Genesys facts modelled here (see shared/genesys/README.md, "Reading participants"):
 * a participant has no state of its own; state lives on its communication (`calls[].state`),
 * so each stored participant carries exactly one communication with its own id and state.
 */
import { EventEmitter } from "node:events";

/** The media type of a conversation; a conversation has exactly one. */
export type MediaType = "call" | "callback" | "email" | "message";

/** Communication states as Genesys reports them in `calls[].state`. */
export type CommunicationState =
  | "alerting"
  | "dialing"
  | "contacting"
  | "offering"
  | "connected"
  | "disconnected"
  | "terminated";

/** A participant as the emulator stores it. Times are ISO-8601 strings. */
export interface StoredParticipant {
  id: string;
  name?: string;
  /** customer | agent | acd | ivr | external | user | ... */
  purpose: string;
  address?: string;
  userId?: string;
  queueId?: string;
  startTime: string;
  connectedTime?: string;
  endTime?: string;
  /** State of the participant's single communication (rendered as `calls[0].state`). */
  state: CommunicationState;
  /** Id of the participant's single communication (rendered as `calls[0].id`). */
  communicationId: string;
  /** The attribute map as readers currently see it (writes appear here once visible). */
  attributes: Record<string, string>;
}

/** A conversation as the emulator stores it. */
export interface StoredConversation {
  id: string;
  mediaType: MediaType;
  /** The queue the conversation was routed through (used for queue topics). */
  queueId: string;
  startTime: string;
  endTime?: string;
  participants: StoredParticipant[];
}

/** Input to create a participant (control API shape). */
export interface NewParticipant {
  purpose: string;
  name?: string;
  address?: string;
  userId?: string;
  /** Defaults to the conversation's queue for `acd` participants. */
  queueId?: string;
  attributes?: Record<string, string>;
  /** Defaults to "connected". */
  state?: CommunicationState;
  /** Fixed id (demo data); random otherwise. */
  id?: string;
}

/** Input to create a conversation (control API shape). */
export interface NewConversation {
  queueId: string;
  mediaType?: MediaType;
  participants: NewParticipant[];
  /** Fixed id (demo data); random otherwise. */
  id?: string;
}

/** What kind of change a `change` event reports. */
export type ConversationChangeKind =
  | "created"
  | "participant-joined"
  | "participant-disconnected"
  | "conversation-ended"
  | "attributes";

/** Payload of the store's `change` event. `conversation` is a copy taken after the change. */
export interface ConversationChange {
  kind: ConversationChangeKind;
  conversation: StoredConversation;
  /** The participant concerned, for participant-level kinds (`attributes`, joined, disconnected). */
  participantId?: string;
  /** Epoch ms at which the change happened. */
  at: number;
}

/** Options of {@link ConversationStore}. */
export interface ConversationStoreOptions {
  /** Clock in epoch ms. */
  now: () => number;
  /** Id generator (UUID strings); seeded in the emulator for reproducibility. */
  newId: () => string;
}

/**
 * In-memory conversations with change events.
 *
 * Every accessor returns deep copies, so callers can never mutate the store by accident.
 * Emits `change` ({@link ConversationChange}) after every mutation.
 */
export class ConversationStore extends EventEmitter<{ change: [ConversationChange] }> {
  private readonly conversations = new Map<string, StoredConversation>();

  constructor(private readonly options: ConversationStoreOptions) {
    super();
  }

  /** All conversations, in creation order (copies). */
  list(): StoredConversation[] {
    return [...this.conversations.values()].map(clone);
  }

  /** One conversation (a copy), or undefined when the id is unknown. */
  get(conversationId: string): StoredConversation | undefined {
    const found = this.conversations.get(conversationId);
    return found ? clone(found) : undefined;
  }

  /** Creates a live conversation; emits `created`. Returns a copy. */
  create(input: NewConversation): StoredConversation {
    const iso = new Date(this.options.now()).toISOString();
    const conversation: StoredConversation = {
      id: input.id ?? this.options.newId(),
      mediaType: input.mediaType ?? "call",
      queueId: input.queueId,
      startTime: iso,
      participants: [],
    };
    for (const p of input.participants) conversation.participants.push(this.buildParticipant(conversation, p, iso));
    this.conversations.set(conversation.id, conversation);
    this.emitChange("created", conversation);
    return clone(conversation);
  }

  /**
   * Adds a participant to a live conversation; emits `participant-joined`.
   * @throws Error when the conversation is unknown.
   */
  addParticipant(conversationId: string, input: NewParticipant): StoredParticipant {
    const conversation = this.require(conversationId);
    const participant = this.buildParticipant(conversation, input, new Date(this.options.now()).toISOString());
    conversation.participants.push(participant);
    this.emitChange("participant-joined", conversation, participant.id);
    return clone(participant);
  }

  /**
   * Disconnects one participant (state `disconnected`, `endTime` set); emits
   * `participant-disconnected`. Idempotent.
   * @throws Error when the conversation or participant is unknown.
   */
  disconnectParticipant(conversationId: string, participantId: string): StoredParticipant {
    const conversation = this.require(conversationId);
    const participant = this.requireParticipant(conversation, participantId);
    if (!participant.endTime) {
      participant.state = "disconnected";
      participant.endTime = new Date(this.options.now()).toISOString();
      this.emitChange("participant-disconnected", conversation, participant.id);
    }
    return clone(participant);
  }

  /**
   * Ends a conversation: every participant disconnected, `endTime` set; emits
   * `conversation-ended`. Idempotent.
   * @throws Error when the conversation is unknown.
   */
  end(conversationId: string): StoredConversation {
    const conversation = this.require(conversationId);
    if (!conversation.endTime) {
      const iso = new Date(this.options.now()).toISOString();
      for (const p of conversation.participants) {
        if (!p.endTime) {
          p.state = "disconnected";
          p.endTime = iso;
        }
      }
      conversation.endTime = iso;
      this.emitChange("conversation-ended", conversation);
    }
    return clone(conversation);
  }

  /**
   * Makes a write visible: per-key upsert of `attributes` into the participant's map (keys
   * not named are kept; the emulator's documented assumption). A `""` value is stored, or with
   * `cleared` `"removed"` removes the key (the `clearedAttributes` fault). Emits `attributes`.
   * @throws Error when the conversation or participant is unknown.
   */
  applyAttributes(conversationId: string, participantId: string, attributes: Record<string, string>, cleared: "empty" | "removed" = "empty"): void {
    const conversation = this.require(conversationId);
    const participant = this.requireParticipant(conversation, participantId);
    for (const [key, value] of Object.entries(attributes)) {
      if (value === "" && cleared === "removed") delete participant.attributes[key];
      else Object.defineProperty(participant.attributes, key, { value, enumerable: true, writable: true, configurable: true });
    }
    this.emitChange("attributes", conversation, participant.id);
  }

  /** Removes every conversation without emitting events (used by reset). */
  clear(): void {
    this.conversations.clear();
  }

  private buildParticipant(conversation: StoredConversation, input: NewParticipant, iso: string): StoredParticipant {
    const state = input.state ?? "connected";
    return {
      id: input.id ?? this.options.newId(),
      name: input.name,
      purpose: input.purpose,
      address: input.address,
      userId: input.userId,
      queueId: input.queueId ?? (input.purpose === "acd" || input.purpose === "agent" ? conversation.queueId : undefined),
      startTime: iso,
      connectedTime: state === "connected" ? iso : undefined,
      state,
      communicationId: this.options.newId(),
      attributes: { ...(input.attributes ?? {}) },
    };
  }

  private require(conversationId: string): StoredConversation {
    const conversation = this.conversations.get(conversationId);
    if (!conversation) throw new Error(`conversation ${conversationId} not found`);
    return conversation;
  }

  private requireParticipant(conversation: StoredConversation, participantId: string): StoredParticipant {
    const participant = conversation.participants.find((p) => p.id === participantId);
    if (!participant) throw new Error(`participant ${participantId} not found in conversation ${conversation.id}`);
    return participant;
  }

  private emitChange(kind: ConversationChangeKind, conversation: StoredConversation, participantId?: string): void {
    this.emit("change", { kind, conversation: clone(conversation), participantId, at: this.options.now() });
  }
}

function clone<T>(value: T): T {
  return structuredClone(value);
}
