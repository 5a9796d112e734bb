/**
 * Fault settings of the emulator: a zod schema, the defaults, and the merge rule used by
 * `PUT /emulator/faults` (given fields over the *defaults*, so `PUT {}` restores them).
 *
 * The notification fields (`dropRate`, `duplicateRate`, `crossSocketDuplicateRate` … `answerPings`, `refuseSockets`, `eventTimeResolutionMs`)
 * are read by the notification service (through a getter the server passes it); the rest are
 * applied by the REST layer (server.ts, auth.ts, writes.ts).
 */
import { z } from "zod";

/** A closed range of milliseconds, `min <= max`, both integers >= 0. */
const MsRange = z
  .strictObject({
    min: z.number().int().min(0),
    max: z.number().int().min(0),
  })
  .refine((r) => r.min <= r.max, { message: "min must be <= max" });

/** A probability in [0, 1]. */
const Rate = z.number().min(0).max(1);

/**
 * zod schema of the complete fault settings (every field required). Use
 * {@link FaultsPatchSchema} for partial input.
 */
export const FaultsSchema = z.strictObject({
  /** Delay between a 202 and the write becoming visible (ms, drawn uniformly, seeded). Default 50–150. */
  visibilityDelayMs: MsRange,
  /** Share of accepted (202) attribute writes that are never applied. Default 0. */
  lostWriteRate: Rate,
  /** Share of /api/v2 requests answered with one of `errorStatuses` without doing anything. Default 0. */
  errorRate: Rate,
  /** Statuses used by `errorRate` (integers 400–599, at least one). Default [500, 503, 504]. */
  errorStatuses: z.array(z.number().int().min(400).max(599)).min(1),
  /** Extra latency added to /api/v2 requests (ms, drawn uniformly, seeded). Default 0–0. */
  latencyMs: MsRange,
  /** Requests per token per fixed 60 s window before 429. Default 300. */
  rateLimitPerMinute: z.number().int().min(1),
  /** Largest accepted attribute PATCH body in bytes; larger → 413. Default 65536. */
  maxBodyBytes: z.number().int().min(1),
  /** Policy for writes to an ended conversation or a disconnected participant. Default "accept". */
  endedConversationWrites: z.enum(["accept", "reject"]),
  /**
   * What a write of `""` does to a key (Genesys documents no delete: unknown, shared/genesys/README.md
   * "Writing attributes"): `"empty"` stores the empty string (the assumption), `"removed"` removes the
   * key from the map, so reads and notifications no longer show it. Default "empty".
   */
  clearedAttributes: z.enum(["empty", "removed"]),
  /** Notification service: share of events not delivered. Default 0. */
  dropRate: Rate,
  /** Notification service: share of events delivered twice. Default 0. */
  duplicateRate: Rate,
  /**
   * Notification service: share of event frames also delivered on the client's other sockets
   * (same frame, same CorrelationId): on every other open socket of the same OAuth client, and
   * again on a channel's next socket for frames sent in the 5 s before it connected. Genesys
   * delivers at most once but may deliver twice (shared/genesys/README.md, "Notifications").
   * Default 0.
   */
  crossSocketDuplicateRate: Rate,
  /** Notification service: window (ms) within which events may be reordered; 0 = in order. Default 0. */
  reorderWindowMs: z.number().int().min(0),
  /** Notification service: heartbeat period (ms); 0 = silent. Default 30000. */
  heartbeatIntervalMs: z.number().int().min(0),
  /** Notification service: time (ms) between `v2.system.socket_closing` and the close. Default 60000. */
  socketClosingGraceMs: z.number().int().min(0),
  /**
   * Notification service: whether `{"message":"ping"}` is answered with a pong. Default true.
   * false with `heartbeatIntervalMs: 0` and `dropRate: 1` makes a half-open socket: open, but
   * nothing ever arrives on it.
   */
  answerPings: z.boolean(),
  /**
   * Login: every `POST /oauth/token` is answered 401 `bad.credentials`, as after the OAuth
   * client's secret was rotated or the client deleted (tokens already issued keep working
   * until they expire). Default false.
   */
  rejectLogins: z.boolean(),
  /**
   * Notification service: every WebSocket upgrade is answered HTTP 503 (the streaming host is
   * down; channels and subscriptions are kept). Default false.
   */
  refuseSockets: z.boolean(),
  /**
   * Notification service: `eventTime` of attribute detail events is rounded down to a multiple
   * of this many ms, so writes made visible within one such window share an eventTime (Genesys
   * documents no resolution). Default 1.
   */
  eventTimeResolutionMs: z.number().int().min(1).max(3_600_000),
});

/** The complete fault settings. */
export type Faults = z.infer<typeof FaultsSchema>;

/** zod schema of a partial fault update (unknown fields rejected; nested ranges need both ends). */
export const FaultsPatchSchema = FaultsSchema.partial();

/** A partial fault update as accepted by `PUT /emulator/faults` and `EmulatorOptions.faults`. */
export type FaultsPatch = z.infer<typeof FaultsPatchSchema>;

/** The built-in defaults (see each field of {@link FaultsSchema}). */
export const DEFAULT_FAULTS: Readonly<Faults> = Object.freeze({
  visibilityDelayMs: { min: 50, max: 150 },
  lostWriteRate: 0,
  errorRate: 0,
  errorStatuses: [500, 503, 504],
  latencyMs: { min: 0, max: 0 },
  rateLimitPerMinute: 300,
  maxBodyBytes: 65536,
  endedConversationWrites: "accept",
  clearedAttributes: "empty",
  dropRate: 0,
  duplicateRate: 0,
  crossSocketDuplicateRate: 0,
  reorderWindowMs: 0,
  heartbeatIntervalMs: 30000,
  socketClosingGraceMs: 60000,
  answerPings: true,
  rejectLogins: false,
  refuseSockets: false,
  eventTimeResolutionMs: 1,
});

/** Result of {@link parseFaultsPatch}: the validated patch, or a readable error message. */
export type FaultsPatchResult = { ok: true; patch: FaultsPatch } | { ok: false; message: string };

/**
 * Validates a partial fault update (e.g. a `PUT /emulator/faults` body).
 * Never throws: invalid input yields `{ ok: false, message }` naming each bad field.
 */
export function parseFaultsPatch(input: unknown): FaultsPatchResult {
  const result = FaultsPatchSchema.safeParse(input);
  if (result.success) return { ok: true, patch: result.data };
  return { ok: false, message: `Invalid faults: ${z.prettifyError(result.error)}` };
}

/** Returns a fresh complete settings object: the defaults with `patch` applied over them. */
export function faultsFromDefaults(patch: FaultsPatch = {}): Faults {
  return structuredClone({ ...DEFAULT_FAULTS, ...stripUndefined(patch) }) as Faults;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
