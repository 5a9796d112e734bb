/**
 * The emulated Platform API conversation routes (`/api/v2/conversations/...`). Mounted by
 * server.ts after authentication, rate limiting and fault injection.
 *
 * Facts (shared/genesys/README.md, "Reading participants" and "Writing attributes"):
 * - `GET /api/v2/conversations/{id}` → `Conversation`; `GET /api/v2/conversations/{calls|
 *   callbacks|emails|messages}/{id}` → the media conversation model.
 * - `PATCH /api/v2/conversations/{id}/participants/{pid}/attributes` → 202, no body.
 *   `PATCH /api/v2/conversations/{calls|callbacks|emails}/{id}/participants/{pid}/attributes`
 *   → 202 with a `ParticipantAttributes` body; `messages` takes the body optionally.
 * - Errors are ErrorBody: 400 `bad.request`/`invalid.value`, 404 `not.found`, 413
 *   `request.entity.too.large` "The request is over the size limit. Maximum bytes: %s",
 *   415 `unsupported.media.type`.
 *
 * Emulator choices (documented in the README's [unknown]s):
 * - A conversation has one media type; a media path of another type → 404 `not.found`.
 * - Check order of an attribute PATCH: 415 (body present with a non-JSON content type) →
 *   413 (body over `maxBodyBytes`) → 400 `bad.request` (not JSON, not an object, `attributes`
 *   missing or not an object) → 400 `invalid.value` (a non-string value) → 404 (unknown
 *   conversation/participant, or wrong media) → 400 `bad.request` (ended conversation or
 *   disconnected participant under policy `reject`) → 202. Any failure changes nothing.
 *   Unknown top-level fields beside `attributes` are ignored.
 * - An empty body (no bytes) is 400 `bad.request`, except on `messages`, where it is a no-op
 *   202 with body `{}` that is not logged.
 */
import express, { type Request, type Response, type Router } from "express";
import { sendError } from "./errors.js";
import type { Faults } from "./faults.js";
import { mediaTypeOfPath, renderConversation, renderMediaConversation, type NameDirectory } from "./render.js";
import type { ConversationStore, MediaType, StoredConversation } from "./store.js";
import type { WritePipeline } from "./writes.js";

/** Dependencies of {@link createApiRouter}. */
export interface ApiDependencies {
  /** Conversations read by the GETs and targeted by the PATCHes. */
  store: ConversationStore;
  /** Where accepted writes go (delay, visibility, log). */
  writes: WritePipeline;
  /** Current faults (`maxBodyBytes`, `endedConversationWrites` are read per request). */
  faults: () => Faults;
  /** User/queue names for `user`/`queue` references. */
  names: NameDirectory;
  /** Counts a conversation GET (by the id asked for, found or not). */
  countRead?: (conversationId: string) => void;
}

const NOT_FOUND = "The requested resource was not found.";

/** Reads the PATCH body as raw bytes with the current `maxBodyBytes` limit. */
function readRawBody(req: Request, res: Response, limit: number): Promise<Buffer | "too-large" | "error"> {
  return new Promise((resolve) => {
    express.raw({ type: () => true, limit })(req, res, (err?: unknown) => {
      if (err) {
        const type = (err as { type?: string }).type;
        resolve(type === "entity.too.large" ? "too-large" : "error");
        return;
      }
      resolve(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    });
  });
}

function hasBody(req: Request): boolean {
  const length = req.get("content-length");
  if (length !== undefined) return Number(length) > 0;
  return req.get("transfer-encoding") !== undefined;
}

function isJsonContentType(req: Request): boolean {
  const type = (req.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** Outcome of validating an attribute PATCH body. */
type BodyCheck =
  | { kind: "empty" }
  | { kind: "ok"; attributes: Record<string, string> }
  | { kind: "error"; status: number; code: string; message: string; params?: Record<string, string>; template?: string };

/** Applies the content-type, size and shape rules (see the module doc) to a PATCH request. */
async function checkAttributesBody(req: Request, res: Response, maxBodyBytes: number): Promise<BodyCheck> {
  if (!hasBody(req)) return { kind: "empty" };
  if (!isJsonContentType(req)) {
    return {
      kind: "error",
      status: 415,
      code: "unsupported.media.type",
      message: "Unsupported Media Type - Unsupported or incorrect media type, such as an incorrect Content-Type value in the header.",
    };
  }
  const raw = await readRawBody(req, res, maxBodyBytes);
  if (raw === "too-large") {
    return {
      kind: "error",
      status: 413,
      code: "request.entity.too.large",
      message: `The request is over the size limit. Maximum bytes: ${maxBodyBytes}`,
      template: "The request is over the size limit. Maximum bytes: {maxBytes}",
      params: { maxBytes: String(maxBodyBytes) },
    };
  }
  if (raw === "error") return { kind: "error", status: 400, code: "bad.request", message: "The request body could not be read." };
  if (raw.length === 0) return { kind: "empty" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch {
    return { kind: "error", status: 400, code: "bad.request", message: "The request could not be understood by the server due to malformed syntax." };
  }
  const attributes = (parsed as { attributes?: unknown } | null)?.attributes;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || typeof attributes !== "object" || attributes === null || Array.isArray(attributes)) {
    return {
      kind: "error",
      status: 400,
      code: "bad.request",
      message: 'The request body must be a JSON object {"attributes": {"key": "value", ...}}.',
    };
  }
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value !== "string") {
      const shown = JSON.stringify(value) ?? String(value);
      return {
        kind: "error",
        status: 400,
        code: "invalid.value",
        message: `Value [${shown}] is not valid for field type [string]. Allowable values are: any string (attribute "${key}")`,
        template: "Value [{value}] is not valid for field type [{type}]. Allowable values are: {allowed}",
        params: { value: shown, type: "string", allowed: "any string", field: `attributes.${key}` },
      };
    }
  }
  return { kind: "ok", attributes: attributes as Record<string, string> };
}

/** Finds the conversation for a route, enforcing the media type when the route has one. */
function findConversation(store: ConversationStore, conversationId: string, media?: MediaType): StoredConversation | undefined {
  const conversation = store.get(conversationId);
  if (!conversation) return undefined;
  if (media && conversation.mediaType !== media) return undefined;
  return conversation;
}

/**
 * Builds the router for `/api/v2/conversations` (mount it at `/api/v2/conversations`).
 * Routes: `GET /:id`, `GET /:media/:id`, `PATCH /:id/participants/:pid/attributes`,
 * `PATCH /:media/:id/participants/:pid/attributes` (media ∈ calls, callbacks, emails,
 * messages). Attribute writes go to `writes.accept` with `res.locals.clientId`.
 */
export function createApiRouter(deps: ApiDependencies): Router {
  const router = express.Router();

  router.get("/:media/:conversationId", (req, res) => {
    deps.countRead?.(req.params.conversationId);
    const media = mediaTypeOfPath(req.params.media);
    const conversation = media && findConversation(deps.store, req.params.conversationId, media);
    if (!conversation) return sendError(res, 404, "not.found", NOT_FOUND);
    res.status(200).json(renderMediaConversation(conversation, deps.names));
  });

  router.get("/:conversationId", (req, res) => {
    deps.countRead?.(req.params.conversationId);
    const conversation = findConversation(deps.store, req.params.conversationId);
    if (!conversation) return sendError(res, 404, "not.found", NOT_FOUND);
    res.status(200).json(renderConversation(conversation, deps.names));
  });

  const patchAttributes = async (req: Request, res: Response, media: MediaType | undefined): Promise<void> => {
    const params = req.params as Record<string, string>;
    const faults = deps.faults();
    const body = await checkAttributesBody(req, res, faults.maxBodyBytes);
    if (body.kind === "error") {
      const extra = body.template ? { messageWithParams: body.template, messageParams: body.params } : {};
      return sendError(res, body.status, body.code, body.message, extra);
    }
    if (body.kind === "empty" && media !== "message") {
      return sendError(res, 400, "bad.request", 'A request body {"attributes": {...}} is required.');
    }
    const conversation = findConversation(deps.store, params.conversationId!, media);
    const participant = conversation?.participants.find((p) => p.id === params.participantId);
    if (!conversation || !participant) return sendError(res, 404, "not.found", NOT_FOUND);
    if (body.kind === "empty") {
      res.status(202).json({});
      return;
    }
    const ended = Boolean(conversation.endTime) || Boolean(participant.endTime) || participant.state === "disconnected" || participant.state === "terminated";
    if (ended && faults.endedConversationWrites === "reject") {
      return sendError(
        res,
        400,
        "bad.request",
        conversation.endTime ? "The conversation has ended; its participants' attributes can no longer be updated." : "The participant is disconnected; its attributes can no longer be updated.",
      );
    }
    deps.writes.accept(String(res.locals.clientId), conversation.id, participant.id, body.attributes);
    if (media) res.status(202).json({ attributes: body.attributes });
    else res.status(202).end();
  };

  router.patch("/:conversationId/participants/:participantId/attributes", (req, res) => patchAttributes(req, res, undefined));

  router.patch("/:media/:conversationId/participants/:participantId/attributes", async (req, res) => {
    const media = mediaTypeOfPath(req.params.media);
    if (!media) return sendError(res, 404, "not.found", NOT_FOUND);
    await patchAttributes(req, res, media);
  });

  return router;
}
