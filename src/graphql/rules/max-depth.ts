/** `QUERY_TOO_COMPLEX` (limit `depth`): field nesting deeper than `max` (graphql-armor max-depth). */
import type { ValidationRule } from "graphql";
import { armorRule } from "./armor-rule.js";

/**
 * Refuses operations nested deeper than `max` fields. Fragments are flattened (an inline
 * fragment adds no depth); introspection (`__schema`) is not counted.
 */
export function maxDepthRule(max: number): ValidationRule {
  return armorRule("maxDepth", { n: max, flattenFragments: true, ignoreIntrospection: true }, "depth", max);
}
