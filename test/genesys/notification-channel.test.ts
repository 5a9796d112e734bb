/**
 * Reconnecting to an existing channel by id (what a new channel holder of a cluster does),
 * against the emulator through the official SDK: the new NotificationChannel connects to the
 * previous one's `connectUri`, Genesys (the emulator) kicks the previous socket, the previous
 * object asked `mayReconnect` and closes instead of kicking back, events flow to the new socket,
 * and a channel id Genesys no longer knows is replaced by a new channel (`channel` event).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/server.js";
import { NotificationChannel, type NotificationChannelRef, type NotificationEnvelope, type NotificationSocketState } from "../../src/genesys/notifications.js";
import { createLogger } from "../../src/logger.js";
import { connectSdk } from "../support/sdk.js";

const QUEUE = "a0000000-0000-4000-8000-0000000000aa";
const TOPIC = `v2.routing.queues.${QUEUE}.conversations`;

let emulator: RunningEmulator;
let sdk: Awaited<ReturnType<typeof connectSdk>>;
const logger = createLogger("silent");
const opened: NotificationChannel[] = [];

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${emulator.url}/emulator${path}`, { method, headers: { "content-type": "application/json" }, body: method === "GET" ? undefined : JSON.stringify(body ?? {}) });
  return { status: res.status, body: await res.json() };
}

function channel(options: { existing?: NotificationChannelRef; mayReconnect?: () => Promise<boolean> } = {}) {
  const created = new NotificationChannel({
    client: {
      createChannel: () => sdk.notifications.postNotificationsChannels(),
      replaceSubscriptions: async (id, topics) => (await sdk.notifications.putNotificationsChannelSubscriptions(id, topics.map((t) => ({ id: t })))).entities ?? [],
    },
    logger,
    reconnectDelayMs: 10,
    ...options,
  });
  opened.push(created);
  const events: NotificationEnvelope[] = [];
  const states: NotificationSocketState[] = [];
  const refs: NotificationChannelRef[] = [];
  created.on("event", (e) => events.push(e));
  created.on("state", (s) => states.push(s));
  created.on("channel", (r) => refs.push(r));
  return { channel: created, events, states, refs };
}

const createCall = () =>
  control("POST", "/conversations", { queueId: QUEUE, participants: [{ purpose: "customer", name: "Ann", address: "tel:+15550001" }] });

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, seed: "notification-channel", faults: { heartbeatIntervalMs: 0, visibilityDelayMs: { min: 0, max: 0 } } });
  sdk = await connectSdk(emulator.url);
});
beforeEach(async () => {
  for (const c of opened.splice(0)) c.close();
  expect((await control("POST", "/reset")).status).toBe(200);
});
afterAll(async () => {
  for (const c of opened.splice(0)) c.close();
  await emulator?.close();
});

describe("NotificationChannel reconnect by id", () => {
  it("a second object on the same channel id takes the socket; the first, no longer allowed, closes instead of kicking back", async () => {
    let firstMay = true;
    const first = channel({ mayReconnect: async () => firstMay });
    await first.channel.acquire([TOPIC]);
    expect(first.refs).toHaveLength(1);
    const ref = first.channel.channelRef!;
    expect(ref).toEqual(first.refs[0]);

    firstMay = false;
    const second = channel({ existing: ref });
    await second.channel.acquire([TOPIC]);
    expect(second.refs).toEqual([]); // no channel created
    expect(second.channel.channelRef).toEqual(ref);
    await expect.poll(() => first.states.at(-1)).toBe("closed");

    const listed = (await control("GET", "/notifications/channels")).body.entities;
    expect(listed).toEqual([expect.objectContaining({ id: ref.id, connected: true, topics: [TOPIC] })]);
    expect(second.channel.isLive(TOPIC)).toBe(true);
    await createCall();
    await expect.poll(() => second.events.filter((e) => e.topicName === TOPIC).length).toBe(1);
    expect(first.events.filter((e) => e.topicName === TOPIC)).toHaveLength(0);
  });

  it("without mayReconnect (one process), a kicked socket reconnects as before", async () => {
    const first = channel();
    await first.channel.acquire([TOPIC]);
    const reconnected = new Promise<void>((resolve) => first.channel.once("reconnected", () => resolve()));
    const intruder = channel({ existing: first.channel.channelRef!, mayReconnect: async () => false });
    await intruder.channel.acquire([TOPIC]);
    await reconnected;
    // The first took the socket back; the intruder, not allowed to, is closed.
    await expect.poll(() => intruder.states.at(-1)).toBe("closed");
    expect(first.channel.isLive(TOPIC)).toBe(true);
  });

  it("an existing channel Genesys no longer knows is replaced by a new one (announced with `channel`)", async () => {
    const stale = channel({ existing: { id: "streaming-0-gone", connectUri: `${emulator.url.replace("http", "ws")}/channels/streaming-0-gone` } });
    await stale.channel.acquire([TOPIC]);
    expect(stale.refs).toHaveLength(1);
    expect(stale.refs[0]!.id).not.toBe("streaming-0-gone");
    expect(stale.channel.channelRef).toEqual(stale.refs[0]);
    await createCall();
    await expect.poll(() => stale.events.length).toBe(1);
  });
});
