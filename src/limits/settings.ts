/**
 * The gateway's cost and abuse limits (README "Security"), one set for HTTP and WebSocket.
 * Every limit is a count; 0 disables it. `loadConfig` reads them from `MAX_*` /
 * `RATE_LIMIT_*` variables.
 */

/** Limits on operations and callers. */
export interface LimitSettings {
  /** Deepest field nesting of an operation (fragments flattened, introspection `__schema` not counted). */
  maxDepth: number;
  /** Aliases in one operation. */
  maxAliases: number;
  /** Lexical tokens in one document (checked while parsing). */
  maxTokens: number;
  /** graphql-armor cost of an operation (object field 2, scalar field 1, ×1.5 per level of depth). */
  maxCost: number;
  /** Directives in one operation. */
  maxDirectives: number;
  /**
   * List fields nested in one another on any path (`participants { conversation { participants } }`
   * is 2): each level multiplies the answer by a list's length, which no other limit sees.
   */
  maxListNesting: number;
  /** Distinct conversation ids one operation names (each may cost one Genesys GET). */
  maxConversationsPerOperation: number;
  /** Operations (HTTP requests, graphql-ws subscribe messages) one caller may start per minute. */
  requestsPerMinute: number;
  /** Subscriptions open at once on one WebSocket. */
  subscriptionsPerSocket: number;
  /** Subscriptions open at once for one caller, over all its sockets. */
  subscriptionsPerCaller: number;
}

/**
 * Defaults: they refuse a 12-deep `participant { conversation { participants … } } }` nest (and
 * any second level of `participants`) and a 2,000-alias query, and leave room for a dashboard holding hundreds of subscriptions on one socket.
 */
export const DEFAULT_LIMITS: LimitSettings = {
  maxDepth: 8,
  maxAliases: 100,
  maxTokens: 5_000,
  maxCost: 5_000,
  maxDirectives: 50,
  maxListNesting: 1,
  maxConversationsPerOperation: 50,
  requestsPerMinute: 1_200,
  subscriptionsPerSocket: 500,
  subscriptionsPerCaller: 2_000,
};
