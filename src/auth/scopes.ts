/**
 * Scopes a caller needs, per GraphQL operation type. Checked for every operation on both
 * transports (graphql/operation.ts), after validation and before anything is executed.
 */
import type { OperationTypeNode } from "graphql";

/** Scope names (binding: README "Security"). */
export const SCOPES = {
  /** Queries (`participant`, `conversation`) and subscriptions (`attributesChanged`). */
  read: "participants:read",
  /** The `updateAttributes` mutation. */
  write: "participants:write",
  /** `GET /metrics` on the gateway port while caller auth is on. */
  metrics: "metrics:read",
} as const;

/** Every scope the gateway knows. */
export const ALL_SCOPES: readonly string[] = Object.values(SCOPES);

/** The scope an operation of this type needs: `participants:write` for mutations, `participants:read` otherwise. */
export function requiredScope(operation: OperationTypeNode | "query" | "mutation" | "subscription"): string {
  return operation === "mutation" ? SCOPES.write : SCOPES.read;
}

/** Parses the standard space-separated `scope` claim (RFC 8693 §4.2); anything not a string gives no scopes. */
export function parseScopeClaim(claim: unknown): Set<string> {
  if (typeof claim !== "string") return new Set();
  return new Set(claim.split(" ").filter((s) => s.length > 0));
}
