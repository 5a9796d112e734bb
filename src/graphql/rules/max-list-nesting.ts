/**
 * `QUERY_TOO_COMPLEX` (limit `listNesting`): more list fields nested in one another, on any path
 * of the operation, than `max`.
 *
 * Why a limit of its own: depth, alias and cost limits (graphql-armor) count fields as written,
 * not what lists multiply them into. `Conversation.participants` is a list and
 * `Participant.conversation` leads back to the same conversation, so every further
 * `participants { conversation { participants … } }` level multiplies the answer by the
 * participant count while adding no data: a 600-byte query within depth 8, 39 aliases and
 * cost 5,000 ran 121 s and answered 400 MB on a 50-participant conversation. With one level of
 * lists (the default) an operation returns at most (aliases × participants) participants.
 *
 * Fragments are followed (each one measured once); introspection fields (`__schema`, `__type`)
 * are left to graphql-js's MaxIntrospectionDepthRule.
 */
import {
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from "graphql";
import { queryTooComplex } from "../errors.js";

/** Refuses operations nesting more than `max` list fields on one path. */
export function maxListNestingRule(max: number): ValidationRule {
  return (context: ValidationContext) => {
    /** Deepest list nesting inside each fragment, by name (relative to where it is spread). */
    const measured = new Map<string, number>();
    const measuring = new Set<string>();

    const nestingOf = (selectionSet: SelectionSetNode, type: GraphQLNamedType | undefined): number => {
      let deepest = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          const name = selection.name.value;
          if (name.startsWith("__") || !selection.selectionSet) continue;
          const field = type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields()[name] : undefined;
          if (!field) continue; // unknown fields: graphql-js's FieldsOnCorrectTypeRule reports them
          const own = isListType(getNullableType(field.type)) ? 1 : 0;
          deepest = Math.max(deepest, own + nestingOf(selection.selectionSet, getNamedType(field.type)));
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const on = selection.typeCondition ? context.getSchema().getType(selection.typeCondition.name.value) : type;
          deepest = Math.max(deepest, nestingOf(selection.selectionSet, on));
        } else {
          deepest = Math.max(deepest, fragmentNesting(context.getFragment(selection.name.value)));
        }
      }
      return deepest;
    };

    const fragmentNesting = (fragment: FragmentDefinitionNode | undefined | null): number => {
      if (!fragment) return 0;
      const name = fragment.name.value;
      const known = measured.get(name);
      if (known !== undefined) return known;
      if (measuring.has(name)) return 0; // a cycle: graphql-js's NoFragmentCyclesRule reports it
      measuring.add(name);
      const nesting = nestingOf(fragment.selectionSet, context.getSchema().getType(fragment.typeCondition.name.value));
      measuring.delete(name);
      measured.set(name, nesting);
      return nesting;
    };

    return {
      OperationDefinition(operation) {
        const root = context.getSchema().getRootType(operation.operation) ?? undefined;
        const nesting = nestingOf(operation.selectionSet, root);
        if (nesting > max) {
          context.reportError(
            queryTooComplex(
              "listNesting",
              max,
              `Query too complex (listNesting): ${nesting} list fields nested in one another (such as participants { conversation { participants } }, which repeats the same conversation); at most ${max}.`,
            ),
          );
        }
      },
    };
  };
}
