/**
 * The holder's channel ids, in memory and in a real Redis: saved by slot, loaded by the next
 * holder, and only by the current holder of the channels lease (fenced).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InMemoryChannelDirectory, RedisChannelDirectory, type ChannelDirectory } from "../../src/cluster/channel-directory.js";
import { InMemoryLeaseStore, RedisLeaseStore, type LeaseStore } from "../../src/cluster/lease.js";
import { hasRedisServer, startRedis, warnWithoutRedis, type RunningRedis } from "../support/redis-server.js";

warnWithoutRedis("test/cluster/channel-directory.test.ts");

const ref = (n: number) => ({ id: `streaming-${n}-abc`, connectUri: `wss://streaming.example/channels/streaming-${n}-abc` });

function conformance(name: string, setup: () => { leases: LeaseStore; directory: ChannelDirectory; expire: () => Promise<void> }) {
  it(`${name}: the holder's saves are loaded by slot; a stale fence writes nothing`, async () => {
    const { leases, directory, expire } = setup();
    expect(await directory.load()).toEqual([]);
    const first = (await leases.tryAcquire("channels", "a", 10_000))!;
    expect(await directory.save(0, ref(0), first.fence)).toBe(true);
    expect(await directory.save(1, ref(1), first.fence)).toBe(true);
    expect(await directory.load()).toEqual([ref(0), ref(1)]);
    await expire();
    const second = (await leases.tryAcquire("channels", "b", 10_000))!;
    expect(await directory.save(1, ref(9), first.fence)).toBe(false);
    expect(await directory.load()).toEqual([ref(0), ref(1)]);
    expect(await directory.save(1, ref(2), second.fence)).toBe(true);
    expect(await directory.load()).toEqual([ref(0), ref(2)]);
    await second.release();
    expect(await directory.save(0, ref(3), second.fence)).toBe(false);
  });
}

describe("ChannelDirectory", () => {
  let now = 0;
  conformance("in memory", () => {
    const leases = new InMemoryLeaseStore({ now: () => now });
    return { leases, directory: new InMemoryChannelDirectory({ leases }), expire: async () => void (now += 10_000) };
  });

  describe.skipIf(!hasRedisServer)("Redis", () => {
    let redis: RunningRedis;
    beforeAll(async () => void (redis = await startRedis()));
    afterAll(async () => redis?.stop());
    conformance("Redis", () => {
      const client = redis.client();
      return {
        leases: new RedisLeaseStore({ redis: client, keyPrefix: "gw:" }),
        directory: new RedisChannelDirectory({ redis: client, keyPrefix: "gw:" }),
        expire: async () => void (await client.del("gw:lease:channels")),
      };
    });
  });
});
