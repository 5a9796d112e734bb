/**
 * Write confirmation from the change log, end to end against the emulator: its write log and
 * its per-conversation GET count (`GET /emulator/reads`) are the ground truth for what a
 * confirmed `updateAttributes` cost, and an external writer (the official SDK behind the
 * gateway's back) makes the conflict semantics of `expectedVersion` observable.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ParticipantDocument, UpdateAttributesDocument, type UpdateAttributesMutation } from "../generated/graphql.js";
import { control, createCall, gqlData, setFaults, startStack, upstreamRequests, type Stack, type TestCall } from "../support/stack.js";
import { readLog } from "../support/emulator-http.js";

const QUEUE = "a0000000-0000-4000-8000-0000000000f1";
type Result = UpdateAttributesMutation["updateAttributes"];

let stack: Stack;
let call: TestCall;

beforeAll(async () => {
  stack = await startStack({ verify: { deadlineMs: 3_000 } });
});
afterAll(async () => {
  await stack?.close();
});
// No /reset between tests: it drops the emulator's notification channels, and the gateway's
// reconnect would make notifications "down" (fast polling) at a random moment. Each test has
// its own conversation instead; the write log is filtered by it.
beforeEach(async () => {
  await setFaults(stack.emulator.url);
  call = await createCall(stack.emulator.url, QUEUE, { "crm.caseId": "CASE-1", "customer.tier": "gold" });
});

function update(attributes: Record<string, string>, expectedVersion?: string): Promise<Result> {
  return gqlData(stack.gateway.url, UpdateAttributesDocument, {
    input: { conversationId: call.conversationId, participantId: call.customerId, attributes, expectedVersion },
  }).then((d) => d.updateAttributes);
}

async function writes() {
  return (await readLog(stack.emulator.url)).filter((e) => e.conversationId === call.conversationId);
}

async function reads(conversationId: string): Promise<number> {
  const body = await control<{ conversations: Record<string, number> }>(stack.emulator.url, "GET", "/reads");
  return body.conversations[conversationId] ?? 0;
}

describe("write confirmation from the change log", () => {
  it("confirms a write with one GET and one PATCH, within a few ms of its visibility", async () => {
    await setFaults(stack.emulator.url, { visibilityDelayMs: { min: 400, max: 400 } });
    const first = await update({ "crm.caseId": "CASE-2" });
    expect(first.__typename).toBe("AttributesUpdated");
    expect(await reads(call.conversationId)).toBe(1);

    // The topic lingers: the next write costs exactly read + PATCH, no subscription call.
    const puts = await upstreamRequests(stack.gateway.url, "putNotificationsChannelSubscriptions");
    const second = await update({ "crm.caseId": "CASE-3" });
    expect(second.__typename).toBe("AttributesUpdated");
    if (second.__typename !== "AttributesUpdated") return;
    expect(await reads(call.conversationId)).toBe(2);
    expect(await upstreamRequests(stack.gateway.url, "putNotificationsChannelSubscriptions")).toBe(puts);
    const log = await writes();
    expect(log).toHaveLength(2);
    const entry = log[1]!;
    const visibleAfter = Date.parse(entry.visibleAt!) - Date.parse(entry.acceptedAt);
    expect(visibleAfter).toBeGreaterThanOrEqual(400);
    // Confirmation overhead: the poll schedule alone would have added up to ~130 ms here.
    expect(second.confirmedAfterMs - visibleAfter).toBeLessThan(60);
  });

  it("with expectedVersion, answers VersionConflict with writeApplied when another writer's change landed in between", async () => {
    const data = await gqlData(stack.gateway.url, ParticipantDocument, { conversationId: call.conversationId, participantId: call.customerId });
    const version = data.participant!.version;
    // The other writer's change is accepted first and not yet visible when the gateway checks
    // the version; it becomes visible while the gateway's own write is being confirmed.
    await setFaults(stack.emulator.url, { visibilityDelayMs: { min: 300, max: 300 } });
    await stack.sdk.conversations.patchConversationsCallParticipantAttributes(call.conversationId, call.customerId, {
      attributes: { "customer.tier": "platinum" },
    });
    const pending = update({ "crm.caseId": "CASE-OURS" }, version);
    const result = await pending;
    expect(result).toMatchObject({
      __typename: "VersionConflict",
      writeApplied: true,
      conflictingKeys: ["customer.tier"],
      participant: { attributes: { "crm.caseId": "CASE-OURS", "customer.tier": "platinum" } },
    });
    if (result.__typename === "VersionConflict") expect(result.message).toContain("This write was applied");
    // Ground truth: both writes landed, the other writer's first in acceptance order.
    const log = await writes();
    expect(log.map((e) => Object.keys(e.attributes)[0])).toEqual(["customer.tier", "crm.caseId"]);
    expect(log.every((e) => e.visibleAt !== null)).toBe(true);
  });

  it("falls back to reads when the notification of the write is lost", async () => {
    await setFaults(stack.emulator.url, { dropRate: 1, visibilityDelayMs: { min: 300, max: 300 } });
    const result = await update({ "crm.caseId": "CASE-DROPPED" });
    expect(result).toMatchObject({ __typename: "AttributesUpdated", attempts: 1 });
    // The initial read plus one slow fallback read (livePollMs 1 000); the fast schedule
    // (40, 100, 190, 325 ms) would have read 5 times.
    expect(await reads(call.conversationId)).toBe(2);
    if (result.__typename === "AttributesUpdated") expect(result.confirmedAfterMs).toBeGreaterThanOrEqual(300);
  });
});
