/**
 * The JSON body of `POST /graphql`: at most 256 KB of UTF-8 (or UTF-16/32) JSON, and a single
 * JSON object. Failures are answered by error-answers.ts (`MALFORMED_JSON`,
 * `PAYLOAD_TOO_LARGE` 413, `UNSUPPORTED_MEDIA_TYPE` 415) or here (`BAD_REQUEST`).
 */
import express, { type RequestHandler } from "express";
import { sendError } from "./error-answers.js";

/** Largest accepted body (bytes). */
export const MAX_BODY_BYTES = 256 * 1024;

/** Parses JSON bodies (any top-level value, so that `null` gets a precise answer below). */
export const jsonBody: RequestHandler = express.json({ limit: MAX_BODY_BYTES, strict: false });

/** Refuses a parsed JSON body that is not one object (`null`, a number, an array = batching). */
export const singleOperationBody: RequestHandler = (req, res, next) => {
  if (!req.is("application/json") || req.body === undefined) {
    next();
    return;
  }
  const body: unknown = req.body;
  if (Array.isArray(body)) {
    sendError(res, 400, "BAD_REQUEST", "Batched operations are not supported: send one JSON object {query, variables, operationName} per request.");
    return;
  }
  if (typeof body !== "object" || body === null) {
    sendError(res, 400, "BAD_REQUEST", "The request body must be a JSON object {query, variables, operationName}.");
    return;
  }
  next();
};
