/**
 * The `redis` readiness part end to end (issue 10): a gateway on a real redis-server answers
 * `/readyz` 200 with `checks.redis` ok; the server stopped → 503 naming `redis`, and `/healthz`
 * still 200 (liveness must not restart a gateway for Redis); the server back on the same port
 * → 200 again, without a restart of the gateway (ioredis reconnects); a server that stops
 * answering on an open connection (SIGSTOP) → 503 as well, and 200 once it answers again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, type RedisConnections } from "../../src/cluster/redis-connection.js";
import { createLogger } from "../../src/logger.js";
import { hasRedisServer, startRedis, warnWithoutRedis, type RunningRedis } from "../support/redis-server.js";
import { startStack, type Stack } from "../support/stack.js";

warnWithoutRedis("test/cluster/redis-readiness.test.ts");

describe.skipIf(!hasRedisServer)("/readyz follows the shared Redis", () => {
  let redis: RunningRedis;
  let connections: RedisConnections;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startRedis();
    connections = await connectRedis({ settings: { url: new URL(redis.url), keyPrefix: "readyz-test:" }, logger: createLogger("silent") });
    stack = await startStack({ redis: connections });
  });
  afterAll(async () => {
    await stack?.close();
    await connections?.close();
    await redis?.stop();
  });

  const readyz = async () => {
    const response = await fetch(new URL("/readyz", stack.gateway.url));
    return { status: response.status, body: (await response.json()) as { failing: string[]; checks: { redis?: { status: string; reason?: string } } } };
  };

  it("200 with redis ok; 503 naming redis while it is down (healthz stays 200); 200 again once it is back", async () => {
    expect(await readyz()).toMatchObject({ status: 200, body: { failing: [], checks: { redis: { status: "ok" } } } });

    // Redis dies (restart() below starts it again on the same port, empty).
    redis.process.kill("SIGKILL");
    await expect.poll(async () => (await readyz()).status, { timeout: 10_000, interval: 50 }).toBe(503);
    const down = await readyz();
    expect(down.body.failing).toEqual(["redis"]);
    expect(down.body.checks.redis).toMatchObject({ status: "failing", reason: expect.stringMatching(/connection lost/) });
    expect((await fetch(new URL("/healthz", stack.gateway.url))).status).toBe(200);

    await redis.restart();
    await expect.poll(async () => (await readyz()).status, { timeout: 10_000, interval: 50 }).toBe(200);
    expect((await readyz()).body.checks.redis).toMatchObject({ status: "ok" });
  });

  it("a Redis that stops answering on an open connection (paused, hung) is down too; answering again: up", async () => {
    await expect.poll(async () => (await readyz()).status, { timeout: 10_000, interval: 50 }).toBe(200);
    redis.process.kill("SIGSTOP");
    try {
      await expect.poll(async () => (await readyz()).status, { timeout: 10_000, interval: 100 }).toBe(503);
      expect((await readyz()).body.checks.redis).toMatchObject({ status: "failing", reason: expect.stringMatching(/not answering/) });
    } finally {
      redis.process.kill("SIGCONT");
    }
    await expect.poll(async () => (await readyz()).status, { timeout: 10_000, interval: 50 }).toBe(200);
  });
});
