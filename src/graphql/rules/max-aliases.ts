/** `QUERY_TOO_COMPLEX` (limit `aliases`): more than `max` aliases (graphql-armor max-aliases). */
import type { ValidationRule } from "graphql";
import { armorRule } from "./armor-rule.js";

/** Refuses operations with more than `max` aliases (fragments included). */
export function maxAliasesRule(max: number): ValidationRule {
  return armorRule("maxAliases", { n: max }, "aliases", max);
}
