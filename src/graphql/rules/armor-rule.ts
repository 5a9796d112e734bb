/**
 * Builds one graphql-armor validation rule (through `ApolloArmor`, its public entry point)
 * whose refusals are reported as `QUERY_TOO_COMPLEX` naming the limit, instead of armor's
 * default `BAD_USER_INPUT` "Syntax Error: …".
 */
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { GraphQLError, type ValidationContext, type ValidationRule } from "graphql";
import { queryTooComplex, type QueryLimit } from "../errors.js";

/** The armor protections this gateway uses as validation rules. */
type Protection = "maxDepth" | "maxAliases" | "costLimit" | "maxDirectives";

const ALL: Protection[] = ["maxDepth", "maxAliases", "costLimit", "maxDirectives"];

/**
 * One armor rule.
 * @param protection which armor protection.
 * @param options its armor options (limit, fragment handling, …).
 * @param limit the name reported in `extensions.limit`.
 * @param max the limit reported in `extensions.max`.
 */
export function armorRule(protection: Protection, options: Record<string, unknown>, limit: QueryLimit, max: number): ValidationRule {
  const report = (context: ValidationContext | null, error: GraphQLError) => {
    const message = error.message.replace(/^Syntax Error: /, "");
    context?.reportError(queryTooComplex(limit, max, `Query too complex (${limit}): ${message}`));
  };
  const config: Record<string, unknown> = {
    blockFieldSuggestion: { enabled: false },
    maxTokens: { enabled: false },
  };
  for (const p of ALL) config[p] = { enabled: false };
  config[protection] = { ...options, enabled: true, exposeLimits: true, propagateOnRejection: false, onReject: [report] };
  const rules = new ApolloArmor(config).protect().validationRules;
  if (rules.length !== 1) throw new Error(`graphql-armor gave ${rules.length} rules for ${protection}`);
  return rules[0]!;
}
