/**
 * GraphQL errors with stable `extensions.code` values. Clients branch on the code, never on
 * the message. Codes (README "Errors"):
 * - `BAD_USER_INPUT` invalid arguments; nothing was done;
 * - `UPSTREAM_UNAVAILABLE` Genesys could not be reached or failed;
 * - `UPSTREAM_LIMIT` a Genesys limit the gateway cannot go past (e.g. notification topics);
 * - `CURSOR_EXPIRED` a resume cursor (`after`) the change log cannot resume from;
 * - `SLOW_CONSUMER` a subscriber fell too far behind (`extensions.cursor`: resume after it);
 * - `UNAUTHENTICATED` no or bad credentials (HTTP 401, WebSocket close 4401);
 * - `FORBIDDEN` the caller lacks the scope the operation needs; nothing was done;
 * - `QUERY_TOO_COMPLEX` the operation exceeds a cost limit (`extensions.limit` names it);
 * - `RATE_LIMITED` the caller sent too many operations (`extensions.retryAfterSeconds`);
 * - `SUBSCRIPTION_LIMIT_REACHED` too many open subscriptions (`extensions.limit`);
 * - `SUBSCRIPTION_REQUIRES_WEBSOCKET` a subscription sent over HTTP;
 * - `UPSTREAM_BUDGET_EXHAUSTED` the Genesys request budget could not serve the call before its
 *   deadline; nothing was sent;
 * - `CHANGE_LOG_UNAVAILABLE` (several instances) the shared change log (Redis) is unavailable: a
 *   subscription is ended with `extensions.cursor` to resume after once the gateway is ready;
 * - `WRITE_LEASE_UNAVAILABLE` (several instances) the participant's write lease could not be
 *   taken before the deadline (`extensions.reason` `HELD_ELSEWHERE`), Redis is unavailable
 *   (`STORE_UNAVAILABLE`), or the lease was lost before anything was sent (`LOST`); nothing was
 *   written;
 * - `INTERNAL_SERVER_ERROR` anything else (message masked).
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

/** No or invalid credentials. `message` must not contain the credential. */
export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "UNAUTHENTICATED" } });
}

/** The caller is known but lacks `scope`. */
export function forbidden(scope: string, operation: string): GraphQLError {
  return new GraphQLError(`A ${operation} needs the scope "${scope}", which this caller does not have; nothing was done.`, {
    extensions: { code: "FORBIDDEN", requiredScope: scope },
  });
}

/** Names of the cost limits, as `extensions.limit` of `QUERY_TOO_COMPLEX`. */
export type QueryLimit = "depth" | "aliases" | "tokens" | "cost" | "directives" | "listNesting" | "conversations";

/** The operation exceeds limit `limit` (maximum `max`); nothing was executed. */
export function queryTooComplex(limit: QueryLimit, max: number, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "QUERY_TOO_COMPLEX", limit, max } });
}

/** The caller exceeded its request rate; retry after `retryAfterMs`. */
export function rateLimited(perMinute: number, retryAfterMs: number): GraphQLError {
  const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new GraphQLError(`Rate limit of ${perMinute} operations per minute reached; retry in ${retryAfterSeconds} s.`, {
    extensions: { code: "RATE_LIMITED", retryAfterSeconds },
  });
}

/** Too many subscriptions open at once, on this socket (`socket`) or for this caller (`caller`). */
export function subscriptionLimitReached(limit: "socket" | "caller", max: number): GraphQLError {
  const where = limit === "socket" ? "on this WebSocket" : "for this caller";
  return new GraphQLError(`At most ${max} subscriptions may be open at once ${where}; complete one first.`, {
    extensions: { code: "SUBSCRIPTION_LIMIT_REACHED", limit, max },
  });
}

/** A subscription sent over HTTP. */
export function subscriptionRequiresWebSocket(): GraphQLError {
  return new GraphQLError(
    "Subscriptions are served over WebSocket only: connect to ws(s)://<gateway>/graphql with the graphql-ws protocol (graphql-transport-ws).",
    { extensions: { code: "SUBSCRIPTION_REQUIRES_WEBSOCKET" } },
  );
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

/** The participant's write lease (several instances) could not be taken or was lost before anything was sent (attributes/write-fence.ts); nothing was written. Retry. */
export function writeLeaseUnavailable(reason: "HELD_ELSEWHERE" | "STORE_UNAVAILABLE" | "LOST", message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "WRITE_LEASE_UNAVAILABLE", reason } });
}

/** The shared change log (several instances: Redis) is unavailable; `cursor`, when given, is the last event the subscriber received: resume after it once `/readyz` is 200 again. */
export function changeLogUnavailable(message: string, cursor?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "CHANGE_LOG_UNAVAILABLE", ...(cursor ? { cursor } : {}) } });
}
