/**
 * `Subscription.attributesChanged`: confirmed attribute changes from the change log
 * (attributes/change-feed.ts), resumable with `after`, optionally starting from a snapshot.
 */
import { Args, ArgsType, Field, ID, Resolver, Root, Subscription } from "type-graphql";
import type { AttributesChangeEvent, StreamItem } from "../../attributes/change-feed.js";
import { CursorExpiredError } from "../../attributes/change-log.js";
import { TopicLimitError } from "../../genesys/channel-pool.js";
import { GenesysError } from "../../genesys/errors.js";
import type { GatewayContext } from "../context.js";
import { BudgetExhaustedError } from "../../genesys/budget.js";
import { badUserInput, budgetExhausted, changeLogUnavailable, cursorExpired, slowConsumer, upstreamLimit, upstreamUnavailable } from "../errors.js";
import { ChangeLogUnavailableError } from "../../attributes/redis-change-log.js";
import { AttributeChange, AttributesChange, Participant } from "../types.js";
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

  @Field(() => String, {
    nullable: true,
    description:
      "Resume: first every matching change after this cursor (an `AttributesChange.cursor` received earlier), then live changes, with no gap and no duplicate. A cursor the change log no longer covers (see CHANGE_LOG_RETENTION) or did not issue is refused with CURSOR_EXPIRED. Not with includeSnapshot.",
  })
  after?: string;

  @Field(() => Boolean, {
    nullable: true,
    description:
      "Start with the current state: one event per matching participant (`snapshot: true`, `changes` listing every key with `previous: null`), then every change after that state. Not with after.",
  })
  includeSnapshot?: boolean;
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
  if (args.after != null && args.after.length > 128) throw badUserInput("after is not a cursor this gateway issued", "after");
  if (args.after != null && args.includeSnapshot) throw badUserInput("give after (resume) or includeSnapshot (start from the current state), not both");
  return args;
}

/** The change stream. */
@Resolver()
export class AttributesChangedResolver {
  /**
   * @throws BAD_USER_INPUT for invalid arguments; CURSOR_EXPIRED for an `after` the log cannot
   *   resume from; UPSTREAM_LIMIT when every notification channel is full; UPSTREAM_UNAVAILABLE
   *   when the Genesys topic cannot be subscribed (or, with includeSnapshot, the state read).
   *   A subscriber that falls too far behind gets one last result with error SLOW_CONSUMER
   *   (`extensions.cursor`: resume after it) and is completed.
   */
  @Subscription(() => AttributesChange, {
    description:
      "Confirmed attribute changes, from the gateway's change log of what Genesys made visible (notifications, confirmed or corrected by REST reads). Per participant, the state delivered never goes back to an older one; duplicates yield nothing; dropped notifications are healed by re-reads (after a socket reconnect at once, otherwise by background reconciliation). Every event has a `cursor` to resume from with `after`. A subscriber that falls too far behind is ended with SLOW_CONSUMER carrying the cursor of the last event it received.",
    subscribe: async ({ args, context }) => {
      const ctx = context as GatewayContext;
      const checked = checkAttributesChangedArgs(args as AttributesChangedArgs);
      try {
        return await ctx.services.feed.subscribe(
          {
            conversationId: checked.conversationId ?? undefined,
            queueId: checked.queueId ?? undefined,
            participantId: checked.participantId ?? undefined,
            keys: checked.keys ?? undefined,
          },
          { after: checked.after ?? undefined, includeSnapshot: checked.includeSnapshot ?? false },
        );
      } catch (error) {
        if (error instanceof CursorExpiredError) throw cursorExpired(error.message);
        if (error instanceof ChangeLogUnavailableError) throw changeLogUnavailable(`the shared change log is unavailable (${error.message}); retry once the gateway is ready again`);
        if (error instanceof TopicLimitError) throw upstreamLimit(error.message);
        if (error instanceof BudgetExhaustedError) throw budgetExhausted(error.message);
        if (error instanceof GenesysError) {
          throw upstreamUnavailable(`Genesys notifications are unavailable: ${error.message}`, error.status, error.code);
        }
        throw error;
      }
    },
  })
  attributesChanged(@Root() item: StreamItem, @Args(() => AttributesChangedArgs) _args: AttributesChangedArgs): AttributesChange {
    if (item.kind === "slow-consumer") throw slowConsumer(item.cursor, item.behind);
    if (item.kind === "interrupted") {
      throw changeLogUnavailable(`this subscription was ended: ${item.reason}; resume with after: extensions.cursor once the gateway is ready again`, item.cursor);
    }
    // One event object is shared by every subscriber of the same entry (see ChangeStream): build once.
    let built = shapes.get(item);
    if (!built) {
      built = toAttributesChange(item);
      shapes.set(item, built);
    }
    return built;
  }
}

const shapes = new WeakMap<AttributesChangeEvent, AttributesChange>();

function toAttributesChange(item: AttributesChangeEvent): AttributesChange {
    return Object.assign(new AttributesChange(), {
      cursor: item.cursor,
      snapshot: item.snapshot,
      conversationId: item.conversationId,
      participantId: item.participantId,
      participant: Participant.from({ ...item.participant, attributes: item.attributes }, item.version),
      changes: item.changes.map(AttributeChange.from),
      attributes: item.attributes,
      version: item.version,
      observedAt: item.observedAt,
    });
}
