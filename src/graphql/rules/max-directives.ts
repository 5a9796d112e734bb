/** `QUERY_TOO_COMPLEX` (limit `directives`): more than `max` directives (graphql-armor max-directives). */
import type { ValidationRule } from "graphql";
import { armorRule } from "./armor-rule.js";

/** Refuses operations with more than `max` directives (`@include`, `@skip`, …). */
export function maxDirectivesRule(max: number): ValidationRule {
  return armorRule("maxDirectives", { n: max }, "directives", max);
}
