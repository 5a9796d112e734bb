/**
 * Authentication failures: the caller's fault (answered as HTTP 401 `UNAUTHENTICATED`, or
 * WebSocket close 4401) or the gateway's (the JWT key set cannot be fetched: HTTP 503
 * `AUTHENTICATION_UNAVAILABLE` with `Retry-After`, or WebSocket close 1013 "Try Again Later").
 */

/** No or bad credentials. `message` is safe to show the caller: it never contains the credential. */
export class AuthenticationError extends Error {
  override name = "AuthenticationError";
}

/**
 * The credentials could not be checked because the JWT key set (JWKS) is unreachable, timed
 * out or answered something other than a key set: not the caller's fault, so not a 401 (a
 * client would drop a good token). `message` never contains the credential.
 */
export class AuthenticationUnavailableError extends Error {
  override name = "AuthenticationUnavailableError";
}
