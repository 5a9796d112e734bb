/**
 * `updateAttributes`: optimistic concurrency and the verify loop over Genesys participant
 * attributes.
 *
 * Genesys facts this relies on (shared/genesys/README.md, "Writing attributes"):
 * - the PATCH answers 202 Accepted: the write is not yet visible, may never become visible,
 *   and other writers (Architect flows, other clients) write the same map;
 * - there is no version, ETag or If-Match, so concurrency control happens here: writes to one
 *   participant are serialized inside the gateway, and the version is derived from the map.
 */
import type { Models } from "purecloud-platform-client-v2";
import { GenesysError } from "../genesys/errors.js";
import { toConversationSnapshot, type ParticipantSnapshot } from "../genesys/participants.js";
import { attributeValue } from "./attribute-map.js";
import { KeyedLock } from "./keyed-lock.js";
import { attributesVersion } from "./version.js";

/** What the updater needs from Genesys (implemented by `GenesysClient`). */
export interface AttributeBackend {
  getConversation(conversationId: string, opts: { deadline?: number }): Promise<Models.Conversation | null>;
  patchParticipantAttributes(
    conversationId: string,
    participantId: string,
    attributes: Record<string, string>,
    opts: { deadline?: number },
  ): Promise<void>;
}

/** One update request (validated at the GraphQL edge). */
export interface AttributeUpdate {
  conversationId: string;
  participantId: string;
  /** Keys to set; other keys are left as they are; "" clears a key. */
  attributes: Record<string, string>;
  /** Write only if the participant's current version equals this. */
  expectedVersion?: string;
}

/** Why a participant cannot be written. */
export type UnavailableReason = "CONVERSATION_NOT_FOUND" | "PARTICIPANT_NOT_FOUND" | "REJECTED_BY_GENESYS";

/** The outcome of one update; every branch says exactly what happened. */
export type UpdateOutcome =
  | {
      kind: "updated";
      participant: ParticipantSnapshot;
      /** PATCH requests sent (0: the values were already in place). */
      attempts: number;
      /** ms from the first PATCH to the read that showed every written key (0 when attempts is 0). */
      confirmedAfterMs: number;
    }
  | { kind: "conflict"; message: string; expectedVersion: string; participant: ParticipantSnapshot }
  | { kind: "unavailable"; message: string; reason: UnavailableReason }
  | { kind: "not-confirmed"; message: string; attempts: number; participant?: ParticipantSnapshot };

/** Timing of the verify loop. All in ms. */
export interface VerifyTiming {
  /** Total time allowed from the request's start to confirmation. Default 5 000. */
  deadlineMs: number;
  /** First wait before re-reading after a PATCH. Default 40. */
  firstPollMs: number;
  /** Growth factor of the wait between reads. Default 1.5. */
  pollGrowth: number;
  /** Longest wait between reads. Default 1 000. */
  maxPollMs: number;
  /** A write still invisible this long after it was sent is sent again. Default 1 500. */
  resendAfterMs: number;
}

/** Defaults of {@link VerifyTiming}. */
export const DEFAULT_VERIFY_TIMING: VerifyTiming = {
  deadlineMs: 5_000,
  firstPollMs: 40,
  pollGrowth: 1.5,
  maxPollMs: 1_000,
  resendAfterMs: 1_500,
};

/** Options of {@link AttributeUpdater}. */
export interface AttributeUpdaterOptions {
  backend: AttributeBackend;
  timing?: Partial<VerifyTiming>;
  /** Clock in epoch ms. */
  now?: () => number;
  /** Waits `ms` milliseconds. */
  sleep?: (ms: number) => Promise<void>;
  /** Told every outcome (metrics); must not throw. */
  onOutcome?: (outcome: UpdateOutcome) => void;
  /**
   * Told of every conversation read: called just before the GET, it may return a callback that
   * receives the result (null on 404). The change feed uses it so the verify loop's reads reach
   * the change log like any other read.
   */
  observeRead?: (conversationId: string) => ((conversation: Models.Conversation | null) => void) | undefined;
}

type Read =
  | { kind: "ok"; participant: ParticipantSnapshot }
  | { kind: "missing"; reason: "CONVERSATION_NOT_FOUND" | "PARTICIPANT_NOT_FOUND" };

/**
 * Applies attribute updates with optimistic concurrency and read-back verification.
 *
 * Per participant, updates run one at a time in arrival order; the deadline counts from the
 * request's arrival, time spent queued behind earlier writes included. Each one:
 * 1. reads the conversation fresh (`GET /api/v2/conversations/{id}`);
 * 2. unknown conversation/participant → `unavailable`; `expectedVersion` ≠ current → `conflict`;
 *    every value already in place → `updated` with 0 attempts;
 * 3. PATCHes the keys, then re-reads with growing waits until every written key shows its value;
 *    a write invisible for `resendAfterMs` is re-sent — with `expectedVersion`, only while no
 *    other writer changed the participant (keys we did not write still equal what we read
 *    first, written keys show either that or our value); a written key showing a third value
 *    means another writer got in (`conflict` with `expectedVersion`, otherwise `not-confirmed`
 *    naming the keys);
 * 4. past the deadline → `not-confirmed`. A Genesys 4xx on the first PATCH → `unavailable`
 *    (`REJECTED_BY_GENESYS`, Genesys's message); a 4xx after a PATCH was accepted →
 *    `not-confirmed` (the accepted write may still land).
 * Clearing a key with "" is confirmed whether Genesys then shows "" or drops the key (unknown).
 * Transient Genesys failures (429, 5xx, network, a call outliving the deadline) are retried
 * by the client inside the deadline; when they persist the outcome is `not-confirmed`.
 * Never throws for Genesys failures.
 */
export class AttributeUpdater {
  private readonly lock = new KeyedLock();
  private readonly timing: VerifyTiming;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: AttributeUpdaterOptions) {
    this.timing = { ...DEFAULT_VERIFY_TIMING, ...options.timing };
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Runs one update; see the class comment for the outcomes. */
  update(request: AttributeUpdate): Promise<UpdateOutcome> {
    const deadline = this.now() + this.timing.deadlineMs;
    const outcome = this.lock.run(`${request.conversationId}\u0000${request.participantId}`, () => this.apply(request, deadline));
    return this.options.onOutcome ? outcome.then((o) => (this.options.onOutcome!(o), o)) : outcome;
  }

  private async apply(request: AttributeUpdate, deadline: number): Promise<UpdateOutcome> {
    const wanted = request.attributes;
    const keys = Object.keys(wanted);
    let attempts = 0;
    let accepted = false;
    let lastError: GenesysError | undefined;
    let lastSeen: ParticipantSnapshot | undefined;

    try {
      const first = await this.read(request, deadline);
      if (first.kind === "missing") return unavailable(first.reason, request);
      lastSeen = first.participant;
      const conflict = this.versionConflict(request, first.participant);
      if (conflict) return conflict;
      if (keys.every((k) => shows(first.participant.attributes, k, wanted[k]!))) {
        return { kind: "updated", participant: first.participant, attempts: 0, confirmedAfterMs: 0 };
      }
      // The map before our write: a written key showing neither this nor our value, or any
      // other key changing, means someone else wrote.
      const baseline = first.participant.attributes;

      let firstSentAt = 0;
      let lastSentAt = 0;
      let wait = this.timing.firstPollMs;
      for (;;) {
        const due = attempts === 0 || this.now() - lastSentAt >= this.timing.resendAfterMs;
        if (due && this.now() < deadline) {
          if (attempts > 0 && request.expectedVersion !== undefined && lastSeen) {
            // Re-send only onto the state the caller based the write on.
            const others = changedByOthers(baseline, lastSeen.attributes, wanted);
            if (others.length > 0) {
              return {
                kind: "conflict",
                expectedVersion: request.expectedVersion,
                participant: lastSeen,
                message: `Another writer changed ${quote(others)} while this update was being applied; it was not re-sent, but the write already accepted may still become visible.`,
              };
            }
          }
          attempts += 1;
          lastSentAt = this.now();
          if (attempts === 1) firstSentAt = lastSentAt;
          const sent = await this.write(request, deadline);
          if (sent.kind === "accepted") accepted = true;
          else if (sent.kind === "refused") {
            if (!accepted) return { kind: "unavailable", reason: "REJECTED_BY_GENESYS", message: sent.error.message };
            return {
              kind: "not-confirmed",
              attempts,
              participant: lastSeen,
              message: `Genesys refused a re-send (${sent.error.status} ${sent.error.code}: ${sent.error.message}); the write it accepted earlier may still become visible.`,
            };
          } else lastError = sent.error;
          wait = this.timing.firstPollMs;
        }

        const remaining = deadline - this.now();
        if (remaining <= 0) break;
        await this.sleep(Math.min(wait, remaining));
        wait = Math.min(this.timing.maxPollMs, wait * this.timing.pollGrowth);

        let seen: Read;
        try {
          seen = await this.read(request, deadline);
        } catch (error) {
          if (error instanceof GenesysError && error.isTransient) {
            lastError = error;
            continue; // outage: keep trying until the deadline
          }
          throw error;
        }
        if (seen.kind === "missing") return unavailable(seen.reason, request);
        lastSeen = seen.participant;
        const shown = seen.participant.attributes;
        if (keys.every((k) => shows(shown, k, wanted[k]!))) {
          return { kind: "updated", participant: seen.participant, attempts, confirmedAfterMs: this.now() - firstSentAt };
        }
        const overwritten = keys.filter((k) => !shows(shown, k, wanted[k]!) && shown[k] !== baseline[k]);
        if (overwritten.length > 0) {
          if (request.expectedVersion !== undefined) {
            return {
              kind: "conflict",
              expectedVersion: request.expectedVersion,
              participant: seen.participant,
              message: `Another writer changed ${quote(overwritten)} while this update was being applied.`,
            };
          }
          return {
            kind: "not-confirmed",
            attempts,
            participant: seen.participant,
            message: `Another writer changed ${quote(overwritten)} before this update became visible; the current values are not the ones written.`,
          };
        }
      }
      const seconds = `${this.timing.deadlineMs} ms`;
      return {
        kind: "not-confirmed",
        attempts,
        participant: lastSeen,
        message:
          attempts === 0
            ? `The deadline of ${seconds} passed before the write could be sent (it waited behind earlier writes to this participant); nothing was sent.`
            : accepted
              ? `Genesys accepted the write but did not show it within ${seconds}; it may still become visible.`
              : `Genesys did not accept the write within ${seconds}${lastError ? ` (last error ${lastError.status || lastError.code}: ${lastError.message})` : ""}.`,
      };
    } catch (error) {
      if (error instanceof GenesysError) {
        if (error.isClientError && error.status !== 404 && !accepted && attempts === 0) {
          return { kind: "unavailable", reason: "REJECTED_BY_GENESYS", message: error.message };
        }
        return {
          kind: "not-confirmed",
          attempts,
          participant: lastSeen,
          message: `Genesys could not be reached to ${attempts === 0 ? "read" : "confirm"} the participant (${error.status || error.code}: ${error.message}).`,
        };
      }
      throw error;
    }
  }

  private versionConflict(
    request: AttributeUpdate,
    participant: ParticipantSnapshot,
  ): Extract<UpdateOutcome, { kind: "conflict" }> | undefined {
    if (request.expectedVersion === undefined) return undefined;
    const version = attributesVersion(participant.attributes);
    if (version === request.expectedVersion) return undefined;
    return {
      kind: "conflict",
      expectedVersion: request.expectedVersion,
      participant,
      message: `The participant's version is ${version}, not the expected ${request.expectedVersion}; nothing was written.`,
    };
  }

  private async read(request: AttributeUpdate, deadline: number): Promise<Read> {
    const observe = this.options.observeRead?.(request.conversationId);
    const conversation = await this.options.backend.getConversation(request.conversationId, { deadline });
    observe?.(conversation);
    if (!conversation) return { kind: "missing", reason: "CONVERSATION_NOT_FOUND" };
    const participant = toConversationSnapshot(conversation).participants.find((p) => p.id === request.participantId);
    return participant ? { kind: "ok", participant } : { kind: "missing", reason: "PARTICIPANT_NOT_FOUND" };
  }

  /** PATCHes the wanted keys. A 4xx is a refusal; anything else failing may or may not have landed. */
  private async write(
    request: AttributeUpdate,
    deadline: number,
  ): Promise<{ kind: "accepted" } | { kind: "refused"; error: GenesysError } | { kind: "unknown"; error: GenesysError }> {
    try {
      await this.options.backend.patchParticipantAttributes(request.conversationId, request.participantId, request.attributes, {
        deadline,
      });
      return { kind: "accepted" };
    } catch (error) {
      if (!(error instanceof GenesysError)) throw error;
      return error.isClientError ? { kind: "refused", error } : { kind: "unknown", error };
    }
  }
}

/** Whether `attributes` shows `value` for `key`; "" also matches a missing key (delete semantics are unknown). */
function shows(attributes: Record<string, string>, key: string, value: string): boolean {
  const own = attributeValue(attributes, key);
  return own === value || (value === "" && own === undefined);
}

/** Keys someone other than this write changed between `baseline` and `current`. */
function changedByOthers(baseline: Record<string, string>, current: Record<string, string>, wanted: Record<string, string>): string[] {
  const keys = new Set([...Object.keys(baseline), ...Object.keys(current)]);
  return [...keys].filter((k) =>
    Object.hasOwn(wanted, k) ? !shows(current, k, wanted[k]!) && current[k] !== baseline[k] : current[k] !== baseline[k],
  );
}

function quote(keys: string[]): string {
  return keys.map((k) => `"${k}"`).join(", ");
}

function unavailable(reason: "CONVERSATION_NOT_FOUND" | "PARTICIPANT_NOT_FOUND", request: AttributeUpdate): UpdateOutcome {
  const message =
    reason === "CONVERSATION_NOT_FOUND"
      ? `Conversation ${request.conversationId} was not found.`
      : `Participant ${request.participantId} was not found in conversation ${request.conversationId}.`;
  return { kind: "unavailable", reason, message };
}
