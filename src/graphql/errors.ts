/**
 * GraphQL errors with stable `extensions.code` values. Clients branch on the code, never on
 * the message. Codes: `BAD_USER_INPUT` (invalid arguments; nothing was done),
 * `UPSTREAM_UNAVAILABLE` (Genesys could not be reached or failed), `UPSTREAM_LIMIT` (a Genesys
 * limit the gateway cannot go past, e.g. notification topics), `CURSOR_EXPIRED` (a resume
 * cursor the change log cannot resume from), `SLOW_CONSUMER` (a subscriber fell too far
 * behind), `UPSTREAM_BUDGET_EXHAUSTED` (the Genesys request budget could not serve the call
 * before its deadline; nothing was sent), `INTERNAL_SERVER_ERROR`.
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

/** `after` names a position the change log no longer covers or never issued; nothing is replayed. */
export function cursorExpired(message: string): GraphQLError {
  return new GraphQLError(`${message}; subscribe without after (or with includeSnapshot) to start again`, { extensions: { code: "CURSOR_EXPIRED" } });
}

/** The subscriber fell too far behind and is ended; `cursor` is the last event it received: resume after it. */
export function slowConsumer(cursor: string, behind: number): GraphQLError {
  return new GraphQLError(
    `this subscription fell too far behind (${behind} events waiting) and was ended; resume with after: extensions.cursor`,
    { extensions: { code: "SLOW_CONSUMER", cursor } },
  );
}

/** A Genesys limit the gateway cannot go past (e.g. every notification channel full). */
export function upstreamLimit(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "UPSTREAM_LIMIT" } });
}

/** The Genesys request budget could not serve this call in time (genesys/budget.ts); nothing was sent to Genesys. Retry later. */
export function budgetExhausted(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "UPSTREAM_BUDGET_EXHAUSTED" } });
}
