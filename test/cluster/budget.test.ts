/**
 * One Genesys budget for the cluster (issue 10), end to end: three gateway processes on one
 * redis-server with `GENESYS_REQUESTS_PER_MINUTE=60` (the OAuth client's whole budget), the
 * emulator (in this process) limiting each token to 60 requests per minute, and 3× the budget's
 * worth of demand (`fresh` reads, each one Genesys GET) spread over the three instances.
 *
 * Proves: Genesys answers 0 × 429, and — the property that makes it hold for a real org, whose
 * limit is per OAuth client, not per instance — the requests reaching the emulator from the
 * whole cluster stay within one budget (burst + rate × time), counted where they arrive
 * (bench/upstream-requests.ts). Three budgets of 60 would have let through about three times
 * as many.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countUpstreamRequests, type UpstreamRequestCounter } from "../../bench/upstream-requests.js";
import { startEmulator, type RunningEmulator } from "../../src/emulator/server.js";
import { FreshParticipantDocument } from "../generated/graphql.js";
import { cleanEnv, freePort, killAll, spawnCollected, type Spawned } from "../support/processes.js";
import { hasRedisServer, startRedis, warnWithoutRedis, type RunningRedis } from "../support/redis-server.js";
import { createCall, gql } from "../support/stack.js";
import { DEMO_CREDENTIALS } from "../support/sdk.js";

warnWithoutRedis("test/cluster/budget.test.ts");

const MAIN_JS = fileURLToPath(new URL("../../dist/src/main.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BUDGET_PER_MINUTE = 60;
/** The governor's burst: 5 % of the budget, at least 1 (src/genesys/budget.ts). */
const BURST = Math.max(1, Math.floor(BUDGET_PER_MINUTE * 0.05));
const DEMAND_SECONDS = 8;

let emulator: RunningEmulator;
let redis: RunningRedis;
let upstream: UpstreamRequestCounter;
const runs: Array<{ run: Spawned; url: string }> = [];

describe.skipIf(!hasRedisServer)("three instances share one Genesys budget", () => {
  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, faults: { visibilityDelayMs: { min: 0, max: 0 }, rateLimitPerMinute: BUDGET_PER_MINUTE } });
    redis = await startRedis();
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const run = spawnCollected(process.execPath, [MAIN_JS], {
        cwd: ROOT,
        env: cleanEnv({
          LOG_LEVEL: "info",
          PORT: String(port),
          GENESYS_GATEWAY_URL: emulator.url,
          GENESYS_CLIENT_ID: DEMO_CREDENTIALS.clientId,
          GENESYS_CLIENT_SECRET: DEMO_CREDENTIALS.clientSecret,
          GATEWAY_AUTH: "none",
          REDIS_URL: redis.url,
          GENESYS_REQUESTS_PER_MINUTE: String(BUDGET_PER_MINUTE),
          RATE_LIMIT_REQUESTS_PER_MINUTE: "0",
        }),
      });
      runs.push({ run, url: `http://127.0.0.1:${port}/graphql` });
    }
    await Promise.all(runs.map(({ run }) => run.logLine("gateway listening", 30_000)));
    upstream = countUpstreamRequests(emulator.port);
  }, 60_000);

  afterAll(async () => {
    upstream?.close();
    killAll(runs.map((r) => r.run.child.pid!));
    await Promise.all(runs.map((r) => r.run.exited));
    await redis?.stop();
    await emulator?.close();
  });

  it("3× the budget's worth of fresh reads over three instances: 0 × 429, and the cluster's requests within one budget", async () => {
    const call = await createCall(emulator.url, "a0000000-0000-4000-8000-0000000000c2", { k: "v" });
    const before = upstream.snapshot();
    const started = Date.now();
    const perSecond = (3 * BUDGET_PER_MINUTE) / 60;
    const answers: Array<Promise<string>> = [];
    for (let n = 0; n < perSecond * DEMAND_SECONDS; n++) {
      const target = runs[n % runs.length]!;
      answers.push(
        gql(target.url, FreshParticipantDocument, { conversationId: call.conversationId, participantId: call.customerId, fresh: true }).then((r) =>
          r.errors?.length ? String(r.errors[0]!.extensions?.["code"]) : "ok",
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 1000 / perSecond));
    }
    const outcomes = await Promise.all(answers);
    const elapsedS = (Date.now() - started) / 1000;
    const sent = upstream.snapshot().api - before.api;

    // Within one budget: the burst plus the refill over the whole time (+1 for a token refilled at the edge).
    expect(sent, `${sent} requests in ${elapsedS.toFixed(1)} s`).toBeLessThanOrEqual(BURST + Math.ceil((elapsedS * BUDGET_PER_MINUTE) / 60) + 1);
    // Served what the budget allows; the rest waited or was refused before anything was sent.
    expect(outcomes.filter((o) => o === "ok").length).toBeGreaterThanOrEqual(DEMAND_SECONDS - 1);
    expect(outcomes.filter((o) => o !== "ok" && o !== "UPSTREAM_BUDGET_EXHAUSTED"), JSON.stringify(outcomes)).toEqual([]);
    // Genesys (the emulator) never answered 429.
    for (const { url } of runs) {
      const metrics = await (await fetch(new URL("/metrics", url))).text();
      const throttled = metrics.split("\n").filter((l) => l.startsWith("genesys_requests_total{") && l.includes('status="429"'));
      expect(throttled.map((l) => Number(l.split(" ").pop())).reduce((a, b) => a + b, 0)).toBe(0);
    }
  }, 60_000);
});
