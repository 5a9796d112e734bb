/**
 * Attribute keys that collide with JavaScript object members, end to end:
 * - `constructor` and `prototype`, which the official SDK drops from a PATCH body, are refused
 *   at the edge with BAD_USER_INPUT saying why, and nothing is written (`__proto__` too);
 * - `toString`, `valueOf` and `hasOwnProperty` are plain keys: written exactly as given, read
 *   back by `attributes` and `attribute(key:)`, absent ones read as null, and subscription
 *   events about them carry correct `previous` values (no INTERNAL_SERVER_ERROR).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttributesChangedDocument, UpdateAttributesDocument } from "../generated/graphql.js";
import { readLog } from "../support/emulator-http.js";
import { post } from "../support/gateway-http.js";
import { createCall, eventually, gql, startStack, subscribe, wsClient, type Stack, type TestCall } from "../support/stack.js";

const QUEUE = "a0000000-0000-4000-8000-0000000000e3";
let stack: Stack;
let call: TestCall;

beforeAll(async () => {
  stack = await startStack();
  call = await createCall(stack.emulator.url, QUEUE, { "crm.caseId": "CASE-K" });
});
afterAll(async () => {
  await stack?.close();
});

const update = (attributes: Record<string, string>, participantId = call.customerId) =>
  gql(stack.gateway.url, UpdateAttributesDocument, { input: { conversationId: call.conversationId, participantId, attributes } });
const writesTo = async (participantId: string) => (await readLog(stack.emulator.url)).filter((e) => e.participantId === participantId);

describe("keys the SDK would drop", () => {
  it.each([["constructor"], ["prototype"], ["__proto__"]])("%s is refused with BAD_USER_INPUT and nothing is written", async (key) => {
    const before = (await writesTo(call.customerId)).length;
    const result = await update(JSON.parse(`{"${key}": "x", "crm.ok": "1"}`));
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.attributes" });
    expect(result.errors?.[0]?.message).toContain(`"${key}"`);
    if (key !== "__proto__") expect(result.errors?.[0]?.message).toMatch(/SDK drops/);
    expect((await writesTo(call.customerId)).length).toBe(before);
  });
});

describe("keys named like Object.prototype members", () => {
  const KEYS = { toString: "ts", valueOf: "vo", hasOwnProperty: "hop" };

  it("reads toString/valueOf/hasOwnProperty as absent (null) before they are written", async () => {
    const answer = await post(
      stack.gateway.url,
      `query($c: ID!, $p: ID!) { participant(conversationId: $c, participantId: $p) { attributes a: attribute(key: "toString") b: attribute(key: "valueOf") c: attribute(key: "constructor") } }`,
      { c: call.conversationId, p: call.customerId },
    );
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data.participant).toEqual({ attributes: { "crm.caseId": "CASE-K" }, a: null, b: null, c: null });
  });

  it("writes them exactly as given, confirms them, and streams their changes with correct previous values", async () => {
    const client = wsClient(stack.gateway.wsUrl);
    const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
    // The subscription is live once a change written behind the gateway's back arrives.
    await eventually(async () => {
      await stack.sdk.conversations.patchConversationParticipantAttributes(call.conversationId, call.customerId, { attributes: { "probe.n": String(Date.now()) } });
      const r = await sub.next(300).catch(() => undefined);
      return r?.data ? r : undefined;
    }, 5_000, "a live subscription");
    while (sub.pending() > 0) await sub.next();

    const first = await update(KEYS);
    expect(first.errors).toBeUndefined();
    expect(first.data?.updateAttributes).toMatchObject({ __typename: "AttributesUpdated", participant: { attributes: expect.objectContaining(KEYS) } });
    expect((await writesTo(call.customerId)).at(-1)?.attributes).toEqual(KEYS);

    const created = await sub.next();
    expect(created.errors).toBeUndefined();
    expect(created.data!.attributesChanged.changes).toEqual([
      { key: "hasOwnProperty", previous: null, value: "hop" },
      { key: "toString", previous: null, value: "ts" },
      { key: "valueOf", previous: null, value: "vo" },
    ]);

    const second = await update({ toString: "ts-2" });
    expect(second.data?.updateAttributes.__typename).toBe("AttributesUpdated");
    const changed = await sub.next();
    expect(changed.errors).toBeUndefined();
    expect(changed.data!.attributesChanged.changes).toEqual([{ key: "toString", previous: "ts", value: "ts-2" }]);
    expect(changed.data!.attributesChanged.attributes).toMatchObject({ toString: "ts-2", valueOf: "vo", hasOwnProperty: "hop" });

    // Clearing with "" confirms too (the verify loop looks keys up as own keys).
    const cleared = await update({ valueOf: "" });
    expect(cleared.data?.updateAttributes.__typename).toBe("AttributesUpdated");
    sub.stop();
    await client.dispose();

    const read = await post(
      stack.gateway.url,
      `query($c: ID!, $p: ID!) { participant(conversationId: $c, participantId: $p) { a: attribute(key: "toString") b: attribute(key: "hasOwnProperty") } }`,
      { c: call.conversationId, p: call.customerId },
    );
    expect(read.body.data.participant).toEqual({ a: "ts-2", b: "hop" });
  });
});
