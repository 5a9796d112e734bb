/**
 * Who is calling the gateway: the authenticated caller put on every operation's context
 * (`context.caller`), whatever the transport.
 */

/** How the caller proved who it is. */
export type CallerKind = "api-key" | "jwt" | "anonymous";

/** An authenticated (or, with auth off, anonymous) caller. */
export interface Caller {
  /**
   * Stable identity: the API key's `id`, the JWT's `sub`, or `anonymous:{remote address}` when
   * caller auth is off. Safe to log (never a secret).
   */
  id: string;
  /** Granted scopes, e.g. `participants:read` (see auth/scopes.ts). */
  scopes: ReadonlySet<string>;
  kind: CallerKind;
  /** When the credential stops being valid (epoch ms): the `exp` of a JWT (always present); API keys have none. */
  expiresAt?: number;
}

/**
 * The caller of a gateway running without caller auth: every scope, identified (for rate
 * limits and logs) by its remote address.
 * @param address remote IP address as the socket reports it ("unknown" when not known).
 * @param scopes the scopes anonymous callers get.
 */
export function anonymousCaller(address: string | undefined, scopes: Iterable<string>): Caller {
  return { id: `anonymous:${address ?? "unknown"}`, scopes: new Set(scopes), kind: "anonymous" };
}
