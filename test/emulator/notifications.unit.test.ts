/**
 * The notification service on its own: `createNotificationService` mounted on a bare express
 * app + HTTP server (real HTTP and WebSocket on an ephemeral port) around a ConversationStore,
 * driven through the official SDK and a plain `ws` client.
 *
 * Covers what the full emulator cannot easily show: two OAuth clients isolated from each
 * other (the harness takes the bearer token as the client id), `reset()`, `close()`, the
 * upgrade hook declining foreign paths, and the exact event bodies per SDK model.
 * Protocol behaviour with faults, expiry and control routes is covered end to end in
 * notifications.test.ts against `startEmulator`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import express from "express";
import platformClient from "purecloud-platform-client-v2";
import type { Models } from "purecloud-platform-client-v2";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createNotificationService, type NotificationFaults } from "../../src/emulator/notifications.js";
import { ConversationStore } from "../../src/emulator/store.js";
import { isEvent, isTopic, openFrames, upgradeStatus } from "../support/ws.js";

interface Harness {
  port: number;
  store: ConversationStore;
  faults: NotificationFaults;
  service: ReturnType<typeof createNotificationService>;
  advance(ms: number): void;
  api(clientId: string): platformClient.NotificationsApi;
  close(): Promise<void>;
}

async function startHarness(): Promise<Harness> {
  let offset = 0;
  const now = () => Date.now() + offset;
  const store = new ConversationStore({ now, newId: randomUUID });
  const faults: NotificationFaults = { dropRate: 0, duplicateRate: 0, crossSocketDuplicateRate: 0, reorderWindowMs: 0, heartbeatIntervalMs: 0, socketClosingGraceMs: 0, answerPings: true, eventTimeResolutionMs: 1 };
  const app = express();
  const server = http.createServer(app);
  let port = 0;
  const service = createNotificationService({
    store,
    faults: () => faults,
    random: Math.random,
    now,
    newId: randomUUID,
    channelTtlSeconds: 3600,
    wsBaseUrl: () => `ws://127.0.0.1:${port}`,
  });
  // Stand-in for the emulator's auth: the bearer token *is* the client id.
  app.use(
    "/api/v2/notifications",
    (req, res, next) => {
      res.locals.clientId = (req.get("authorization") ?? "").replace(/^Bearer /, "");
      next();
    },
    service.router,
  );
  app.use("/emulator/notifications", service.controlRouter);
  server.on("upgrade", (req, socket, head) => {
    if (!service.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  const clients: platformClient.ApiClientClass[] = [];
  return {
    port,
    store,
    faults,
    service,
    advance: (ms) => {
      offset += ms;
    },
    api(clientId) {
      const client = new platformClient.ApiClientClass();
      client.config.live_reload_config = false;
      client.setGateway({ host: "127.0.0.1", protocol: "http", port });
      client.setAccessToken(clientId);
      clients.push(client);
      return new platformClient.NotificationsApi(client);
    },
    async close() {
      await service.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const QUEUE = "a0000000-0000-4000-8000-000000000001";
const USER = "b0000000-0000-4000-8000-000000000001";

describe("notification service (direct harness)", () => {
  it("keeps each OAuth client's channels to itself: listing, subscriptions and HEAD are 404 for others", async () => {
    const alice = h.api("client-a");
    const bob = h.api("client-b");
    const channel = await alice.postNotificationsChannels();
    expect((await alice.getNotificationsChannels()).entities?.map((c) => c.id)).toEqual([channel.id]);
    expect((await bob.getNotificationsChannels()).entities).toEqual([]);
    await expect(bob.getNotificationsChannelSubscriptions(channel.id!)).rejects.toMatchObject({ status: 404, code: "not.found" });
    await expect(bob.putNotificationsChannelSubscriptions(channel.id!, [{ id: `v2.users.${USER}.conversations` }])).rejects.toMatchObject({
      status: 404,
    });
    // HEAD answers carry no body, so the status is read with fetch.
    const head = (token: string) =>
      fetch(`http://127.0.0.1:${h.port}/api/v2/notifications/channels/${channel.id}`, { method: "HEAD", headers: { authorization: `Bearer ${token}` } });
    expect((await head("client-b")).status).toBe(404);
    expect((await head("client-a")).status).toBe(200);
    await expect(alice.headNotificationsChannel(channel.id!)).resolves.toBeUndefined();
    expect((await alice.getNotificationsChannelSubscriptions(channel.id!)).entities).toEqual([]);
  });

  it("counts the 20-channel limit per client id", async () => {
    const alice = h.api("client-a");
    const bob = h.api("client-b");
    const aliceFirst = await alice.postNotificationsChannels();
    for (let i = 0; i < 19; i++) await alice.postNotificationsChannels();
    for (let i = 0; i < 20; i++) await bob.postNotificationsChannels();
    // Bob's 20 channels did not evict any of Alice's.
    expect((await alice.getNotificationsChannels()).entities?.map((c) => c.id)).toContain(aliceFirst.id);
    expect((await alice.getNotificationsChannels()).entities).toHaveLength(20);
  });

  it("declines upgrades on other paths and 404s unknown channels", async () => {
    const status = await upgradeStatus(`ws://127.0.0.1:${h.port}/channels/streaming-0-doesnotexist`);
    expect(status).toBe(404);
    // The harness destroys sockets the service declined: the client sees a failed handshake, not a 404.
    await expect(openFrames(`ws://127.0.0.1:${h.port}/somewhere-else`)).rejects.toThrow();
  });

  it("publishes bodies that follow the SDK event-topic models", async () => {
    const api = h.api("client-a");
    const channel = await api.postNotificationsChannels();
    const conversationTopic = `v2.routing.queues.${QUEUE}.conversations`;
    const callsTopic = `v2.routing.queues.${QUEUE}.conversations.calls`;
    await api.putNotificationsChannelSubscriptions(channel.id!, [{ id: conversationTopic }, { id: callsTopic }]);
    const socket = await openFrames(channel.connectUri!);
    const created = h.store.create({
      queueId: QUEUE,
      participants: [
        { purpose: "customer", name: "Ann", address: "tel:+15550001", attributes: { a: "1" } },
        { purpose: "agent", name: "Bo", userId: USER },
      ],
    });
    const snapshot = (await socket.next(isTopic(conversationTopic))).eventBody as Models.QueueConversationEventTopicConversation;
    expect(snapshot).toEqual({
      id: created.id,
      recordingState: "none",
      participants: [
        expect.objectContaining({ id: created.participants[0]!.id, purpose: "customer", name: "Ann", address: "tel:+15550001", attributes: { a: "1" } }),
        expect.objectContaining({ id: created.participants[1]!.id, purpose: "agent", userId: USER, queueId: QUEUE, attributes: {} }),
      ],
    });
    for (const p of snapshot.participants!) {
      expect(p).not.toHaveProperty("startTime");
      expect(p).not.toHaveProperty("state");
      expect(p.calls).toEqual([expect.objectContaining({ id: expect.any(String), state: "connected" })]);
    }
    const calls = (await socket.next(isTopic(callsTopic))).eventBody as Models.QueueConversationCallEventTopicCallConversation;
    expect(calls.participants![1]).toMatchObject({ state: "connected", user: { id: USER }, queue: { id: QUEUE }, startTime: created.participants[1]!.startTime });
    await socket.close();
  });

  it("does not publish `.calls` topics for non-call conversations", async () => {
    const api = h.api("client-a");
    const channel = await api.postNotificationsChannels();
    await api.putNotificationsChannelSubscriptions(channel.id!, [
      { id: `v2.routing.queues.${QUEUE}.conversations.calls` },
      { id: `v2.routing.queues.${QUEUE}.conversations` },
    ]);
    const socket = await openFrames(channel.connectUri!);
    h.store.create({ queueId: QUEUE, mediaType: "email", participants: [{ purpose: "customer" }] });
    const first = await socket.next(isEvent);
    expect(first.topicName).toBe(`v2.routing.queues.${QUEUE}.conversations`);
    expect(first.eventBody.participants[0].emails).toEqual([expect.objectContaining({ state: "connected" })]);
    // Marker: the next call conversation's `.calls` frame is the next event frame.
    h.store.create({ queueId: QUEUE, participants: [{ purpose: "customer" }] });
    expect((await socket.next(isEvent)).topicName).toBe(`v2.routing.queues.${QUEUE}.conversations`);
    expect((await socket.next(isEvent)).topicName).toBe(`v2.routing.queues.${QUEUE}.conversations.calls`);
    await socket.close();
  });

  it("reset() drops channels and sockets; close() stops publishing", async () => {
    const api = h.api("client-a");
    const channel = await api.postNotificationsChannels();
    const socket = await openFrames(channel.connectUri!);
    h.service.reset();
    expect((await socket.closedWithin()).code).toBe(1006);
    await expect(api.getNotificationsChannelSubscriptions(channel.id!)).rejects.toMatchObject({ status: 404 });
    expect((await api.getNotificationsChannels()).entities).toEqual([]);
    await h.service.close();
    expect(h.store.listenerCount("change")).toBe(0);
  });
});
