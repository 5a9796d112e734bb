/**
 * Notification channels and subscriptions over REST, end to end against `startEmulator`
 * (port 0) through the official SDK, with every body validated against the 2018 spec
 * (`Channel`, `ChannelEntityListing`, `ChannelTopicEntityListing`, `ErrorBody`).
 *
 * Expiry is driven by the emulator clock (`POST /emulator/clock`), never by sleeping; the
 * channel TTL is shortened to 600 s and tokens made long-lived so clock jumps do not expire them.
 */
import type { Models } from "purecloud-platform-client-v2";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/server.js";
import { expectValid } from "../support/openapi.js";
import { connectSdk, DEMO_CREDENTIALS } from "../support/sdk.js";
import { openFrames, upgradeStatus, type FrameClient } from "../support/ws.js";

const TTL_SECONDS = 600;
const QUEUE = "a0000000-0000-4000-8000-0000000000aa";
const USER = "b0000000-0000-4000-8000-0000000000bb";
const CONVERSATION = "c0000000-0000-4000-8000-0000000000cc";
const GOOD = [
  `v2.routing.queues.${QUEUE}.conversations`,
  `v2.routing.queues.${QUEUE}.conversations.calls`,
  `v2.users.${USER}.conversations`,
  `v2.users.${USER}.conversations.calls`,
  `v2.detail.events.conversation.${CONVERSATION}.attributes`,
];

let emulator: RunningEmulator;
let sdk: Awaited<ReturnType<typeof connectSdk>>;
let api: Awaited<ReturnType<typeof connectSdk>>["notifications"];
/** A bearer token of the demo client, for the raw requests below. */
let token: string;
const sockets: FrameClient[] = [];

async function control(path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${emulator.url}/emulator${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  return { status: res.status, body: await res.json() };
}

async function emulatorNow(): Promise<number> {
  const res = await fetch(`${emulator.url}/emulator/clock`);
  return Date.parse(((await res.json()) as { now: string }).now);
}

/** Raw authenticated request (for bodies the SDK would not send, and HEAD statuses). */
async function raw(method: string, path: string, body?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${emulator.url}/api/v2/notifications${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function open(uri: string): Promise<FrameClient> {
  const socket = await openFrames(uri);
  sockets.push(socket);
  return socket;
}

const ids = (listing: Models.ChannelTopicEntityListing) => listing.entities?.map((t) => t.id);

beforeAll(async () => {
  emulator = await startEmulator({
    port: 0,
    channelTtlSeconds: TTL_SECONDS,
    tokenLifetimeSeconds: 30 * 86400,
    faults: { heartbeatIntervalMs: 0, visibilityDelayMs: { min: 0, max: 0 } },
  });
  sdk = await connectSdk(emulator.url);
  api = sdk.notifications;
  const login = await fetch(`${emulator.url}/oauth/token`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${DEMO_CREDENTIALS.clientId}:${DEMO_CREDENTIALS.clientSecret}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: "grant_type=client_credentials",
  });
  token = ((await login.json()) as { access_token: string }).access_token;
});
beforeEach(async () => {
  for (const socket of sockets.splice(0)) await socket.close();
  expect((await control("/reset")).status).toBe(200);
});
afterAll(async () => {
  for (const socket of sockets.splice(0)) await socket.close();
  await emulator?.close();
});

describe("notification channels", () => {
  it("POST /channels → 200 Channel {id: streaming-N-..., connectUri on this server, expires = now + TTL}", async () => {
    const before = await emulatorNow();
    const channel = await api.postNotificationsChannels();
    expectValid("Channel", channel);
    expect(channel.id).toMatch(/^streaming-\d+-[a-z0-9]+$/);
    expect(channel.connectUri).toBe(`ws://127.0.0.1:${emulator.port}/channels/${channel.id}`);
    const expires = Date.parse(channel.expires!);
    expect(expires).toBeGreaterThanOrEqual(before + TTL_SECONDS * 1000);
    expect(expires).toBeLessThan(before + TTL_SECONDS * 1000 + 5000);
  });

  it("GET /channels lists the client's channels (ChannelEntityListing); HEAD says 200/404", async () => {
    const a = await api.postNotificationsChannels();
    const b = await api.postNotificationsChannels();
    const listing = await api.getNotificationsChannels();
    expectValid("ChannelEntityListing", listing);
    expect(listing.entities).toEqual([a, b]);
    expect((await raw("HEAD", `/channels/${a.id}`)).status).toBe(200);
    expect((await raw("HEAD", "/channels/streaming-0-unknown")).status).toBe(404);
  });

  it("a 21st channel evicts the oldest unconnected channel (a connected older one survives)", async () => {
    const created: Models.Channel[] = [];
    for (let i = 0; i < 20; i++) created.push(await api.postNotificationsChannels());
    const connected = await open(created[0]!.connectUri!);
    const newest = await api.postNotificationsChannels();
    const remaining = (await api.getNotificationsChannels()).entities!.map((c) => c.id);
    expect(remaining).toHaveLength(20);
    expect(remaining).toContain(created[0]!.id);
    expect(remaining).not.toContain(created[1]!.id);
    expect(remaining).toContain(newest.id);
    await expect(api.getNotificationsChannelSubscriptions(created[1]!.id!)).rejects.toMatchObject({ status: 404 });
    expect(await upgradeStatus(created[1]!.connectUri!)).toBe(404);
    // The connected channel is untouched: ping still answered.
    connected.send({ message: "ping" });
    expect((await connected.next()).eventBody).toEqual({ message: "pong" });
  });

  it("when all 20 are connected, the least recently used connected channel is evicted and its socket closed (1000)", async () => {
    const created: Models.Channel[] = [];
    for (let i = 0; i < 20; i++) created.push(await api.postNotificationsChannels());
    const open20: FrameClient[] = [];
    for (const channel of created) open20.push(await open(channel.connectUri!));
    await api.postNotificationsChannels();
    expect((await open20[0]!.closedWithin()).code).toBe(1000);
    const remaining = (await api.getNotificationsChannels()).entities!.map((c) => c.id);
    expect(remaining).toHaveLength(20);
    expect(remaining).not.toContain(created[0]!.id);
    expect(remaining).toContain(created[1]!.id);
  });
});

describe("notification subscriptions", () => {
  it("PUT replaces, POST adds, GET lists, DELETE removes all (ChannelTopicEntityListing)", async () => {
    const channel = await api.postNotificationsChannels();
    const put = await api.putNotificationsChannelSubscriptions(channel.id!, [{ id: GOOD[0] }, { id: GOOD[1] }]);
    expectValid("ChannelTopicEntityListing", put);
    expect(put.entities).toEqual([
      { id: GOOD[0], state: "Permitted" },
      { id: GOOD[1], state: "Permitted" },
    ]);
    const replaced = await api.putNotificationsChannelSubscriptions(channel.id!, [{ id: GOOD[2] }]);
    expect(ids(replaced)).toEqual([GOOD[2]]);
    const added = await api.postNotificationsChannelSubscriptions(channel.id!, [{ id: GOOD[3] }, { id: GOOD[4] }, { id: GOOD[2] }]);
    expectValid("ChannelTopicEntityListing", added);
    expect(ids(added)).toEqual([GOOD[2], GOOD[3], GOOD[4]]);
    const listed = await api.getNotificationsChannelSubscriptions(channel.id!);
    expectValid("ChannelTopicEntityListing", listed);
    expect(ids(listed)).toEqual([GOOD[2], GOOD[3], GOOD[4]]);
    await api.deleteNotificationsChannelSubscriptions(channel.id!);
    expect((await api.getNotificationsChannelSubscriptions(channel.id!)).entities).toEqual([]);
  });

  it("rejects malformed bodies with 400 ErrorBody and changes nothing", async () => {
    const channel = await api.postNotificationsChannels();
    await api.putNotificationsChannelSubscriptions(channel.id!, [{ id: GOOD[0] }]);
    for (const body of ['{"id":"x"}', '[{"name":"x"}]', '[{"id":""}]', '[{"id":42}]', "[{", '"v2.users.x.conversations"']) {
      for (const method of ["PUT", "POST"]) {
        const res = await raw(method, `/channels/${channel.id}/subscriptions`, body);
        expect(res.status, `${method} ${body}`).toBe(400);
        expectValid("ErrorBody", res.body);
        expect(res.body).toMatchObject({ status: 400, code: "bad.request" });
      }
    }
    expect(ids(await api.getNotificationsChannelSubscriptions(channel.id!))).toEqual([GOOD[0]]);
  });

  it("answers 404 ErrorBody for an unknown channel on every subscription route", async () => {
    const unknown = "streaming-0-doesnotexist";
    for (const call of [
      () => api.getNotificationsChannelSubscriptions(unknown),
      () => api.putNotificationsChannelSubscriptions(unknown, [{ id: GOOD[0] }]),
      () => api.postNotificationsChannelSubscriptions(unknown, [{ id: GOOD[0] }]),
      () => api.deleteNotificationsChannelSubscriptions(unknown),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expectValid("ErrorBody", error);
      expect(error).toMatchObject({ status: 404, code: "not.found" });
    }
  });

  it("refuses an unsupported topic with 403 missing.permissions for the whole request, and changes nothing", async () => {
    const channel = await api.postNotificationsChannels();
    await api.putNotificationsChannelSubscriptions(channel.id!, [{ id: GOOD[0] }]);
    for (const bad of ["v2.conversations.abc", `v2.users.${USER}.presence`, "nonsense", `v2.routing.queues.${QUEUE}.conversations.emails`]) {
      const put = await api.putNotificationsChannelSubscriptions(channel.id!, [{ id: GOOD[1] }, { id: bad }]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expectValid("ErrorBody", put);
      expect(put).toMatchObject({ status: 403, code: "missing.permissions" });
      await expect(api.postNotificationsChannelSubscriptions(channel.id!, [{ id: bad }])).rejects.toMatchObject({ status: 403 });
    }
    expect(ids(await api.getNotificationsChannelSubscriptions(channel.id!))).toEqual([GOOD[0]]);
  });

  it("with ignoreErrors=true applies the good topics and lists the bad ones as Rejected", async () => {
    const channel = await api.postNotificationsChannels();
    const put = await api.putNotificationsChannelSubscriptions(channel.id!, [{ id: GOOD[0] }, { id: "v2.conversations.abc" }], { ignoreErrors: true });
    expectValid("ChannelTopicEntityListing", put);
    expect(put.entities).toEqual([
      { id: GOOD[0], state: "Permitted" },
      { id: "v2.conversations.abc", state: "Rejected", rejectionReason: expect.any(String), missingPermissions: [] },
    ]);
    const post = await api.postNotificationsChannelSubscriptions(channel.id!, [{ id: "bogus" }, { id: GOOD[4] }], { ignoreErrors: true });
    expect(post.entities?.map((t) => [t.id, t.state])).toEqual([
      [GOOD[0], "Permitted"],
      [GOOD[4], "Permitted"],
      ["bogus", "Rejected"],
    ]);
    expect(ids(await api.getNotificationsChannelSubscriptions(channel.id!))).toEqual([GOOD[0], GOOD[4]]);
  });

  it("allows 1,000 topics per channel; more → 400 and nothing changes", async () => {
    const channel = await api.postNotificationsChannels();
    const topics = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ id: `v2.users.${prefix}-${i}.conversations` }));
    const tooMany = await api.putNotificationsChannelSubscriptions(channel.id!, topics(1001, "u")).then(
      () => undefined,
      (e: unknown) => e,
    );
    expectValid("ErrorBody", tooMany);
    expect(tooMany).toMatchObject({ status: 400, code: "bad.request" });
    expect((await api.putNotificationsChannelSubscriptions(channel.id!, topics(1000, "u"))).entities).toHaveLength(1000);
    // Re-adding an existing topic does not count twice; one new topic does.
    expect((await api.postNotificationsChannelSubscriptions(channel.id!, topics(1, "u"))).entities).toHaveLength(1000);
    await expect(api.postNotificationsChannelSubscriptions(channel.id!, topics(1, "w"))).rejects.toMatchObject({ status: 400 });
    expect((await api.getNotificationsChannelSubscriptions(channel.id!)).entities).toHaveLength(1000);
  });
});

describe("notification channel expiry (emulator clock)", () => {
  it("an expired channel is gone: 404 on REST and on the upgrade, absent from the list, its socket closed", async () => {
    const channel = await api.postNotificationsChannels();
    const socket = await open(channel.connectUri!);
    await control("/clock", { advanceMs: TTL_SECONDS * 1000 - 1000 });
    expect(ids(await api.getNotificationsChannelSubscriptions(channel.id!))).toEqual([]);
    await control("/clock", { advanceMs: 2000 });
    const error = await api.getNotificationsChannelSubscriptions(channel.id!).then(
      () => undefined,
      (e: unknown) => e,
    );
    expectValid("ErrorBody", error);
    expect(error).toMatchObject({ status: 404, code: "not.found" });
    expect((await socket.closedWithin()).code).toBe(1000);
    expect((await api.getNotificationsChannels()).entities).toEqual([]);
    expect(await upgradeStatus(channel.connectUri!)).toBe(404);
  });

  it("re-subscribing (PUT or POST) extends the channel to now + TTL; GET and DELETE do not", async () => {
    const channel = await api.postNotificationsChannels();
    const expiresAt = async () => Date.parse((await api.getNotificationsChannels()).entities!.find((c) => c.id === channel.id)!.expires!);
    const created = await expiresAt();
    await control("/clock", { advanceMs: 100_000 });
    await api.getNotificationsChannelSubscriptions(channel.id!);
    await api.deleteNotificationsChannelSubscriptions(channel.id!);
    expect(await expiresAt()).toBe(created);
    await api.putNotificationsChannelSubscriptions(channel.id!, [{ id: GOOD[0] }]);
    const afterPut = await expiresAt();
    expect(afterPut - created).toBeGreaterThanOrEqual(100_000);
    await control("/clock", { advanceMs: 100_000 });
    await api.postNotificationsChannelSubscriptions(channel.id!, []);
    expect((await expiresAt()) - afterPut).toBeGreaterThanOrEqual(100_000);
    // Past the original expiry, the channel lives on.
    await control("/clock", { advanceMs: TTL_SECONDS * 1000 - 150_000 });
    expect(ids(await api.getNotificationsChannelSubscriptions(channel.id!))).toEqual([GOOD[0]]);
  });
});
