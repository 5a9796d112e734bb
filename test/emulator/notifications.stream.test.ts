/**
 * The notification WebSocket end to end against `startEmulator` (port 0): frames, topic
 * events for store changes, one-socket-per-channel, at-most-once delivery, delivery faults
 * (`PUT /emulator/faults`) and the control routes `/emulator/notifications/disconnect` and
 * `/socket-closing`. Channels and subscriptions are set up through the official SDK; frames
 * are read with a plain `ws` client (test/support/ws.ts).
 *
 * "Nothing arrives" is asserted with a marker: after the event that must not arrive, a second
 * event is caused and must be the next event frame. Waits are on frames (with timeouts), never
 * blind sleeps, except where stated.
 */
import type { Models } from "purecloud-platform-client-v2";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/server.js";
import { connectSdk } from "../support/sdk.js";
import { isEvent, isTopic, openFrames, type Frame, type FrameClient } from "../support/ws.js";

const QUEUE = "a0000000-0000-4000-8000-0000000000aa";
const OTHER_QUEUE = "a0000000-0000-4000-8000-0000000000ab";
const USER = "b0000000-0000-4000-8000-0000000000bb";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const topics = {
  queue: `v2.routing.queues.${QUEUE}.conversations`,
  queueCalls: `v2.routing.queues.${QUEUE}.conversations.calls`,
  otherQueue: `v2.routing.queues.${OTHER_QUEUE}.conversations`,
  user: `v2.users.${USER}.conversations`,
  userCalls: `v2.users.${USER}.conversations.calls`,
  attributes: (conversationId: string) => `v2.detail.events.conversation.${conversationId}.attributes`,
};

let emulator: RunningEmulator;
let sdk: Awaited<ReturnType<typeof connectSdk>>;
const sockets: FrameClient[] = [];

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${emulator.url}/emulator${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  return { status: res.status, body: await res.json() };
}

const setFaults = async (patch: Record<string, unknown>) =>
  expect((await control("PUT", "/faults", { heartbeatIntervalMs: 0, visibilityDelayMs: { min: 0, max: 0 }, ...patch })).status).toBe(200);

/** Creates a call on QUEUE: customer, then an agent with USER. Returns the CallConversation. */
async function createCall(attributes: Record<string, string> = {}, queueId = QUEUE): Promise<Models.CallConversation> {
  const res = await control("POST", "/conversations", {
    queueId,
    participants: [
      { purpose: "customer", name: "Ann Caller", address: "tel:+15550001", attributes },
      { purpose: "agent", name: "Bo Agent", userId: USER },
    ],
  });
  expect(res.status).toBe(201);
  return res.body as Models.CallConversation;
}

async function open(uri: string): Promise<FrameClient> {
  const socket = await openFrames(uri);
  sockets.push(socket);
  return socket;
}

/** A channel subscribed to `names`, with an open socket. */
async function subscribed(...names: string[]): Promise<{ channel: Models.Channel; socket: FrameClient }> {
  const channel = await sdk.notifications.postNotificationsChannels();
  await sdk.notifications.putNotificationsChannelSubscriptions(channel.id!, names.map((id) => ({ id })));
  return { channel, socket: await open(channel.connectUri!) };
}

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, seed: "notifications-stream", faults: { heartbeatIntervalMs: 0, visibilityDelayMs: { min: 0, max: 0 } } });
  sdk = await connectSdk(emulator.url);
});
beforeEach(async () => {
  for (const socket of sockets.splice(0)) await socket.close();
  expect((await control("POST", "/reset")).status).toBe(200);
});
afterAll(async () => {
  for (const socket of sockets.splice(0)) await socket.close();
  await emulator?.close();
});

describe("notification socket", () => {
  it("answers {message: ping} with a channel.metadata pong", async () => {
    const { socket } = await subscribed();
    socket.send({ message: "ping" });
    expect(await socket.next()).toEqual({ topicName: "channel.metadata", eventBody: { message: "pong" } });
  });

  it("sends a heartbeat every heartbeatIntervalMs", async () => {
    await setFaults({ heartbeatIntervalMs: 50 });
    const { socket } = await subscribed();
    const beats = await socket.take(2, isTopic("channel.metadata"), 1000);
    expect(beats).toEqual([
      { topicName: "channel.metadata", eventBody: { message: "WebSocket Heartbeat" } },
      { topicName: "channel.metadata", eventBody: { message: "WebSocket Heartbeat" } },
    ]);
  });

  it("is silent with heartbeatIntervalMs 0 (bounded wait of 300 ms, then a pong marker)", async () => {
    const { socket } = await subscribed();
    // Bounded, documented wait: long enough for several beats at any interval a test would use.
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.send({ message: "ping" });
    expect((await socket.next()).eventBody).toEqual({ message: "pong" });
    expect(socket.queued).toEqual([]);
  });

  it("ignores pings with answerPings false (a half-open socket): the next frame is the marker event", async () => {
    await setFaults({ answerPings: false });
    const { socket } = await subscribed(topics.queue);
    socket.send({ message: "ping" });
    await createCall();
    expect((await socket.next()).topicName).toBe(topics.queue);
    expect(socket.queued.every((f) => f.topicName !== "channel.metadata")).toBe(true);
  });

  it("keeps one socket per channel: a second connection closes the first; subscriptions survive", async () => {
    const { channel, socket: first } = await subscribed(topics.queue);
    const second = await open(channel.connectUri!);
    expect((await first.closedWithin()).code).toBe(1000);
    const call = await createCall();
    const frame = await second.next(isTopic(topics.queue));
    expect(frame.eventBody.id).toBe(call.id);
  });

  it("queues nothing while no socket is connected (events in between are lost)", async () => {
    const channel = await sdk.notifications.postNotificationsChannels();
    await sdk.notifications.putNotificationsChannelSubscriptions(channel.id!, [{ id: topics.queue }]);
    const lost = await createCall();
    const socket = await open(channel.connectUri!);
    const marker = await createCall();
    const frame = await socket.next(isEvent);
    expect(frame.eventBody.id).toBe(marker.id);
    expect(frame.eventBody.id).not.toBe(lost.id);
  });
});

describe("topic events", () => {
  it("publishes a created call on queue and user topics, each in the SDK model of its topic", async () => {
    const { socket } = await subscribed(topics.queue, topics.queueCalls, topics.user, topics.userCalls);
    const call = await createCall({ greeting: "hi" });
    const [customer, agent] = call.participants!;
    const frames = await socket.take(4, isEvent);
    expect(frames.map((f) => f.topicName).sort()).toEqual([topics.queue, topics.queueCalls, topics.user, topics.userCalls].sort());
    for (const frame of frames) {
      expect(frame.version).toBe("2");
      expect(frame.metadata?.CorrelationId).toMatch(UUID);
    }
    for (const name of [topics.queue, topics.user]) {
      const body = frames.find((f) => f.topicName === name)!.eventBody as Models.QueueConversationEventTopicConversation;
      expect(body.id).toBe(call.id);
      expect(body.participants).toHaveLength(2);
      const [c, a] = body.participants!;
      expect(c).toMatchObject({ id: customer!.id, purpose: "customer", name: "Ann Caller", address: "tel:+15550001", attributes: { greeting: "hi" } });
      expect(a).toMatchObject({ id: agent!.id, purpose: "agent", userId: USER, queueId: QUEUE, attributes: {} });
      for (const p of body.participants!) {
        expect(p).not.toHaveProperty("startTime");
        expect(p).not.toHaveProperty("state");
        expect(p.calls).toEqual([expect.objectContaining({ id: expect.any(String), state: "connected" })]);
      }
    }
    for (const name of [topics.queueCalls, topics.userCalls]) {
      const body = frames.find((f) => f.topicName === name)!.eventBody as Models.QueueConversationCallEventTopicCallConversation;
      expect(body.id).toBe(call.id);
      expect(body.participants![0]).toMatchObject({ id: customer!.id, state: "connected", startTime: expect.any(String), attributes: { greeting: "hi" } });
      expect(body.participants![1]).toMatchObject({ id: agent!.id, state: "connected", user: { id: USER }, queue: { id: QUEUE } });
    }
  });

  it("publishes attribute writes (SDK PATCH) as snapshots and as detail attribute events with the full map", async () => {
    const call = await createCall({ keep: "1" });
    const customer = call.participants![0]!;
    const { socket } = await subscribed(topics.queue, topics.attributes(call.id!));
    await sdk.conversations.patchConversationsCallParticipantAttributes(call.id!, customer.id!, { attributes: { added: "2" } });
    const detail = await socket.next(isTopic(topics.attributes(call.id!)));
    const body = detail.eventBody as Models.AttributeDetailEventTopicAttributeUpdateEvent;
    expect(body).toEqual({
      eventTime: expect.any(Number),
      conversationId: call.id,
      participantId: customer.id,
      attributes: { keep: "1", added: "2" },
      communications: [{ id: expect.any(String), mediaType: "voice" }],
    });
    expect(Math.abs(body.eventTime! - Date.now())).toBeLessThan(60_000);
    const snapshot = await socket.next(isTopic(topics.queue));
    expect(snapshot.eventBody.participants[0].attributes).toEqual({ keep: "1", added: "2" });
  });

  it("publishes joins, disconnects and the end of a conversation as snapshots (state in calls[].state)", async () => {
    const call = await createCall();
    const { socket } = await subscribed(topics.queue);
    const joined = await control("POST", `/conversations/${call.id}/participants`, { purpose: "agent", name: "Cy", userId: "b0000000-0000-4000-8000-0000000000cc" });
    expect(joined.status).toBe(201);
    expect((await socket.next(isEvent)).eventBody.participants).toHaveLength(3);
    await control("POST", `/conversations/${call.id}/participants/${call.participants![1]!.id}/disconnect`);
    const afterDisconnect = (await socket.next(isEvent)).eventBody as Models.QueueConversationEventTopicConversation;
    expect(afterDisconnect.participants![1]).toMatchObject({ endTime: expect.any(String), calls: [expect.objectContaining({ state: "disconnected" })] });
    expect(afterDisconnect.participants![0]!.calls![0]!.state).toBe("connected");
    await control("POST", `/conversations/${call.id}/end`);
    const ended = (await socket.next(isEvent)).eventBody as Models.QueueConversationEventTopicConversation;
    expect(ended.participants!.map((p) => p.calls![0]!.state)).toEqual(["disconnected", "disconnected", "disconnected"]);
  });

  it("publishes only the subscribed topics; a participant's own queue gets the conversation too", async () => {
    const { socket } = await subscribed(topics.otherQueue);
    await createCall(); // on QUEUE only: must not arrive
    const res = await control("POST", "/conversations", {
      queueId: QUEUE,
      participants: [{ purpose: "customer" }, { purpose: "acd", queueId: OTHER_QUEUE }],
    });
    const frame = await socket.next(isEvent);
    expect(frame.topicName).toBe(topics.otherQueue);
    expect(frame.eventBody.id).toBe(res.body.id);
  });
});

describe("delivery faults", () => {
  it("dropRate 1 delivers no event frames (marker after setting it back to 0)", async () => {
    const { socket } = await subscribed(topics.queue);
    await setFaults({ dropRate: 1 });
    await createCall();
    await setFaults({ dropRate: 0 });
    const marker = await createCall();
    expect((await socket.next(isEvent)).eventBody.id).toBe(marker.id);
  });

  it("dropRate 0.5 drops about half of the event frames", async () => {
    const { socket } = await subscribed(topics.queue);
    await setFaults({ dropRate: 0.5 });
    for (let i = 0; i < 100; i++) await createCall();
    await setFaults({ dropRate: 0 });
    const marker = await createCall();
    const received: Frame[] = [];
    for (;;) {
      const frame = await socket.next(isEvent);
      if (frame.eventBody.id === marker.id) break;
      received.push(frame);
    }
    expect(received.length).toBeGreaterThan(25);
    expect(received.length).toBeLessThan(75);
  });

  it("duplicateRate 1 delivers every event frame twice, with the same CorrelationId", async () => {
    const { socket } = await subscribed(topics.queue);
    await setFaults({ duplicateRate: 1 });
    const call = await createCall();
    const [a, b] = await socket.take(2, isEvent);
    expect(a).toEqual(b);
    expect(a!.eventBody.id).toBe(call.id);
  });

  it("crossSocketDuplicateRate 1 also delivers every event frame on the client's other sockets, whatever their topics", async () => {
    const a = await subscribed(topics.queue);
    const b = await subscribed(topics.user);
    await setFaults({ crossSocketDuplicateRate: 1 });
    const call = await createCall();
    // Each socket gets its own topic's frame and the other socket's frame, each once.
    const onA = await a.socket.take(2, isEvent);
    const onB = await b.socket.take(2, isEvent);
    expect(onA.map((f) => f.topicName).sort()).toEqual([topics.queue, topics.user].sort());
    expect(onB.map((f) => f.topicName).sort()).toEqual([topics.queue, topics.user].sort());
    const byTopic = (frames: Frame[], topic: string) => frames.find((f) => f.topicName === topic)!;
    expect(byTopic(onA, topics.user)).toEqual(byTopic(onB, topics.user));
    expect(byTopic(onA, topics.queue)).toEqual(byTopic(onB, topics.queue));
    expect(byTopic(onA, topics.queue).eventBody.id).toBe(call.id);
    // Back to 0: each socket gets only its own topic (the marker).
    await setFaults({});
    const marker = await createCall();
    expect((await a.socket.next(isEvent)).eventBody.id).toBe(marker.id);
    expect((await b.socket.next(isEvent)).topicName).toBe(topics.user);
  });

  it("crossSocketDuplicateRate 1 redelivers on a channel's new socket what its previous socket got in the last 5 s", async () => {
    const { channel, socket } = await subscribed(topics.queue);
    await setFaults({ crossSocketDuplicateRate: 1 });
    const call = await createCall();
    const first = await socket.next(isEvent);
    const again = await open(channel.connectUri!); // replaces the first socket
    const redelivered = await again.next(isEvent);
    expect(redelivered).toEqual(first);
    expect(redelivered.eventBody.id).toBe(call.id);
  });

  it("reorderWindowMs lets later frames overtake earlier ones; all arrive", async () => {
    const { socket } = await subscribed(topics.queue);
    await setFaults({ reorderWindowMs: 150 });
    const sent: string[] = [];
    for (let i = 0; i < 15; i++) sent.push((await createCall()).id!);
    const received = (await socket.take(15, isEvent, 2000)).map((f) => f.eventBody.id as string);
    expect([...received].sort()).toEqual([...sent].sort());
    expect(received).not.toEqual(sent);
  });
});

describe("notification control routes", () => {
  it("GET /emulator/notifications/channels shows every channel with its client, socket state and topics", async () => {
    const { channel } = await subscribed(topics.queue, topics.user);
    const idle = await sdk.notifications.postNotificationsChannels();
    const res = await fetch(`${emulator.url}/emulator/notifications/channels`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      entities: [
        { id: channel.id, clientId: "emulator-demo-client", connected: true, topics: [topics.queue, topics.user], expires: expect.any(String) },
        { id: idle.id, clientId: "emulator-demo-client", connected: false, topics: [], expires: idle.expires },
      ],
    });
    const own = await (await fetch(`${emulator.url}/emulator/notifications/channels?clientId=emulator-demo-client`)).json();
    expect(own.entities.map((c: { id: string }) => c.id)).toEqual([channel.id, idle.id]);
    expect(await (await fetch(`${emulator.url}/emulator/notifications/channels?clientId=someone-else`)).json()).toEqual({ entities: [] });
  });

  it("POST /emulator/notifications/disconnect drops every socket (1006); channels and subscriptions remain", async () => {
    const a = await subscribed(topics.queue);
    const b = await subscribed(topics.user);
    const res = await control("POST", "/notifications/disconnect");
    expect(res).toEqual({ status: 200, body: { disconnected: 2 } });
    expect((await a.socket.closedWithin()).code).toBe(1006);
    expect((await b.socket.closedWithin()).code).toBe(1006);
    const again = await open(a.channel.connectUri!);
    const call = await createCall();
    expect((await again.next(isEvent)).eventBody.id).toBe(call.id);
  });

  it("POST /emulator/notifications/socket-closing warns every socket, then closes it (1001) after socketClosingGraceMs", async () => {
    await setFaults({ socketClosingGraceMs: 200 });
    const { channel, socket } = await subscribed(topics.queue);
    const res = await control("POST", "/notifications/socket-closing");
    expect(res).toEqual({ status: 202, body: { notified: 1, closeAfterMs: 200 } });
    const warning = await socket.next(isTopic("v2.system.socket_closing"));
    expect(warning.eventBody).toMatchObject({ message: expect.any(String), channelId: channel.id });
    // Still open during the grace period: events keep flowing.
    const during = await createCall();
    expect((await socket.next(isEvent)).eventBody.id).toBe(during.id);
    const startedAt = Date.now();
    expect((await socket.closedWithin()).code).toBe(1001);
    expect(Date.now() - startedAt).toBeLessThan(1000);
    // Reconnecting to the same connectUri keeps the subscriptions.
    const again = await open(channel.connectUri!);
    const after = await createCall();
    expect((await again.next(isEvent)).eventBody.id).toBe(after.id);
  });
});
