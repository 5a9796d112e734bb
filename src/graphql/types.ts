/**
 * GraphQL object, input, union and enum types of the gateway (type-graphql classes).
 * `schema.graphql` at the repository root is emitted from these and the resolvers.
 */
import { createUnionType, Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import type { ConversationSnapshot, ParticipantSnapshot } from "../genesys/participants.js";
import type { AttributeChange as AttributeChangeRecord } from "../attributes/changes.js";
import { AttributeMapScalar } from "./scalars.js";

const date = (iso: string | undefined): Date | undefined => (iso ? new Date(iso) : undefined);

@ObjectType({
  description:
    "A participant of a live Genesys Cloud conversation (GET /api/v2/conversations/{conversationId}, `participants[]`).",
})
export class Participant {
  @Field(() => ID, { description: "Genesys participant id." })
  id!: string;

  @Field(() => ID, { description: "Id of the conversation this participant belongs to." })
  conversationId!: string;

  @Field(() => String, { nullable: true, description: "Display name Genesys reports for the participant." })
  name?: string;

  @Field(() => String, { description: "Role in the conversation: customer, agent, acd, ivr, external, user, ..." })
  purpose!: string;

  @Field(() => String, {
    nullable: true,
    description:
      "State of the participant's most recent communication (Genesys `calls[].state` etc.): alerting, dialing, contacting, offering, connected, disconnected, terminated.",
  })
  state?: string;

  @Field(() => String, { nullable: true, description: "Address, e.g. tel:+15551234567 for a call." })
  address?: string;

  @Field(() => ID, { nullable: true, description: "Genesys user id, for agent participants." })
  userId?: string;

  @Field(() => ID, { nullable: true, description: "Genesys queue id, for ACD and routed agent participants." })
  queueId?: string;

  @Field(() => Date, { nullable: true, description: "When the participant joined (ISO-8601)." })
  startTime?: Date;

  @Field(() => Date, { nullable: true, description: "When the participant left (ISO-8601); null while connected." })
  endTime?: Date;

  @Field(() => AttributeMapScalar, { description: "The participant's whole attribute map (string values)." })
  attributes!: Record<string, string>;

  /** `attributesVersion(attributes)` when already known (change events carry it); not a field. */
  knownVersion?: string;

  /** Builds the GraphQL object from a snapshot (`version`: the map's version, when already computed). */
  static from(snapshot: ParticipantSnapshot, version?: string): Participant {
    return Object.assign(new Participant(), {
      ...snapshot,
      startTime: date(snapshot.startTime),
      endTime: date(snapshot.endTime),
      knownVersion: version,
    });
  }
}

@ObjectType({ description: "A Genesys Cloud conversation (GET /api/v2/conversations/{conversationId})." })
export class Conversation {
  @Field(() => ID, { description: "Genesys conversation id." })
  id!: string;

  @Field(() => Date, { nullable: true, description: "When the conversation started (ISO-8601)." })
  startTime?: Date;

  @Field(() => Date, { nullable: true, description: "When the conversation ended (ISO-8601); null while live." })
  endTime?: Date;

  /** All participants; the `participants` field resolver filters them. */
  snapshot!: ConversationSnapshot;

  /** Builds the GraphQL object from a snapshot. */
  static from(snapshot: ConversationSnapshot): Conversation {
    return Object.assign(new Conversation(), {
      id: snapshot.id,
      startTime: date(snapshot.startTime),
      endTime: date(snapshot.endTime),
      snapshot,
    });
  }
}

@InputType({ description: "Attributes to write on one participant." })
export class UpdateAttributesInput {
  @Field(() => ID, { description: "Genesys conversation id." })
  conversationId!: string;

  @Field(() => ID, { description: "Genesys participant id." })
  participantId!: string;

  @Field(() => AttributeMapScalar, {
    description:
      'Keys to set; keys not named are left as they are; "" clears a key (Genesys has no delete). Limits: 1–100 keys, keys 1–256 characters without control characters, values up to 4,096 characters, 32,768 bytes in all.',
  })
  attributes!: Record<string, string>;

  @Field(() => String, {
    nullable: true,
    description:
      "Write only if the participant's `version` still equals this; otherwise the result is VersionConflict and nothing is written.",
  })
  expectedVersion?: string;
}

@ObjectType({ description: "The write is visible in Genesys: every written key reads back with its value." })
export class AttributesUpdated {
  @Field(() => Participant, { description: "The participant as Genesys shows it after the write." })
  participant!: Participant;

  @Field(() => Int, { description: "PATCH requests sent to Genesys (0: the values were already in place)." })
  attempts!: number;

  @Field(() => Int, { description: "Milliseconds from the first PATCH until a read showed the write (0 when attempts is 0)." })
  confirmedAfterMs!: number;
}

@ObjectType({
  description:
    "The participant changed since the caller read it (expectedVersion is stale), or another writer changed a written key while the write was applied.",
})
export class VersionConflict {
  @Field(() => String, { description: "What conflicted, for people." })
  message!: string;

  @Field(() => String, { description: "The version the caller expected." })
  expectedVersion!: string;

  @Field(() => Participant, { description: "The participant as it is now (its `version` is the current one)." })
  participant!: Participant;

  @Field(() => Boolean, {
    description:
      "True when this write was applied: Genesys showed every written key, but another writer's change (conflictingKeys) landed between the version check and the answer, so the result is not 'expectedVersion plus this write'. False when nothing was written (stale expectedVersion) or the write was not seen (it may still become visible if Genesys accepted it).",
  })
  writeApplied!: boolean;

  @Field(() => [String], {
    description:
      "Keys another writer changed after the version check, sorted. Empty for a stale expectedVersion (versions are hashes: which keys differ is unknown).",
  })
  conflictingKeys!: string[];
}

/** Why `updateAttributes` could not write. */
export enum ParticipantUnavailableReason {
  CONVERSATION_NOT_FOUND = "CONVERSATION_NOT_FOUND",
  PARTICIPANT_NOT_FOUND = "PARTICIPANT_NOT_FOUND",
  REJECTED_BY_GENESYS = "REJECTED_BY_GENESYS",
}

registerEnumType(ParticipantUnavailableReason, {
  name: "ParticipantUnavailableReason",
  description: "Why the participant could not be written.",
  valuesConfig: {
    CONVERSATION_NOT_FOUND: { description: "Genesys does not know the conversation." },
    PARTICIPANT_NOT_FOUND: { description: "The conversation has no participant with that id." },
    REJECTED_BY_GENESYS: { description: "Genesys refused the write with a 4xx (e.g. the conversation has ended)." },
  },
});

@ObjectType({ description: "Nothing was written: the participant cannot be written." })
export class ParticipantUnavailable {
  @Field(() => String, { description: "What happened; Genesys's own message for REJECTED_BY_GENESYS." })
  message!: string;

  @Field(() => ParticipantUnavailableReason, { description: "Why: unknown conversation, unknown participant, or refused by Genesys." })
  reason!: ParticipantUnavailableReason;
}

@ObjectType({
  description:
    "Genesys accepted the write but the gateway could not see it take effect within the deadline, or another writer overwrote a written key. The write may still become visible later.",
})
export class UpdateNotConfirmed {
  @Field(() => String, { description: "What was seen, naming any keys another writer changed." })
  message!: string;

  @Field(() => Int, { description: "PATCH requests sent to Genesys." })
  attempts!: number;

  @Field(() => Boolean, {
    description: "True when Genesys accepted (202) at least one PATCH of this write: it may still become visible. False: no PATCH was accepted (never sent, or every one failed without an answer).",
  })
  writeAccepted!: boolean;

  @Field(() => Participant, { nullable: true, description: "The participant as last read, if it could be read." })
  participant?: Participant;
}

/** Result union of `updateAttributes`. */
export const UpdateAttributesResult = createUnionType({
  name: "UpdateAttributesResult",
  description: "What `updateAttributes` did; every member says exactly what happened.",
  types: () => [AttributesUpdated, VersionConflict, ParticipantUnavailable, UpdateNotConfirmed] as const,
});

@ObjectType({ description: "One key whose value changed." })
export class AttributeChange {
  @Field(() => String, { description: "The attribute key (case-sensitive)." })
  key!: string;

  @Field(() => String, { nullable: true, description: "The value before; null when the gateway knew no value for the key." })
  previous?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'The value now; null when Genesys no longer shows the key (a Genesys that drops keys cleared with "", as a read showed).',
  })
  value?: string | null;

  /** Builds the GraphQL object from a diff entry. */
  static from(change: AttributeChangeRecord): AttributeChange {
    return Object.assign(new AttributeChange(), change);
  }
}

@ObjectType({
  description:
    "A confirmed change of one participant's attributes (or, with includeSnapshot, its state when the subscription started), from the gateway's change log.",
})
export class AttributesChange {
  @Field(() => String, {
    description: "Opaque position of this event in the change log: pass it as `after` to resume right after it.",
  })
  cursor!: string;

  @Field(() => Boolean, { description: "True for the state events of includeSnapshot, false for changes." })
  snapshot!: boolean;

  @Field(() => ID, { description: "The conversation of the participant that changed." })
  conversationId!: string;

  @Field(() => ID, { description: "The participant whose attributes changed." })
  participantId!: string;

  @Field(() => Participant, {
    description: "The participant after the change (id, purpose, state as last known; `attributes` and `version` as in this event), so normalised client caches update themselves.",
  })
  participant!: Participant;

  @Field(() => [AttributeChange], {
    description:
      "Only the keys whose value changed (narrowed to `keys` when the subscription names them); for a snapshot event every key, with `previous: null`.",
  })
  changes!: AttributeChange[];

  @Field(() => AttributeMapScalar, { description: "The participant's whole map after the change." })
  attributes!: Record<string, string>;

  @Field(() => String, { description: "The participant's version after the change (see Participant.version)." })
  version!: string;

  @Field(() => Date, { description: "When the gateway learned the change (ISO-8601); for a snapshot event, when it was taken." })
  observedAt!: Date;
}
