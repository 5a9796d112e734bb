/**
 * `Subscription.attributesChanged`: confirmed attribute changes from the shared Genesys
 * notification channel (see attributes/change-feed.ts).
 */
import { Args, ArgsType, Field, ID, Resolver, Root, Subscription } from "type-graphql";
import type { AttributesChangeEvent } from "../../attributes/change-feed.js";
import type { GatewayContext } from "../context.js";
import { GenesysError } from "../../genesys/errors.js";
import { badUserInput, upstreamUnavailable } from "../errors.js";
import { AttributeChange, AttributesChange } from "../types.js";
import { assertId } from "../validation.js";

/** Arguments of `attributesChanged`. */
@ArgsType()
export class AttributesChangedArgs {
  @Field(() => ID, { nullable: true, description: "Watch one conversation. Exactly one of conversationId / queueId." })
  conversationId?: string;

  @Field(() => ID, { nullable: true, description: "Watch every conversation routed through one queue. Exactly one of conversationId / queueId." })
  queueId?: string;

  @Field(() => ID, { nullable: true, description: "Only this participant." })
  participantId?: string;

  @Field(() => [String], { nullable: true, description: "Only changes of these keys; `changes` is narrowed to them." })
  keys?: string[];
}

/** Validates the arguments. @throws GraphQLError BAD_USER_INPUT */
export function checkAttributesChangedArgs(args: AttributesChangedArgs): AttributesChangedArgs {
  const hasConversation = args.conversationId != null;
  const hasQueue = args.queueId != null;
  if (hasConversation === hasQueue) throw badUserInput("give exactly one of conversationId or queueId");
  if (hasConversation) assertId(args.conversationId!, "conversationId");
  if (hasQueue) assertId(args.queueId!, "queueId");
  if (args.participantId != null) assertId(args.participantId, "participantId");
  if (args.keys != null) {
    if (args.keys.length > 100) throw badUserInput("at most 100 keys", "keys");
    if (args.keys.some((k) => k.length === 0 || k.length > 256)) throw badUserInput("keys must be 1–256 characters", "keys");
  }
  return args;
}

/** The change stream. */
@Resolver()
export class AttributesChangedResolver {
  /** @throws BAD_USER_INPUT for invalid filters; UPSTREAM_UNAVAILABLE when the Genesys topic cannot be subscribed. */
  @Subscription(() => AttributesChange, {
    description:
      "Confirmed attribute changes, derived from Genesys notifications. Changes are computed against the last state the gateway knew (a missing key never means deleted); duplicates yield nothing; after a notification socket reconnect the watched conversations are re-read so no change is lost.",
    subscribe: async ({ args, context }) => {
      const ctx = context as GatewayContext;
      const checked = checkAttributesChangedArgs(args as AttributesChangedArgs);
      try {
        return await ctx.services.feed.subscribe({
          conversationId: checked.conversationId ?? undefined,
          queueId: checked.queueId ?? undefined,
          participantId: checked.participantId ?? undefined,
          keys: checked.keys ?? undefined,
        });
      } catch (error) {
        if (error instanceof GenesysError) {
          throw upstreamUnavailable(`Genesys notifications are unavailable: ${error.message}`, error.status, error.code);
        }
        throw error;
      }
    },
  })
  attributesChanged(@Root() event: AttributesChangeEvent, @Args(() => AttributesChangedArgs) _args: AttributesChangedArgs): AttributesChange {
    return Object.assign(new AttributesChange(), {
      conversationId: event.conversationId,
      participantId: event.participantId,
      changes: event.changes.map(AttributeChange.from),
      attributes: event.attributes,
      version: event.version,
      observedAt: event.observedAt,
    });
  }
}
