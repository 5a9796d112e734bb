/**
 * `QUERY_TOO_COMPLEX` (limit `conversations`): an operation naming more distinct conversations
 * than the cap. Each distinct conversation may cost one `GET /api/v2/conversations/{id}`, so this
 * bounds the Genesys calls one operation can make (nested `participant { conversation }` fields
 * reuse their parent's conversation and cost nothing more).
 *
 * Checked after variables are coerced (ids often come as variables), before execution.
 */
import {
  getArgumentValues,
  isObjectType,
  Kind,
  type DocumentNode,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";

/** Root fields that name a conversation, and where its id is among their arguments. */
const CONVERSATION_ARGUMENTS: Record<string, (args: Record<string, any>) => unknown> = {
  "Query.participant": (args) => args.conversationId,
  "Query.conversation": (args) => args.id,
  "Mutation.updateAttributes": (args) => args.input?.conversationId,
  "Subscription.attributesChanged": (args) => args.conversationId,
};

/**
 * The distinct conversation ids the operation's root fields name (fragments and inline
 * fragments followed; `@skip`/`@include` ignored, so the count errs on the high side).
 * @param variables coerced variable values.
 */
export function conversationsNamed(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): Set<string> {
  const root = schema.getRootType(operation.operation);
  const ids = new Set<string>();
  if (!root) return ids;
  const fragments = new Map(
    document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d] as const),
  );
  const seen = new Set<string>();
  const visit = (selectionSet: SelectionSetNode, type: GraphQLObjectType) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const pick = CONVERSATION_ARGUMENTS[`${type.name}.${selection.name.value}`];
        const field = type.getFields()[selection.name.value];
        if (!pick || !field) continue;
        try {
          const id = pick(getArgumentValues(field, selection, variables));
          if (typeof id === "string") ids.add(id);
        } catch {
          // Invalid arguments: execution reports them (BAD_USER_INPUT) before any Genesys call.
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet, type);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || seen.has(name)) continue;
        seen.add(name);
        const on = schema.getType(fragment.typeCondition.name.value);
        if (isObjectType(on) && on.name === type.name) visit(fragment.selectionSet, type);
      }
    }
  };
  visit(operation.selectionSet, root);
  return ids;
}
