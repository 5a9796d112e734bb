/**
 * GraphQL errors with stable `extensions.code` values. Clients branch on the code, never on
 * the message. Codes: `BAD_USER_INPUT` (invalid arguments; nothing was done),
 * `UPSTREAM_UNAVAILABLE` (Genesys could not be reached or failed), `INTERNAL_SERVER_ERROR`.
 */
import { GraphQLError } from "graphql";

/** Invalid input: the request changed nothing. `field` names the offending argument path. */
export function badUserInput(message: string, field?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT", ...(field ? { field } : {}) } });
}

/** Genesys failed (after retries) while serving a query; `status` is its HTTP status (0 = unreachable). */
export function upstreamUnavailable(message: string, status: number, genesysCode: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "UPSTREAM_UNAVAILABLE", status, genesysCode } });
}
