/**
 * What every benchmark runs against, all in this process on loopback: the embedded emulator
 * (demo data, no background flow writer), the gateway pointed at it exactly as in production
 * (`startGateway` with the emulator's URL and demo credentials, as test/support/stack.ts does),
 * an independent official-SDK client as the baseline (a CRM talking to Genesys directly), and a
 * counter of the requests that reach the emulator's Platform API.
 */
import { startEmulator, type RunningEmulator } from "../src/emulator/server.js";
import type { FaultsPatch } from "../src/emulator/faults.js";
import { createLogger } from "../src/logger.js";
import { startGateway, type RunningGateway } from "../src/server.js";
import { connectSdk, DEMO_CREDENTIALS, type SdkConnection } from "../test/support/sdk.js";
import { countUpstreamRequests, type UpstreamRequestCounter } from "./upstream-requests.js";

/**
 * Emulator faults of every benchmark: each Platform API request takes 40–80 ms (a realistic
 * round trip to a Genesys region), writes become visible 50–150 ms after their 202 (the
 * emulator's default), and the per-token rate limit (300/min by default) is lifted so that 429
 * waits do not distort latency figures; a budget benchmark sets its own limit.
 */
export const BENCH_FAULTS: FaultsPatch = {
  latencyMs: { min: 40, max: 80 },
  visibilityDelayMs: { min: 50, max: 150 },
  rateLimitPerMinute: 1_000_000,
};

/** The running benchmark stack. */
export interface BenchStack {
  emulator: RunningEmulator;
  gateway: RunningGateway;
  /** The baseline: the official SDK, logged in with its own token, talking to the emulator directly. */
  sdk: SdkConnection;
  /** Requests arriving at the emulator's `/api/v2` (gateway and SDK alike). */
  upstream: UpstreamRequestCounter;
  close(): Promise<void>;
}

/** Starts emulator, gateway and SDK client on ephemeral loopback ports. Logs are silent unless `LOG_LEVEL` is set. */
export async function startBenchStack(
  faults: FaultsPatch = BENCH_FAULTS,
  /** The gateway's Genesys request budget (`GENESYS_REQUESTS_PER_MINUTE`); lifted like the emulator's limit unless a scenario measures it. */
  requestsPerMinute = 1_000_000,
): Promise<BenchStack> {
  const emulator = await startEmulator({ port: 0, demoData: true, backgroundFlowIntervalMs: 0, faults });
  const upstream = countUpstreamRequests(emulator.port);
  const gateway = await startGateway({
    port: 0,
    genesys: { endpoint: { baseUrl: new URL(emulator.url) }, ...DEMO_CREDENTIALS },
    logger: createLogger(process.env.LOG_LEVEL ?? "silent"),
    auth: { mode: "none", reason: "embedded-demo" },
    requestsPerMinute,
  });
  const sdk = await connectSdk(emulator.url);
  return {
    emulator,
    gateway,
    sdk,
    upstream,
    close: async () => {
      upstream.close();
      await gateway.close();
      await emulator.close();
    },
  };
}

/** A GraphQL response as sent over HTTP. */
export interface GraphQLResponse<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

/**
 * POSTs one operation to the gateway (fetch, JSON) and returns `data`.
 * @throws Error on a non-200 status or any GraphQL error, so a failing run never reports figures.
 */
export async function graphql<T>(url: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as GraphQLResponse<T>;
  if (response.status !== 200 || body.errors?.length || !body.data) throw new Error(`gateway answered ${response.status}: ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

/** Demo ids used by the benchmarks (see README "Demo data"). */
export const DEMO = {
  conversation: (n: number) => `c0000000-0000-4000-8000-00000000000${n}`,
  customer: (n: number) => `d0000000-0000-4000-8000-0000000000${n}1`,
};
