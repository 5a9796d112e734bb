/**
 * Attribute PATCHes: status and bodies per endpoint, validation errors (400/413/415/404),
 * the ended-conversation policy, delayed visibility (driven by the emulator clock or polled
 * through the ground-truth log), ordering per participant, lost writes and per-key upsert.
 */
import type { Models } from "purecloud-platform-client-v2";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { expectValid, validateDefinition } from "../support/openapi.js";
import { connectSdk, type SdkConnection } from "../support/sdk.js";
import { advanceClock, api, control, getToken, IDS, readLog, setFaults, startTestEmulator, waitForLog } from "../support/emulator-http.js";

let emulator: RunningEmulator;
let sdk: SdkConnection;
let token: string;

const C1 = IDS.conversation(1);
const P1 = IDS.customer(1);
const callPath = (c = C1, p = P1) => `/api/v2/conversations/calls/${c}/participants/${p}/attributes`;

async function customerAttributes(conversationId = C1): Promise<Record<string, string>> {
  // The SDK client returns extended responses in this file: {status, headers, body}.
  const call = asData<Models.CallConversation>(await sdk.conversations.getConversationsCall(conversationId));
  expect(call.status).toBe(200);
  return call.body.participants![0]!.attributes!;
}

/** Makes pending writes visible: advances the clock past any delay used in these tests. */
const flush = () => advanceClock(emulator.url, 120_000);

beforeAll(async () => {
  emulator = await startTestEmulator();
  sdk = await connectSdk(emulator.url);
  sdk.client.setReturnExtendedResponses(true);
  token = await getToken(emulator.url);
});
afterAll(() => emulator.close());
beforeEach(async () => {
  await control(emulator.url, "POST", "/reset");
  // Writes stay pending until the test advances the clock: deterministic visibility.
  await setFaults(emulator.url, { visibilityDelayMs: { min: 60_000, max: 60_000 }, heartbeatIntervalMs: 0 });
});

const asData = <T>(response: unknown) => response as { status: number; headers: Record<string, string>; body: T };

describe("PATCH responses per endpoint", () => {
  it("calls: 202 with a ParticipantAttributes body echoing the attributes sent", async () => {
    const res = asData<Models.ParticipantAttributes>(
      await sdk.conversations.patchConversationsCallParticipantAttributes(C1, P1, { attributes: { "a.b": "1", "C.d": "" } }),
    );
    expect(res.status).toBe(202);
    expectValid("ParticipantAttributes", res.body);
    expect(res.body).toEqual({ attributes: { "a.b": "1", "C.d": "" } });
    expect(res.headers["inin-correlation-id"]).toEqual(expect.any(String));
  });

  it("generic: 202 with no body", async () => {
    const raw = await api(emulator.url, token, "PATCH", `/api/v2/conversations/${C1}/participants/${P1}/attributes`, { attributes: { g: "1" } });
    expect(raw.status).toBe(202);
    expect(raw.text).toBe("");
    const res = asData<unknown>(await sdk.conversations.patchConversationParticipantAttributes(C1, P1, { attributes: { g: "2" } }));
    expect(res.status).toBe(202);
    expect((await readLog(emulator.url)).map((e) => e.attributes)).toEqual([{ g: "1" }, { g: "2" }]);
  });

  it.each(["callback", "email", "message"] as const)("%ss: 202 with a ParticipantAttributes body", async (mediaType) => {
    const created = await control(emulator.url, "POST", "/conversations", {
      queueId: IDS.support,
      mediaType,
      participants: [{ purpose: "customer", name: "X" }],
    });
    const id: string = created.body.id;
    const pid: string = created.body.participants[0].id;
    const body = { attributes: { m: mediaType } };
    const res = asData<Models.ParticipantAttributes>(
      mediaType === "callback"
        ? await sdk.conversations.patchConversationsCallbackParticipantAttributes(id, pid, body)
        : mediaType === "email"
          ? await sdk.conversations.patchConversationsEmailParticipantAttributes(id, pid, body)
          : await sdk.conversations.patchConversationsMessageParticipantAttributes(id, pid, { body }),
    );
    expect(res.status).toBe(202);
    expectValid("ParticipantAttributes", res.body);
    expect(res.body).toEqual(body);
    expect((await readLog(emulator.url)).at(-1)).toMatchObject({ conversationId: id, participantId: pid, attributes: body.attributes });
  });

  it("messages: an empty PATCH is a no-op 202 that writes nothing", async () => {
    const created = await control(emulator.url, "POST", "/conversations", {
      queueId: IDS.support,
      mediaType: "message",
      participants: [{ purpose: "customer", attributes: { keep: "me" } }],
    });
    const res = asData<unknown>(await sdk.conversations.patchConversationsMessageParticipantAttributes(created.body.id, created.body.participants[0].id));
    expect(res.status).toBe(202);
    expect(await readLog(emulator.url)).toEqual([]);
    // The same empty body on a call endpoint is a 400.
    const call = await api(emulator.url, token, "PATCH", callPath(), undefined, { "content-type": "application/json" });
    expect(call.status).toBe(400);
    expect(call.body.code).toBe("bad.request");
  });
});

describe("validation (nothing changes on failure)", () => {
  afterEach(async () => {
    expect(await readLog(emulator.url)).toEqual([]);
    await flush();
    expect(await customerAttributes()).toEqual({ "crm.caseId": "CASE-1001", "customer.tier": "gold" });
  });

  it.each([
    ["a flat map", { "crm.caseId": "X" }],
    ["attributes not an object", { attributes: "x" }],
    ["attributes an array", { attributes: ["x"] }],
    ["attributes null", { attributes: null }],
    ["a JSON array", [{ attributes: {} }]],
    ["a JSON string", "\"x\""],
    ["malformed JSON", "{\"attributes\": {"],
  ])("400 bad.request for %s", async (_label, body) => {
    const res = await api(emulator.url, token, "PATCH", callPath(), typeof body === "string" ? body : body, { "content-type": "application/json" });
    expect(res.status).toBe(400);
    expectValid("ErrorBody", res.body);
    expect(res.body).toMatchObject({ status: 400, code: "bad.request" });
  });

  it.each([
    ["a number", 1],
    ["a boolean", true],
    ["null", null],
    ["an object", { nested: "x" }],
  ])("400 invalid.value for %s as a value", async (_label, value) => {
    const res = await api(emulator.url, token, "PATCH", callPath(), { attributes: { ok: "fine", bad: value } });
    expect(res.status).toBe(400);
    expectValid("ErrorBody", res.body);
    expect(res.body).toMatchObject({ status: 400, code: "invalid.value" });
    expect(res.body.messageParams).toMatchObject({ type: "string", field: "attributes.bad" });
  });

  it("415 unsupported.media.type for a non-JSON content type", async () => {
    const res = await api(emulator.url, token, "PATCH", callPath(), JSON.stringify({ attributes: { a: "b" } }), { "content-type": "text/plain" });
    expect(res.status).toBe(415);
    expectValid("ErrorBody", res.body);
    expect(res.body).toMatchObject({ status: 415, code: "unsupported.media.type" });
  });

  it("413 with the documented message above maxBodyBytes", async () => {
    await setFaults(emulator.url, { maxBodyBytes: 100, visibilityDelayMs: { min: 60_000, max: 60_000 } });
    const body = JSON.stringify({ attributes: { big: "x".repeat(100) } });
    const res = await api(emulator.url, token, "PATCH", callPath(), body, { "content-type": "application/json" });
    expect(res.status).toBe(413);
    expectValid("ErrorBody", res.body);
    expect(res.body).toMatchObject({
      status: 413,
      message: "The request is over the size limit. Maximum bytes: 100",
      messageWithParams: "The request is over the size limit. Maximum bytes: {maxBytes}",
      messageParams: { maxBytes: "100" },
    });
    // Exactly at the limit is accepted; reset so the shared "nothing changed" check applies.
    const exact = JSON.stringify({ attributes: { b: "y".repeat(100 - 23) } });
    expect(Buffer.byteLength(exact)).toBe(100);
    const atLimit = await api(emulator.url, token, "PATCH", callPath(), exact, { "content-type": "application/json" });
    expect(atLimit.status).toBe(202);
    await control(emulator.url, "POST", "/reset");
  });

  it.each([
    ["an unknown conversation", callPath("00000000-0000-4000-8000-000000000000", P1)],
    ["an unknown participant", callPath(C1, "00000000-0000-4000-8000-000000000000")],
    ["a participant of another conversation", callPath(C1, IDS.customer(2))],
    ["the wrong media path", `/api/v2/conversations/emails/${C1}/participants/${P1}/attributes`],
    ["an unknown media path", `/api/v2/conversations/chats/${C1}/participants/${P1}/attributes`],
    ["the generic path with an unknown conversation", `/api/v2/conversations/x/participants/${P1}/attributes`],
  ])("404 not.found for %s", async (_label, path) => {
    const res = await api(emulator.url, token, "PATCH", path, { attributes: { a: "b" } });
    expect(res.status).toBe(404);
    expectValid("ErrorBody", res.body);
    expect(res.body.code).toBe("not.found");
  });
});

describe("ended conversations and disconnected participants", () => {
  it("accepts writes by default (policy accept)", async () => {
    await control(emulator.url, "POST", `/conversations/${C1}/end`);
    const res = await api(emulator.url, token, "PATCH", callPath(), { attributes: { after: "end" } });
    expect(res.status).toBe(202);
    await flush();
    expect(await customerAttributes()).toMatchObject({ after: "end" });
  });

  it("rejects them with 400 under policy reject, changing nothing", async () => {
    await setFaults(emulator.url, { endedConversationWrites: "reject", visibilityDelayMs: { min: 0, max: 0 } });
    await control(emulator.url, "POST", `/conversations/${IDS.conversation(2)}/participants/${IDS.customer(2)}/disconnect`);
    const disconnected = await api(emulator.url, token, "PATCH", callPath(IDS.conversation(2), IDS.customer(2)), { attributes: { a: "b" } });
    expect(disconnected.status).toBe(400);
    expectValid("ErrorBody", disconnected.body);
    expect(disconnected.body.code).toBe("bad.request");
    // Other participants of the live conversation still accept writes.
    const agent = await api(emulator.url, token, "PATCH", callPath(IDS.conversation(2), IDS.agent(2)), { attributes: { a: "b" } });
    expect(agent.status).toBe(202);

    await control(emulator.url, "POST", `/conversations/${C1}/end`);
    const ended = await api(emulator.url, token, "PATCH", `/api/v2/conversations/${C1}/participants/${P1}/attributes`, { attributes: { a: "b" } });
    expect(ended.status).toBe(400);
    expect(ended.body.code).toBe("bad.request");
    expect((await readLog(emulator.url)).map((e) => e.participantId)).toEqual([IDS.agent(2)]);
    expect(await customerAttributes()).toEqual({ "crm.caseId": "CASE-1001", "customer.tier": "gold" });
  });
});

describe('clearing a key with ""', () => {
  it('stores "" by default, and removes the key under clearedAttributes "removed"', async () => {
    await api(emulator.url, token, "PATCH", callPath(), { attributes: { "crm.caseId": "" } });
    await flush();
    expect(await customerAttributes()).toEqual({ "crm.caseId": "", "customer.tier": "gold" });
    await setFaults(emulator.url, { clearedAttributes: "removed", visibilityDelayMs: { min: 60_000, max: 60_000 }, heartbeatIntervalMs: 0 });
    await api(emulator.url, token, "PATCH", callPath(), { attributes: { "customer.tier": "", added: "x" } });
    await flush();
    expect(await customerAttributes()).toEqual({ "crm.caseId": "", added: "x" });
  });
});

describe("visibility", () => {
  it("a GET right after the 202 does not show the write; after the log's visibleAt it does", async () => {
    const res = asData<unknown>(await sdk.conversations.patchConversationsCallParticipantAttributes(C1, P1, { attributes: { "crm.caseId": "CASE-9" } }));
    expect(res.status).toBe(202);
    expect((await customerAttributes())["crm.caseId"]).toBe("CASE-1001");
    const [pending] = await readLog(emulator.url);
    expect(pending).toMatchObject({ seq: 1, visibleAt: null, lost: false, attributes: { "crm.caseId": "CASE-9" } });

    await advanceClock(emulator.url, 59_000);
    expect((await readLog(emulator.url))[0]!.visibleAt).toBeNull();
    expect((await customerAttributes())["crm.caseId"]).toBe("CASE-1001");

    await advanceClock(emulator.url, 1_000);
    const [visible] = await readLog(emulator.url);
    expect(Date.parse(visible!.visibleAt!) - Date.parse(visible!.acceptedAt)).toBeGreaterThanOrEqual(60_000);
    // Per-key upsert: the other key is kept.
    expect(await customerAttributes()).toEqual({ "crm.caseId": "CASE-9", "customer.tier": "gold" });
  });

  it("with the default 50–150 ms delay, the write shows up once the log says it is visible", async () => {
    await setFaults(emulator.url, { heartbeatIntervalMs: 0 });
    const res = await api(emulator.url, token, "PATCH", callPath(), { attributes: { live: "yes" } });
    expect(res.status).toBe(202);
    const entries = await waitForLog(emulator.url, (e) => e[0]?.visibleAt !== null);
    const delay = Date.parse(entries[0]!.visibleAt!) - Date.parse(entries[0]!.acceptedAt);
    expect(delay).toBeGreaterThanOrEqual(50);
    expect(await customerAttributes()).toMatchObject({ live: "yes" });
  });

  it("writes to one participant become visible in acceptance order", async () => {
    await setFaults(emulator.url, { visibilityDelayMs: { min: 10_000, max: 10_000 } });
    await api(emulator.url, token, "PATCH", callPath(), { attributes: { order: "first", a: "1" } });
    await setFaults(emulator.url, { visibilityDelayMs: { min: 0, max: 0 } });
    await api(emulator.url, token, "PATCH", callPath(), { attributes: { order: "second" } });
    // A write to another participant is not held back.
    await api(emulator.url, token, "PATCH", callPath(IDS.conversation(2), IDS.customer(2)), { attributes: { other: "now" } });

    const log = await readLog(emulator.url);
    expect(log.map((e) => [e.seq, e.visibleAt === null])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
    expect(await customerAttributes()).not.toHaveProperty("order");

    await advanceClock(emulator.url, 10_000);
    const after = await readLog(emulator.url);
    expect(after[0]!.visibleAt).not.toBeNull();
    expect(Date.parse(after[1]!.visibleAt!)).toBeGreaterThanOrEqual(Date.parse(after[0]!.visibleAt!));
    expect(await customerAttributes()).toMatchObject({ order: "second", a: "1" });
  });

  it("many randomly delayed writes end with the last value and visibleAt in seq order", async () => {
    await setFaults(emulator.url, { visibilityDelayMs: { min: 0, max: 80 }, heartbeatIntervalMs: 0 });
    for (let i = 1; i <= 10; i++) {
      const res = await api(emulator.url, token, "PATCH", callPath(), { attributes: { counter: String(i) } });
      expect(res.status).toBe(202);
    }
    const entries = await waitForLog(emulator.url, (e) => e.length === 10 && e.every((x) => x.visibleAt !== null));
    const times = entries.map((e) => Date.parse(e.visibleAt!));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect((await customerAttributes()).counter).toBe("10");
  });
});

describe("lost writes", () => {
  it("lostWriteRate 1: 202, never visible, logged as lost", async () => {
    await setFaults(emulator.url, { lostWriteRate: 1, visibilityDelayMs: { min: 0, max: 0 } });
    const res = asData<Models.ParticipantAttributes>(
      await sdk.conversations.patchConversationsCallParticipantAttributes(C1, P1, { attributes: { lost: "yes" } }),
    );
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ attributes: { lost: "yes" } });
    await flush();
    expect(await customerAttributes()).not.toHaveProperty("lost");
    expect(await readLog(emulator.url)).toEqual([
      expect.objectContaining({ seq: 1, lost: true, visibleAt: null, attributes: { lost: "yes" }, clientId: "emulator-demo-client" }),
    ]);
  });

  it("a partial lostWriteRate loses a seeded share, reproduced after reset", async () => {
    const pattern = async () => {
      await setFaults(emulator.url, { lostWriteRate: 0.5, visibilityDelayMs: { min: 0, max: 0 } });
      for (let i = 0; i < 20; i++) await api(emulator.url, token, "PATCH", callPath(), { attributes: { n: String(i) } });
      return (await readLog(emulator.url)).map((e) => e.lost);
    };
    const first = await pattern();
    expect(first.filter(Boolean).length).toBeGreaterThan(0);
    expect(first.filter((lost) => !lost).length).toBeGreaterThan(0);
    const lastKept = first.lastIndexOf(false);
    expect((await customerAttributes()).n).toBe(String(lastKept));
    await control(emulator.url, "POST", "/reset");
    expect(await pattern()).toEqual(first);
  });
});

describe("schema validator sanity", () => {
  it("rejects bodies that break the 2018 definitions", () => {
    expect(validateDefinition("Conversation", { participants: [] })).not.toEqual([]);
    expect(validateDefinition("CallConversation", { participants: [{ state: "bogus" }] })).not.toEqual([]);
    expect(validateDefinition("ParticipantAttributes", { attributes: { a: 1 } })).not.toEqual([]);
    expect(validateDefinition("ErrorBody", { status: "400" })).not.toEqual([]);
    expect(validateDefinition("Conversation", { startTime: "yesterday", participants: [] })).not.toEqual([]);
    expect(() => expectValid("NoSuchDefinition", {})).toThrow(/No definition/);
  });
});
