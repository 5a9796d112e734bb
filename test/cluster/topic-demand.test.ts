/**
 * Topic demand (reference counts per instance, the union of live instances) and the holder's
 * live-topics store, in memory and in a real Redis: the same behaviours from both, then what only
 * Redis does (a dead instance's demand expires with its heartbeat; a heartbeat rewrites demand
 * Redis lost; live topics fenced and versioned).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InMemoryLeaseStore, RedisLeaseStore, type LeaseStore } from "../../src/cluster/lease.js";
import { InMemoryLiveTopics, RedisLiveTopics, type LiveTopicsStore } from "../../src/cluster/live-topics.js";
import { InMemoryDemandBoard, InMemoryTopicDemand, RedisTopicDemand, type TopicDemand } from "../../src/cluster/topic-demand.js";
import { hasRedisServer, startRedis, warnWithoutRedis, type RunningRedis } from "../support/redis-server.js";

warnWithoutRedis("test/cluster/topic-demand.test.ts");

const sorted = async (p: Promise<string[]>) => (await p).sort();

function demandConformance(name: string, make: () => (instanceId: string) => TopicDemand) {
  describe(`${name}: topic demand`, () => {
    it("counts references per instance; the union holds a topic while any instance needs it", async () => {
      const instance = make();
      const a = instance("a");
      const b = instance("b");
      await a.acquire(["t1", "t2"]);
      await a.acquire(["t1"]);
      await b.acquire(["t2", "t3"]);
      expect(await sorted(a.union())).toEqual(["t1", "t2", "t3"]);
      expect(a.local().sort()).toEqual(["t1", "t2"]);
      await a.release(["t1"]);
      expect(await sorted(b.union())).toEqual(["t1", "t2", "t3"]); // a still holds t1 once
      await a.release(["t1", "t2"]);
      expect(await sorted(b.union())).toEqual(["t2", "t3"]); // b still needs t2
      expect(a.local()).toEqual([]);
      await a.release(["t9"]); // nothing held: nothing happens
      expect(await sorted(a.union())).toEqual(["t2", "t3"]);
    });

    it("an instance that stops withdraws its demand at once", async () => {
      const instance = make();
      const a = instance("a");
      const b = instance("b");
      await a.acquire(["x"]);
      await b.acquire(["y"]);
      await a.stop();
      expect(await b.union()).toEqual(["y"]);
    });
  });
}

function liveConformance(name: string, make: () => { leases: LeaseStore; live: LiveTopicsStore; expire: () => Promise<void> }) {
  describe(`${name}: live topics`, () => {
    it("publishes fenced, versioned state with a heartbeat; stale fences write nothing", async () => {
      const { leases, live, expire } = make();
      expect(await live.read()).toBeUndefined();
      const lease = (await leases.tryAcquire("channels", "a", 10_000))!;
      expect(await live.publish(lease.fence, 10_000)).toBe("missing");
      expect(await live.publish(lease.fence, 10_000, { topics: ["t1", "t2"], refused: { bad: "no permission" }, since: { t1: 7 } })).toBe("ok");
      const first = (await live.read())!;
      expect({ ...first, topics: first.topics?.sort() }).toEqual({ fence: lease.fence, version: first.version, topics: ["t1", "t2"], refused: { bad: "no permission" }, since: { t1: 7 } });
      expect(await live.read(first.version)).toEqual({ fence: lease.fence, version: first.version });
      expect(await live.publish(lease.fence, 10_000)).toBe("ok");
      expect(await live.read(first.version)).toEqual({ fence: lease.fence, version: first.version });
      expect(await live.publish(lease.fence, 10_000, { topics: ["t1"], refused: {} })).toBe("ok");
      const second = (await live.read(first.version))!;
      expect(second.version).toBeGreaterThan(first.version);
      expect(second.topics).toEqual(["t1"]);
      expect(second.refused).toEqual({});
      expect(second.since).toEqual({}); // replaced with the state: t1 is no longer proven
      await expire();
      const next = (await leases.tryAcquire("channels", "b", 10_000))!;
      expect(await live.publish(lease.fence, 10_000, { topics: ["zombie"], refused: {} })).toBe("stale");
      expect(await live.publish(next.fence, 10_000, { topics: ["t3"], refused: {} })).toBe("ok");
      expect((await live.read())!.topics).toEqual(["t3"]);
    });
  });
}

let clock = 0;
demandConformance("in memory", () => {
  const board = new InMemoryDemandBoard();
  return (instanceId) => new InMemoryTopicDemand({ board, instanceId });
});
liveConformance("in memory", () => {
  const leases = new InMemoryLeaseStore({ now: () => clock });
  return { leases, live: new InMemoryLiveTopics({ leases, now: () => clock }), expire: async () => void (clock += 10_000) };
});

describe.skipIf(!hasRedisServer)("Redis", () => {
  let redis: RunningRedis;
  let prefixes = 0;
  beforeAll(async () => void (redis = await startRedis()));
  afterAll(async () => redis?.stop());

  demandConformance("Redis", () => {
    const keyPrefix = `d${prefixes++}:`;
    return (instanceId) => new RedisTopicDemand({ redis: redis.client(), keyPrefix, instanceId });
  });
  liveConformance("Redis", () => {
    const client = redis.client();
    const keyPrefix = `l${prefixes++}:`;
    return {
      leases: new RedisLeaseStore({ redis: client, keyPrefix }),
      live: new RedisLiveTopics({ redis: client, keyPrefix }),
      expire: async () => void (await client.del(`${keyPrefix}lease:channels`)),
    };
  });

  it("a dead instance's demand expires with its heartbeat; a live one's stays", async () => {
    const keyPrefix = "hb:";
    const dead = new RedisTopicDemand({ redis: redis.client(), keyPrefix, instanceId: "dead", heartbeatTtlMs: 300 });
    const alive = new RedisTopicDemand({ redis: redis.client(), keyPrefix, instanceId: "alive", heartbeatTtlMs: 300, heartbeatEveryMs: 50 });
    alive.start();
    await dead.acquire(["gone-soon"]);
    await alive.acquire(["kept"]);
    expect((await alive.union()).sort()).toEqual(["gone-soon", "kept"]);
    // `dead` never beats: Redis expires its hash; the union drops its topic and the instance.
    await expect.poll(() => alive.union(), { timeout: 5_000 }).toEqual(["kept"]);
    expect(await redis.client().smembers(`${keyPrefix}demand-instances`)).toEqual(["alive"]);
    await alive.stop();
  });

  it("a heartbeat writes the whole demand again when Redis lost it", async () => {
    const client = redis.client();
    const a = new RedisTopicDemand({ redis: client, keyPrefix: "lost:", instanceId: "a" });
    await a.acquire(["t1", "t2"]);
    await client.flushall();
    expect(await a.union()).toEqual([]);
    await a.beat();
    expect((await a.union()).sort()).toEqual(["t1", "t2"]);
    expect(await client.pttl("lost:demand:a")).toBeGreaterThan(0);
  });

  it("a release Redis failed to record is written by the next heartbeat: the topic leaves the union", async () => {
    const client = redis.client();
    const a = new RedisTopicDemand({ redis: client, keyPrefix: "failed-release:", instanceId: "a" });
    await a.acquire(["kept", "released"]);
    // One release whose command fails (Redis away for a moment): the instance no longer needs it.
    const commands = client as unknown as { gwDemandRemove: (...args: unknown[]) => Promise<number> };
    const remove = commands.gwDemandRemove;
    commands.gwDemandRemove = async () => {
      commands.gwDemandRemove = remove;
      throw new Error("Connection is closed.");
    };
    await expect(a.release(["released"])).rejects.toThrow(/closed/);
    expect(a.local()).toEqual(["kept"]);
    await a.beat();
    expect(await a.union()).toEqual(["kept"]);
  });

  it("an acquire whose reply was lost but which Redis applied is undone by the next heartbeat", async () => {
    const client = redis.client();
    const a = new RedisTopicDemand({ redis: client, keyPrefix: "lost-reply:", instanceId: "a" });
    await a.acquire(["kept"]);
    const commands = client as unknown as { gwDemandAdd: (...args: unknown[]) => Promise<number> };
    const add = commands.gwDemandAdd;
    commands.gwDemandAdd = async (...args) => {
      commands.gwDemandAdd = add;
      await add.apply(client, args); // applied in Redis...
      throw new Error("Command timed out"); // ...but the answer never came
    };
    await expect(a.acquire(["maybe"])).rejects.toThrow(/timed out/);
    expect(a.local()).toEqual(["kept"]);
    await a.beat();
    expect(await a.union()).toEqual(["kept"]);
  });
});
