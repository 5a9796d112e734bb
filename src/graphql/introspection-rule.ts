/**
 * The introspection switch as a validation rule, applied identically on HTTP and graphql-ws:
 * with introspection off, any `__schema` or `__type` field fails validation
 * (`GRAPHQL_VALIDATION_FAILED`). `__typename` stays allowed. Rule: graphql-js
 * `NoSchemaIntrospectionCustomRule`.
 */
import { NoSchemaIntrospectionCustomRule, type ValidationRule } from "graphql";

/** Extra validation rules for the introspection setting (none when it is on). */
export function introspectionRules(enabled: boolean): ValidationRule[] {
  return enabled ? [] : [NoSchemaIntrospectionCustomRule];
}
