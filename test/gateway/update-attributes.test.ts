/**
 * `updateAttributes` end to end, checked against the emulator's ground truth: what the
 * official SDK reads back and the emulator's write log (`GET /emulator/log`).
 * Proves: writes land and are confirmed; optimistic concurrency (stale version → conflict and
 * nothing written; concurrent writers with one version → exactly one wins); the answer waits
 * for visibility; other writers are detected; Genesys refusals, unknown ids and bad input say
 * exactly what happened.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ParticipantDocument, UpdateAttributesDocument, type UpdateAttributesMutation } from "../generated/graphql.js";
import { control, createCall, setFaults, eventually, gql, gqlData, startStack, type Stack, type TestCall } from "../support/stack.js";
import { readLog } from "../support/emulator-http.js";

const QUEUE = "a0000000-0000-4000-8000-0000000000f1";
type Result = UpdateAttributesMutation["updateAttributes"];

let stack: Stack;
let call: TestCall;

beforeAll(async () => {
  // Every test resets the emulator, which then reuses the same conversation ids: the gateway's
  // change log still holds the previous test's participant (watched for the write's linger), so
  // the version reads here always go to Genesys (shared reads are tested in shared-reads.test.ts).
  stack = await startStack({ verify: { deadlineMs: 3_000 }, trackedReadMaxAgeMs: 0 });
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(async () => {
  await control(stack.emulator.url, "POST", "/reset");
  await setFaults(stack.emulator.url);
  call = await createCall(stack.emulator.url, QUEUE, { "crm.caseId": "CASE-1", "customer.tier": "gold" });
});

async function update(attributes: Record<string, string>, expectedVersion?: string, target = call): Promise<Result> {
  const data = await gqlData(stack.gateway.url, UpdateAttributesDocument, {
    input: { conversationId: target.conversationId, participantId: target.customerId, attributes, expectedVersion },
  });
  return data.updateAttributes;
}

async function sdkAttributes(target = call): Promise<Record<string, string> | undefined> {
  const conversation = await stack.sdk.conversations.getConversationsCall(target.conversationId);
  return conversation.participants?.find((p) => p.id === target.customerId)?.attributes;
}

async function currentVersion(): Promise<string> {
  const data = await gqlData(stack.gateway.url, ParticipantDocument, { conversationId: call.conversationId, participantId: call.customerId });
  return data.participant!.version;
}

describe("updateAttributes", () => {
  it("writes without expectedVersion, keeps other keys, and is visible through the SDK", async () => {
    const result = await update({ "crm.caseId": "CASE-2", "crm.owner": "alice" });
    expect(result.__typename).toBe("AttributesUpdated");
    if (result.__typename !== "AttributesUpdated") return;
    expect(result.attempts).toBe(1);
    expect(result.participant.attributes).toEqual({ "crm.caseId": "CASE-2", "crm.owner": "alice", "customer.tier": "gold" });
    expect(await sdkAttributes()).toEqual(result.participant.attributes);
    const log = await readLog(stack.emulator.url);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      clientId: "emulator-demo-client",
      conversationId: call.conversationId,
      participantId: call.customerId,
      attributes: { "crm.caseId": "CASE-2", "crm.owner": "alice" },
      lost: false,
    });
  });

  it("writes with the current expectedVersion and returns the new version", async () => {
    const version = await currentVersion();
    const result = await update({ "customer.tier": "platinum" }, version);
    expect(result.__typename).toBe("AttributesUpdated");
    if (result.__typename !== "AttributesUpdated") return;
    expect(result.participant.version).not.toBe(version);
    expect(result.participant.version).toBe(await currentVersion());
    expect((await sdkAttributes())?.["customer.tier"]).toBe("platinum");
  });

  it("answers VersionConflict for a stale expectedVersion and writes nothing", async () => {
    const stale = await currentVersion();
    expect((await update({ "crm.caseId": "CASE-3" })).__typename).toBe("AttributesUpdated");
    const result = await update({ "crm.caseId": "CASE-4" }, stale);
    expect(result.__typename).toBe("VersionConflict");
    if (result.__typename !== "VersionConflict") return;
    expect(result.expectedVersion).toBe(stale);
    expect(result.participant.attributes["crm.caseId"]).toBe("CASE-3");
    expect(result.participant.version).toBe(await currentVersion());
    expect((await sdkAttributes())?.["crm.caseId"]).toBe("CASE-3");
    expect((await readLog(stack.emulator.url)).map((e) => e.attributes["crm.caseId"])).toEqual(["CASE-3"]);
  });

  it("lets exactly one of two concurrent updates with the same expectedVersion win", async () => {
    const version = await currentVersion();
    const results = await Promise.all([update({ "crm.owner": "alice" }, version), update({ "crm.owner": "bob" }, version)]);
    const kinds = results.map((r) => r.__typename).sort();
    expect(kinds).toEqual(["AttributesUpdated", "VersionConflict"]);
    const winner = results.find((r) => r.__typename === "AttributesUpdated");
    const owner = winner?.__typename === "AttributesUpdated" ? winner.participant.attributes["crm.owner"] : undefined;
    expect((await sdkAttributes())?.["crm.owner"]).toBe(owner);
    const log = await readLog(stack.emulator.url);
    expect(log.map((e) => e.attributes["crm.owner"])).toEqual([owner]);
  });

  it("answers only once the write is visible (300 ms visibility delay)", async () => {
    await setFaults(stack.emulator.url, { visibilityDelayMs: { min: 300, max: 300 } });
    const result = await update({ "crm.caseId": "CASE-SLOW" });
    const answeredAt = Date.now();
    expect(result.__typename).toBe("AttributesUpdated");
    if (result.__typename !== "AttributesUpdated") return;
    const [entry] = await readLog(stack.emulator.url);
    expect(entry?.visibleAt).not.toBeNull();
    expect(Date.parse(entry!.visibleAt!) - Date.parse(entry!.acceptedAt)).toBeGreaterThanOrEqual(300);
    expect(answeredAt).toBeGreaterThanOrEqual(Date.parse(entry!.visibleAt!));
    expect(result.confirmedAfterMs).toBeGreaterThanOrEqual(290);
    expect(result.attempts).toBe(1);
  });

  it("answers attempts 0 when every value is already in place, sending nothing", async () => {
    const result = await update({ "crm.caseId": "CASE-1" });
    expect(result).toMatchObject({ __typename: "AttributesUpdated", attempts: 0, confirmedAfterMs: 0 });
    expect(await readLog(stack.emulator.url)).toEqual([]);
  });

  it("says which participant is unavailable for unknown ids", async () => {
    const unknownConversation = await update({ a: "1" }, undefined, { ...call, conversationId: "00000000-0000-4000-8000-00000000dead" });
    expect(unknownConversation).toMatchObject({ __typename: "ParticipantUnavailable", reason: "CONVERSATION_NOT_FOUND" });
    const unknownParticipant = await update({ a: "1" }, undefined, { ...call, customerId: "00000000-0000-4000-8000-00000000beef" });
    expect(unknownParticipant).toMatchObject({ __typename: "ParticipantUnavailable", reason: "PARTICIPANT_NOT_FOUND" });
    expect(await readLog(stack.emulator.url)).toEqual([]);
  });

  it("passes on Genesys's refusal of a write to an ended conversation", async () => {
    await setFaults(stack.emulator.url, { endedConversationWrites: "reject" });
    await control(stack.emulator.url, "POST", `/conversations/${call.conversationId}/end`);
    const result = await update({ "crm.caseId": "CASE-LATE" });
    expect(result.__typename).toBe("ParticipantUnavailable");
    if (result.__typename !== "ParticipantUnavailable") return;
    expect(result.reason).toBe("REJECTED_BY_GENESYS");
    expect(result.message.length).toBeGreaterThan(0);
    expect((await sdkAttributes())?.["crm.caseId"]).toBe("CASE-1");
  });

  it("answers UpdateNotConfirmed when Genesys accepts writes but never applies them", async () => {
    await setFaults(stack.emulator.url, { lostWriteRate: 1 });
    const started = Date.now();
    const result = await update({ "crm.caseId": "CASE-LOST" });
    expect(result.__typename).toBe("UpdateNotConfirmed");
    if (result.__typename !== "UpdateNotConfirmed") return;
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
    // Invisible for longer than resendAfterMs (1.5 s): the write was sent again.
    expect(result.attempts).toBeGreaterThanOrEqual(2);
    expect(result.lastSeen?.attributes["crm.caseId"]).toBe("CASE-1");
    const log = await readLog(stack.emulator.url);
    expect(log.length).toBe(result.attempts);
    expect(log.every((e) => e.lost)).toBe(true);
  });

  it("detects another writer overwriting a written key before confirmation", async () => {
    for (const withVersion of [false, true]) {
      await control(stack.emulator.url, "POST", "/reset");
      call = await createCall(stack.emulator.url, QUEUE, { "crm.owner": "nobody" });
      const expectedVersion = withVersion ? await currentVersion() : undefined;
      // Another client's write is accepted first and shows after 300 ms; the gateway's own write
      // is then accepted but lost, so the only value that can appear is the other writer's.
      await setFaults(stack.emulator.url, { visibilityDelayMs: { min: 300, max: 300 } });
      await stack.sdk.conversations.patchConversationsCallParticipantAttributes(call.conversationId, call.customerId, {
        attributes: { "crm.owner": "other-writer" },
      });
      await setFaults(stack.emulator.url, { visibilityDelayMs: { min: 300, max: 300 }, lostWriteRate: 1 });
      const result = await update({ "crm.owner": "gateway" }, expectedVersion);

      const log = await readLog(stack.emulator.url);
      expect(log.map((e) => [e.clientId, e.attributes["crm.owner"], e.lost])).toEqual([
        ["emulator-demo-client", "other-writer", false],
        ["emulator-demo-client", "gateway", true],
      ]);
      if (withVersion) {
        expect(result.__typename).toBe("VersionConflict");
        if (result.__typename !== "VersionConflict") continue;
        expect(result.message).toContain('Another writer changed "crm.owner"');
        expect(result.participant.attributes["crm.owner"]).toBe("other-writer");
      } else {
        expect(result.__typename).toBe("UpdateNotConfirmed");
        if (result.__typename !== "UpdateNotConfirmed") continue;
        expect(result.message).toContain('"crm.owner"');
        expect(result.attempts).toBe(1);
        expect(result.lastSeen?.attributes["crm.owner"]).toBe("other-writer");
      }
    }
  });

  it("refuses non-string values and over-limit input with BAD_USER_INPUT, writing nothing", async () => {
    const send = (attributes: unknown) =>
      gql(stack.gateway.url, UpdateAttributesDocument, {
        input: { conversationId: call.conversationId, participantId: call.customerId, attributes: attributes as Record<string, string> },
      });
    for (const bad of [{ "crm.caseId": 42 }, { nested: { a: "b" } }, ["a"], { ok: "x", bad: null }, {}, { "": "empty key" }, { big: "x".repeat(5_000) }]) {
      const result = await send(bad);
      expect(result.errors?.[0]?.extensions?.code, JSON.stringify(bad)).toBe("BAD_USER_INPUT");
      expect(result.data?.updateAttributes ?? null).toBeNull();
    }
    expect(await readLog(stack.emulator.url)).toEqual([]);
    expect(await sdkAttributes()).toEqual({ "crm.caseId": "CASE-1", "customer.tier": "gold" });
  });
});
