/**
 * The GraphQL gateway server, composed of its parts on one port:
 * - the shared GraphQL core (graphql/operation.ts): context with the caller, parse, limits,
 *   validation, scopes, error masking;
 * - HTTP (http/): express with CORS, caller authentication, the JSON body, Apollo Server for
 *   `POST /graphql` (and GET queries), `GET /healthz` (anonymous), `GET /metrics`;
 * - WebSocket (ws/): the Origin-checked upgrade and graphql-ws for subscriptions.
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
import { AttributeChangeFeed } from "./attributes/change-feed.js";
import { AttributeUpdater, type VerifyTiming } from "./attributes/update.js";
import { createAuthenticator } from "./auth/authenticator.js";
import type { AuthSettings } from "./auth/settings.js";
import { GenesysClient, type GenesysEndpoint } from "./genesys/client.js";
import { NotificationChannel } from "./genesys/notifications.js";
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
import type { Logger } from "./logger.js";
import { serveGraphqlWs } from "./ws/graphql-ws.js";
import { GRAPHQL_WS_PATH, routeUpgrades } from "./ws/upgrade.js";

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  genesys: { endpoint: GenesysEndpoint; clientId: string; clientSecret: string };
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
 * @throws GenesysError when the first login fails; Error when a port is taken or the JWT key cannot be read.
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
  const genesys = new GenesysClient({ ...options.genesys, logger, registry });
  await genesys.authenticate();
  const channel = new NotificationChannel({ client: genesys, logger, heartbeatTimeoutMs: options.heartbeatTimeoutMs });
  const services: GatewayServices = {
    genesys,
    logger,
    updater: new AttributeUpdater({ backend: genesys, timing: options.verify }),
    feed: new AttributeChangeFeed({ channel, genesys, logger }),
  };
  const core = new OperationCore({ schema: await buildGatewaySchema(), services, limits });

  const app = express();
  app.disable("x-powered-by");
  const httpServer = http.createServer(app);

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES });
  routeUpgrades(httpServer, wss, origins);
  const ws = serveGraphqlWs(wss, {
    core,
    authenticator,
    logger,
    subscriptionsPerSocket: limits.subscriptionsPerSocket,
    subscriptionsPerCaller: limits.subscriptionsPerCaller,
  });

  const apollo = createApollo({ core, httpServer, drain: async () => ws.dispose() });
  await apollo.start();

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  const host = options.host ?? "127.0.0.1";
  let metricsServer: MetricsServer | undefined;
  if (options.metrics) metricsServer = await startMetricsServer(registry, options.metrics.port, host);
  else app.get("/metrics", metricsRoute(registry, authenticator));
  app.use(
    "/graphql",
    ...corsMiddlewares(origins),
    servedMethodsOnly,
    authenticate(authenticator),
    jsonBody,
    singleOperationBody,
    expressMiddleware(apollo, { context: async ({ res }) => core.createContext(callerOf(res)) }),
  );
  app.use(notFound);
  app.use(errorAnswers(logger));

  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(options.port, host, () => {
        httpServer.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await metricsServer?.close();
    channel.close();
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
        channel.close();
        await apollo.stop();
        await metricsServer?.close();
      })()),
  };
}
