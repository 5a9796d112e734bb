/**
 * Turns the `Authorization` value a caller presents (HTTP header, or the `authorization` field
 * of graphql-ws `connection_init`) into a {@link Caller}, whichever credential it is:
 * `Bearer <API key>` or `Bearer <JWT>`. The one entry point both transports use.
 */
import { ApiKeyVerifier } from "./api-keys.js";
import { anonymousCaller, type Caller } from "./caller.js";
import { AuthenticationError } from "./errors.js";
import { JwtVerifier } from "./jwt.js";
import { ALL_SCOPES } from "./scopes.js";
import type { AuthSettings } from "./settings.js";

/** Longest Authorization value looked at (bytes of text); longer ones are refused unread. */
const MAX_CREDENTIAL_LENGTH = 8_192;
/** Three base64url segments: the compact JWS form of a JWT (RFC 7515 §7.1). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Authenticates callers. */
export interface Authenticator {
  /** True when callers must present credentials (`mode: "required"`). */
  readonly required: boolean;
  /**
   * The caller behind an `Authorization` value.
   * @param authorization the value as sent (`Bearer …`), or undefined when absent.
   * @param address the remote address, naming anonymous callers.
   * @throws AuthenticationError when auth is required and the value is missing or not valid.
   * @throws AuthenticationUnavailableError when a JWT cannot be checked because its key set is unavailable.
   */
  authenticate(authorization: string | undefined, address: string | undefined): Promise<Caller>;
}

/**
 * Builds the authenticator for the settings.
 * @throws Error when the JWT key cannot be read.
 */
export function createAuthenticator(settings: AuthSettings): Authenticator {
  if (settings.mode === "none") {
    return { required: false, authenticate: async (_authorization, address) => anonymousCaller(address, ALL_SCOPES) };
  }
  const keys = new ApiKeyVerifier(settings.apiKeys);
  const jwt = settings.jwt ? new JwtVerifier(settings.jwt) : undefined;
  return {
    required: true,
    async authenticate(authorization) {
      if (authorization === undefined || authorization.trim() === "") {
        throw new AuthenticationError("credentials required: send Authorization: Bearer <API key or JWT>");
      }
      if (authorization.length > MAX_CREDENTIAL_LENGTH) throw new AuthenticationError("the credentials are too long");
      const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization);
      if (!match) throw new AuthenticationError('credentials must be sent as "Bearer <API key or JWT>"');
      const credential = match[1]!;
      const caller = keys.verify(credential);
      if (caller) return caller;
      if (jwt && COMPACT_JWS.test(credential)) return jwt.verify(credential);
      throw new AuthenticationError("the API key or token is not valid");
    },
  };
}
