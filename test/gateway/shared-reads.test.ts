/**
 * Reads share, end to end: the emulator's per-conversation GET count (`GET /emulator/reads`) is
 * the ground truth. Identical concurrent queries from separate operations make one GET; a
 * conversation the change log tracks (a live subscription) is answered from it with no GET, and
 * shows a change once its notification arrived; `fresh: true` always reads Genesys.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Client } from "graphql-ws";
import { AttributesChangedDocument, FreshParticipantDocument, UpdateAttributesDocument } from "../generated/graphql.js";
import { control, createCall, gqlData, setFaults, startStack, subscribe, wsClient, type Stack, type TestCall } from "../support/stack.js";

const QUEUE = "a0000000-0000-4000-8000-0000000000f1";

let stack: Stack;
let client: Client;
let call: TestCall;

beforeAll(async () => {
  stack = await startStack();
  client = wsClient(stack.gateway.wsUrl);
});
afterAll(async () => {
  await client?.dispose();
  await stack?.close();
});
beforeEach(async () => {
  await setFaults(stack.emulator.url);
  call = await createCall(stack.emulator.url, QUEUE, { "crm.caseId": "CASE-1" });
});

async function reads(): Promise<number> {
  const body = await control<{ conversations: Record<string, number> }>(stack.emulator.url, "GET", "/reads");
  return body.conversations[call.conversationId] ?? 0;
}

function query(fresh?: boolean) {
  return gqlData(stack.gateway.url, FreshParticipantDocument, { conversationId: call.conversationId, participantId: call.customerId, fresh });
}

describe("shared conversation reads", () => {
  it("answers 50 identical concurrent queries with one GET", async () => {
    // The GET outlasts the arrival of all 50 (HTTP set-up spreads them over a few hundred ms).
    await setFaults(stack.emulator.url, { latencyMs: { min: 1_500, max: 1_500 } });
    const answers = await Promise.all(Array.from({ length: 50 }, () => query()));
    expect(answers.every((a) => a.participant?.attributes["crm.caseId"] === "CASE-1")).toBe(true);
    expect(await reads()).toBe(1);
  });

  it("serves a tracked conversation from the change log, current after each notification; fresh reads Genesys", async () => {
    const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, includeSnapshot: true });
    await sub.next(); // the snapshot: the log holds the conversation
    const baseline = await reads();
    expect((await query())?.participant?.attributes["crm.caseId"]).toBe("CASE-1");
    expect(await reads()).toBe(baseline);

    await stack.sdk.conversations.patchConversationsCallParticipantAttributes(call.conversationId, call.customerId, {
      attributes: { "crm.caseId": "CASE-2" },
    });
    await sub.next(); // the notification reached the gateway
    expect((await query())?.participant?.attributes["crm.caseId"]).toBe("CASE-2");
    expect(await reads()).toBe(baseline);

    expect((await query(true))?.participant?.attributes["crm.caseId"]).toBe("CASE-2");
    expect(await reads()).toBe(baseline + 1);
    sub.stop();
  });

  it('does not serve a key cleared with "" from the change log when Genesys removes cleared keys', async () => {
    // Whether Genesys stores "" or drops the key is unknown (README "Writing attributes"): the
    // emulator's clearedAttributes fault makes it drop them, so reads and notifications lack the key.
    await setFaults(stack.emulator.url, { clearedAttributes: "removed" });
    const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, includeSnapshot: true });
    await sub.next(); // the customer's snapshot (the agent's follows)
    expect((await query())?.participant?.attributes).toEqual({ "crm.caseId": "CASE-1" });

    // Through the gateway: once it answered AttributesUpdated, the log must not show the key.
    const cleared = await gqlData(stack.gateway.url, UpdateAttributesDocument, {
      input: { conversationId: call.conversationId, participantId: call.customerId, attributes: { "crm.caseId": "" } },
    });
    expect(cleared.updateAttributes.__typename).toBe("AttributesUpdated");
    const nextChange = async () => {
      for (;;) {
        const event = (await sub.next()).data?.attributesChanged;
        if (event && !event.snapshot && event.participantId === call.customerId) return event;
      }
    };
    expect(await nextChange()).toMatchObject({ changes: [{ key: "crm.caseId", previous: "CASE-1", value: null }], attributes: {} });
    const baseline = await reads();
    expect((await query())?.participant?.attributes).toEqual({});
    expect(await reads()).toBe(baseline); // served from the log, not by a GET

    // Behind the gateway's back: set, then clear with the SDK; the log follows both.
    await stack.sdk.conversations.patchConversationsCallParticipantAttributes(call.conversationId, call.customerId, { attributes: { "crm.caseId": "CASE-3" } });
    expect((await nextChange()).attributes).toEqual({ "crm.caseId": "CASE-3" });
    await stack.sdk.conversations.patchConversationsCallParticipantAttributes(call.conversationId, call.customerId, { attributes: { "crm.caseId": "" } });
    expect((await nextChange()).changes).toEqual([{ key: "crm.caseId", previous: "CASE-3", value: null }]);
    expect((await query())?.participant?.attributes).toEqual({});
    expect((await query(true))?.participant?.attributes).toEqual({});
    sub.stop();
  });
});
