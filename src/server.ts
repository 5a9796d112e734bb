/**
 * The GraphQL gateway server, composed of its parts on one port:
 * - the shared GraphQL core (graphql/operation.ts): context with the caller and request id,
 *   parse, limits, validation (introspection rule included), scopes, error masking;
 * - HTTP (http/): express with request ids, CORS, caller authentication, the JSON body, Apollo
 *   Server for `POST /graphql` (and GET queries), the GraphiQL IDE on `GET /graphql` for
 *   browsers (graphql/ide.ts), `GET /healthz` and `GET /readyz` (anonymous, health/),
 *   `GET /metrics`;
 * - WebSocket (ws/): the Origin-checked upgrade and graphql-ws for subscriptions;
 * - observability/: one log line per operation on both transports, metrics, tracing.
 *
 * It talks to Genesys only through `GenesysClient` (REST) and `NotificationChannel`
 * (WebSocket); it never imports the emulator.
 */
import "reflect-metadata";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import { Registry, collectDefaultMetrics } from "prom-client";
import { WebSocketServer } from "ws";
import { AttributeUpdater, type VerifyTiming } from "./attributes/update.js";
import { createAuthenticator } from "./auth/authenticator.js";
import type { AuthSettings } from "./auth/settings.js";
import { GenesysClient, type GenesysEndpoint } from "./genesys/client.js";
import { createMeteredBudget } from "./genesys/budget-metrics.js";
import { RedisRequestBudget } from "./genesys/redis-budget.js";
import { toConversationSnapshot } from "./genesys/participants.js";
import { SharedConversationReads } from "./attributes/shared-reads.js";
import { createChangeFeed, type ChangeFeedSettings } from "./feed.js";
import type { GatewayServices } from "./graphql/context.js";
import { OperationCore } from "./graphql/operation.js";
import { buildGatewaySchema } from "./graphql/schema.js";
import { createApollo } from "./http/apollo.js";
import { authenticate, callerOf } from "./http/authentication.js";
import { jsonBody, MAX_BODY_BYTES, singleOperationBody } from "./http/body.js";
import { corsMiddlewares } from "./http/cors.js";
import { errorAnswers, notFound } from "./http/error-answers.js";
import { servedMethodsOnly } from "./http/methods.js";
import { metricsRoute, startMetricsServer, type MetricsServer } from "./http/metrics.js";
import { OriginPolicy } from "./http/origins.js";
import { DEFAULT_LIMITS, type LimitSettings } from "./limits/settings.js";
import { describeGenesysEndpoint } from "./genesys/endpoint.js";
import { healthRouter, trackReadiness } from "./health/endpoints.js";
import type { ReadinessOptions } from "./health/readiness.js";
import { ideHandler } from "./graphql/ide.js";
import { GatewayMetrics } from "./observability/metrics.js";
import { trackChangeFeed } from "./observability/change-feed-metrics.js";
import { countUpstreamCalls } from "./observability/operation-scope.js";
import { assignConnectionIds, httpRequestIds, operationLogPlugin } from "./observability/request-log.js";
import type { Logger } from "./logger.js";
import type { RedisConnections } from "./cluster/redis-connection.js";
import { RedisLeaseStore } from "./cluster/lease.js";
import { LeaseWriteFence } from "./cluster/write-lease.js";
import { instanceId } from "./cluster/instance.js";
import { systemTimers } from "./timers.js";
import { serveGraphqlWs } from "./ws/graphql-ws.js";
import { GRAPHQL_WS_PATH, routeUpgrades } from "./ws/upgrade.js";

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /**
   * The Genesys to talk to. `embeddedEmulator`: `endpoint` is the emulator this process started
   * (`/readyz` then says so instead of naming a gateway URL).
   */
  genesys: { endpoint: GenesysEndpoint; clientId: string; clientSecret: string; embeddedEmulator?: boolean };
  logger: Logger;
  /**
   * Caller auth. Always explicit: `{mode: "none", reason: "embedded-demo"}` for the demo and
   * tests, `{mode: "required", apiKeys, jwt}` in front of a real org.
   */
  auth: AuthSettings;
  /** Cost and abuse limits (each 0 disables it); unset ones take {@link DEFAULT_LIMITS}. */
  limits?: Partial<LimitSettings>;
  /** Browser origins allowed by CORS and the WebSocket upgrade check (exact origins). Default none. */
  cors?: { origins: string[] };
  /** Serve `/metrics` on its own port instead (0 picks a free one), outside caller auth. */
  metrics?: { port: number };
  /** Verify-loop timing of `updateAttributes` (ms); `deadlineMs` defaults to 5 000. */
  verify?: Partial<VerifyTiming>;
  /** A notification socket silent this long is replaced (ms). Default 75 000. */
  heartbeatTimeoutMs?: number;
  /**
   * The Genesys request budget per minute every API call waits on (`GENESYS_REQUESTS_PER_MINUTE`,
   * genesys/budget.ts); with `redis`, the budget of the whole cluster (genesys/redis-budget.ts). Default 300. Reconciliation's own pace (`changes.reconcileRequestsPerMinute`)
   * is a share of it, spent at the lowest priority.
   */
  requestsPerMinute?: number;
  /** Staleness bound of query answers served from the change log (ms, `TRACKED_READ_MAX_AGE_MS`); 0: always read Genesys. Default 30 000. */
  trackedReadMaxAgeMs?: number;
  /**
   * Whether introspection (`__schema`, `__type`) is allowed, on HTTP and graphql-ws alike; the
   * GraphiQL IDE on `GET /graphql` is served only while it is. Default: on unless
   * `NODE_ENV=production` (config: `GRAPHQL_INTROSPECTION`).
   */
  introspection?: boolean;
  /** Readiness thresholds (see health/readiness.ts); defaults suit production. */
  readiness?: Partial<Pick<ReadinessOptions, "failureThreshold" | "failureMemoryMs" | "loginProbeIntervalMs">>;
  /** Change log retention, reconciliation rate and subscriber limits (src/feed.ts). */
  changes?: ChangeFeedSettings;
  /**
   * Several instances (`REDIS_URL`): the connected clients of the shared Redis
   * (src/cluster/redis-connection.ts; created and closed by the caller). Unset: one process.
   */
  redis?: RedisConnections;
}

/** A running gateway. */
export interface RunningGateway {
  /** `http://host:port/graphql` */
  url: string;
  /** `ws://host:port/graphql` */
  wsUrl: string;
  /** Where `/metrics` is served: on the gateway port, or on the metrics port when one is set. */
  metricsUrl: string;
  port: number;
  /** Stops accepting, completes subscriptions, closes the Genesys socket. */
  close(): Promise<void>;
}

/**
 * Starts the gateway. Authenticates with Genesys first so bad credentials fail at start.
 * Logs a warning when caller auth is off.
 * @throws GenesysError when the first login fails; Node's listen error (`code` EADDRINUSE,
 *   EACCES, EADDRNOTAVAIL) when the port cannot be bound, with nothing printed; Error when the
 *   JWT key cannot be read.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { logger } = options;
  const limits: LimitSettings = { ...DEFAULT_LIMITS, ...options.limits };
  const authenticator = createAuthenticator(options.auth);
  if (options.auth.mode === "none") {
    logger.warn(
      { reason: options.auth.reason },
      options.auth.reason === "embedded-demo"
        ? "caller auth is off (embedded demo): anyone who can reach the port can read and write the demo's attributes"
        : "caller auth is off (GATEWAY_AUTH=none): anyone who can reach the port can read and write attributes through this gateway's Genesys client",
    );
  }
  const origins = new OriginPolicy(options.cors?.origins ?? []);

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requestsPerMinute = options.requestsPerMinute ?? 300;
  // Several instances: one Genesys budget for the cluster (a token bucket in Redis; a 429 pauses every instance).
  const redis = options.redis;
  let budgetErrorLoggedAt = Number.NEGATIVE_INFINITY;
  const budget = redis
    ? createMeteredBudget(requestsPerMinute, registry, undefined, (hooks) =>
        new RedisRequestBudget({
          redis: redis.commands,
          keyPrefix: redis.settings.keyPrefix,
          requestsPerMinute,
          ...hooks,
          onError: (error) => {
            // At most one line per 10 s: it is called for every grant attempt while Redis is away.
            if (Date.now() - budgetErrorLoggedAt < 10_000) return;
            budgetErrorLoggedAt = Date.now();
            logger.warn({ err: String(error) }, "cluster request budget: Redis unavailable, no grants until it answers");
          },
        }),
      )
    : createMeteredBudget(requestsPerMinute, registry);
  const genesys = new GenesysClient({ ...options.genesys, logger, registry, budget });
  // Visibility (issue 7): gateway metrics, Genesys calls counted per operation.
  const metrics = new GatewayMetrics(registry);
  const observability = { logger, metrics };
  countUpstreamCalls(genesys);
  // The change feed (issue 8): change log, reconciler and the pool of notification channels.
  const owner = instanceId();
  let changes: Awaited<ReturnType<typeof createChangeFeed>>;
  try {
    await genesys.authenticate();
    changes = await createChangeFeed({
      genesys,
      logger,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      settings: options.changes,
      ...(options.redis ? { redis: options.redis, instance: owner } : {}),
    });
  } catch (error) {
    // Refused credentials, or a shared change log Redis cannot open: nothing started may outlive the call.
    budget.close();
    throw error;
  }
  // Readiness and metrics (issue 7) follow every channel of the pool.
  const readiness = trackReadiness(
    genesys,
    changes.channels,
    describeGenesysEndpoint(options.genesys.endpoint, options.genesys.clientId, { embeddedEmulator: options.genesys.embeddedEmulator }),
    options.readiness,
    options.redis,
  );
  metrics.trackNotificationChannels(changes.channels);
  trackChangeFeed(registry, changes);
  // Query reads shared across operations and served from the change log when current (issue 9).
  const reads = new SharedConversationReads({
    fetch: async (id) => {
      const conversation = await genesys.getConversation(id, { priority: "read" });
      return conversation ? toConversationSnapshot(conversation) : null;
    },
    tracked: changes.feed,
    maxAgeMs: options.trackedReadMaxAgeMs,
  });
  // Several instances (issue 10): writes to one participant serialized across the cluster by a
  // fenced lease per participant, checked right before every PATCH.
  const fence = options.redis
    ? new LeaseWriteFence({ store: new RedisLeaseStore({ redis: options.redis.commands, keyPrefix: options.redis.settings.keyPrefix }), owner, timers: systemTimers, logger })
    : undefined;
  const services: GatewayServices = {
    genesys,
    logger,
    reads,
    updater: new AttributeUpdater({
      backend: genesys,
      timing: options.verify,
      observeRead: changes.observeRead,
      // Confirmation from the change log (issue 9).
      confirmations: changes.confirmations,
      onOutcome: (o) => metrics.observeUpdate(o),
      ...(fence ? { fence, onSend: (sent) => logger.debug({ ...sent, instance: owner }, "attribute write sent") } : {}),
    }),
    feed: changes.feed,
  };
  // Introspection (issue 7): one validation rule in the core's rule list, so both transports.
  const introspection = options.introspection ?? process.env.NODE_ENV !== "production";
  const core = new OperationCore({ schema: await buildGatewaySchema(), services, limits, introspection });

  const app = express();
  app.disable("x-powered-by");
  const httpServer = http.createServer(app);

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES });
  assignConnectionIds(wss);
  metrics.trackWebSocketServer(wss);
  routeUpgrades(httpServer, wss, origins);
  const ws = serveGraphqlWs(wss, {
    core,
    authenticator,
    logger,
    observability,
    subscriptionsPerSocket: limits.subscriptionsPerSocket,
    subscriptionsPerCaller: limits.subscriptionsPerCaller,
  });

  const apollo = createApollo({ core, httpServer, drain: async () => ws.dispose(), plugins: [operationLogPlugin(observability)] });
  await apollo.start();

  // Anonymous probes (health/): liveness and readiness.
  app.use(healthRouter(readiness, () => genesys.authenticate(true)));
  const host = options.host ?? "127.0.0.1";
  let metricsServer: MetricsServer | undefined;
  if (options.metrics) metricsServer = await startMetricsServer(registry, options.metrics.port, host);
  else app.get("/metrics", metricsRoute(registry, authenticator));
  // The IDE page is static (no data): served to browsers before caller auth; every request it
  // sends goes through the chain below (README "The IDE and introspection").
  if (introspection) app.get("/graphql", ideHandler("/graphql"));
  app.use(
    "/graphql",
    ...httpRequestIds(logger),
    ...corsMiddlewares(origins),
    servedMethodsOnly,
    authenticate(authenticator),
    jsonBody,
    singleOperationBody,
    expressMiddleware(apollo, { context: async ({ req, res }) => core.createContext(callerOf(res), String(req.id)) }),
  );
  app.use(notFound);
  app.use(errorAnswers(logger));

  try {
    await new Promise<void>((resolve, reject) => {
      // A listen error (EADDRINUSE, EACCES) is the caller's to report (main.ts prints one line).
      // The WebSocket server is noServer, so graphql-ws never sees it.
      httpServer.once("error", reject);
      httpServer.listen(options.port, host, () => {
        httpServer.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await metricsServer?.close();
    await changes.close();
    budget.close();
    throw error;
  }
  const port = (httpServer.address() as AddressInfo).port;
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  const url = `http://${shown}:${port}${GRAPHQL_WS_PATH}`;
  logger.info({ url, auth: options.auth.mode, metrics: metricsServer?.url }, "gateway listening");

  let closing: Promise<void> | undefined;
  return {
    url,
    wsUrl: `ws://${shown}:${port}${GRAPHQL_WS_PATH}`,
    metricsUrl: metricsServer?.url ?? `http://${shown}:${port}/metrics`,
    port,
    close: () =>
      (closing ??= (async () => {
        // The feed first (it completes the subscriptions; a cluster instance steps down as
        // channel holder so another takes over at once), then the servers.
        await changes.close();
        await apollo.stop();
        await metricsServer?.close();
        budget.close();
      })()),
  };
}
