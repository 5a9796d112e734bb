/**
 * Chaos run, end to end through the gateway's GraphQL API against the emulator: writes visible
 * 0–2 s after their 202, 5 % of accepted writes lost, 5 % of Platform API requests answered 500
 * (reads included), and an external writer (the official SDK, behind the gateway's back) racing
 * on the same participants, with and without `expectedVersion`.
 *
 * Every answer is checked against the emulator's write log, replayed into the states each
 * participant's map went through (support/write-history.ts):
 * - 0 false confirmations: every `AttributesUpdated` answers a map Genesys really showed, between
 *   the request and the answer, holding every written value;
 * - with `expectedVersion`, `AttributesUpdated` only when no other write landed between the state
 *   of that version and this write (nor between this write and the state answered);
 * - `VersionConflict` with `writeApplied: true`: this write really is in Genesys, and each of its
 *   `conflictingKeys` really was changed by another write after the version's state;
 * - `VersionConflict` with no PATCH sent: nothing of this write is in the log;
 *   `UpdateNotConfirmed` with `writeAccepted: true`: the write is in the log.
 * The topics are held by subscribers set up before the faults, so confirmations come from
 * notifications (the README's promises for `expectedVersion` assume live notifications).
 * The figures are logged as `[figure]` lines. Chains of sequential writes per participant run in
 * parallel; the run waits on answers only (no sleeps), and the emulator clock is advanced at the
 * end to make still-pending writes visible before the log is read.
 */
import seedrandom from "seedrandom";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attributesVersion } from "../../src/attributes/version.js";
import type { WriteLogEntry } from "../../src/emulator/writes.js";
import {
  AttributesChangedDocument,
  FreshParticipantDocument,
  UpdateAttributesDocument,
  type UpdateAttributesMutation,
} from "../generated/graphql.js";
import { readLog } from "../support/emulator-http.js";
import { control, createCall, gqlData, setFaults, startStack, subscribe, wsClient, type LiveSubscription, type Stack, type TestCall } from "../support/stack.js";
import { participantHistory, sameAttributes, type VisibleState } from "../support/write-history.js";

const QUEUE = "a0000000-0000-4000-8000-0000000000f1";
/**
 * Participants written in parallel, and sequential mutations per participant (312 in all, about
 * 30 s on a loaded 2-core machine). `npm run soak:chaos` runs `CHAOS_SCALE`=10 times as many.
 */
const SCALE = Math.max(1, Number(process.env.CHAOS_SCALE ?? 1) || 1);
const PARTICIPANTS = 24;
const MUTATIONS_PER_PARTICIPANT = 13 * SCALE;
/** Share of mutations raced by an external write sent at the same moment. */
const RACE_SHARE = 0.4;
const INITIAL = { "crm.status": "initial", "ext.note": "initial" };

type Result = UpdateAttributesMutation["updateAttributes"];

interface Mutation {
  participant: number;
  /** The unique value this mutation writes to `crm.status`: identifies its log entries. */
  value: string;
  attributes: Record<string, string>;
  expectedVersion?: string;
  /** Epoch ms, client side, just before the request and just after the answer. */
  sentAt: number;
  answeredAt: number;
  result: Result;
}

let stack: Stack;
let calls: TestCall[];
let subscriptions: LiveSubscription<unknown>[];
let client: ReturnType<typeof wsClient>;

beforeAll(async () => {
  stack = await startStack();
  calls = await Promise.all(Array.from({ length: PARTICIPANTS }, () => createCall(stack.emulator.url, QUEUE, INITIAL)));
  // Subscribers hold every conversation's topic from before the faults start.
  client = wsClient(stack.gateway.wsUrl);
  subscriptions = calls.map((c) => subscribe(client, AttributesChangedDocument, { conversationId: c.conversationId, includeSnapshot: true }) as LiveSubscription<unknown>);
  for (const s of subscriptions) expect((await s.next(15_000)).errors).toBeUndefined();
}, 60_000);

afterAll(async () => {
  for (const s of subscriptions ?? []) s.stop();
  await client?.dispose();
  await stack?.close();
});

/** Writes that are not this mutation's: the external writer's (`x…`) or another mutation's (`g…`) landing late. */
function isOurs(entry: WriteLogEntry, m: Mutation): boolean {
  return entry.attributes["crm.status"] === m.value;
}

async function currentVersion(call: TestCall): Promise<string | undefined> {
  try {
    const data = await gqlData(stack.gateway.url, FreshParticipantDocument, { conversationId: call.conversationId, participantId: call.customerId, fresh: true });
    return data.participant?.version;
  } catch {
    return undefined; // a 500 that outlived its retries: write without a version this time
  }
}

async function runChain(p: number, random: () => number, external: Promise<unknown>[]): Promise<Mutation[]> {
  const call = calls[p]!;
  const done: Mutation[] = [];
  let version: string | undefined = attributesVersion(INITIAL);
  for (let i = 0; i < MUTATIONS_PER_PARTICIPANT; i++) {
    if (random() < RACE_SHARE) {
      // The other writer: same participant, now, on a key this write sets or one it does not.
      const key = random() < 0.5 ? "crm.status" : "ext.note";
      external.push(
        stack.sdk.conversations
          .patchConversationParticipantAttributes(call.conversationId, call.customerId, { attributes: { [key]: `x${p}-${i}` } })
          .catch(() => undefined), // a 500: nothing was written (the log says so)
      );
    }
    const value = `g${p}-${i}`;
    const attributes: Record<string, string> = random() < 0.3 ? { "crm.status": value, "crm.step": String(i) } : { "crm.status": value };
    const withVersion = random() < 0.5;
    if (withVersion && version === undefined) version = await currentVersion(call);
    const expectedVersion = withVersion ? version : undefined;
    const sentAt = Date.now();
    const data = await gqlData(stack.gateway.url, UpdateAttributesDocument, {
      input: { conversationId: call.conversationId, participantId: call.customerId, attributes, expectedVersion },
    });
    const result = data.updateAttributes;
    done.push({ participant: p, value, attributes, expectedVersion, sentAt, answeredAt: Date.now(), result });
    version =
      result.__typename === "AttributesUpdated" || result.__typename === "VersionConflict"
        ? result.participant.version
        : result.__typename === "UpdateNotConfirmed"
          ? (result.lastSeen?.version ?? undefined)
          : undefined;
  }
  return done;
}

/** The state whose version is `version`, the last one before index `before`. */
function stateOfVersion(history: VisibleState[], version: string, before = history.length): VisibleState | undefined {
  for (let i = Math.min(before, history.length) - 1; i >= 0; i--) if (attributesVersion(history[i]!.attributes) === version) return history[i];
  return undefined;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe("chaos: visibility 0–2 s, lost writes, 5 % 500s, an external writer racing", () => {
  it("never confirms falsely, and every conflict says what really happened", { timeout: 120_000 * SCALE }, async () => {
    await setFaults(stack.emulator.url, {
      visibilityDelayMs: { min: 0, max: 2_000 },
      lostWriteRate: 0.05,
      errorRate: 0.05,
      errorStatuses: [500],
    });
    const started = Date.now();
    const external: Promise<unknown>[] = [];
    // One seeded stream per chain: its choices do not depend on how the chains interleave.
    const mutations = (await Promise.all(calls.map((_, p) => runChain(p, seedrandom(`chaos-${p}`), external)))).flat();
    await Promise.all(external);
    const runMs = Date.now() - started;
    await setFaults(stack.emulator.url);
    // Make every accepted, not lost, still pending write visible (emulator clock, not a sleep).
    await control(stack.emulator.url, "POST", "/clock", { advanceMs: 5_000 });
    const log = await readLog(stack.emulator.url);
    const histories = calls.map((c) => participantHistory(log, c.conversationId, c.customerId, INITIAL));

    const falseConfirmations: string[] = [];
    const updatedDespiteOtherWrite: string[] = [];
    const wrongConflicts: string[] = [];
    const otherViolations: string[] = [];
    let conflictKeysByExternal = 0;
    let conflictKeysByOwnLateWrite = 0;
    const confirmedAfter: number[] = [];
    for (const m of mutations) {
      const history = histories[m.participant]!;
      const r = m.result;
      const where = `mutation ${m.value}${m.expectedVersion ? " (expectedVersion)" : ""}`;
      const oursApplied = history.filter((s) => s.entry && isOurs(s.entry, m));
      const oursLogged = log.filter((e) => e.conversationId === calls[m.participant]!.conversationId && isOurs(e, m));
      if (r.__typename === "AttributesUpdated") {
        confirmedAfter.push(r.confirmedAfterMs);
        // A state Genesys really showed between request and answer, with every written value.
        const shown = history.find((s) => sameAttributes(s.attributes, r.participant.attributes) && s.from <= m.answeredAt && s.until >= m.sentAt);
        const showsWrite = Object.entries(m.attributes).every(([k, v]) => r.participant.attributes[k] === v);
        if (!shown || !showsWrite) {
          falseConfirmations.push(`${where}: answered ${JSON.stringify(r.participant.attributes)}, not a state of Genesys between request and answer`);
          continue;
        }
        if (m.expectedVersion !== undefined && r.attempts > 0) {
          const first = oursApplied[0];
          const before = first ? history[first.index - 1] : undefined;
          const between = first ? history.slice(first.index + 1, shown.index + 1).filter((s) => !isOurs(s.entry!, m)) : [];
          if (!first || !before || attributesVersion(before.attributes) !== m.expectedVersion || between.length > 0) {
            const base = stateOfVersion(history, m.expectedVersion);
            const span = history
              .slice(base?.index ?? 0, shown.index + 1)
              .map((s) => `#${s.index} ${JSON.stringify(s.entry?.attributes ?? {})} accepted ${s.entry?.acceptedAt.slice(17) ?? "-"} visible ${s.entry?.visibleAt?.slice(17) ?? "-"}`);
            updatedDespiteOtherWrite.push(
              `${where} sent ${new Date(m.sentAt).toISOString().slice(17)} answered ${new Date(m.answeredAt).toISOString().slice(17)} attempts ${r.attempts}: another write landed between the version's state and the confirmation; states: ${span.join("; ")}`,
            );
          }
        }
      } else if (r.__typename === "VersionConflict") {
        if (m.expectedVersion === undefined) otherViolations.push(`${where}: VersionConflict without expectedVersion`);
        if (r.writeApplied) {
          const applied = oursApplied.find((s) => s.from <= m.answeredAt);
          const base = stateOfVersion(history, m.expectedVersion ?? "", applied?.index);
          if (!applied || !base) {
            wrongConflicts.push(`${where}: writeApplied but this write is not in Genesys (or no state had the expected version)`);
            continue;
          }
          if (r.conflictingKeys.length === 0) wrongConflicts.push(`${where}: writeApplied without conflictingKeys`);
          for (const key of r.conflictingKeys) {
            const changer = history.find((s) => s.index > base.index && s.from <= m.answeredAt && !isOurs(s.entry!, m) && Object.hasOwn(s.entry!.attributes, key));
            if (!changer) wrongConflicts.push(`${where}: conflicting key ${key} was not changed by another write after the version's state`);
            else if (changer.entry!.attributes[key]!.startsWith("x")) conflictKeysByExternal += 1;
            else conflictKeysByOwnLateWrite += 1;
          }
        } else if (r.conflictingKeys.length === 0 && oursLogged.length > 0) {
          wrongConflicts.push(`${where}: stale-version conflict ("nothing was written") but the write is in the log`);
        }
      } else if (r.__typename === "UpdateNotConfirmed") {
        if (r.writeAccepted && oursLogged.length === 0) otherViolations.push(`${where}: writeAccepted but no PATCH of it in the log`);
      } else {
        otherViolations.push(`${where}: ${r.__typename} ${r.message}`);
      }
    }

    const count = (f: (m: Mutation) => boolean) => mutations.filter(f).length;
    const kind = (m: Mutation) => m.result.__typename;
    const withVersion = (m: Mutation) => m.expectedVersion !== undefined;
    const applied = (m: Mutation) => m.result.__typename === "VersionConflict" && m.result.writeApplied;
    const gatewayEntries = log.filter((e) => e.attributes["crm.status"]?.startsWith("g"));
    const externalEntries = log.filter((e) => Object.values(e.attributes).some((v) => v.startsWith("x")));
    console.log(
      `[figure] chaos run: ${mutations.length} mutations (${count(withVersion)} with expectedVersion) on ${PARTICIPANTS} participants in ${(runMs / 1000).toFixed(1)} s; ` +
        `${externalEntries.length} external writes accepted, ${log.filter((e) => e.lost).length} writes lost`,
    );
    console.log(
      `[figure] chaos answers: AttributesUpdated ${count((m) => kind(m) === "AttributesUpdated")} (${count((m) => kind(m) === "AttributesUpdated" && withVersion(m))} with expectedVersion), ` +
        `VersionConflict ${count((m) => kind(m) === "VersionConflict")} (writeApplied ${count(applied)}), ` +
        `UpdateNotConfirmed ${count((m) => kind(m) === "UpdateNotConfirmed")} (writeAccepted ${count((m) => m.result.__typename === "UpdateNotConfirmed" && m.result.writeAccepted)}), ` +
        `PATCHes ${gatewayEntries.length}, confirmedAfterMs p50 ${percentile(confirmedAfter, 50)} p95 ${percentile(confirmedAfter, 95)}`,
    );
    console.log(
      `[figure] chaos checks: false confirmations ${falseConfirmations.length}, AttributesUpdated despite another write ${updatedDespiteOtherWrite.length}, ` +
        `wrong conflicts ${wrongConflicts.length}; conflicting keys changed by the external writer ${conflictKeysByExternal}, by an earlier write of ours landing late ${conflictKeysByOwnLateWrite}`,
    );

    expect(falseConfirmations).toEqual([]);
    expect(updatedDespiteOtherWrite).toEqual([]);
    expect(wrongConflicts).toEqual([]);
    expect(otherViolations).toEqual([]);
    // The run exercised what it claims to: confirmations, both kinds of conflict, lost writes.
    expect(count((m) => kind(m) === "AttributesUpdated" && withVersion(m))).toBeGreaterThan(10);
    expect(count(applied)).toBeGreaterThan(0);
    expect(count((m) => m.result.__typename === "VersionConflict" && !m.result.writeApplied)).toBeGreaterThan(0);
    expect(log.some((e) => e.lost)).toBe(true);
  });
});
