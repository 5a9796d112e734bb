/** Authentication failures (answered as HTTP 401 `UNAUTHENTICATED`, or WebSocket close 4401). */

/** No or bad credentials. `message` is safe to show the caller: it never contains the credential. */
export class AuthenticationError extends Error {
  override name = "AuthenticationError";
}
