/**
 * The control API: creating conversations and participants, disconnect/end, the clock,
 * the ground-truth log, reset (seeded ids), the background flow and the notification
 * service wiring (its routers mounted behind our auth and under /emulator/notifications).
 */
import type { Models } from "purecloud-platform-client-v2";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { expectValid } from "../support/openapi.js";
import { connectSdk, type SdkConnection } from "../support/sdk.js";
import { advanceClock, api, control, getToken, IDS, readLog, setFaults, startTestEmulator, UUID, waitForLog } from "../support/emulator-http.js";

let emulator: RunningEmulator;
let sdk: SdkConnection;

beforeAll(async () => {
  emulator = await startTestEmulator({ seed: "control-tests", faults: { visibilityDelayMs: { min: 0, max: 0 } } });
  sdk = await connectSdk(emulator.url);
});
afterAll(() => emulator.close());
beforeEach(async () => {
  await control(emulator.url, "POST", "/reset");
});

const newCall = {
  queueId: IDS.support,
  participants: [
    { purpose: "customer", name: "Test Customer", address: "tel:+15550199999", attributes: { "crm.caseId": "CASE-7" } },
    { purpose: "acd", queueId: IDS.support },
    { purpose: "agent", userId: IDS.user(2), state: "alerting" },
  ],
};

describe("conversations", () => {
  it("POST /emulator/conversations creates a call (201 CallConversation) readable through the SDK", async () => {
    const created = await control<Models.CallConversation>(emulator.url, "POST", "/conversations", newCall);
    expect(created.status).toBe(201);
    expectValid("CallConversation", created.body);
    expect(created.body.id).toMatch(UUID);
    expect(created.body.participants!.map((p) => [p.purpose, p.state])).toEqual([
      ["customer", "connected"],
      ["acd", "connected"],
      ["agent", "alerting"],
    ]);
    expect(created.body.participants![0]!.attributes).toEqual({ "crm.caseId": "CASE-7" });
    expect(created.body.participants![2]!.user!.id).toBe(IDS.user(2));
    const read = await sdk.conversations.getConversationsCall(created.body.id!);
    expect(read).toEqual(created.body);
  });

  it.each([
    ["no queueId", { participants: newCall.participants }],
    ["no participants", { queueId: IDS.support, participants: [] }],
    ["an unknown media type", { ...newCall, mediaType: "chat" }],
    ["an unknown state", { queueId: IDS.support, participants: [{ purpose: "customer", state: "ringing" }] }],
    ["a non-string attribute", { queueId: IDS.support, participants: [{ purpose: "customer", attributes: { n: 1 } }] }],
    ["an unknown field", { ...newCall, direction: "inbound" }],
    ["a participant without purpose", { queueId: IDS.support, participants: [{ name: "x" }] }],
  ])("400 for %s", async (_label, body) => {
    const res = await control(emulator.url, "POST", "/conversations", body);
    expect(res.status).toBe(400);
    expectValid("ErrorBody", res.body);
    expect(res.body.code).toBe("bad.request");
    expect(res.body.message).toMatch(/Invalid conversation/);
  });

  it("400 for malformed JSON", async () => {
    const res = await fetch(`${emulator.url}/emulator/conversations`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
    expect(res.status).toBe(400);
    expectValid("ErrorBody", await res.json());
  });

  it("adds, disconnects and ends", async () => {
    const created = await control(emulator.url, "POST", "/conversations", newCall);
    const id: string = created.body.id;

    const added = await control<Models.CallConversation>(emulator.url, "POST", `/conversations/${id}/participants`, {
      purpose: "external",
      name: "Supervisor",
      address: "tel:+15550100099",
    });
    expect(added.status).toBe(201);
    expectValid("CallConversation", added.body);
    const newcomer = added.body.participants!.at(-1)!;
    expect(newcomer).toMatchObject({ purpose: "external", name: "Supervisor", state: "connected" });

    const disconnected = await control<Models.CallConversation>(emulator.url, "POST", `/conversations/${id}/participants/${newcomer.id}/disconnect`);
    expect(disconnected.status).toBe(200);
    const gone = disconnected.body.participants!.find((p) => p.id === newcomer.id)!;
    expect(gone.state).toBe("disconnected");
    expect(Date.parse(gone.endTime!)).not.toBeNaN();

    const ended = await control<Models.CallConversation>(emulator.url, "POST", `/conversations/${id}/end`);
    expect(ended.status).toBe(200);
    expectValid("CallConversation", ended.body);
    expect(ended.body.participants!.every((p) => p.state === "disconnected" && p.endTime)).toBe(true);
    const generic = await sdk.conversations.getConversation(id);
    expect(Date.parse(generic.endTime!)).not.toBeNaN();
    expect(generic.participants.every((p) => p.calls![0]!.state === "disconnected" && p.calls![0]!.disconnectedTime)).toBe(true);

    const late = await control(emulator.url, "POST", `/conversations/${id}/participants`, { purpose: "agent" });
    expect(late.status).toBe(400);
  });

  it.each([
    ["add to an unknown conversation", "/conversations/nope/participants", { purpose: "agent" }],
    ["disconnect in an unknown conversation", `/conversations/nope/participants/${IDS.customer(1)}/disconnect`, undefined],
    ["disconnect an unknown participant", `/conversations/${IDS.conversation(1)}/participants/nope/disconnect`, undefined],
    ["end an unknown conversation", "/conversations/nope/end", undefined],
  ])("404 to %s", async (_label, path, body) => {
    const res = await control(emulator.url, "POST", path, body);
    expect(res.status).toBe(404);
    expectValid("ErrorBody", res.body);
    expect(res.body.code).toBe("not.found");
  });
});

describe("clock and log", () => {
  it("POST /emulator/clock advances the emulator clock; negative values are refused", async () => {
    const before = await control(emulator.url, "GET", "/clock");
    await advanceClock(emulator.url, 3_600_000);
    const after = await control(emulator.url, "GET", "/clock");
    expect(after.body.offsetMs - before.body.offsetMs).toBe(3_600_000);
    expect(Date.parse(after.body.now) - Date.parse(before.body.now)).toBeGreaterThanOrEqual(3_600_000);
    const created = await control(emulator.url, "POST", "/conversations", newCall);
    expect(Date.parse(created.body.participants[0].startTime)).toBeGreaterThanOrEqual(Date.parse(after.body.now));

    const bad = await control(emulator.url, "POST", "/clock", { advanceMs: -1 });
    expect(bad.status).toBe(400);
    expectValid("ErrorBody", bad.body);
  });

  it("GET /emulator/log lists every accepted write in order with its fields", async () => {
    const token = await getToken(emulator.url);
    const path = (n: number) => `/api/v2/conversations/calls/${IDS.conversation(n)}/participants/${IDS.customer(n)}/attributes`;
    await api(emulator.url, token, "PATCH", path(1), { attributes: { a: "1" } });
    await api(emulator.url, token, "PATCH", path(2), { attributes: { b: "2" } });
    await api(emulator.url, token, "PATCH", path(2), { attributes: { b: 3 } }); // 400: not logged
    const entries = await readLog(emulator.url);
    expect(entries).toEqual([
      {
        seq: 1,
        acceptedAt: expect.any(String),
        visibleAt: expect.any(String),
        lost: false,
        clientId: "emulator-demo-client",
        conversationId: IDS.conversation(1),
        participantId: IDS.customer(1),
        attributes: { a: "1" },
      },
      expect.objectContaining({ seq: 2, conversationId: IDS.conversation(2), attributes: { b: "2" } }),
    ]);
    expect(new Date(entries[0]!.acceptedAt).toISOString()).toBe(entries[0]!.acceptedAt);
  });
});

describe("reset", () => {
  it("restores demo data, initial faults and an empty log, keeps tokens, and reproduces seeded ids", async () => {
    const token = await getToken(emulator.url);
    const first = await control(emulator.url, "POST", "/conversations", newCall);
    const demoBefore = await sdk.conversations.getConversation(IDS.conversation(2));
    await api(emulator.url, token, "PATCH", `/api/v2/conversations/${IDS.conversation(1)}/participants/${IDS.customer(1)}/attributes`, {
      attributes: { "crm.caseId": "CHANGED" },
    });
    await control(emulator.url, "POST", `/conversations/${IDS.conversation(3)}/end`);
    await setFaults(emulator.url, { lostWriteRate: 1 });
    await control(emulator.url, "POST", "/faults/throttle", { seconds: 600 });

    const reset = await control(emulator.url, "POST", "/reset");
    expect(reset.status).toBe(200);

    expect(await readLog(emulator.url)).toEqual([]);
    expect((await control(emulator.url, "GET", "/faults")).body).toMatchObject({ visibilityDelayMs: { min: 0, max: 0 }, lostWriteRate: 0, heartbeatIntervalMs: 0 });
    // The token is still valid and the throttle is gone.
    const read = await api(emulator.url, token, "GET", `/api/v2/conversations/calls/${IDS.conversation(1)}`);
    expect(read.status).toBe(200);
    expect(read.body.participants[0].attributes).toEqual({ "crm.caseId": "CASE-1001", "customer.tier": "gold" });
    const three = await api(emulator.url, token, "GET", `/api/v2/conversations/calls/${IDS.conversation(3)}`);
    expect(three.body.participants.map((p: { state: string }) => p.state)).toEqual(["connected", "connected", "alerting"]);
    // The created conversation is gone; seeded ids repeat (communication ids, new conversation ids).
    expect((await api(emulator.url, token, "GET", `/api/v2/conversations/${first.body.id}`)).status).toBe(404);
    const demoAfter = await sdk.conversations.getConversation(IDS.conversation(2));
    expect(demoAfter.participants.map((p) => p.calls![0]!.id)).toEqual(demoBefore.participants.map((p) => p.calls![0]!.id));
    const second = await control(emulator.url, "POST", "/conversations", newCall);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.participants.map((p: { id: string }) => p.id)).toEqual(first.body.participants.map((p: { id: string }) => p.id));
  });

  it("another emulator with the same seed produces the same ids", async () => {
    const twin = await startTestEmulator({ seed: "control-tests" });
    const different = await startTestEmulator({ seed: "another-seed" });
    try {
      const a = await control(emulator.url, "POST", "/conversations", newCall);
      const b = await control(twin.url, "POST", "/conversations", newCall);
      const c = await control(different.url, "POST", "/conversations", newCall);
      expect(b.body.id).toBe(a.body.id);
      expect(c.body.id).not.toBe(a.body.id);
    } finally {
      await twin.close();
      await different.close();
    }
  });
});

describe("demo background flow", () => {
  it("writes flow.step as architect-flow on conversation 1's customer through the log", async () => {
    const flowing = await startTestEmulator({ backgroundFlowIntervalMs: 40, faults: { visibilityDelayMs: { min: 0, max: 10 } } });
    try {
      const entries = await waitForLog(flowing.url, (e) => e.filter((x) => x.visibleAt).length >= 2);
      expect(entries[0]).toMatchObject({
        seq: 1,
        clientId: "architect-flow",
        conversationId: IDS.conversation(1),
        participantId: IDS.customer(1),
        attributes: { "flow.step": "step-1" },
        lost: false,
      });
      expect(entries[1]!.attributes).toEqual({ "flow.step": "step-2" });
      const { conversations } = await connectSdk(flowing.url);
      const customer = (await conversations.getConversationsCall(IDS.conversation(1))).participants![0]!;
      expect(customer.attributes!["flow.step"]).toMatch(/^step-\d+$/);
      expect(customer.attributes!["crm.caseId"]).toBe("CASE-1001");
    } finally {
      await flowing.close();
    }
  });

  it("is off unless backgroundFlowIntervalMs > 0, and there is no demo data unless demoData", async () => {
    const bare = await startTestEmulator({ demoData: false });
    try {
      const token = await getToken(bare.url);
      expect((await api(bare.url, token, "GET", `/api/v2/conversations/${IDS.conversation(1)}`)).status).toBe(404);
    } finally {
      await bare.close();
    }
    await advanceClock(emulator.url, 1000);
    expect(await readLog(emulator.url)).toEqual([]);
  });
});

describe("notification service wiring", () => {
  it("mounts /api/v2/notifications behind auth and rate limiting", async () => {
    const anonymous = await api(emulator.url, undefined, "POST", "/api/v2/notifications/channels");
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe("authentication.required");

    const token = await getToken(emulator.url);
    const channel = await api(emulator.url, token, "POST", "/api/v2/notifications/channels");
    expect(channel.status).toBe(200);
    expect(channel.headers.get("inin-ratelimit-count")).toBe("1");
    expect(channel.body.connectUri).toBe(`${emulator.url.replace("http://", "ws://")}/channels/${channel.body.id}`);
  });

  it("mounts the notification control router at /emulator/notifications", async () => {
    const res = await control(emulator.url, "POST", "/notifications/disconnect");
    expect(res.status).toBe(200);
  });

  it("destroys WebSocket upgrades the notification service does not claim", async () => {
    const { WebSocket } = await import("ws");
    const ws = new WebSocket(`${emulator.url.replace("http://", "ws://")}/not-a-channel`);
    const outcome = await new Promise<string>((resolve) => {
      ws.on("open", () => resolve("open"));
      ws.on("error", () => resolve("error"));
    });
    expect(outcome).toBe("error");
  });
});
