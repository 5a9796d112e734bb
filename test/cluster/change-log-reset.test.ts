/**
 * The shared change log re-created under a live gateway without any connection dropping (an
 * operator's FLUSHALL, or `maxmemory` eviction of its keys): entries of the old stream this
 * instance had not delivered yet are gone, and so is every cursor its subscribers hold, so their
 * subscriptions are ended with CHANGE_LOG_UNAVAILABLE and their resume cursor (which the log then
 * answers CURSOR_EXPIRED for) - never left running past a silent gap. Real redis-server, the
 * emulator, a gateway on both; event-driven waits only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, type RedisConnections } from "../../src/cluster/redis-connection.js";
import { createLogger } from "../../src/logger.js";
import { AttributesChangedDocument } from "../generated/graphql.js";
import { hasRedisServer, startRedis, warnWithoutRedis, type RunningRedis } from "../support/redis-server.js";
import { createCall, startStack, subscribe, wsClient, type Stack } from "../support/stack.js";

warnWithoutRedis("test/cluster/change-log-reset.test.ts");

const QUEUE = "a0000000-0000-4000-8000-0000000000c7";

describe.skipIf(!hasRedisServer)("the shared change log re-created under a running gateway", () => {
  let redis: RunningRedis;
  let connections: RedisConnections;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startRedis();
    connections = await connectRedis({ settings: { url: new URL(redis.url), keyPrefix: "reset-test:" }, logger: createLogger("silent") });
    stack = await startStack({ redis: connections });
  });
  afterAll(async () => {
    await stack?.close();
    await connections?.close();
    await redis?.stop();
  });

  it("FLUSHALL: live subscriptions end with CHANGE_LOG_UNAVAILABLE and their resume cursor", async () => {
    const call = await createCall(stack.emulator.url, QUEUE, { phase: "0" });
    const client = wsClient(stack.gateway.wsUrl);
    try {
      const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, participantId: call.customerId, includeSnapshot: true });
      const snapshot = await sub.next(20_000);
      expect(snapshot.errors).toBeUndefined();
      expect(snapshot.data!.attributesChanged.snapshot).toBe(true);

      await redis.client().flushall();
      const ended = await sub.next(15_000);
      expect(ended.errors?.[0]?.extensions).toMatchObject({ code: "CHANGE_LOG_UNAVAILABLE", cursor: snapshot.data!.attributesChanged.cursor });
      await sub.done;
      // The cursor belongs to the replaced stream: refused, so the client re-snapshots.
      const resumed = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId, participantId: call.customerId, after: snapshot.data!.attributesChanged.cursor });
      const refused = await resumed.next(15_000);
      expect(refused.errors?.[0]?.extensions?.["code"]).toBe("CURSOR_EXPIRED");
    } finally {
      await client.dispose();
    }
  });
});
