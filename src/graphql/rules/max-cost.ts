/** `QUERY_TOO_COMPLEX` (limit `cost`): graphql-armor cost above `max` (graphql-armor cost-limit). */
import type { ValidationRule } from "graphql";
import { armorRule } from "./armor-rule.js";

/**
 * Refuses operations costing more than `max`: object fields 2, scalar fields 1, each multiplied
 * by 1.5 per level of depth (armor's defaults); fragments flattened; introspection not counted.
 */
export function maxCostRule(max: number): ValidationRule {
  return armorRule("costLimit", { maxCost: max, objectCost: 2, scalarCost: 1, depthCostFactor: 1.5, flattenFragments: true, ignoreIntrospection: true }, "cost", max);
}
