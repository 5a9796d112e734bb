/**
 * `Mutation.updateAttributes`: validated at the edge, then handed to the AttributeUpdater
 * (optimistic concurrency + verify loop, see attributes/update.ts).
 */
import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import type { UpdateOutcome } from "../../attributes/update.js";
import { WriteFenceUnavailableError } from "../../attributes/write-fence.js";
import type { GatewayContext } from "../context.js";
import {
  AttributesUpdated,
  Participant,
  ParticipantUnavailable,
  ParticipantUnavailableReason,
  UpdateAttributesInput,
  UpdateAttributesResult,
  UpdateNotConfirmed,
  VersionConflict,
} from "../types.js";
import { badUserInput, budgetExhausted, writeLeaseUnavailable } from "../errors.js";
import { BudgetExhaustedError } from "../../genesys/budget.js";
import { assertAttributes, assertId } from "../validation.js";

/** Maps an updater outcome to the GraphQL result union member. */
export function toUpdateResult(
  outcome: UpdateOutcome,
): AttributesUpdated | VersionConflict | ParticipantUnavailable | UpdateNotConfirmed {
  switch (outcome.kind) {
    case "updated":
      return Object.assign(new AttributesUpdated(), {
        participant: Participant.from(outcome.participant),
        attempts: outcome.attempts,
        confirmedAfterMs: Math.round(outcome.confirmedAfterMs),
      });
    case "conflict":
      return Object.assign(new VersionConflict(), {
        message: outcome.message,
        expectedVersion: outcome.expectedVersion,
        participant: Participant.from(outcome.participant),
        writeApplied: outcome.writeApplied,
        conflictingKeys: outcome.conflictingKeys,
      });
    case "unavailable":
      return Object.assign(new ParticipantUnavailable(), {
        message: outcome.message,
        reason: ParticipantUnavailableReason[outcome.reason],
      });
    case "not-confirmed":
      return Object.assign(new UpdateNotConfirmed(), {
        message: outcome.message,
        attempts: outcome.attempts,
        writeAccepted: outcome.accepted,
        participant: outcome.participant ? Participant.from(outcome.participant) : undefined,
      });
  }
}

/** The write path. */
@Resolver()
export class UpdateAttributesResolver {
  /**
   * @throws BAD_USER_INPUT for invalid ids or attributes (nothing is written); UPSTREAM_BUDGET_EXHAUSTED
   *   when the Genesys request budget cannot serve the write before its deadline (nothing is written);
   *   WRITE_LEASE_UNAVAILABLE (several instances) when the participant's write lease cannot be taken
   *   in time, Redis is unavailable, or the lease is lost before anything is sent (nothing is written).
   */
  @Mutation(() => UpdateAttributesResult, {
    description:
      "Sets attributes on one participant and answers only once Genesys shows the write (AttributesUpdated), or says exactly what happened instead. Writes to one participant are serialized by the gateway.",
  })
  async updateAttributes(
    @Arg("input", () => UpdateAttributesInput) input: UpdateAttributesInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<typeof UpdateAttributesResult> {
    const conversationId = assertId(input.conversationId, "input.conversationId");
    const participantId = assertId(input.participantId, "input.participantId");
    const attributes = assertAttributes(input.attributes, "input.attributes");
    if (input.expectedVersion != null && input.expectedVersion.length > 64) {
      throw badUserInput("expectedVersion is not a version this gateway issued (at most 64 characters)", "input.expectedVersion");
    }
    let outcome: UpdateOutcome;
    try {
      outcome = await ctx.services.updater.update({
        conversationId,
        participantId,
        attributes,
        expectedVersion: input.expectedVersion ?? undefined,
      });
    } catch (error) {
      if (error instanceof BudgetExhaustedError) throw budgetExhausted(error.message);
      if (error instanceof WriteFenceUnavailableError) throw writeLeaseUnavailable(error.reason, error.message);
      throw error;
    }
    // Later fields of this operation must not see the conversation as it was before the write.
    ctx.loaders.conversations.clear(conversationId);
    ctx.loaders.freshConversations.clear(conversationId);
    return toUpdateResult(outcome);
  }
}
