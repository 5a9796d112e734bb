/**
 * The emulator's control API under `/emulator` (no auth, not rate-limited, JSON). Tests and
 * demos use it to create and end conversations, set faults, move the clock, read the
 * ground-truth write log and reset. Errors use the Genesys ErrorBody shape too
 * (400 `bad.request` with the validation message, 404 `not.found`).
 *
 * Routes:
 * - `POST /conversations` `{queueId, mediaType?, participants: [...]}` → 201 media conversation
 * - `POST /conversations/:id/participants` `{purpose, ...}` → 201 media conversation (the new
 *   participant is the last one)
 * - `POST /conversations/:id/participants/:pid/disconnect` → 200 media conversation
 * - `POST /conversations/:id/end` → 200 media conversation
 * - `GET /log` → `{entries: WriteLogEntry[]}` in acceptance order
 * - `GET /reads` → `{conversations: {[conversationId]: n}}`: conversation GETs answered per id
 * - `GET /faults` → current faults; `PUT /faults` partial → faults = defaults + body
 * - `POST /faults/throttle` `{seconds}` → 200 `{throttledUntil: ISO | null}`
 * - `POST /clock` `{advanceMs}` → 200 `{now: ISO, offsetMs}`; `GET /clock` the same
 * - `POST /reset` → 200 `{ok: true}`
 */
import express, { type Router } from "express";
import { z } from "zod";
import { sendError } from "./errors.js";
import { parseFaultsPatch, type Faults, type FaultsPatch } from "./faults.js";
import { renderMediaConversation, type NameDirectory } from "./render.js";
import type { ConversationStore } from "./store.js";
import type { WriteLogEntry } from "./writes.js";

const CommunicationStateSchema = z.enum(["alerting", "dialing", "contacting", "offering", "connected", "disconnected", "terminated"]);

/** zod schema of a participant in the control API (unknown fields rejected). */
export const ControlParticipantSchema = z.strictObject({
  purpose: z.string().min(1),
  name: z.string().optional(),
  address: z.string().optional(),
  userId: z.string().min(1).optional(),
  queueId: z.string().min(1).optional(),
  state: CommunicationStateSchema.optional(),
  attributes: z.record(z.string(), z.string()).optional(),
});

/** zod schema of `POST /emulator/conversations` (unknown fields rejected; at least one participant). */
export const ControlConversationSchema = z.strictObject({
  queueId: z.string().min(1),
  mediaType: z.enum(["call", "callback", "email", "message"]).optional(),
  participants: z.array(ControlParticipantSchema).min(1),
});

const ClockSchema = z.strictObject({ advanceMs: z.number().int().min(0) });
const ThrottleSchema = z.strictObject({ seconds: z.number().min(0) });

/** What the control router needs from the server. */
export interface ControlDependencies {
  /** The emulator's (single, long-lived) conversation store. */
  store: () => ConversationStore;
  /** User/queue names for rendering `user`/`queue` references. */
  names: NameDirectory;
  /** Copies of the ground-truth log entries, in acceptance order. */
  log: () => WriteLogEntry[];
  /** Conversation GETs answered so far (since start or reset), per conversation id. */
  reads: () => Record<string, number>;
  /** A copy of the current fault settings. */
  getFaults: () => Faults;
  /** Replaces the faults with `defaults + patch` (already validated); returns the result. */
  setFaults: (patch: FaultsPatch) => Faults;
  /** Forces 429s for `seconds` of emulator time (0 clears); returns the end in epoch ms (0 = none). */
  throttle: (seconds: number) => number;
  /** Emulator clock, epoch ms. */
  now: () => number;
  /** Total clock offset added so far, ms. */
  clockOffsetMs: () => number;
  /** Advances the emulator clock by `ms`, then makes due writes visible. */
  advanceClock: (ms: number) => void;
  /** Restores the seeded initial state (see server.ts). */
  reset: () => void;
}

function invalid(error: z.ZodError): string {
  return z.prettifyError(error);
}

/** Builds the `/emulator` router (mount at `/emulator`, with `express.json()` before it). */
export function createControlRouter(deps: ControlDependencies): Router {
  const router = express.Router();
  const notFound = (res: express.Response) => sendError(res, 404, "not.found", "The requested resource was not found.");

  router.post("/conversations", (req, res) => {
    const parsed = ControlConversationSchema.safeParse(req.body);
    if (!parsed.success) return sendError(res, 400, "bad.request", `Invalid conversation: ${invalid(parsed.error)}`);
    const created = deps.store().create(parsed.data);
    res.status(201).json(renderMediaConversation(created, deps.names));
  });

  router.post("/conversations/:id/participants", (req, res) => {
    const store = deps.store();
    const conversation = store.get(req.params.id);
    if (!conversation) return notFound(res);
    const parsed = ControlParticipantSchema.safeParse(req.body);
    if (!parsed.success) return sendError(res, 400, "bad.request", `Invalid participant: ${invalid(parsed.error)}`);
    if (conversation.endTime) return sendError(res, 400, "bad.request", "The conversation has ended; no participant can join it.");
    store.addParticipant(conversation.id, parsed.data);
    res.status(201).json(renderMediaConversation(store.get(conversation.id)!, deps.names));
  });

  router.post("/conversations/:id/participants/:pid/disconnect", (req, res) => {
    const store = deps.store();
    const conversation = store.get(req.params.id);
    if (!conversation || !conversation.participants.some((p) => p.id === req.params.pid)) return notFound(res);
    store.disconnectParticipant(conversation.id, req.params.pid);
    res.status(200).json(renderMediaConversation(store.get(conversation.id)!, deps.names));
  });

  router.post("/conversations/:id/end", (req, res) => {
    const store = deps.store();
    if (!store.get(req.params.id)) return notFound(res);
    res.status(200).json(renderMediaConversation(store.end(req.params.id), deps.names));
  });

  router.get("/log", (_req, res) => {
    res.status(200).json({ entries: deps.log() });
  });

  router.get("/reads", (_req, res) => {
    res.status(200).json({ conversations: deps.reads() });
  });

  router.get("/faults", (_req, res) => {
    res.status(200).json(deps.getFaults());
  });

  router.put("/faults", (req, res) => {
    const parsed = parseFaultsPatch(req.body);
    if (!parsed.ok) return sendError(res, 400, "bad.request", parsed.message);
    res.status(200).json(deps.setFaults(parsed.patch));
  });

  router.post("/faults/throttle", (req, res) => {
    const parsed = ThrottleSchema.safeParse(req.body);
    if (!parsed.success) return sendError(res, 400, "bad.request", `Invalid throttle: ${invalid(parsed.error)}`);
    const until = deps.throttle(parsed.data.seconds);
    res.status(200).json({ throttledUntil: until > 0 ? new Date(until).toISOString() : null });
  });

  const clockState = () => ({ now: new Date(deps.now()).toISOString(), offsetMs: deps.clockOffsetMs() });
  router.get("/clock", (_req, res) => {
    res.status(200).json(clockState());
  });
  router.post("/clock", (req, res) => {
    const parsed = ClockSchema.safeParse(req.body);
    if (!parsed.success) return sendError(res, 400, "bad.request", `Invalid clock change: ${invalid(parsed.error)}`);
    deps.advanceClock(parsed.data.advanceMs);
    res.status(200).json(clockState());
  });

  router.post("/reset", (_req, res) => {
    deps.reset();
    res.status(200).json({ ok: true });
  });

  return router;
}
