/**
 * The whole product on loopback for end-to-end tests: an emulator and a gateway pointed at it,
 * both on ephemeral ports, meeting only at the wire (the gateway gets the emulator's URL and
 * demo credentials, exactly as `GENESYS_GATEWAY_URL` would give it).
 *
 * Helpers send GraphQL over real HTTP (fetch) and WebSocket (graphql-ws client on `ws`), and
 * drive the emulator through its control API.
 */
import { print, type ExecutionResult, type GraphQLFormattedError } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../src/emulator/server.js";
import { createLogger } from "../../src/logger.js";
import { startGateway, type GatewayOptions, type RunningGateway } from "../../src/server.js";
import { control as rawControl } from "./emulator-http.js";
import { connectSdk, DEMO_CREDENTIALS, type SdkConnection } from "./sdk.js";

/**
 * Fault baseline of end-to-end tests: writes visible at once, and a rate limit high enough
 * that tests polling the emulator through the SDK are not throttled (rate limiting has its
 * own tests).
 */
export const TEST_FAULTS = { visibilityDelayMs: { min: 0, max: 0 }, rateLimitPerMinute: 100_000 };

/** Sets emulator faults: `faults` over {@link TEST_FAULTS} (`PUT /emulator/faults` resets everything not given). */
export async function setFaults(emulatorUrl: string, faults: Record<string, unknown> = {}): Promise<void> {
  await control(emulatorUrl, "PUT", "/faults", { ...TEST_FAULTS, ...faults });
}

/** A running emulator + gateway + an independent SDK client (the "other writer"). */
export interface Stack {
  emulator: RunningEmulator;
  gateway: RunningGateway;
  /** A separate official-SDK client on the emulator, for writing and checking behind the gateway's back. */
  sdk: SdkConnection;
  close(): Promise<void>;
}

/** Options of {@link startStack}. */
export interface StackOptions {
  emulator?: EmulatorOptions;
  verify?: GatewayOptions["verify"];
  heartbeatTimeoutMs?: number;
  /** Caller auth; default `{mode: "none", reason: "embedded-demo"}` (anonymous callers with every scope). */
  auth?: GatewayOptions["auth"];
  limits?: GatewayOptions["limits"];
  cors?: GatewayOptions["cors"];
  metrics?: GatewayOptions["metrics"];
  /** The gateway's logger; default silent unless `TEST_LOG_LEVEL` is set. */
  logger?: GatewayOptions["logger"];
  readiness?: GatewayOptions["readiness"];
  changes?: GatewayOptions["changes"];
  /** The gateway's Genesys request budget per minute. Default 100 000 (the tests' emulator allows as much). */
  requestsPerMinute?: number;
  /** Staleness bound of query answers served from the change log (ms); 0 always reads Genesys. Default the gateway's (30 000). */
  trackedReadMaxAgeMs?: number;
  /** Run as one instance of a cluster on these Redis connections (closed by the caller). */
  redis?: GatewayOptions["redis"];
}

/**
 * Starts an emulator (no demo data unless asked, zero visibility delay unless asked) and a
 * gateway on it. Logs are silent unless `TEST_LOG_LEVEL` is set.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const emulator = await startEmulator({
    port: 0,
    ...options.emulator,
    faults: { ...TEST_FAULTS, ...options.emulator?.faults },
  });
  const gateway = await startGateway({
    port: 0,
    genesys: { endpoint: { baseUrl: new URL(emulator.url) }, ...DEMO_CREDENTIALS },
    logger: options.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? "silent"),
    verify: options.verify,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    auth: options.auth ?? { mode: "none", reason: "embedded-demo" },
    limits: options.limits,
    cors: options.cors,
    metrics: options.metrics,
    readiness: options.readiness,
    changes: options.changes,
    requestsPerMinute: options.requestsPerMinute ?? 100_000,
    trackedReadMaxAgeMs: options.trackedReadMaxAgeMs,
    ...(options.redis ? { redis: options.redis } : {}),
  });
  const sdk = await connectSdk(emulator.url);
  return {
    emulator,
    gateway,
    sdk,
    close: async () => {
      await gateway.close();
      await emulator.close();
    },
  };
}

/** A GraphQL response as sent over HTTP. */
export interface GqlResponse<T> {
  data?: T | null;
  errors?: GraphQLFormattedError[];
}

/** POSTs one typed operation to the gateway over HTTP. */
export async function gql<T, V>(url: string, document: TypedDocumentNode<T, V>, variables: V): Promise<GqlResponse<T>> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return (await response.json()) as GqlResponse<T>;
}

/** POSTs one typed operation and returns `data`, failing on any GraphQL error. */
export async function gqlData<T, V>(url: string, document: TypedDocumentNode<T, V>, variables: V): Promise<T> {
  const result = await gql(url, document, variables);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

/** A graphql-ws client on the gateway (real WebSocket). Dispose it after use. */
export function wsClient(wsUrl: string): Client {
  return createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
}

/** A live subscription whose results are queued until read. */
export interface LiveSubscription<T> {
  /** The next result (data or errors), or a rejection after `timeoutMs`. */
  next(timeoutMs?: number): Promise<ExecutionResult<T>>;
  /** Resolves when the server completed the subscription (or it errored). */
  done: Promise<void>;
  /** Results received and not yet read. */
  pending(): number;
  /** Ends the subscription (graphql-ws `complete`). */
  stop(): void;
}

/** Subscribes with a typed document; results queue up until `next()` reads them. */
export function subscribe<T, V>(client: Client, document: TypedDocumentNode<T, V>, variables: V): LiveSubscription<T> {
  const queue: ExecutionResult<T>[] = [];
  const waiters: Array<(r: ExecutionResult<T>) => void> = [];
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const deliver = (result: ExecutionResult<T>) => {
    const waiter = waiters.shift();
    if (waiter) waiter(result);
    else queue.push(result);
  };
  const stop = client.subscribe<T>(
    { query: print(document), variables: variables as Record<string, unknown> },
    {
      next: (result) => deliver(result as ExecutionResult<T>),
      error: (error) => {
        const errors = Array.isArray(error) ? error : [{ message: error instanceof Error ? error.message : String(error) }];
        deliver({ errors } as ExecutionResult<T>);
        finish();
      },
      complete: () => finish(),
    },
  );
  return {
    next: (timeoutMs = 5_000) => {
      const ready = queue.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(onResult), 1);
          reject(new Error(`no subscription result within ${timeoutMs} ms`));
        }, timeoutMs);
        const onResult = (r: ExecutionResult<T>) => {
          clearTimeout(timer);
          resolve(r);
        };
        waiters.push(onResult);
      });
    },
    done,
    pending: () => queue.length,
    stop,
  };
}

/** Calls the emulator control API and returns the parsed JSON body; throws on a non-2xx status. */
export async function control<T = unknown>(emulatorUrl: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await rawControl<T>(emulatorUrl, method, path, body);
  if (response.status < 200 || response.status >= 300) throw new Error(`control ${method} ${path} → ${response.status} ${response.text}`);
  return response.body;
}

/** A call created through the control API: ids by role. */
export interface TestCall {
  conversationId: string;
  customerId: string;
  agentId: string;
  participantIds: string[];
}

/**
 * Creates a live call (customer + agent) in `queueId` through `POST /emulator/conversations`.
 * @param customerAttributes initial attributes of the customer.
 */
export async function createCall(
  emulatorUrl: string,
  queueId: string,
  customerAttributes: Record<string, string> = {},
): Promise<TestCall> {
  const created = await control<{ id: string; participants: Array<{ id: string; purpose: string }> }>(
    emulatorUrl,
    "POST",
    "/conversations",
    {
      queueId,
      participants: [
        { purpose: "customer", name: "Test Customer", address: "tel:+15550001111", attributes: customerAttributes },
        { purpose: "agent", name: "Test Agent", userId: "b0000000-0000-4000-8000-0000000000aa" },
      ],
    },
  );
  const byPurpose = (purpose: string) => created.participants.find((p) => p.purpose === purpose)!.id;
  return {
    conversationId: created.id,
    customerId: byPurpose("customer"),
    agentId: byPurpose("agent"),
    participantIds: created.participants.map((p) => p.id),
  };
}

/** Polls `check` every 25 ms until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 5_000, what = "condition"): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Reads `genesys_requests_total` for one operation from the gateway's /metrics (summed over
 * statuses). `gatewayUrl` may be any URL of the server serving /metrics; `headers` carry
 * credentials when caller auth is on.
 */
export async function upstreamRequests(gatewayUrl: string, operation: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(new URL("/metrics", gatewayUrl), { headers });
  if (response.status !== 200) throw new Error(`GET /metrics → ${response.status} ${await response.text()}`);
  const text = await response.text();
  let total = 0;
  for (const line of text.split("\n")) {
    const m = /^genesys_requests_total\{([^}]*)\} (\d+(?:\.\d+)?)$/.exec(line);
    if (m && m[1]!.includes(`operation="${operation}"`)) total += Number(m[2]);
  }
  return total;
}
