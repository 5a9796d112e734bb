/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** Participant attributes: a JSON object whose values are all strings, e.g. {"crm.caseId": "CASE-1001"}. Keys are case-sensitive. Any other shape is refused with BAD_USER_INPUT. */
  AttributeMap: { input: Record<string, string>; output: Record<string, string>; }
  /** A date-time string at UTC, such as 2007-12-03T10:15:30Z, compliant with the `date-time` format outlined in section 5.6 of the RFC 3339 profile of the ISO 8601 standard for representation of dates and times using the Gregorian calendar.This scalar is serialized to a string in ISO 8601 format and parsed from a string in ISO 8601 format. */
  DateTimeISO: { input: string; output: string; }
};

/** One key whose value changed. */
export type AttributeChange = {
  __typename?: 'AttributeChange';
  key: Scalars['String']['output'];
  /** The value before; null when the gateway knew no value for the key. */
  previous: Maybe<Scalars['String']['output']>;
  /** The value now. */
  value: Maybe<Scalars['String']['output']>;
};

/** A confirmed change of one participant's attributes, as Genesys notified it. */
export type AttributesChange = {
  __typename?: 'AttributesChange';
  /** The participant's whole map after the change. */
  attributes: Scalars['AttributeMap']['output'];
  /** Only the keys whose value changed (narrowed to `keys` when the subscription names them). */
  changes: Array<AttributeChange>;
  conversationId: Scalars['ID']['output'];
  /** When the gateway received the change (ISO-8601). */
  observedAt: Scalars['DateTimeISO']['output'];
  participantId: Scalars['ID']['output'];
  /** The participant's version after the change (see Participant.version). */
  version: Scalars['String']['output'];
};

/** The write is visible in Genesys: every written key reads back with its value. */
export type AttributesUpdated = {
  __typename?: 'AttributesUpdated';
  /** PATCH requests sent to Genesys (0: the values were already in place). */
  attempts: Scalars['Int']['output'];
  /** Milliseconds from the first PATCH until a read showed the write (0 when attempts is 0). */
  confirmedAfterMs: Scalars['Int']['output'];
  /** The participant as Genesys shows it after the write. */
  participant: Participant;
};

/** A Genesys Cloud conversation (GET /api/v2/conversations/{conversationId}). */
export type Conversation = {
  __typename?: 'Conversation';
  /** When the conversation ended (ISO-8601); null while live. */
  endTime: Maybe<Scalars['DateTimeISO']['output']>;
  /** Genesys conversation id. */
  id: Scalars['ID']['output'];
  /** Participants in Genesys order; `purpose` keeps only those with that purpose (e.g. customer, agent). */
  participants: Array<Participant>;
  /** When the conversation started (ISO-8601). */
  startTime: Maybe<Scalars['DateTimeISO']['output']>;
};


/** A Genesys Cloud conversation (GET /api/v2/conversations/{conversationId}). */
export type ConversationParticipantsArgs = {
  purpose: InputMaybe<Scalars['String']['input']>;
};

export type Mutation = {
  __typename?: 'Mutation';
  /** Sets attributes on one participant and answers only once Genesys shows the write (AttributesUpdated), or says exactly what happened instead. Writes to one participant are serialized by the gateway. */
  updateAttributes: UpdateAttributesResult;
};


export type MutationUpdateAttributesArgs = {
  input: UpdateAttributesInput;
};

/** A participant of a live Genesys Cloud conversation (GET /api/v2/conversations/{conversationId}, `participants[]`). */
export type Participant = {
  __typename?: 'Participant';
  /** Address, e.g. tel:+15551234567 for a call. */
  address: Maybe<Scalars['String']['output']>;
  /** The value of one attribute key (case-sensitive); null when not set. */
  attribute: Maybe<Scalars['String']['output']>;
  /** The participant's whole attribute map (string values). */
  attributes: Scalars['AttributeMap']['output'];
  /** The conversation this participant belongs to. */
  conversation: Conversation;
  /** Id of the conversation this participant belongs to. */
  conversationId: Scalars['ID']['output'];
  /** When the participant left (ISO-8601); null while connected. */
  endTime: Maybe<Scalars['DateTimeISO']['output']>;
  /** Genesys participant id. */
  id: Scalars['ID']['output'];
  /** Display name Genesys reports for the participant. */
  name: Maybe<Scalars['String']['output']>;
  /** Role in the conversation: customer, agent, acd, ivr, external, user, ... */
  purpose: Scalars['String']['output'];
  /** Genesys queue id, for ACD and routed agent participants. */
  queueId: Maybe<Scalars['ID']['output']>;
  /** When the participant joined (ISO-8601). */
  startTime: Maybe<Scalars['DateTimeISO']['output']>;
  /** State of the participant's most recent communication (Genesys `calls[].state` etc.): alerting, dialing, contacting, offering, connected, disconnected, terminated. */
  state: Maybe<Scalars['String']['output']>;
  /** Genesys user id, for agent participants. */
  userId: Maybe<Scalars['ID']['output']>;
  /** Opaque version derived from the attribute map alone: equal maps have equal versions. Pass it as `expectedVersion` to updateAttributes. */
  version: Scalars['String']['output'];
};


/** A participant of a live Genesys Cloud conversation (GET /api/v2/conversations/{conversationId}, `participants[]`). */
export type ParticipantAttributeArgs = {
  key: Scalars['String']['input'];
};

/** Nothing was written: the participant cannot be written. */
export type ParticipantUnavailable = {
  __typename?: 'ParticipantUnavailable';
  /** What happened; Genesys's own message for REJECTED_BY_GENESYS. */
  message: Scalars['String']['output'];
  reason: ParticipantUnavailableReason;
};

/** Why the participant could not be written. */
export type ParticipantUnavailableReason =
  /** Genesys does not know the conversation. */
  | 'CONVERSATION_NOT_FOUND'
  /** The conversation has no participant with that id. */
  | 'PARTICIPANT_NOT_FOUND'
  /** Genesys refused the write with a 4xx (e.g. the conversation has ended). */
  | 'REJECTED_BY_GENESYS';

export type Query = {
  __typename?: 'Query';
  /** A conversation by Genesys id; null when unknown. */
  conversation: Maybe<Conversation>;
  /** A participant by conversation and participant id; null when unknown. */
  participant: Maybe<Participant>;
};


export type QueryConversationArgs = {
  id: Scalars['ID']['input'];
};


export type QueryParticipantArgs = {
  conversationId: Scalars['ID']['input'];
  participantId: Scalars['ID']['input'];
};

export type Subscription = {
  __typename?: 'Subscription';
  /** Confirmed attribute changes, derived from Genesys notifications. Changes are computed against the last state the gateway knew (a missing key never means deleted); duplicates yield nothing; after a notification socket reconnect the watched conversations are re-read so no change is lost. */
  attributesChanged: AttributesChange;
};


export type SubscriptionAttributesChangedArgs = {
  conversationId: InputMaybe<Scalars['ID']['input']>;
  keys: InputMaybe<Array<Scalars['String']['input']>>;
  participantId: InputMaybe<Scalars['ID']['input']>;
  queueId: InputMaybe<Scalars['ID']['input']>;
};

/** Attributes to write on one participant. */
export type UpdateAttributesInput = {
  /** Keys to set; keys not named are left as they are; "" clears a key (Genesys has no delete). Limits: 1–100 keys, keys 1–256 characters without control characters, values up to 4,096 characters, 32,768 bytes in all. */
  attributes: Scalars['AttributeMap']['input'];
  /** Genesys conversation id. */
  conversationId: Scalars['ID']['input'];
  /** Write only if the participant's `version` still equals this; otherwise the result is VersionConflict and nothing is written. */
  expectedVersion?: InputMaybe<Scalars['String']['input']>;
  /** Genesys participant id. */
  participantId: Scalars['ID']['input'];
};

/** What `updateAttributes` did; every member says exactly what happened. */
export type UpdateAttributesResult = AttributesUpdated | ParticipantUnavailable | UpdateNotConfirmed | VersionConflict;

/** Genesys accepted the write but the gateway could not see it take effect within the deadline, or another writer overwrote a written key. The write may still become visible later. */
export type UpdateNotConfirmed = {
  __typename?: 'UpdateNotConfirmed';
  /** PATCH requests sent to Genesys. */
  attempts: Scalars['Int']['output'];
  /** What was seen, naming any keys another writer changed. */
  message: Scalars['String']['output'];
  /** The participant as last read, if it could be read. */
  participant: Maybe<Participant>;
};

/** The participant changed since the caller read it (expectedVersion is stale), or another writer changed a written key while the write was applied. */
export type VersionConflict = {
  __typename?: 'VersionConflict';
  /** The version the caller expected. */
  expectedVersion: Scalars['String']['output'];
  /** What conflicted, for people. */
  message: Scalars['String']['output'];
  /** The participant as it is now (its `version` is the current one). */
  participant: Participant;
};

/** Why the participant could not be written. */
export type ParticipantUnavailableReason =
  /** Genesys does not know the conversation. */
  | 'CONVERSATION_NOT_FOUND'
  /** The conversation has no participant with that id. */
  | 'PARTICIPANT_NOT_FOUND'
  /** Genesys refused the write with a 4xx (e.g. the conversation has ended). */
  | 'REJECTED_BY_GENESYS';

/** Attributes to write on one participant. */
export type UpdateAttributesInput = {
  /** Keys to set; keys not named are left as they are; "" clears a key (Genesys has no delete). Limits: 1–100 keys, keys 1–256 characters without control characters, values up to 4,096 characters, 32,768 bytes in all. */
  attributes: Record<string, string>;
  /** Genesys conversation id. */
  conversationId: string | number;
  /** Write only if the participant's `version` still equals this; otherwise the result is VersionConflict and nothing is written. */
  expectedVersion?: string | null | undefined;
  /** Genesys participant id. */
  participantId: string | number;
};

export type ParticipantQueryVariables = Exact<{
  conversationId: string | number;
  participantId: string | number;
}>;


export type ParticipantQuery = { participant: { id: string, conversationId: string, name: string | null, purpose: string, state: string | null, address: string | null, userId: string | null, queueId: string | null, startTime: string | null, endTime: string | null, attributes: Record<string, string>, version: string, caseId: string | null } | null };

export type ParticipantsOfConversationQueryVariables = Exact<{
  conversationId: string | number;
  a: string | number;
  b: string | number;
  c: string | number;
}>;


export type ParticipantsOfConversationQuery = { a: { id: string, purpose: string, version: string, conversation: { id: string } } | null, b: { id: string, purpose: string, version: string, conversation: { id: string } } | null, c: { id: string, purpose: string, version: string, conversation: { id: string } } | null };

export type ConversationQueryVariables = Exact<{
  id: string | number;
  purpose?: string | null | undefined;
}>;


export type ConversationQuery = { conversation: { id: string, startTime: string | null, endTime: string | null, participants: Array<{ id: string, purpose: string, state: string | null, attributes: Record<string, string>, version: string }> } | null };

export type UpdateAttributesMutationVariables = Exact<{
  input: UpdateAttributesInput;
}>;


export type UpdateAttributesMutation = { updateAttributes:
    | { __typename: 'AttributesUpdated', attempts: number, confirmedAfterMs: number, participant: { id: string, attributes: Record<string, string>, version: string } }
    | { __typename: 'ParticipantUnavailable', message: string, reason: ParticipantUnavailableReason }
    | { __typename: 'UpdateNotConfirmed', message: string, attempts: number, lastSeen: { id: string, attributes: Record<string, string>, version: string } | null }
    | { __typename: 'VersionConflict', message: string, expectedVersion: string, participant: { id: string, attributes: Record<string, string>, version: string } }
   };

export type AttributesChangedSubscriptionVariables = Exact<{
  conversationId?: string | number | null | undefined;
  queueId?: string | number | null | undefined;
  participantId?: string | number | null | undefined;
  keys?: Array<string> | string | null | undefined;
}>;


export type AttributesChangedSubscription = { attributesChanged: { conversationId: string, participantId: string, attributes: Record<string, string>, version: string, observedAt: string, changes: Array<{ key: string, previous: string | null, value: string | null }> } };


export const ParticipantDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Participant"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"conversationId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"participantId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"participant"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"conversationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"conversationId"}}},{"kind":"Argument","name":{"kind":"Name","value":"participantId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"participantId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"conversationId"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"purpose"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"address"}},{"kind":"Field","name":{"kind":"Name","value":"userId"}},{"kind":"Field","name":{"kind":"Name","value":"queueId"}},{"kind":"Field","name":{"kind":"Name","value":"startTime"}},{"kind":"Field","name":{"kind":"Name","value":"endTime"}},{"kind":"Field","name":{"kind":"Name","value":"attributes"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","alias":{"kind":"Name","value":"caseId"},"name":{"kind":"Name","value":"attribute"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"key"},"value":{"kind":"StringValue","value":"crm.caseId","block":false}}]}]}}]}}]} as unknown as DocumentNode<ParticipantQuery, ParticipantQueryVariables>;
export const ParticipantsOfConversationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ParticipantsOfConversation"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"conversationId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"a"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"b"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"c"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","alias":{"kind":"Name","value":"a"},"name":{"kind":"Name","value":"participant"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"conversationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"conversationId"}}},{"kind":"Argument","name":{"kind":"Name","value":"participantId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"a"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"purpose"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"conversation"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}},{"kind":"Field","alias":{"kind":"Name","value":"b"},"name":{"kind":"Name","value":"participant"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"conversationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"conversationId"}}},{"kind":"Argument","name":{"kind":"Name","value":"participantId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"b"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"purpose"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"conversation"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}},{"kind":"Field","alias":{"kind":"Name","value":"c"},"name":{"kind":"Name","value":"participant"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"conversationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"conversationId"}}},{"kind":"Argument","name":{"kind":"Name","value":"participantId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"c"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"purpose"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"conversation"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]}}]} as unknown as DocumentNode<ParticipantsOfConversationQuery, ParticipantsOfConversationQueryVariables>;
export const ConversationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Conversation"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"purpose"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"conversation"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"startTime"}},{"kind":"Field","name":{"kind":"Name","value":"endTime"}},{"kind":"Field","name":{"kind":"Name","value":"participants"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"purpose"},"value":{"kind":"Variable","name":{"kind":"Name","value":"purpose"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"purpose"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"attributes"}},{"kind":"Field","name":{"kind":"Name","value":"version"}}]}}]}}]}}]} as unknown as DocumentNode<ConversationQuery, ConversationQueryVariables>;
export const UpdateAttributesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UpdateAttributes"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UpdateAttributesInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updateAttributes"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"AttributesUpdated"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"attempts"}},{"kind":"Field","name":{"kind":"Name","value":"confirmedAfterMs"}},{"kind":"Field","name":{"kind":"Name","value":"participant"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"attributes"}},{"kind":"Field","name":{"kind":"Name","value":"version"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"VersionConflict"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"expectedVersion"}},{"kind":"Field","name":{"kind":"Name","value":"participant"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"attributes"}},{"kind":"Field","name":{"kind":"Name","value":"version"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ParticipantUnavailable"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"UpdateNotConfirmed"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"attempts"}},{"kind":"Field","alias":{"kind":"Name","value":"lastSeen"},"name":{"kind":"Name","value":"participant"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"attributes"}},{"kind":"Field","name":{"kind":"Name","value":"version"}}]}}]}}]}}]}}]} as unknown as DocumentNode<UpdateAttributesMutation, UpdateAttributesMutationVariables>;
export const AttributesChangedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"AttributesChanged"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"conversationId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"queueId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"participantId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"keys"}},"type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"attributesChanged"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"conversationId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"conversationId"}}},{"kind":"Argument","name":{"kind":"Name","value":"queueId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"queueId"}}},{"kind":"Argument","name":{"kind":"Name","value":"participantId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"participantId"}}},{"kind":"Argument","name":{"kind":"Name","value":"keys"},"value":{"kind":"Variable","name":{"kind":"Name","value":"keys"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"conversationId"}},{"kind":"Field","name":{"kind":"Name","value":"participantId"}},{"kind":"Field","name":{"kind":"Name","value":"changes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"previous"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attributes"}},{"kind":"Field","name":{"kind":"Name","value":"version"}},{"kind":"Field","name":{"kind":"Name","value":"observedAt"}}]}}]}}]} as unknown as DocumentNode<AttributesChangedSubscription, AttributesChangedSubscriptionVariables>;