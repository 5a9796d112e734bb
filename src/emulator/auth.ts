/**
 * OAuth client-credentials login and bearer-token checks.
 *
 * Facts (shared/genesys/README.md, "Hosts and auth"): `POST /oauth/token` on the login host
 * with `Authorization: Basic base64(id:secret)` and form body `grant_type=client_credentials`
 * → 200 `{access_token, token_type, expires_in}` (seconds). API calls carry
 * `Authorization: Bearer {token}`; missing → 401 `authentication.required`, invalid or
 * expired → 401 `bad.credentials` (codes from the 2018 spec's `x-inin-error-codes`).
 *
 * Tokens are random (node:crypto, not the seed) and never logged.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import express, { type Request, type RequestHandler, type Response } from "express";
import { sendError } from "./errors.js";

/** A registered OAuth client (client-credentials grant). */
export interface OAuthClient {
  /** OAuth client id (appears as `clientId` in the write log). */
  clientId: string;
  /** OAuth client secret (compared in constant time; never logged). */
  clientSecret: string;
}

/** What {@link TokenStore.verify} found for a bearer token. */
export type TokenCheck = { ok: true; clientId: string } | { ok: false; reason: "unknown" | "expired" };

/** Issued tokens with their expiry on the emulator clock. */
export class TokenStore {
  private readonly tokens = new Map<string, { clientId: string; expiresAt: number }>();

  /**
   * @param now emulator clock (epoch ms)
   * @param lifetimeSeconds lifetime of issued tokens in seconds (`expires_in`)
   */
  constructor(
    private readonly now: () => number,
    private readonly lifetimeSeconds: number,
  ) {}

  /** Issues a new opaque token for `clientId`; returns it with its lifetime in seconds. */
  issue(clientId: string): { accessToken: string; expiresIn: number } {
    const accessToken = randomBytes(32).toString("base64url");
    this.tokens.set(accessToken, { clientId, expiresAt: this.now() + this.lifetimeSeconds * 1000 });
    return { accessToken, expiresIn: this.lifetimeSeconds };
  }

  /** Checks a token against the emulator clock (a token is expired at exactly its expiry ms). */
  verify(token: string): TokenCheck {
    const entry = this.tokens.get(token);
    if (!entry) return { ok: false, reason: "unknown" };
    if (this.now() >= entry.expiresAt) return { ok: false, reason: "expired" };
    return { ok: true, clientId: entry.clientId };
  }
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Decodes `Authorization: Basic base64(id:secret)`; undefined when absent or malformed. */
function basicCredentials(header: string | undefined): OAuthClient | undefined {
  const match = /^Basic\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { clientId: decoded.slice(0, colon), clientSecret: decoded.slice(colon + 1) };
}

/**
 * Handlers for `POST /oauth/token` (client-credentials grant only).
 * Responses: 200 `{access_token, token_type: "bearer", expires_in}`; 401 ErrorBody
 * `bad.credentials` for a missing/malformed Basic header, unknown client or wrong secret;
 * 400 ErrorBody `bad.request` when `grant_type` is not `client_credentials`.
 * The body is read as text and parsed as `application/x-www-form-urlencoded` whatever the
 * content type says (the SDK sends a plain string).
 * @param rejectAll when it returns true every login gets 401 `bad.credentials` (the
 *   `rejectLogins` fault: a rotated secret or deleted client).
 */
export function tokenEndpoint(clients: readonly OAuthClient[], tokens: TokenStore, rejectAll: () => boolean = () => false): RequestHandler[] {
  const readBody = express.text({ type: () => true, limit: "16kb" });
  const handler: RequestHandler = (req: Request, res: Response) => {
    if (rejectAll()) {
      sendError(res, 401, "bad.credentials", "Invalid login credentials.");
      return;
    }
    const credentials = basicCredentials(req.get("authorization"));
    const client = credentials && clients.find((c) => c.clientId === credentials.clientId);
    if (!credentials || !client || !safeEqual(client.clientSecret, credentials.clientSecret)) {
      sendError(res, 401, "bad.credentials", "Invalid login credentials.");
      return;
    }
    const form = new URLSearchParams(typeof req.body === "string" ? req.body : "");
    const grantType = form.get("grant_type");
    if (grantType !== "client_credentials") {
      sendError(res, 400, "bad.request", `Unsupported grant_type [${grantType ?? ""}]; only client_credentials is supported.`);
      return;
    }
    const issued = tokens.issue(client.clientId);
    res.status(200).json({ access_token: issued.accessToken, token_type: "bearer", expires_in: issued.expiresIn });
  };
  return [readBody, handler];
}

/**
 * Middleware requiring `Authorization: Bearer <token>` on /api/v2. On success sets
 * `res.locals.clientId` (the notification service relies on that name) and
 * `res.locals.token` (used as the rate-limit key; never log it). Otherwise ends the request
 * with 401 ErrorBody `authentication.required` (no bearer token) or `bad.credentials`
 * (unknown or expired token).
 */
export function requireBearer(tokens: TokenStore): RequestHandler {
  return (req, res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get("authorization") ?? "");
    if (!match) {
      sendError(res, 401, "authentication.required", "No authentication bearer token specified in authorization header.");
      return;
    }
    const check = tokens.verify(match[1]!);
    if (!check.ok) {
      sendError(res, 401, "bad.credentials", "Invalid login credentials.");
      return;
    }
    res.locals.clientId = check.clientId;
    res.locals.token = match[1]!;
    next();
  };
}
