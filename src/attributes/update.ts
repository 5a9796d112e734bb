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
import { BudgetExhaustedError } from "../genesys/budget.js";
import { GenesysError } from "../genesys/errors.js";
import { toConversationSnapshot, type ParticipantSnapshot } from "../genesys/participants.js";
import { attributeValue } from "./attribute-map.js";
import { KeyedLock } from "./keyed-lock.js";
import { attributesVersion } from "./version.js";
import { IN_PROCESS_WRITE_FENCE, WriteFenceUnavailableError, type HeldWriteFence, type WriteFence } from "./write-fence.js";

/** What the updater needs from Genesys (implemented by `GenesysClient`). */
export interface AttributeBackend {
  /**
   * `GET /api/v2/conversations/{id}`; null on 404. `priority` is the budget class of the call
   * (genesys/budget.ts: `write` for the read that starts a write, `confirm` for verify reads).
   */
  getConversation(
    conversationId: string,
    opts: { deadline?: number; priority?: "write" | "confirm" },
  ): Promise<Models.Conversation | null>;
  patchParticipantAttributes(
    conversationId: string,
    participantId: string,
    attributes: Record<string, string>,
    /** `priority` `confirm`: the write is under way (its first read was spent). */
    opts: { deadline?: number; priority?: "confirm" },
  ): Promise<void>;
}

/**
 * A participant's states as the change log learns them (notifications, and every read that
 * reaches the log), for the duration of one write. Implemented by the change feed.
 */
export interface ParticipantWatch {
  /**
   * True while the notifications covering the participant are live: the channel holding its
   * topic is connected and no gap is open. While false, the verify loop polls on the fast schedule.
   */
  live(): boolean;
  /**
   * The next state appended for the participant after the previous `next()` (states queue up
   * between calls); resolves undefined once the watch is closed.
   */
  next(): Promise<WatchedState | undefined>;
  /**
   * Takes the states queued so far (those learned up to the write's own version check), oldest
   * first, so that the next `next()` brings only newer ones.
   */
  drain(): WatchedState[];
  /** Ends the watch (the topic is released, possibly after a linger). */
  close(): void;
}

/** One change-log entry of the watched participant. */
export interface WatchedState {
  /** The participant with its whole map after the change. */
  participant: ParticipantSnapshot;
  /** The keys this entry changed (the log's own diff: what the notification or read brought). */
  changedKeys: readonly string[];
  /**
   * True for a notification the log did not append (its order against other changes is unclear
   * and a confirming read is under way): `changedKeys` hold values the log never held, so some
   * writer wrote them, but not necessarily before or after anything else. The verify loop never
   * confirms from it; it only takes its keys as another writer's change (with `expectedVersion`,
   * a conflict). `participant` carries only id, conversationId and the map.
   */
  unconfirmed?: boolean;
  /** True when the entry came from a REST read (any reader's, the verify loop's own included), not a notification. */
  fromRead?: boolean;
}

/** Where the verify loop gets participant states from the change log. */
export interface WriteConfirmations {
  /**
   * Watches one participant; resolves once its Genesys topic is subscribed, or undefined when
   * notifications cannot serve it (topic limit, channel failure): the loop then only polls.
   * Never rejects.
   */
  watch(conversationId: string, participantId: string): Promise<ParticipantWatch | undefined>;
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
      /** ms from the first PATCH to the state (event or read) that showed every written key (0 when attempts is 0). */
      confirmedAfterMs: number;
      /** Where the confirming state came from: the change log (a notification) or a verify read. */
      confirmedBy: "change-log" | "read" | "none";
    }
  | {
      kind: "conflict";
      message: string;
      expectedVersion: string;
      participant: ParticipantSnapshot;
      /**
       * True when Genesys showed every key of this write (it was applied, and the other writer's
       * change is there too or overwrote it later); false when nothing was written (stale
       * version) or the write was not seen.
       */
      writeApplied: boolean;
      /** Keys another writer changed between the version check and the answer (empty for a stale version: the version is a hash). */
      conflictingKeys: string[];
      /** PATCH requests sent. */
      attempts: number;
    }
  | { kind: "unavailable"; message: string; reason: UnavailableReason }
  | {
      kind: "not-confirmed";
      message: string;
      attempts: number;
      /** True when Genesys answered 202 to at least one PATCH of this update. */
      accepted: boolean;
      participant?: ParticipantSnapshot;
    };

/** Timing of the verify loop. All in ms. */
export interface VerifyTiming {
  /** Total time allowed from the request's start to confirmation. Default 5 000. */
  deadlineMs: number;
  /** First wait before re-reading after a PATCH when notifications are down. Default 40. */
  firstPollMs: number;
  /** Growth factor of the wait between reads. Default 1.5. */
  pollGrowth: number;
  /** Longest wait between reads. Default 1 000. */
  maxPollMs: number;
  /**
   * Wait between fallback reads while the change log's notifications are live: the event
   * normally confirms the write long before; the read only covers a dropped event. Default 1 000.
   */
  livePollMs: number;
  /** A write still invisible this long after it was sent is sent again. Default 1 500. */
  resendAfterMs: number;
  /**
   * With `expectedVersion`, when a read (not a notification: the loop's fallback read, or another
   * reader's that reached the change log) shows the write while the participant is watched, how long the loop keeps listening for notifications still in flight
   * before answering: one of them may show another writer's state between the version check and
   * that read (e.g. a change made visible in the same millisecond as this write, then
   * overwritten by it). Default 250.
   */
  catchUpMs: number;
}

/** Defaults of {@link VerifyTiming}. */
export const DEFAULT_VERIFY_TIMING: VerifyTiming = {
  deadlineMs: 5_000,
  firstPollMs: 40,
  pollGrowth: 1.5,
  maxPollMs: 1_000,
  livePollMs: 1_000,
  resendAfterMs: 1_500,
  catchUpMs: 250,
};

/** Options of {@link AttributeUpdater}. */
export interface AttributeUpdaterOptions {
  backend: AttributeBackend;
  timing?: Partial<VerifyTiming>;
  /** Clock in epoch ms. */
  now?: () => number;
  /** Waits `ms` milliseconds. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Told of every conversation read: called just before the GET, it may return a callback that
   * receives the result (null on 404). The change feed uses it so the verify loop's reads reach
   * the change log like any other read.
   */
  observeRead?: (conversationId: string) => ((conversation: Models.Conversation | null) => void) | undefined;
  /** Confirmation from the change log; without it the loop only polls. */
  confirmations?: WriteConfirmations;
  /** Told every outcome (metrics); must not throw. */
  onOutcome?: (outcome: UpdateOutcome) => void;
  /**
   * The participant's write fence (write-fence.ts): taken inside the in-process lock before the
   * version read, checked right before each PATCH and re-send. Default {@link IN_PROCESS_WRITE_FENCE}
   * (one process: always held).
   */
  fence?: WriteFence;
  /** Told of every PATCH about to be sent, after its fence check passed (logs); must not throw. */
  onSend?: (sent: SentWrite) => void;
}

/** A PATCH about to be sent (see {@link AttributeUpdaterOptions.onSend}). */
export interface SentWrite {
  conversationId: string;
  participantId: string;
  /** The keys written (not the values). */
  keys: string[];
  /** The fence it is sent under (0 in one process). */
  fence: number;
  /** 1 for the first PATCH of the update, 2 for the first re-send, … */
  attempt: number;
}

type Read =
  | { kind: "ok"; participant: ParticipantSnapshot }
  | { kind: "missing"; reason: "CONVERSATION_NOT_FOUND" | "PARTICIPANT_NOT_FOUND" };

/** What one wait of the loop produced. */
type Wake = { kind: "state"; state: WatchedState | undefined } | { kind: "poll" };

/**
 * Applies attribute updates with optimistic concurrency and verification.
 *
 * Per participant, updates run one at a time in arrival order; the deadline counts from the
 * request's arrival, time spent queued behind earlier writes included. Each one:
 * 1. watches the participant on the change log (subscribing its topic if nobody else does),
 *    then reads the conversation fresh (`GET /api/v2/conversations/{id}`);
 * 2. unknown conversation/participant → `unavailable`; `expectedVersion` ≠ current → `conflict`
 *    (`writeApplied` false), also when the change log learned, while that read was in flight, a
 *    change the read does not show (the read may predate it: nothing is written); every value already in place → `updated` with 0 attempts;
 * 3. PATCHes the keys, then waits for a state showing every written key: states come from the
 *    change log as Genesys notifies them (no Genesys call), and from fallback reads — every
 *    `livePollMs` while notifications are live, on the fast growing schedule while they are
 *    down. A write invisible for `resendAfterMs` is re-sent — with `expectedVersion`, only while
 *    no other writer changed the participant;
 * 4. with `expectedVersion`, any state showing another writer's change (a key this write does
 *    not set changed, or a written key showing a third value) between the version check and the
 *    answer — also a notification the change log held back as unordered (`unconfirmed`), which
 *    proves the write happened though not its order — makes the answer `conflict` naming those keys
 *    (a read — the loop's fallback read, or another reader's that reached the log — showing the
 *    write while the participant is watched is answered only after `catchUpMs` more of listening, for
 *    notifications the read overtook), with `writeApplied` saying whether
 *    Genesys showed this write; without it, a written key overwritten → `not-confirmed`;
 * 5. past the deadline → `not-confirmed`, saying whether Genesys accepted the write. A Genesys
 *    4xx on the first PATCH → `unavailable` (`REJECTED_BY_GENESYS`, Genesys's message); a 4xx
 *    after a PATCH was accepted → `not-confirmed` (the accepted write may still land).
 * 6. the participant's write fence (`fence`) is taken between the watch and the read of step 1 and checked right before
 *    each PATCH: not taken in time, or lost before the first PATCH → WriteFenceUnavailableError
 *    (nothing sent); lost before a re-send, or by the time the write is seen → `not-confirmed` (never `updated`:
 *    the fence is checked once more right before answering `updated` after a PATCH).
 * Clearing a key with "" is confirmed whether Genesys then shows "" or drops the key (unknown).
 * A failed verify read (429, 5xx, network, a call outliving the deadline) does not end the
 * loop: it keeps waiting and reading until the deadline. Never throws for Genesys failures.
 * @throws BudgetExhaustedError (from `update`) when the request budget cannot serve the first
 *   read or the first PATCH in time: nothing was sent.
 * @throws WriteFenceUnavailableError (from `update`) when the write fence cannot be taken before
 *   the deadline, its store fails, or it is lost before the first PATCH: nothing was sent.
 */
export class AttributeUpdater {
  private readonly lock = new KeyedLock();
  private readonly timing: VerifyTiming;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly fence: WriteFence;

  /** @param options backend, timing, clock and the optional change-log, fence and metrics hooks ({@link AttributeUpdaterOptions}). */
  constructor(private readonly options: AttributeUpdaterOptions) {
    this.fence = options.fence ?? IN_PROCESS_WRITE_FENCE;
    this.timing = { ...DEFAULT_VERIFY_TIMING, ...options.timing };
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Runs one update; see the class comment for the outcomes. */
  update(request: AttributeUpdate): Promise<UpdateOutcome> {
    const deadline = this.now() + this.timing.deadlineMs;
    const outcome = this.lock.run(`${request.conversationId}\u0000${request.participantId}`, async () => {
      // The watch first: it only observes (its topic may take a moment to subscribe cluster-wide),
      // so it is not held under the write fence other instances may be waiting for.
      const watch = await this.watchWithin(request, deadline);
      try {
        const fence = await this.fence.acquire(request, deadline);
        try {
          return await this.apply(request, deadline, watch, fence);
        } finally {
          // Awaited: the next update queued here takes it at once (a lease is not re-entrant).
          await fence.release();
        }
      } finally {
        watch?.close();
      }
    });
    return this.options.onOutcome ? outcome.then((o) => (this.options.onOutcome!(o), o)) : outcome;
  }

  /**
   * The change-log watch of the participant, if it is ready within half the time left (its topic
   * may need a subscription call that waits for budget); otherwise the loop polls, and a watch
   * that becomes ready later is closed at once.
   */
  private async watchWithin(request: AttributeUpdate, deadline: number): Promise<ParticipantWatch | undefined> {
    const pending = this.options.confirmations?.watch(request.conversationId, request.participantId);
    if (!pending) return undefined;
    let late = false;
    const timeout = this.sleep(Math.max(0, (deadline - this.now()) / 2)).then(() => {
      late = true;
      return undefined;
    });
    const watch = await Promise.race([pending, timeout]);
    if (late) void pending.then((w) => w?.close());
    return watch;
  }

  private async apply(request: AttributeUpdate, deadline: number, watch: ParticipantWatch | undefined, fence: HeldWriteFence): Promise<UpdateOutcome> {
    const wanted = request.attributes;
    const keys = Object.keys(wanted);
    let attempts = 0;
    let accepted = false;
    let lastError: GenesysError | undefined;
    let lastSeen: ParticipantSnapshot | undefined;

    try {
      const first = await this.read(request, deadline, "write");
      // States the log learned up to the version check are the baseline, not news...
      const learned = watch?.drain() ?? [];
      if (first.kind === "missing") return unavailable(first.reason, request);
      lastSeen = first.participant;
      const conflict = this.versionConflict(request, first.participant) ?? this.racedVersionCheck(request, first.participant, learned);
      if (conflict) return conflict;
      if (keys.every((k) => shows(first.participant.attributes, k, wanted[k]!))) {
        return { kind: "updated", participant: first.participant, attempts: 0, confirmedAfterMs: 0, confirmedBy: "none" };
      }
      // The map before our write: a written key showing neither this nor our value, or any
      // other key changing, means someone else wrote.
      const baseline = first.participant.attributes;
      /** Written keys Genesys has shown with our value at least once. */
      const landed = new Set<string>();
      /** Keys another writer changed since the version check (with expectedVersion: a conflict). */
      const others = new Set<string>();

      let firstSentAt = 0;
      let lastSentAt = 0;
      let wait = this.timing.firstPollMs;
      let poll: Promise<Wake> | undefined;
      let nextState: Promise<Wake> | undefined;
      for (;;) {
        const due = attempts === 0 || this.now() - lastSentAt >= this.timing.resendAfterMs;
        if (due && this.now() < deadline) {
          if (attempts > 0 && request.expectedVersion !== undefined && lastSeen) {
            // Re-send only onto the state the caller based the write on.
            const changed = changedByOthers(baseline, lastSeen.attributes, wanted);
            if (changed.length > 0 || others.size > 0) {
              const conflicting = [...new Set([...others, ...changed])].sort();
              return {
                kind: "conflict",
                expectedVersion: request.expectedVersion,
                participant: lastSeen,
                writeApplied: false,
                conflictingKeys: conflicting,
                attempts,
                message: `Another writer changed ${quote(conflicting)} while this update was being applied; it was not re-sent, and the write Genesys already accepted was not seen (it may still become visible).`,
              };
            }
          }
          // Right before the PATCH: still ours? (another instance may hold it now.)
          if (!(await fence.check())) {
            if (attempts === 0) {
              throw new WriteFenceUnavailableError("LOST", "This update's write lease was lost (it expired or Redis lost it) before anything was sent; nothing was written. Retry.");
            }
            return {
              kind: "not-confirmed",
              attempts,
              accepted,
              participant: lastSeen,
              message: `This update's write lease was lost (it expired or Redis lost it) before a re-send; the write ${accepted ? "Genesys accepted" : "sent"} earlier was not seen and may still become visible.`,
            };
          }
          attempts += 1;
          lastSentAt = this.now();
          if (attempts === 1) firstSentAt = lastSentAt;
          this.options.onSend?.({ conversationId: request.conversationId, participantId: request.participantId, keys, fence: fence.fence, attempt: attempts });
          const sent = await this.write(request, deadline);
          if (sent.kind === "no-budget") {
            // Nothing was sent: refuse the whole update if nothing ever was, else keep confirming.
            if (!accepted && attempts === 1) throw sent.error;
            attempts -= 1;
          } else if (sent.kind === "accepted") accepted = true;
          else if (sent.kind === "refused") {
            if (!accepted) return { kind: "unavailable", reason: "REJECTED_BY_GENESYS", message: sent.error.message };
            return {
              kind: "not-confirmed",
              attempts,
              accepted,
              participant: lastSeen,
              message: `Genesys accepted this write earlier but refused a re-send (${sent.error.status} ${sent.error.code}: ${sent.error.message}); the accepted write was not seen and may still become visible.`,
            };
          } else lastError = sent.error;
          wait = this.timing.firstPollMs;
          poll = undefined;
        }

        const remaining = deadline - this.now();
        if (remaining <= 0) break;
        const live = watch?.live() === true;
        poll ??= this.sleep(Math.min(live ? this.timing.livePollMs : wait, remaining)).then((): Wake => ({ kind: "poll" }));
        if (watch) nextState ??= watch.next().then((state): Wake => ({ kind: "state", state }));
        const woke = await (nextState ? Promise.race([nextState, poll]) : poll);

        let seen: ParticipantSnapshot;
        let confirmedBy: "change-log" | "read";
        /** What was seen came from a REST read (this loop's, or another reader's that reached the log): it may be ahead of notifications in flight. */
        let fromRead: boolean;
        /** Keys that changed in what was just seen: an entry's own diff, or for a read every key differing from the baseline. */
        let changed: string[];
        if (woke.kind === "state") {
          nextState = undefined;
          if (!woke.state) {
            watch = undefined; // the watch ended: polling only from here
            continue;
          }
          if (woke.state.unconfirmed) {
            // Someone wrote these values; when is unclear. A written key showing a value that is
            // not ours is another writer's too. Never a confirmation: the confirming read decides.
            const shown = woke.state.participant.attributes;
            for (const k of woke.state.changedKeys) if (!Object.hasOwn(wanted, k) || !shows(shown, k, wanted[k]!)) others.add(k);
            continue;
          }
          seen = woke.state.participant;
          confirmedBy = "change-log";
          fromRead = woke.state.fromRead === true;
          changed = woke.state.changedKeys.filter((k) => !Object.hasOwn(wanted, k) || !shows(seen.attributes, k, wanted[k]!));
        } else {
          poll = undefined;
          if (!live) wait = Math.min(this.timing.maxPollMs, wait * this.timing.pollGrowth);
          let read: Read;
          try {
            read = await this.read(request, deadline, "confirm");
          } catch (error) {
            if (error instanceof GenesysError && (error.isTransient || error.status >= 500)) {
              lastError = error;
              continue; // one failed read: keep waiting and reading until the deadline
            }
            if (error instanceof BudgetExhaustedError) continue; // no budget for this read: the change log may still confirm
            throw error;
          }
          if (read.kind === "missing") return unavailable(read.reason, request);
          seen = read.participant;
          confirmedBy = "read";
          fromRead = true;
          changed = changedByOthers(baseline, seen.attributes, wanted);
        }
        lastSeen = seen;
        const shown = seen.attributes;
        for (const k of keys) if (shows(shown, k, wanted[k]!)) landed.add(k);
        for (const k of changed) if (!Object.hasOwn(wanted, k)) others.add(k);
        if (keys.every((k) => shows(shown, k, wanted[k]!))) {
          // Not only while live: a held-back notification makes the conversation "suspect" (not
          // live) exactly when the order of the states is in doubt.
          if (fromRead && request.expectedVersion !== undefined && watch) {
            // The read may be ahead of notifications in flight: hear them out before answering.
            const until = Math.min(deadline, this.now() + this.timing.catchUpMs);
            for (let left = until - this.now(); left > 0; left = until - this.now()) {
              nextState ??= watch.next().then((state): Wake => ({ kind: "state", state }));
              const heard = await Promise.race([nextState, this.sleep(left).then((): Wake => ({ kind: "poll" }))]);
              if (heard.kind === "poll") break;
              nextState = undefined;
              if (!heard.state) {
                watch = undefined;
                break;
              }
              if (heard.state.fromRead) continue; // this read's own entry, or another reader's
              const heardMap = heard.state.participant.attributes;
              for (const k of heard.state.changedKeys) if (!Object.hasOwn(wanted, k) || !shows(heardMap, k, wanted[k]!)) others.add(k);
              if (others.size > 0) break; // the answer is a conflict: no need to hear more
            }
          }
          if (request.expectedVersion !== undefined && others.size > 0) {
            const conflicting = [...others].sort();
            return {
              kind: "conflict",
              expectedVersion: request.expectedVersion,
              participant: seen,
              writeApplied: true,
              conflictingKeys: conflicting,
              attempts,
              message: `This write was applied, but another writer changed ${quote(conflicting)} after the version check: the participant is not the version this write was based on plus this write.`,
            };
          }
          // Still ours at the answer? A lease lost since the PATCH (expired, Redis gone or restarted)
          // means another instance may be writing this participant now: never "updated" then.
          if (!(await fence.check())) {
            return {
              kind: "not-confirmed",
              attempts,
              accepted,
              participant: seen,
              message: "Genesys shows this write, but its write lease was lost (it expired or Redis lost it) before it could be confirmed: another gateway instance may have written this participant since. Read it again.",
            };
          }
          return { kind: "updated", participant: seen, attempts, confirmedAfterMs: this.now() - firstSentAt, confirmedBy };
        }
        // A written key showing a third value, or going away from our value once shown: another writer.
        const overwritten = keys.filter((k) => !shows(shown, k, wanted[k]!) && (changed.includes(k) || landed.has(k)));
        if (overwritten.length > 0) {
          const applied = keys.every((k) => landed.has(k));
          if (request.expectedVersion !== undefined) {
            const conflicting = [...new Set([...others, ...overwritten])].sort();
            return {
              kind: "conflict",
              expectedVersion: request.expectedVersion,
              participant: seen,
              writeApplied: applied,
              conflictingKeys: conflicting,
              attempts,
              message: applied
                ? `This write was applied, then another writer changed ${quote(conflicting)}; the current values are not the ones written.`
                : `Another writer changed ${quote(conflicting)} while this update was being applied; this write was not seen in full (it may still become visible).`,
            };
          }
          return {
            kind: "not-confirmed",
            attempts,
            accepted,
            participant: seen,
            message: applied
              ? `This write was applied, then another writer changed ${quote(overwritten)}; the current values are not the ones written.`
              : `Another writer changed ${quote(overwritten)} before this update became visible; the current values are not the ones written.`,
          };
        }
      }
      const budget = `${this.timing.deadlineMs} ms`;
      if (request.expectedVersion !== undefined && others.size > 0) {
        const conflicting = [...others].sort();
        return {
          kind: "conflict",
          expectedVersion: request.expectedVersion,
          participant: lastSeen!,
          writeApplied: false,
          conflictingKeys: conflicting,
          attempts,
          message: `Another writer changed ${quote(conflicting)} after the version check, and this write was not seen within ${budget}${accepted ? " (Genesys accepted it; it may still become visible)" : ""}.`,
        };
      }
      return {
        kind: "not-confirmed",
        attempts,
        accepted,
        participant: lastSeen,
        message:
          attempts === 0
            ? `The deadline of ${budget} passed before the write could be sent (it waited behind earlier writes to this participant); nothing was sent.`
            : accepted
              ? `Genesys accepted the write (202) but did not show it within ${budget}${lastError ? ` (last error ${lastError.status || lastError.code}: ${lastError.message})` : ""}; it may still become visible.`
              : `Genesys did not accept the write within ${budget}${lastError ? ` (last error ${lastError.status || lastError.code}: ${lastError.message})` : ""}; it may or may not have landed.`,
      };
    } catch (error) {
      if (error instanceof GenesysError) {
        if (error.isClientError && error.status !== 404 && !accepted && attempts === 0) {
          return { kind: "unavailable", reason: "REJECTED_BY_GENESYS", message: error.message };
        }
        return {
          kind: "not-confirmed",
          attempts,
          accepted,
          participant: lastSeen,
          message:
            attempts === 0
              ? `Genesys could not be read before writing (${error.status || error.code}: ${error.message}); nothing was sent.`
              : accepted
                ? `Genesys accepted the write (202) but refused the read that would confirm it (${error.status || error.code}: ${error.message}); it may be visible already.`
                : `Genesys could not be reached to send or confirm the write (${error.status || error.code}: ${error.message}); it may or may not have landed.`,
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
      writeApplied: false,
      conflictingKeys: [],
      attempts: 0,
      message: `The participant's version is ${version}, not the expected ${request.expectedVersion}; nothing was written.`,
    };
  }

  /**
   * ...unless the newest of them is not what the version check read: the log learned a change the
   * read did not show (a notification processed while the read was in flight: the read may
   * predate it), so the version checked may already be stale. With `expectedVersion` nothing is
   * written: `conflict` with the keys the log and the read disagree on. A state the read itself
   * appended (or an equal one) is no news.
   */
  private racedVersionCheck(
    request: AttributeUpdate,
    participant: ParticipantSnapshot,
    learned: readonly WatchedState[],
  ): Extract<UpdateOutcome, { kind: "conflict" }> | undefined {
    if (request.expectedVersion === undefined) return undefined;
    const newest = [...learned].reverse().find((s) => !s.unconfirmed);
    const hinted = learned.filter((s) => s.unconfirmed);
    const read = participant.attributes;
    const disagree = new Set<string>();
    if (newest) {
      const logged = newest.participant.attributes;
      for (const k of new Set([...Object.keys(logged), ...Object.keys(read)])) if (attributeValue(logged, k) !== attributeValue(read, k)) disagree.add(k);
    }
    for (const s of hinted) for (const k of s.changedKeys) if (attributeValue(s.participant.attributes, k) !== attributeValue(read, k)) disagree.add(k);
    if (disagree.size === 0) return undefined;
    const keys = [...disagree].sort();
    return {
      kind: "conflict",
      expectedVersion: request.expectedVersion,
      participant: newest ? { ...participant, attributes: newest.participant.attributes } : participant,
      writeApplied: false,
      conflictingKeys: keys,
      attempts: 0,
      message: `While the version was being checked, Genesys notified a change of ${quote(keys)} that the check's read did not show (another writer, a moment ago); nothing was written. Read the participant again and retry with its current version.`,
    };
  }

  private async read(request: AttributeUpdate, deadline: number, priority: "write" | "confirm"): Promise<Read> {
    const observe = this.options.observeRead?.(request.conversationId);
    const conversation = await this.options.backend.getConversation(request.conversationId, { deadline, priority });
    observe?.(conversation);
    if (!conversation) return { kind: "missing", reason: "CONVERSATION_NOT_FOUND" };
    const participant = toConversationSnapshot(conversation).participants.find((p) => p.id === request.participantId);
    return participant ? { kind: "ok", participant } : { kind: "missing", reason: "PARTICIPANT_NOT_FOUND" };
  }

  /** PATCHes the wanted keys. A 4xx is a refusal; anything else failing may or may not have landed. */
  private async write(
    request: AttributeUpdate,
    deadline: number,
  ): Promise<
    | { kind: "accepted" }
    | { kind: "refused"; error: GenesysError }
    | { kind: "unknown"; error: GenesysError }
    | { kind: "no-budget"; error: BudgetExhaustedError }
  > {
    try {
      await this.options.backend.patchParticipantAttributes(request.conversationId, request.participantId, request.attributes, {
        deadline,
        priority: "confirm",
      });
      return { kind: "accepted" };
    } catch (error) {
      if (error instanceof BudgetExhaustedError) return { kind: "no-budget", error };
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
