/**
 * Queries end to end: GraphQL over HTTP → gateway → official SDK → emulator (demo data).
 * Proves field mapping (state from calls[].state, ids, attributes, version), null for unknown
 * ids, BAD_USER_INPUT for malformed ids, and DataLoader batching measured as upstream GETs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConversationDocument, ParticipantDocument, ParticipantsOfConversationDocument } from "../generated/graphql.js";
import { gql, gqlData, startStack, upstreamRequests, type Stack } from "../support/stack.js";

const SUPPORT = "a0000000-0000-4000-8000-000000000001";
const CONV1 = "c0000000-0000-4000-8000-000000000001";
const CONV3 = "c0000000-0000-4000-8000-000000000003";
const CUSTOMER1 = "d0000000-0000-4000-8000-000000000011";
const UNKNOWN = "00000000-0000-4000-8000-00000000dead";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ emulator: { demoData: true } });
});
afterAll(async () => {
  await stack?.close();
});

describe("participant query", () => {
  it("serves a demo participant with its attributes, state and version", async () => {
    const data = await gqlData(stack.gateway.url, ParticipantDocument, { conversationId: CONV1, participantId: CUSTOMER1 });
    expect(data.participant).toMatchObject({
      id: CUSTOMER1,
      conversationId: CONV1,
      purpose: "customer",
      state: "connected",
      attributes: { "crm.caseId": "CASE-1001", "customer.tier": "gold" },
      caseId: "CASE-1001",
      endTime: null,
    });
    expect(data.participant?.startTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(data.participant?.version).toMatch(/^[A-Za-z0-9_-]{22}$/);

    // The same map read through the official SDK gives the same attributes.
    const call = await stack.sdk.conversations.getConversationsCall(CONV1);
    const viaSdk = call.participants?.find((p) => p.id === CUSTOMER1);
    expect(viaSdk?.attributes).toEqual(data.participant?.attributes);
  });

  it("answers null for an unknown conversation or participant", async () => {
    const unknownConversation = await gql(stack.gateway.url, ParticipantDocument, { conversationId: UNKNOWN, participantId: CUSTOMER1 });
    expect(unknownConversation).toEqual({ data: { participant: null } });
    const unknownParticipant = await gql(stack.gateway.url, ParticipantDocument, { conversationId: CONV1, participantId: UNKNOWN });
    expect(unknownParticipant).toEqual({ data: { participant: null } });
  });

  it("refuses a malformed id with BAD_USER_INPUT", async () => {
    const result = await gql(stack.gateway.url, ParticipantDocument, { conversationId: "../calls", participantId: CUSTOMER1 });
    expect(result.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(result.data?.participant ?? null).toBeNull();
  });
});

describe("conversation query", () => {
  it("serves a whole conversation and filters participants by purpose", async () => {
    const all = await gqlData(stack.gateway.url, ConversationDocument, { id: CONV3 });
    expect(all.conversation?.id).toBe(CONV3);
    expect(all.conversation?.endTime).toBeNull();
    expect(all.conversation?.participants.map((p) => p.purpose)).toEqual(["customer", "acd", "agent"]);
    // Conversation 3's agent is still alerting: state comes from calls[].state.
    expect(all.conversation?.participants.find((p) => p.purpose === "agent")?.state).toBe("alerting");

    const agents = await gqlData(stack.gateway.url, ConversationDocument, { id: CONV3, purpose: "agent" });
    expect(agents.conversation?.participants).toHaveLength(1);
    expect(agents.conversation?.participants[0]?.purpose).toBe("agent");
  });

  it("answers null for an unknown conversation", async () => {
    expect(await gql(stack.gateway.url, ConversationDocument, { id: UNKNOWN })).toEqual({ data: { conversation: null } });
  });
});

describe("batching", () => {
  it("costs one upstream GET for many participants of one conversation and their conversation fields", async () => {
    const before = await upstreamRequests(stack.gateway.url, "getConversation");
    const data = await gqlData(stack.gateway.url, ParticipantsOfConversationDocument, {
      conversationId: CONV1,
      a: CUSTOMER1,
      b: "d0000000-0000-4000-8000-000000000012",
      c: "d0000000-0000-4000-8000-000000000013",
    });
    const after = await upstreamRequests(stack.gateway.url, "getConversation");
    expect([data.a?.purpose, data.b?.purpose, data.c?.purpose]).toEqual(["customer", "acd", "agent"]);
    expect([data.a?.conversation.id, data.b?.conversation.id, data.c?.conversation.id]).toEqual([CONV1, CONV1, CONV1]);
    expect(after - before).toBe(1);
  });

  it("does not share the cache across requests: a second request reads fresh", async () => {
    const before = await upstreamRequests(stack.gateway.url, "getConversation");
    await gqlData(stack.gateway.url, ConversationDocument, { id: CONV1 });
    await gqlData(stack.gateway.url, ConversationDocument, { id: CONV1 });
    expect((await upstreamRequests(stack.gateway.url, "getConversation")) - before).toBe(2);
  });

  it("keeps the demo queue ids on ACD participants", async () => {
    const data = await gqlData(stack.gateway.url, ConversationDocument, { id: CONV1, purpose: "acd" });
    expect(data.conversation?.participants).toHaveLength(1);
    const acd = await gqlData(stack.gateway.url, ParticipantDocument, {
      conversationId: CONV1,
      participantId: data.conversation!.participants[0]!.id,
    });
    expect(acd.participant?.queueId).toBe(SUPPORT);
  });
});
