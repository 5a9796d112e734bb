/**
 * Caller authentication on HTTP: `Authorization: Bearer <API key or JWT>` → `res.locals.caller`,
 * or 401 `UNAUTHENTICATED` (with `WWW-Authenticate: Bearer`) before anything else happens; 503
 * `AUTHENTICATION_UNAVAILABLE` (with `Retry-After`) when a JWT cannot be checked for want of its key set.
 */
import type { Request, RequestHandler, Response } from "express";
import type { Authenticator } from "../auth/authenticator.js";
import type { Caller } from "../auth/caller.js";
import { AuthenticationError, AuthenticationUnavailableError } from "../auth/errors.js";
import { sendAuthenticationUnavailable, sendUnauthenticated } from "./error-answers.js";

/** The caller {@link authenticate} put on the response locals. */
export function callerOf(res: Response): Caller {
  const caller = res.locals.caller as Caller | undefined;
  if (!caller) throw new Error("no authenticated caller on this request: mount authenticate() first");
  return caller;
}

/** Remote address of a request (for anonymous callers). */
export function remoteAddress(req: Request): string | undefined {
  return req.socket.remoteAddress;
}

/** Authenticates every request; refuses with 401 when the credentials are missing or invalid, 503 when they cannot be checked. */
export function authenticate(authenticator: Authenticator): RequestHandler {
  return async (req, res, next) => {
    try {
      res.locals.caller = await authenticator.authenticate(req.headers.authorization, remoteAddress(req));
      next();
    } catch (error) {
      if (error instanceof AuthenticationError) {
        sendUnauthenticated(res, error.message);
        return;
      }
      if (error instanceof AuthenticationUnavailableError) {
        sendAuthenticationUnavailable(res, error.message);
        return;
      }
      next(error);
    }
  };
}
