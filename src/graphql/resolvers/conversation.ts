/**
 * Query resolvers for conversations and participants. Reads go through the per-operation
 * conversation loader: a request asking for many participants of one conversation costs one
 * `GET /api/v2/conversations/{conversationId}`.
 */
import { Arg, Ctx, FieldResolver, ID, Query, Resolver, Root } from "type-graphql";
import { attributeValue } from "../../attributes/attribute-map.js";
import { attributesVersion } from "../../attributes/version.js";
import type { GatewayContext } from "../context.js";
import { Conversation, Participant } from "../types.js";
import { assertId } from "../validation.js";

const FRESH =
  "true: read Genesys now (one GET of this request's own). false (default): the answer may come from a GET already in flight for another request, or from the change log when the gateway tracks the conversation and its state is known current (at most TRACKED_READ_MAX_AGE_MS since its last REST read).";

/** `Query.conversation` and `Conversation.participants`. */
@Resolver(() => Conversation)
export class ConversationResolver {
  /** One conversation; null when Genesys does not know the id. @throws BAD_USER_INPUT, UPSTREAM_UNAVAILABLE */
  @Query(() => Conversation, { nullable: true, description: "A conversation by Genesys id; null when unknown." })
  async conversation(
    @Arg("id", () => ID) id: string,
    @Arg("fresh", () => Boolean, { defaultValue: false, description: FRESH }) fresh: boolean,
    @Ctx() ctx: GatewayContext,
  ): Promise<Conversation | null> {
    const snapshot = await (fresh ? ctx.loaders.freshConversations : ctx.loaders.conversations).load(assertId(id, "id"));
    return snapshot ? Conversation.from(snapshot) : null;
  }

  /** The conversation's participants, optionally only those with one purpose. */
  @FieldResolver(() => [Participant], {
    description: "Participants in Genesys order; `purpose` keeps only those with that purpose (e.g. customer, agent).",
  })
  participants(
    @Root() conversation: Conversation,
    @Arg("purpose", () => String, { nullable: true }) purpose?: string,
  ): Participant[] {
    return conversation.snapshot.participants.filter((p) => purpose == null || p.purpose === purpose).map((p) => Participant.from(p));
  }
}

/** `Query.participant` and the computed participant fields. */
@Resolver(() => Participant)
export class ParticipantResolver {
  /** One participant; null when the conversation or participant is unknown. @throws BAD_USER_INPUT, UPSTREAM_UNAVAILABLE */
  @Query(() => Participant, { nullable: true, description: "A participant by conversation and participant id; null when unknown." })
  async participant(
    @Arg("conversationId", () => ID) conversationId: string,
    @Arg("participantId", () => ID) participantId: string,
    @Arg("fresh", () => Boolean, { defaultValue: false, description: FRESH }) fresh: boolean,
    @Ctx() ctx: GatewayContext,
  ): Promise<Participant | null> {
    assertId(participantId, "participantId");
    const snapshot = await (fresh ? ctx.loaders.freshConversations : ctx.loaders.conversations).load(assertId(conversationId, "conversationId"));
    const found = snapshot?.participants.find((p) => p.id === participantId);
    return found ? Participant.from(found) : null;
  }

  /** The participant's conversation (through the loader: no extra request when already loaded). */
  @FieldResolver(() => Conversation, { description: "The conversation this participant belongs to." })
  async conversation(@Root() participant: Participant, @Ctx() ctx: GatewayContext): Promise<Conversation> {
    const snapshot = await ctx.loaders.conversations.load(participant.conversationId);
    if (!snapshot) throw new Error(`conversation ${participant.conversationId} is no longer known to Genesys`);
    return Conversation.from(snapshot);
  }

  /** One attribute's value; null when the key is not set. */
  @FieldResolver(() => String, { nullable: true, description: "The value of one attribute key (case-sensitive); null when not set." })
  attribute(@Root() participant: Participant, @Arg("key", () => String) key: string): string | null {
    return attributeValue(participant.attributes, key) ?? null;
  }

  /** The opaque version derived from the attribute map. */
  @FieldResolver(() => String, {
    description:
      "Opaque version derived from the attribute map alone: equal maps have equal versions. Pass it as `expectedVersion` to updateAttributes.",
  })
  version(@Root() participant: Participant): string {
    return participant.knownVersion ?? attributesVersion(participant.attributes);
  }
}
