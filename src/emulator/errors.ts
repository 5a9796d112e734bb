/**
 * Genesys `ErrorBody` responses, as every Platform API error is shaped
 * (definition `ErrorBody` in the official 2018 Swagger spec, test/fixtures/genesys/openapi-2018-subset.json:
 * `{message, code, status, contextId, details[], errors[], messageWithParams, messageParams}`).
 */
import { randomUUID } from "node:crypto";
import type { Response } from "express";

/** The JSON body of every Genesys error response. */
export interface ErrorBody {
  message: string;
  code: string;
  status: number;
  contextId: string;
  details: Array<{ errorCode?: string; fieldName?: string; entityId?: string; entityName?: string }>;
  errors: ErrorBody[];
  messageWithParams?: string;
  messageParams?: Record<string, string>;
}

/** Builds an ErrorBody; `contextId` is the response's correlation id when one is given. */
export function errorBody(
  status: number,
  code: string,
  message: string,
  extra: { contextId?: string; messageWithParams?: string; messageParams?: Record<string, string> } = {},
): ErrorBody {
  return {
    message,
    code,
    status,
    contextId: extra.contextId ?? randomUUID(),
    details: [],
    errors: [],
    ...(extra.messageWithParams ? { messageWithParams: extra.messageWithParams } : {}),
    ...(extra.messageParams ? { messageParams: extra.messageParams } : {}),
  };
}

/**
 * Sends an ErrorBody with the given HTTP status. The `contextId` is taken from the
 * response's `ININ-Correlation-Id` header when a middleware has already set it.
 */
export function sendError(
  res: Response,
  status: number,
  code: string,
  message: string,
  extra: { messageWithParams?: string; messageParams?: Record<string, string> } = {},
): void {
  const correlation = res.getHeader("ININ-Correlation-Id");
  res
    .status(status)
    .json(errorBody(status, code, message, { ...extra, contextId: typeof correlation === "string" ? correlation : undefined }));
}
