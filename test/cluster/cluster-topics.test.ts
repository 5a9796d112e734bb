/**
 * ClusterTopics end to end: two instances (each its own ioredis client, lease store, demand and
 * holder) on one real redis-server, real NotificationChannels on the emulator through the
 * official SDK. The holder subscribes the union of both instances' demand and alone receives
 * events; a follower's acquire resolves once the holder has the topic live and its isLive follows
 * the holder's published set; when the holder stops renewing (a hung process), the other takes
 * over on the same Genesys channel id, the old socket is kicked and not taken back.
 * Short lease TTLs (900 ms) and event-driven waits (expect.poll), no sleeps.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RedisChannelDirectory } from "../../src/cluster/channel-directory.js";
import { ChannelHolder } from "../../src/cluster/channel-holder.js";
import { ClusterTopics } from "../../src/cluster/cluster-topics.js";
import { RedisLeaseStore } from "../../src/cluster/lease.js";
import { RedisLiveTopics } from "../../src/cluster/live-topics.js";
import { RedisTopicDemand } from "../../src/cluster/topic-demand.js";
import { startEmulator, type RunningEmulator } from "../../src/emulator/server.js";
import { NotificationChannel, type NotificationEnvelope } from "../../src/genesys/notifications.js";
import { createLogger } from "../../src/logger.js";
import { systemTimers, type Timers } from "../../src/timers.js";
import { hasRedisServer, startRedis, warnWithoutRedis, type RunningRedis } from "../support/redis-server.js";
import { connectSdk } from "../support/sdk.js";

warnWithoutRedis("test/cluster/cluster-topics.test.ts");

const QUEUE = "a0000000-0000-4000-8000-0000000000aa";
const TOPIC = `v2.routing.queues.${QUEUE}.conversations`;
const logger = createLogger("silent");

let emulator: RunningEmulator;
let redis: RunningRedis;
let sdk: Awaited<ReturnType<typeof connectSdk>>;
let prefix = 0;
const instances: Array<{ topics: ClusterTopics; kill: () => void }> = [];

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${emulator.url}/emulator${path}`, { method, headers: { "content-type": "application/json" }, body: method === "GET" ? undefined : JSON.stringify(body ?? {}) });
  return { status: res.status, body: await res.json() };
}
const channels = async () => (await control("GET", "/notifications/channels")).body.entities as Array<{ id: string; connected: boolean; topics: string[] }>;
const createCall = () => control("POST", "/conversations", { queueId: QUEUE, participants: [{ purpose: "customer", name: "Ann", address: "tel:+15550001" }] });

/** Timers that stop running callbacks once killed (a hung process: nothing renews, nothing polls). */
function killable(): { timers: Timers; kill: () => void } {
  let dead = false;
  return {
    timers: { now: systemTimers.now, schedule: (fn, ms) => systemTimers.schedule(() => dead || fn(), ms) },
    kill: () => void (dead = true),
  };
}

function instance(name: string, keyPrefix: string, acquireTimeoutMs = 10_000) {
  const client = redis.client();
  const { timers, kill } = killable();
  const holder = new ChannelHolder({ leases: new RedisLeaseStore({ redis: client, keyPrefix }), owner: name, ttlMs: 900, renewEveryMs: 300, timers });
  const topics = new ClusterTopics({
    holder,
    demand: new RedisTopicDemand({ redis: client, keyPrefix, instanceId: name, heartbeatTtlMs: 900, timers }),
    live: new RedisLiveTopics({ redis: client, keyPrefix }),
    directory: new RedisChannelDirectory({ redis: client, keyPrefix }),
    createChannel: ({ existing, mayReconnect }) =>
      new NotificationChannel({
        client: {
          createChannel: () => sdk.notifications.postNotificationsChannels(),
          // As GenesysClient.replaceSubscriptions: ignoreErrors, so one refused topic does not fail the others.
          replaceSubscriptions: async (id, list) =>
            (await sdk.notifications.putNotificationsChannelSubscriptions(id, list.map((t) => ({ id: t })), { ignoreErrors: true })).entities ?? [],
        },
        logger,
        reconnectDelayMs: 20,
        existing,
        mayReconnect,
      }),
    pollMs: 100,
    acquireTimeoutMs,
    timers,
    logger,
  });
  const events: NotificationEnvelope[] = [];
  const roles: string[] = [];
  const states: string[] = [];
  topics.on("event", (e) => events.push(e));
  topics.on("state", (state) => states.push(state));
  topics.on("holding", (held) => roles.push(`holding ${held.join(",")}`));
  topics.on("following", () => roles.push("following"));
  instances.push({ topics, kill });
  return { topics, holder, events, roles, states, kill };
}

describe.skipIf(!hasRedisServer)("ClusterTopics", () => {
  beforeAll(async () => {
    [emulator, redis] = await Promise.all([
      startEmulator({ port: 0, seed: "cluster-topics", faults: { heartbeatIntervalMs: 0, visibilityDelayMs: { min: 0, max: 0 } } }),
      startRedis(),
    ]);
    sdk = await connectSdk(emulator.url);
  });
  beforeEach(async () => {
    expect((await control("POST", "/reset")).status).toBe(200);
  });
  afterEach(async () => {
    for (const i of instances.splice(0)) {
      i.kill();
      await i.topics.stop().catch(() => undefined);
    }
  });
  afterAll(async () => {
    await Promise.all([emulator?.close(), redis?.stop()]);
  });

  it("the holder subscribes a follower's demand; only the holder receives events; release unsubscribes", async () => {
    const keyPrefix = `ct${prefix++}:`;
    const a = instance("a", keyPrefix);
    a.topics.start();
    await expect.poll(() => a.topics.isHolder).toBe(true);
    const b = instance("b", keyPrefix);
    b.topics.start();
    await b.topics.acquire([TOPIC]);
    expect(b.topics.isHolder).toBe(false);
    expect(b.topics.isLive(TOPIC)).toBe(true);
    expect(a.topics.state).toBe("open");
    expect(b.topics.state).toBe("open");
    expect(b.topics.isWanted(TOPIC)).toBe(true);
    expect(a.topics.isLive(TOPIC)).toBe(true);
    expect(await channels()).toEqual([expect.objectContaining({ connected: true, topics: [TOPIC] })]);
    await createCall();
    await expect.poll(() => a.events.length).toBe(1);
    expect(b.events).toEqual([]);
    expect(b.topics.wantedTopics()).toEqual([TOPIC]);

    await b.topics.release([TOPIC]);
    await expect.poll(async () => (await channels())[0]!.topics).toEqual([]);
    await expect.poll(() => b.topics.isLive(TOPIC)).toBe(false);
  });

  it("a hung holder is replaced on the same channel id; its socket is kicked and not taken back", async () => {
    const keyPrefix = `ct${prefix++}:`;
    const a = instance("a", keyPrefix);
    a.topics.start();
    await expect.poll(() => a.topics.isHolder).toBe(true);
    const b = instance("b", keyPrefix);
    b.topics.start();
    await b.topics.acquire([TOPIC]);
    const [before] = await channels();

    a.kill(); // stops renewing and polling; its socket stays open
    await expect.poll(() => b.roles, { timeout: 10_000 }).toEqual([`holding ${TOPIC}`]);
    expect(b.topics.isLive(TOPIC)).toBe(true);
    const after = await channels();
    expect(after).toEqual([expect.objectContaining({ id: before!.id, connected: true, topics: [TOPIC] })]);
    await createCall();
    await expect.poll(() => b.events.length).toBe(1);
    // The old holder's channel was kicked; asked whether it may reconnect, it closed.
    expect(a.events).toEqual([]);
    expect((await channels()).map((c) => c.id)).toEqual([before!.id]);
  });

  it("a follower's acquire fails with notification.holder.unavailable when no holder takes the topic in time", async () => {
    const keyPrefix = `ct${prefix++}:`;
    // Another owner holds the lease but never serves it (no ClusterTopics behind it).
    await new RedisLeaseStore({ redis: redis.client(), keyPrefix }).tryAcquire("channels", "ghost", 60_000);
    const b = instance("b", keyPrefix, 300);
    b.topics.start();
    await expect(b.topics.acquire([TOPIC])).rejects.toMatchObject({ code: "notification.holder.unavailable", status: 503 });
    expect(b.topics.heldTopicCount).toBe(0);
    expect(await channels()).toEqual([]);
  });

  it("a topic Genesys refuses fails the follower's acquire with notification.topic.rejected, and the others still flow", async () => {
    const keyPrefix = `ct${prefix++}:`;
    const a = instance("a", keyPrefix);
    a.topics.start();
    await expect.poll(() => a.topics.isHolder).toBe(true);
    const b = instance("b", keyPrefix);
    b.topics.start();
    const refused = "v2.users.b0000000-0000-4000-8000-0000000000bb.presence";
    await expect(b.topics.acquire([refused])).rejects.toMatchObject({ code: "notification.topic.rejected", status: 403 });
    expect(b.topics.heldTopicCount).toBe(0);
    await b.topics.acquire([TOPIC]);
    await createCall();
    await expect.poll(() => a.events.length).toBe(1);
    // On the holder itself, its own acquire of the refused topic fails the same way.
    await expect(a.topics.acquire([refused])).rejects.toMatchObject({ code: "notification.topic.rejected" });
    expect((await channels())[0]!.topics).toEqual([TOPIC]);
  });

  it("a follower's state is down while no holder's heartbeat is fresh", async () => {
    const keyPrefix = `ct${prefix++}:`;
    const a = instance("a", keyPrefix);
    a.topics.start();
    await expect.poll(() => a.topics.isHolder).toBe(true);
    const b = instance("b", keyPrefix);
    b.topics.start();
    await expect.poll(() => b.topics.state).toBe("open");
    a.kill();
    await expect.poll(() => b.states).toContain("down");
    await expect.poll(() => b.topics.isHolder, { timeout: 10_000 }).toBe(true);
    expect(b.topics.state).not.toBe("down");
  });
});
