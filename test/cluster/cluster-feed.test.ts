/**
 * Two gateway instances' change feeds on one real redis-server (RedisChangeLog fenced by the
 * channel holder's lease, ClusterTopics on the emulator through the official SDK), composed as
 * i10-cluster will: feeds start as followers, `followClusterRole` makes the elected one the
 * holder, and a stale append steps it down.
 *
 * - A subscriber on the follower gets the holder's entries, and its snapshot the holder's state.
 * - The holder crashes (stops renewing, its channel sockets go with it) and a write lands while
 *   nobody holds a socket: the other instance takes over within TTL + TTL/3, its re-read appends
 *   that write once, and it then decides notifications itself. Nothing is lost or duplicated.
 * - `after` on an instance that never watched the conversation is accepted while the holder has
 *   had its topic live with no gap since the cursor (published with the live topics); after a
 *   socket drop of the holder's channel it is refused there (CURSOR_EXPIRED) for cursors before
 *   the gap, accepted again from after the reconnect re-read.
 * Short lease TTLs (900 ms), event-driven waits (expect.poll), no sleeps.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AttributeChangeFeed, type StreamItem } from "../../src/attributes/change-feed.js";
import { RedisChangeLog } from "../../src/attributes/redis-change-log.js";
import { RedisChannelDirectory } from "../../src/cluster/channel-directory.js";
import { ChannelHolder } from "../../src/cluster/channel-holder.js";
import { ClusterTopics, followClusterRole } from "../../src/cluster/cluster-topics.js";
import { RedisLeaseStore } from "../../src/cluster/lease.js";
import { RedisLiveTopics } from "../../src/cluster/live-topics.js";
import { RedisTopicDemand } from "../../src/cluster/topic-demand.js";
import { startEmulator, type RunningEmulator } from "../../src/emulator/server.js";
import { conversationAttributesTopic } from "../../src/genesys/attribute-events.js";
import { NotificationChannel } from "../../src/genesys/notifications.js";
import { toConversationSnapshot } from "../../src/genesys/participants.js";
import { createLogger } from "../../src/logger.js";
import { systemTimers, type Timers } from "../../src/timers.js";
import { hasRedisServer, startRedis, warnWithoutRedis, type RunningRedis } from "../support/redis-server.js";
import { connectSdk } from "../support/sdk.js";

warnWithoutRedis("test/cluster/cluster-feed.test.ts");

const QUEUE = "a0000000-0000-4000-8000-0000000000aa";
const logger = createLogger("silent");
const keyPrefix = "feed:";

let emulator: RunningEmulator;
let redis: RunningRedis;
let sdk: Awaited<ReturnType<typeof connectSdk>>;
const cleanups: Array<() => Promise<void>> = [];

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${emulator.url}/emulator${path}`, { method, headers: { "content-type": "application/json" }, body: method === "GET" ? undefined : JSON.stringify(body ?? {}) });
  return { status: res.status, body: await res.json() };
}

async function instance(name: string) {
  const client = redis.client();
  let dead = false;
  const timers: Timers = { now: systemTimers.now, schedule: (fn, ms) => systemTimers.schedule(() => dead || fn(), ms) };
  const holder = new ChannelHolder({ leases: new RedisLeaseStore({ redis: client, keyPrefix }), owner: name, ttlMs: 900, renewEveryMs: 300, timers });
  const log = await RedisChangeLog.open({ redis: client, keyPrefix, fence: () => holder.redisFence(keyPrefix), blockMs: 200 });
  const topics = new ClusterTopics({
    holder,
    demand: new RedisTopicDemand({ redis: client, keyPrefix, instanceId: name, heartbeatTtlMs: 900, timers }),
    live: new RedisLiveTopics({ redis: client, keyPrefix }),
    directory: new RedisChannelDirectory({ redis: client, keyPrefix }),
    createChannel: ({ existing, mayReconnect }) =>
      new NotificationChannel({
        client: {
          createChannel: () => sdk.notifications.postNotificationsChannels(),
          replaceSubscriptions: async (id, list) => (await sdk.notifications.putNotificationsChannelSubscriptions(id, list.map((t) => ({ id: t })))).entities ?? [],
        },
        logger,
        reconnectDelayMs: 20,
        existing,
        mayReconnect,
      }),
    pollMs: 100,
    timers,
    logger,
  });
  const reads: string[] = [];
  const feed = new AttributeChangeFeed({
    topics,
    log,
    logger,
    role: "follower",
    onAppendError: (error) => holder.noteAppendError(error),
    timers,
    lingerMs: 0,
    genesys: {
      getConversation: async (id, priority) => {
        reads.push(priority);
        return toConversationSnapshot(await sdk.conversations.getConversation(id));
      },
      listQueueConversations: async () => ({ conversationIds: [], truncated: false }),
    },
  });
  followClusterRole(feed, topics);
  topics.start();
  const stop = async () => {
    dead = true;
    feed.close();
    await topics.stop().catch(() => undefined);
    await log.close();
  };
  cleanups.push(stop);
  return { feed, topics, holder, log, reads, crash: () => void ((dead = true), (topics as unknown as { becomeFollower(): void }).becomeFollower()) };
}

async function next(stream: AsyncIterableIterator<StreamItem>) {
  const { value } = await stream.next();
  if (!value || value.kind !== "change") throw new Error(`expected a change, got ${JSON.stringify(value)}`);
  return value;
}

describe.skipIf(!hasRedisServer)("cluster change feed", () => {
  beforeAll(async () => {
    [emulator, redis] = await Promise.all([
      startEmulator({ port: 0, seed: "cluster-feed", faults: { heartbeatIntervalMs: 0, visibilityDelayMs: { min: 0, max: 0 } } }),
      startRedis(),
    ]);
    sdk = await connectSdk(emulator.url);
  });
  afterEach(async () => {
    for (const stop of cleanups.splice(0)) await stop();
  });
  afterAll(async () => {
    await Promise.all([emulator?.close(), redis?.stop()]);
  });

  it("a follower's subscriber follows the holder's entries; after the holder crashes the other instance takes over and loses nothing", async () => {
    const a = await instance("a");
    await expect.poll(() => a.feed.role).toBe("holder");
    const b = await instance("b");
    const created = await control("POST", "/conversations", {
      queueId: QUEUE,
      participants: [{ purpose: "customer", name: "Ann", address: "tel:+15550001", attributes: { a: "1" } }],
    });
    const conversationId = created.body.id as string;
    const participantId = (created.body.participants as Array<{ id: string; purpose: string }>).find((p) => p.purpose === "customer")!.id;
    const write = (value: string) => sdk.conversations.patchConversationParticipantAttributes(conversationId, participantId, { attributes: { a: value } });

    const stream = await b.feed.subscribe({ conversationId, participantId }, { includeSnapshot: true });
    expect(await next(stream)).toMatchObject({ snapshot: true, attributes: { a: "1" } });
    expect(b.feed.role).toBe("follower");
    // The holder read the baseline of the topic it subscribed for b.
    await expect.poll(() => a.reads).toEqual(["background"]);

    await write("2");
    const second = await next(stream);
    expect(second).toMatchObject({ snapshot: false, changes: [{ key: "a", previous: "1", value: "2" }] });
    expect(b.feed.tracker.committed(conversationId)).toMatchObject([{ attributes: { a: "2" } }]);
    expect(b.feed.isCurrent(conversationId)).toBe(true);

    // The holder crashes; a write lands while no instance holds a socket.
    const crashedAt = Date.now();
    a.crash();
    await write("3");
    await expect.poll(() => b.feed.role, { timeout: 10_000 }).toBe("holder");
    // TTL + renew interval, with slack for a loaded machine (exact bounds: test/cluster/channel-holder.test.ts).
    expect(Date.now() - crashedAt).toBeLessThan(5_000);
    const healed = await next(stream);
    expect(healed).toMatchObject({ changes: [{ key: "a", previous: "2", value: "3" }] });
    expect(b.reads).toContain("background");

    // The new holder decides notifications on the same channel id.
    await write("4");
    expect(await next(stream)).toMatchObject({ changes: [{ key: "a", previous: "3", value: "4" }] });
    const page = await b.log.read(second.cursor, 100);
    expect(page.entries.map((e) => e.attributes.a)).toEqual(["3", "4"]);
    expect((await control("GET", "/notifications/channels")).body.entities).toHaveLength(1);
    await stream.return?.();
  });

  it("after on an instance that never watched the conversation: accepted while the holder had its topic live since the cursor; a socket drop after the cursor makes it CURSOR_EXPIRED there", async () => {
    const a = await instance("a");
    await expect.poll(() => a.feed.role).toBe("holder");
    const b = await instance("b");
    const c = await instance("c");
    const created = await control("POST", "/conversations", {
      queueId: QUEUE,
      participants: [{ purpose: "customer", name: "Ann", address: "tel:+15550001", attributes: { a: "1" } }],
    });
    const conversationId = created.body.id as string;
    const participantId = (created.body.participants as Array<{ id: string; purpose: string }>).find((p) => p.purpose === "customer")!.id;
    const topic = conversationAttributesTopic(conversationId);
    const write = (value: string) => sdk.conversations.patchConversationParticipantAttributes(conversationId, participantId, { attributes: { a: value } });

    const stream = await b.feed.subscribe({ conversationId, participantId }, { includeSnapshot: true });
    await next(stream);
    // The holder proved the topic continuous (its baseline read applied) and published it.
    await expect.poll(() => c.topics.continuousSince(topic)).toBeTypeOf("number");
    await write("2");
    const seen = await next(stream);
    await write("3");
    expect((await next(stream)).attributes).toEqual({ a: "3" });
    // c never watched it: accepted from the holder's continuity, exactly what came after the cursor.
    const resumed = await c.feed.subscribe({ conversationId, participantId }, { after: seen.cursor });
    expect(await next(resumed)).toMatchObject({ changes: [{ key: "a", previous: "2", value: "3" }] });
    await resumed.return?.();

    // The holder's socket drops (no close frame) and a write lands in the gap.
    const proven = await a.topics.continuousSince(topic);
    expect((await control("POST", "/notifications/disconnect")).status).toBe(200);
    await write("4");
    // The reconnect re-read appends what the gap hid, and the topic is proven again from after it.
    expect(await next(stream)).toMatchObject({ changes: [{ key: "a", previous: "3", value: "4" }] });
    await expect.poll(() => c.topics.continuousSince(topic), { timeout: 10_000 }).toBeGreaterThan(proven!);
    await expect(c.feed.subscribe({ conversationId, participantId }, { after: seen.cursor })).rejects.toMatchObject({ name: "CursorExpiredError" });
    // b, watching all along, still resumes from it (its own watch: today's per-instance rule).
    const onB = await b.feed.subscribe({ conversationId, participantId }, { after: seen.cursor });
    expect((await next(onB)).attributes).toEqual({ a: "3" });
    await onB.return?.();
    await stream.return?.();
  });

  it("a topic the holder held for its own write before another instance subscribed it is proven continuous too", async () => {
    const a = await instance("a");
    await expect.poll(() => a.feed.role).toBe("holder");
    const b = await instance("b");
    const c = await instance("c");
    const created = await control("POST", "/conversations", { queueId: QUEUE, participants: [{ purpose: "customer", name: "Bo", address: "tel:+15550002", attributes: { a: "1" } }] });
    const conversationId = created.body.id as string;
    const participantId = (created.body.participants as Array<{ id: string; purpose: string }>).find((p) => p.purpose === "customer")!.id;
    const topic = conversationAttributesTopic(conversationId);
    // A write's verify loop on the holder holds the topic (no subscriber, no baseline read).
    const confirming = await a.feed.watchParticipant(conversationId, participantId);
    expect(confirming).toBeDefined();
    expect(await a.topics.continuousSince(topic)).toBeUndefined();
    const stream = await b.feed.subscribe({ conversationId, participantId }, { includeSnapshot: true });
    await next(stream);
    await expect.poll(() => c.topics.continuousSince(topic)).toBeTypeOf("number");
    await sdk.conversations.patchConversationParticipantAttributes(conversationId, participantId, { attributes: { a: "2" } });
    const seen = await next(stream);
    await sdk.conversations.patchConversationParticipantAttributes(conversationId, participantId, { attributes: { a: "3" } });
    await next(stream);
    const resumed = await c.feed.subscribe({ conversationId, participantId }, { after: seen.cursor });
    expect(await next(resumed)).toMatchObject({ changes: [{ key: "a", previous: "2", value: "3" }] });
    await resumed.return?.();
    await stream.return?.();
    confirming!.close();
  });
});
