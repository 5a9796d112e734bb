/**
 * The HTTP methods `/graphql` serves: GET (queries, with Apollo's CSRF-prevention header) and
 * POST; OPTIONS preflights are answered before this by http/cors.ts. Any other method is
 * refused here with 405 `METHOD_NOT_ALLOWED` and `Allow: GET, POST` (RFC 9110 §15.5.6), in our
 * own words: Apollo's own answer names the library.
 */
import type { RequestHandler } from "express";
import { sendError } from "./error-answers.js";

/** Methods `/graphql` serves. */
const SERVED = new Set(["GET", "POST"]);

/** Refuses every method but GET and POST with 405 `METHOD_NOT_ALLOWED`. */
export const servedMethodsOnly: RequestHandler = (req, res, next) => {
  if (SERVED.has(req.method)) {
    next();
    return;
  }
  sendError(res, 405, "METHOD_NOT_ALLOWED", `${req.method} is not served at /graphql: send GraphQL operations with POST (or queries with GET).`, {
    allow: "GET, POST",
  });
};
