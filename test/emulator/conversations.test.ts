/**
 * Reading conversations: the generic `Conversation` and the media models
 * (`CallConversation`, `CallbackConversation`, `EmailConversation`, `MessageConversation`),
 * demo data ids, media-path 404s and response headers. Bodies are validated against the
 * 2018 Swagger definitions.
 */
import type { Models } from "purecloud-platform-client-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { expectValid } from "../support/openapi.js";
import { connectSdk, type SdkConnection } from "../support/sdk.js";
import { api, control, getToken, IDS, startTestEmulator, UUID } from "../support/emulator-http.js";

let emulator: RunningEmulator;
let sdk: SdkConnection;

beforeAll(async () => {
  emulator = await startTestEmulator();
  sdk = await connectSdk(emulator.url);
});
afterAll(() => emulator.close());

describe("demo data", () => {
  it.each([1, 2, 3, 4])("serves demo call %i as a CallConversation with the documented ids", async (n) => {
    const call = expectValid<Models.CallConversation>("CallConversation", await sdk.conversations.getConversationsCall(IDS.conversation(n)));
    const queueId = n <= 2 ? IDS.support : IDS.sales;
    expect(call.id).toBe(IDS.conversation(n));
    expect(call.selfUri).toBe(`/api/v2/conversations/calls/${IDS.conversation(n)}`);
    expect(call.participants!.map((p) => [p.id, p.purpose])).toEqual([
      [IDS.customer(n), "customer"],
      [IDS.acd(n), "acd"],
      [IDS.agent(n), "agent"],
    ]);
    const [customer, acd, agent] = call.participants!;
    expect(customer!.name).toEqual(expect.any(String));
    expect(customer!.address).toMatch(/^tel:\+\d+$/);
    expect(customer!.state).toBe("connected");
    expect(acd!.queue).toEqual({ id: queueId, name: n <= 2 ? "Support" : "Sales", selfUri: `/api/v2/routing/queues/${queueId}` });
    expect(agent!.user).toMatchObject({ id: IDS.user(n), selfUri: `/api/v2/users/${IDS.user(n)}` });
    expect(agent!.queue!.id).toBe(queueId);
    expect(agent!.state).toBe(n === 3 ? "alerting" : "connected");
  });

  it("has the documented customer attributes", async () => {
    const attributesOf = async (n: number) => (await sdk.conversations.getConversationsCall(IDS.conversation(n))).participants![0]!.attributes;
    expect(await attributesOf(1)).toEqual({ "crm.caseId": "CASE-1001", "customer.tier": "gold" });
    expect(await attributesOf(2)).toEqual({ "crm.caseId": "CASE-1002" });
    expect(await attributesOf(3)).toEqual({});
    expect(await attributesOf(4)).toEqual({ "customer.tier": "silver", "ivr.intent": "billing" });
  });
});

describe("GET /api/v2/conversations/{id}", () => {
  it("renders the generic Conversation: no participant state, state in calls[], userId/queueId strings", async () => {
    const conversation = expectValid<Models.Conversation>("Conversation", await sdk.conversations.getConversation(IDS.conversation(3)));
    expect(conversation.id).toBe(IDS.conversation(3));
    expect(Date.parse(conversation.startTime)).not.toBeNaN();
    expect(conversation.endTime).toBeUndefined();
    for (const participant of conversation.participants) {
      expect(participant).not.toHaveProperty("state");
      expect(participant.calls).toHaveLength(1);
      expect(participant.calls![0]!.id).toMatch(UUID);
      expect(participant).not.toHaveProperty("user");
      expect(participant).not.toHaveProperty("queue");
    }
    const [customer, acd, agent] = conversation.participants;
    expect(customer!.calls![0]!.state).toBe("connected");
    expect(customer!.attributes).toEqual({});
    expect(acd!.queueId).toBe(IDS.sales);
    expect(agent!.userId).toBe(IDS.user(3));
    expect(agent!.queueId).toBe(IDS.sales);
    expect(agent!.calls![0]!.state).toBe("alerting");
    expect(agent!.connectedTime).toBeUndefined();
  });

  it("answers 404 not.found for an unknown id", async () => {
    const token = await getToken(emulator.url);
    const res = await api(emulator.url, token, "GET", "/api/v2/conversations/00000000-0000-4000-8000-000000000000");
    expect(res.status).toBe(404);
    expectValid("ErrorBody", res.body);
    expect(res.body).toMatchObject({ status: 404, code: "not.found" });
  });

  it("carries ININ-Correlation-Id and the inin-ratelimit headers on success", async () => {
    const token = await getToken(emulator.url);
    const first = await api(emulator.url, token, "GET", `/api/v2/conversations/${IDS.conversation(1)}`);
    const second = await api(emulator.url, token, "GET", `/api/v2/conversations/calls/${IDS.conversation(1)}`);
    expect(first.status).toBe(200);
    expect(first.headers.get("ININ-Correlation-Id")).toMatch(UUID);
    expect(second.headers.get("ININ-Correlation-Id")).not.toBe(first.headers.get("ININ-Correlation-Id"));
    expect(first.headers.get("inin-ratelimit-count")).toBe("1");
    expect(second.headers.get("inin-ratelimit-count")).toBe("2");
    expect(second.headers.get("inin-ratelimit-allowed")).toBe("300");
    expect(Number(second.headers.get("inin-ratelimit-reset"))).toBeGreaterThan(0);
    expect(Number(second.headers.get("inin-ratelimit-reset"))).toBeLessThanOrEqual(60);
    expect(first.headers.get("etag")).toBeNull();
  });
});

describe("media conversations", () => {
  const cases = [
    { mediaType: "callback", path: "callbacks", definition: "CallbackConversation", array: "callbacks" },
    { mediaType: "email", path: "emails", definition: "EmailConversation", array: "emails" },
    { mediaType: "message", path: "messages", definition: "MessageConversation", array: "messages" },
  ] as const;

  it.each(cases)("serves a $mediaType conversation at /$path and as a generic Conversation", async ({ mediaType, path, definition, array }) => {
    const created = await control(emulator.url, "POST", "/conversations", {
      queueId: IDS.support,
      mediaType,
      participants: [
        { purpose: "customer", name: "Media Customer", address: "customer@example.com", attributes: { k: "v" } },
        { purpose: "agent", userId: IDS.user(1), state: "offering" },
      ],
    });
    expect(created.status).toBe(201);
    expectValid(definition, created.body);
    const id: string = created.body.id;

    const byMedia =
      mediaType === "callback"
        ? await sdk.conversations.getConversationsCallback(id)
        : mediaType === "email"
          ? await sdk.conversations.getConversationsEmail(id)
          : await sdk.conversations.getConversationsMessage(id);
    expectValid(definition, byMedia);
    expect(byMedia.selfUri).toBe(`/api/v2/conversations/${path}/${id}`);
    expect(byMedia.participants![0]!.attributes).toEqual({ k: "v" });
    // Email and message communications cannot be "offering" (2018 spec enums): shown as alerting.
    expect(byMedia.participants![1]!.state).toBe(mediaType === "callback" ? "offering" : "alerting");

    const generic = expectValid<Models.Conversation>("Conversation", await sdk.conversations.getConversation(id));
    const agent = generic.participants[1] as Record<string, any>;
    expect(agent[array]).toHaveLength(1);
    expect(agent.calls).toBeUndefined();
    expect(agent.userId).toBe(IDS.user(1));
    expect(agent.queueId).toBe(IDS.support);

    // A conversation has one media type: the call path does not serve it.
    const token = await getToken(emulator.url);
    const wrong = await api(emulator.url, token, "GET", `/api/v2/conversations/calls/${id}`);
    expect(wrong.status).toBe(404);
    expect(wrong.body.code).toBe("not.found");
  });

  it.each(["callbacks", "emails", "messages", "chats"])("answers 404 not.found for a demo call read at /%s", async (path) => {
    const token = await getToken(emulator.url);
    const res = await api(emulator.url, token, "GET", `/api/v2/conversations/${path}/${IDS.conversation(1)}`);
    expect(res.status).toBe(404);
    expectValid("ErrorBody", res.body);
    expect(res.body.code).toBe("not.found");
  });

  it("answers 404 not.found ErrorBody for an unknown /api/v2 route", async () => {
    const token = await getToken(emulator.url);
    const res = await api(emulator.url, token, "GET", "/api/v2/voice/conversations");
    expect(res.status).toBe(404);
    expectValid("ErrorBody", res.body);
  });
});
