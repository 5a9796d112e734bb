/**
 * Cluster benchmarks (several instances on one Redis, issue 10), against a real `redis-server`
 * spawned on a free loopback port (skipped, with the install command, where it is missing):
 *
 * - fan-out latency of the change log at 1,000 entries/s: from `append` on one instance to its
 *   delivery by `listen()` on another instance (RedisChangeLog: Lua append + blocking `XREAD`),
 *   beside the same through one process's in-memory log (the baseline column here);
 * - takeover time of the channel holder: the holder "crashes" (stops renewing, keeps its lease,
 *   as a killed process would), and the time until the other instance is elected, with the
 *   production TTL (10 s, renewed every 3.3 s).
 */
import { performance } from "node:perf_hooks";
import type { Redis } from "ioredis";
import { attributeMap } from "../../src/attributes/attribute-map.js";
import { InMemoryChangeLog, type ChangeLog, type NewChangeEntry } from "../../src/attributes/change-log.js";
import { RedisChangeLog } from "../../src/attributes/redis-change-log.js";
import { ChannelHolder } from "../../src/cluster/channel-holder.js";
import { RedisLeaseStore } from "../../src/cluster/lease.js";
import { CHANNEL_HOLDER_TTL_MS } from "../../src/feed.js";
import { systemTimers, type Timers } from "../../src/timers.js";
import { hasRedisServer, REDIS_INSTALL, startRedis } from "../../test/support/redis-server.js";
import type { ReportRow } from "../report.js";
import { percentile } from "../statistics.js";

/** Sizes of the cluster benchmarks. */
export interface ClusterBenchSizes {
  /** Entries appended per second. */
  eventsPerSecond: number;
  /** For how long (s). */
  seconds: number;
}

/** Epoch ms with sub-ms precision (comparable across the two logs of this process). */
const preciseNow = () => performance.timeOrigin + performance.now();

function entry(n: number): NewChangeEntry {
  const value = String(n);
  return {
    conversationId: `c-${n % 50}`,
    participantId: "p",
    queueIds: [],
    changes: [{ key: "k", previous: null, value }],
    attributes: attributeMap({ k: value, "crm.caseId": "CASE-1" }),
    version: value,
    participant: { id: "p", conversationId: `c-${n % 50}`, purpose: "customer" },
    observedAt: preciseNow(),
    source: "notification",
  };
}

/** Appends at `eventsPerSecond` on `writer` for `seconds`, measuring append → delivery on `reader` (ms). */
async function fanOutLatencies(writer: ChangeLog, reader: ChangeLog, sizes: ClusterBenchSizes): Promise<number[]> {
  const latencies: number[] = [];
  const total = sizes.eventsPerSecond * sizes.seconds;
  let delivered = 0;
  let allDelivered!: () => void;
  const done = new Promise<void>((resolve) => (allDelivered = resolve));
  const stop = reader.listen((e) => {
    latencies.push(preciseNow() - e.observedAt);
    if (++delivered >= total) allDelivered();
  });
  const started = performance.now();
  // Paced in 10 ms ticks: each tick appends what is due by then.
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * sizes.eventsPerSecond) + 1);
    const batch: Promise<unknown>[] = [];
    for (; sent < due; sent++) batch.push(writer.append(entry(sent)));
    await Promise.all(batch);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref());
  await Promise.race([done, timeout]);
  stop();
  if (delivered < total) throw new Error(`fan-out bench: only ${delivered} of ${total} entries delivered`);
  return latencies;
}

/** A clock that can be stopped, as a killed process's timers are. */
function killable(): { timers: Timers; kill: () => void } {
  let dead = false;
  return { timers: { now: systemTimers.now, schedule: (fn, ms) => systemTimers.schedule(() => dead || fn(), ms) }, kill: () => void (dead = true) };
}

async function takeoverMs(a: Redis, b: Redis): Promise<number> {
  const keyPrefix = "bench-takeover:";
  const first = killable();
  const holderA = new ChannelHolder({ leases: new RedisLeaseStore({ redis: a, keyPrefix }), owner: "a", ttlMs: CHANNEL_HOLDER_TTL_MS, timers: first.timers });
  const elected = new Promise<void>((resolve) => holderA.once("elected", () => resolve()));
  holderA.start();
  await elected;
  const holderB = new ChannelHolder({ leases: new RedisLeaseStore({ redis: b, keyPrefix }), owner: "b", ttlMs: CHANNEL_HOLDER_TTL_MS });
  const bElected = new Promise<number>((resolve) => holderB.once("elected", () => resolve(performance.now())));
  holderB.start();
  // Crash A at a random point of its renewal period, as a real crash would be.
  await new Promise((resolve) => setTimeout(resolve, Math.random() * (CHANNEL_HOLDER_TTL_MS / 3)));
  first.kill();
  const killedAt = performance.now();
  const at = await bElected;
  await holderB.stop();
  return at - killedAt;
}

/** Fan-out latency through Redis vs one process, and the channel holder's takeover time. */
export async function clusterFigures(sizes: ClusterBenchSizes): Promise<ReportRow[]> {
  if (!hasRedisServer) {
    console.log(`cluster figures skipped: redis-server is not on PATH (install: ${REDIS_INSTALL})`);
    return [];
  }
  const redis = await startRedis();
  try {
    const scenario = `change log fan-out, ${sizes.eventsPerSecond}/s for ${sizes.seconds} s`;
    const memory = new InMemoryChangeLog();
    const local = await fanOutLatencies(memory, memory, sizes);
    const writer = await RedisChangeLog.open({ redis: redis.client(), keyPrefix: "bench-fanout:" });
    const reader = await RedisChangeLog.open({ redis: redis.client(), keyPrefix: "bench-fanout:" });
    let shared: number[];
    try {
      shared = await fanOutLatencies(writer, reader, sizes);
    } finally {
      await writer.close();
      await reader.close();
    }
    const takeover = await takeoverMs(redis.client(), redis.client());
    return [
      { scenario: `${scenario} (gateway: Redis, instance to instance; baseline: one process)`, metric: "p50 ms", gateway: percentile(shared, 50), baseline: percentile(local, 50), decimals: 2 },
      { scenario: `${scenario} (gateway: Redis, instance to instance; baseline: one process)`, metric: "p99 ms", gateway: percentile(shared, 99), baseline: percentile(local, 99), decimals: 2 },
      { scenario: `channel holder takeover (TTL ${CHANNEL_HOLDER_TTL_MS / 1000} s)`, metric: "ms after the crash", gateway: takeover },
    ];
  } finally {
    await redis.stop();
  }
}
