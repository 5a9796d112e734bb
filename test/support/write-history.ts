/**
 * Ground truth for end-to-end write tests: the states one participant's attribute map went
 * through in the emulator, replayed from its write log (`GET /emulator/log`).
 *
 * The emulator (src/emulator/writes.ts) applies a participant's writes as per-key upserts in
 * acceptance order (a write's due time is never earlier than the previous one's to the same
 * participant), so the visible states are the initial map, then each applied (not lost,
 * `visibleAt` set) entry in `seq` order, each from its `visibleAt` until the next one's.
 */
import type { WriteLogEntry } from "../../src/emulator/writes.js";

/** One state of a participant's map in Genesys (the emulator). */
export interface VisibleState {
  /** Position in the history: 0 is the initial map. */
  index: number;
  /** The whole map in this state. */
  attributes: Record<string, string>;
  /** Epoch ms (emulator clock) from which readers saw it; -Infinity for the initial map. */
  from: number;
  /** Epoch ms when the next state replaced it; Infinity for the last one. */
  until: number;
  /** The log entry whose application made this state (undefined for the initial map). */
  entry?: WriteLogEntry;
}

/**
 * The states of one participant, oldest first.
 * @param initial the participant's map before any logged write (as created).
 * @throws Error when the log contradicts the emulator's ordering (an applied entry visible before an earlier one).
 */
export function participantHistory(
  log: readonly WriteLogEntry[],
  conversationId: string,
  participantId: string,
  initial: Record<string, string>,
): VisibleState[] {
  const states: VisibleState[] = [{ index: 0, attributes: { ...initial }, from: Number.NEGATIVE_INFINITY, until: Number.POSITIVE_INFINITY }];
  const applied = log
    .filter((e) => e.conversationId === conversationId && e.participantId === participantId && !e.lost && e.visibleAt !== null)
    .sort((a, b) => a.seq - b.seq);
  for (const entry of applied) {
    const previous = states[states.length - 1]!;
    const from = Date.parse(entry.visibleAt!);
    if (from < previous.from) throw new Error(`write log: seq ${entry.seq} visible at ${entry.visibleAt}, before the previous write to the participant`);
    previous.until = from;
    states.push({ index: states.length, attributes: { ...previous.attributes, ...entry.attributes }, from, until: Number.POSITIVE_INFINITY, entry });
  }
  return states;
}

/** Whether two attribute maps hold the same entries (order ignored). */
export function sameAttributes(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
