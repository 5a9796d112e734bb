/**
 * Error answers of the HTTP edge that never reach GraphQL (bad bodies, unknown routes,
 * credentials, origins): always JSON in GraphQL's error shape, `{"errors": [{"message",
 * "extensions": {"code"}}]}`, with no stack, path or library name.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import type { Logger } from "../logger.js";

/**
 * Sends one GraphQL-shaped error; `res.locals.errorCode` keeps the code for the request log.
 * @param status HTTP status.
 * @param code stable `extensions.code`.
 * @param headers extra response headers (e.g. `WWW-Authenticate`, `Retry-After`).
 */
export function sendError(res: Response, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  // For the request's log line (observability/request-log.ts), which cannot read the body.
  res.locals.errorCode = code;
  res.status(status).set(headers).type("application/json; charset=utf-8").send(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

/** 401 `UNAUTHENTICATED` with `WWW-Authenticate: Bearer` (RFC 6750 §3). `message` must not contain the credential. */
export function sendUnauthenticated(res: Response, message: string): void {
  sendError(res, 401, "UNAUTHENTICATED", message, { "www-authenticate": 'Bearer realm="genesys-participants-gateway"' });
}

/** Seconds a client should wait before retrying after {@link sendAuthenticationUnavailable}. */
export const AUTHENTICATION_RETRY_AFTER_SECONDS = 5;

/** 503 `AUTHENTICATION_UNAVAILABLE` with `Retry-After`: the credentials could not be checked (the JWT key set is unavailable). */
export function sendAuthenticationUnavailable(res: Response, message: string): void {
  sendError(res, 503, "AUTHENTICATION_UNAVAILABLE", message, { "retry-after": String(AUTHENTICATION_RETRY_AFTER_SECONDS) });
}

/** 404 `NOT_FOUND` for any route nothing else answered. Mount it after every route. */
export const notFound: RequestHandler = (req, res) => {
  sendError(res, 404, "NOT_FOUND", `Nothing is served at ${req.method} ${req.path}; GraphQL is at /graphql.`);
};

/** What body-parser's error `type`s mean for the caller (https://github.com/expressjs/body-parser#errors). */
const BODY_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  "entity.parse.failed": { status: 400, code: "MALFORMED_JSON", message: "The request body is not valid JSON." },
  "entity.too.large": { status: 413, code: "PAYLOAD_TOO_LARGE", message: "The request body is larger than 256 KB." },
  "charset.unsupported": { status: 415, code: "UNSUPPORTED_MEDIA_TYPE", message: "The request body's charset is not supported: send UTF-8 JSON." },
  "encoding.unsupported": { status: 415, code: "UNSUPPORTED_MEDIA_TYPE", message: "The request body's Content-Encoding is not supported: send identity, gzip, deflate or br." },
  "request.aborted": { status: 400, code: "BAD_REQUEST", message: "The request body was aborted." },
  "request.size.invalid": { status: 400, code: "BAD_REQUEST", message: "The request body's length does not match its Content-Length." },
  "stream.encoding.set": { status: 500, code: "INTERNAL_SERVER_ERROR", message: "Internal server error" },
};

/**
 * body-parser's answer to a body it could not read for a reason of the client's own (a corrupt
 * gzip/deflate/br stream: zlib's error wrapped by http-errors with status 400 and no `type`).
 */
const UNREADABLE_BODY = { status: 400, code: "BAD_REQUEST", message: "The request body could not be read: its compressed data is corrupt or truncated." };

/** A client error body-parser raised without a `type` (http-errors: `expose` and a 4xx `status`). */
function isUntypedClientError(error: object): boolean {
  const { status, expose } = error as { status?: unknown; expose?: unknown };
  return expose === true && typeof status === "number" && status >= 400 && status < 500;
}

/**
 * The last error handler: body-parser failures get their own code and status (the library's
 * message is never shown), anything else is 500 `INTERNAL_SERVER_ERROR` (logged, never shown).
 */
export function errorAnswers(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    const type = typeof error === "object" && error !== null ? (error as { type?: unknown }).type : undefined;
    const known =
      typeof type === "string" ? BODY_ERRORS[type] : typeof error === "object" && error !== null && isUntypedClientError(error) ? UNREADABLE_BODY : undefined;
    if (known) {
      sendError(res, known.status, known.code, known.message);
      return;
    }
    logger.error({ err: error instanceof Error ? error.message : String(error) }, "unexpected error answering an HTTP request");
    if (res.headersSent) return;
    sendError(res, 500, "INTERNAL_SERVER_ERROR", "Internal server error");
  };
}
