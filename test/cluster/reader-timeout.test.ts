/**
 * The change log's blocking reader connection forgotten on the way (a NAT or firewall dropping
 * it without a close: the TCP proxy black-holes the connections open at that moment, new ones
 * pass): the reader's socket timeout (READER_SOCKET_TIMEOUT_MS) replaces it, and entries
 * another instance appends reach this instance's listener again — without it the pending
 * `XREAD BLOCK` never answers and the instance silently stops delivering.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisChangeLog } from "../../src/attributes/redis-change-log.js";
import { connectRedis, READER_SOCKET_TIMEOUT_MS, type RedisConnections } from "../../src/cluster/redis-connection.js";
import { createLogger } from "../../src/logger.js";
import { entry } from "../attributes/change-log-conformance.js";
import { hasRedisServer, startRedis, warnWithoutRedis, type RunningRedis } from "../support/redis-server.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

warnWithoutRedis("test/cluster/reader-timeout.test.ts");

describe.skipIf(!hasRedisServer)("the change log reader on a silently dead connection", () => {
  let redis: RunningRedis;
  let proxy: TcpProxy;
  let connections: RedisConnections;
  const logs: RedisChangeLog[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    proxy = await startTcpProxy(redis.port);
    connections = await connectRedis({ settings: { url: new URL(`redis://127.0.0.1:${proxy.port}`), keyPrefix: "reader-timeout:" }, logger: createLogger("silent") });
  });
  afterAll(async () => {
    for (const log of logs) await log.close();
    await connections?.close();
    await proxy?.close();
    await redis?.stop();
  });

  it(`is replaced within READER_SOCKET_TIMEOUT_MS (${READER_SOCKET_TIMEOUT_MS} ms) and delivers what another instance appended meanwhile, once each`, async () => {
    // This instance: commands direct, the blocking reader through the proxy. The other instance: direct.
    const here = await RedisChangeLog.open({ redis: redis.client(), subscriber: connections.reader, keyPrefix: "reader-timeout:" });
    const there = await RedisChangeLog.open({ redis: redis.client(), keyPrefix: "reader-timeout:" });
    logs.push(here, there);
    const heard: string[] = [];
    here.listen((e) => heard.push(String(e.attributes.k)));
    await there.append(entry("before"));
    await expect.poll(() => heard, { timeout: 10_000 }).toEqual(["before"]);

    proxy.blackhole();
    const cutAt = Date.now();
    await there.append(entry("during"));
    await expect.poll(() => heard, { timeout: READER_SOCKET_TIMEOUT_MS + 10_000, interval: 100 }).toEqual(["before", "during"]);
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(READER_SOCKET_TIMEOUT_MS - 2_000);
  });
});
