/**
 * CORS for `/graphql` with the `cors` package: origins in the allow-list get the CORS headers
 * (methods GET/POST; headers Authorization, Content-Type and Apollo's CSRF-prevention headers);
 * a preflight from any other origin is refused with 403 `ORIGIN_NOT_ALLOWED`.
 */
import cors from "cors";
import type { RequestHandler } from "express";
import { sendError } from "./error-answers.js";
import type { OriginPolicy } from "./origins.js";

/** How long browsers may cache a preflight answer (seconds). */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** The CORS middlewares: `cors` itself, then the refusal of preflights it did not answer. */
export function corsMiddlewares(policy: OriginPolicy): RequestHandler[] {
  const allow = cors({
    origin: (origin, callback) => callback(null, origin !== undefined && policy.allows(origin)),
    methods: ["GET", "POST"],
    allowedHeaders: ["authorization", "content-type", "apollo-require-preflight", "x-apollo-operation-name"],
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
    credentials: false,
  });
  const refuseOtherPreflights: RequestHandler = (req, res, next) => {
    if (req.method !== "OPTIONS") {
      next();
      return;
    }
    sendError(res, 403, "ORIGIN_NOT_ALLOWED", "This origin is not allowed to call the gateway (CORS_ORIGINS).");
  };
  return [allow, refuseOtherPreflights];
}
