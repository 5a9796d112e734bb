/**
 * The embedded Genesys Cloud emulator: one HTTP server (express 5) serving login
 * (`POST /oauth/token`), the Platform API subset (`/api/v2/...`), the control API
 * (`/emulator/...`) and notification WebSocket upgrades (delegated to the notification
 * service). Genesys facts come from shared/genesys/README.md; each module cites its part.
 *
 * Every response carries `ININ-Correlation-Id` (a UUID). Every `/api/v2` response carries
 * `inin-ratelimit-count`, `inin-ratelimit-allowed` and `inin-ratelimit-reset` (seconds); a
 * request rejected before its token is known reports count 0 and a full window.
 *
 * Pipeline of an `/api/v2` request: latency fault → bearer auth (401) → per-token rate limit
 * and forced throttle (429) → error injection (`errorRate`/`errorStatuses`) → route.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import { createAnalyticsRouter } from "./analytics.js";
import { createApiRouter } from "./api.js";
import { requireBearer, tokenEndpoint, TokenStore, type OAuthClient } from "./auth.js";
import { EmulatorClock } from "./clock.js";
import { createControlRouter } from "./control.js";
import { DEMO_NAMES, seedDemoData, startBackgroundFlow } from "./demo-data.js";
import { sendError } from "./errors.js";
import { faultsFromDefaults, parseFaultsPatch, type Faults, type FaultsPatch } from "./faults.js";
import { createNotificationService } from "./notifications.js";
import { createRandomStreams, drawBetween, type RandomStreams } from "./random.js";
import { RATE_LIMIT_WINDOW_MS, RateLimiter, rateLimitMiddleware, setRateLimitHeaders } from "./ratelimit.js";
import { NO_NAMES } from "./render.js";
import { ConversationStore } from "./store.js";
import { WritePipeline } from "./writes.js";

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /** TCP port; default 4010; 0 = ephemeral. */
  port?: number;
  /** Interface to bind; default "127.0.0.1". */
  host?: string;
  /** Seeds ids, delays and fault draws; default "genesys-emulator". */
  seed?: string;
  /** Create the demo org (queues, agents, four live calls); default false (the runners turn it on). */
  demoData?: boolean;
  /** Period (ms, real time) of the demo "Architect flow" writer; 0 disables; default 0 (runners use 4000). */
  backgroundFlowIntervalMs?: number;
  /** `expires_in` of issued tokens, in seconds; default 86400 (Genesys default 24 h). */
  tokenLifetimeSeconds?: number;
  /** Notification channel lifetime in seconds, passed to the notification service; default 86400. */
  channelTtlSeconds?: number;
  /** OAuth clients accepted by `POST /oauth/token`; default the demo client. */
  clients?: Array<{ clientId: string; clientSecret: string }>;
  /** Initial faults over the defaults (also what `POST /emulator/reset` restores). */
  faults?: Partial<Faults>;
}

/** A started emulator. */
export interface RunningEmulator {
  /** Base URL, e.g. `http://127.0.0.1:4010` (login, API and control share it). */
  url: string;
  /** The bound port (useful with `port: 0`). */
  port: number;
  /** Stops timers, closes WebSockets and every HTTP connection; resolves when the server is closed. */
  close(): Promise<void>;
}

/** The demo OAuth client id (public, printed by the standalone runner). */
export const DEMO_CLIENT_ID = "emulator-demo-client";
/** The demo OAuth client secret (public: the emulator holds no real secrets). */
export const DEMO_CLIENT_SECRET = "emulator-demo-secret";
/** Default seed. */
export const DEFAULT_SEED = "genesys-emulator";

/** ErrorBody codes and messages of the statuses `errorRate` may inject (2018 spec `x-inin-error-codes`). */
const INJECTED_ERRORS: Record<number, { code: string; message: string }> = {
  408: { code: "request.timeout", message: "The request timed out." },
  409: { code: "conflict", message: "The request conflicts with the current state of the target resource." },
  429: { code: "too.many.requests", message: "Rate limit exceeded the maximum. Retry the request in [1] seconds" },
  500: { code: "internal.server.error", message: "The server encountered an unexpected condition which prevented it from fulfilling the request." },
  502: { code: "bad.gateway", message: "Bad Gateway." },
  503: { code: "service.unavailable", message: "Service Unavailable - The server is currently unavailable (because it is overloaded or down for maintenance)." },
  504: { code: "request.timeout", message: "The request timed out." },
};

function validatedOptions(options: EmulatorOptions) {
  const initial = parseFaultsPatch(options.faults ?? {});
  if (!initial.ok) throw new Error(`startEmulator: ${initial.message}`);
  const port = options.port ?? 4010;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`startEmulator: invalid port ${port}`);
  const tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 86400;
  if (!(tokenLifetimeSeconds > 0)) throw new Error("startEmulator: tokenLifetimeSeconds must be > 0");
  const channelTtlSeconds = options.channelTtlSeconds ?? 86400;
  if (!(channelTtlSeconds > 0)) throw new Error("startEmulator: channelTtlSeconds must be > 0");
  const backgroundFlowIntervalMs = options.backgroundFlowIntervalMs ?? 0;
  if (!(backgroundFlowIntervalMs >= 0)) throw new Error("startEmulator: backgroundFlowIntervalMs must be >= 0");
  return {
    port,
    host: options.host ?? "127.0.0.1",
    seed: options.seed ?? DEFAULT_SEED,
    demoData: options.demoData ?? false,
    backgroundFlowIntervalMs,
    tokenLifetimeSeconds,
    channelTtlSeconds,
    clients: options.clients ?? [{ clientId: DEMO_CLIENT_ID, clientSecret: DEMO_CLIENT_SECRET }],
    initialFaults: initial.patch,
  };
}

/** Host part of URLs pointing at a server bound to `host` (wildcards → loopback). */
function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::" || host === "") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * Starts the emulator and resolves once it listens.
 * @throws Error when an option is invalid (e.g. faults that fail validation) or the port is taken.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const config = validatedOptions(options);
  const clock = new EmulatorClock();
  let streams: RandomStreams = createRandomStreams(config.seed);
  const initialFaults: FaultsPatch = structuredClone(config.initialFaults);
  let faults: Faults = faultsFromDefaults(initialFaults);
  const names = config.demoData ? DEMO_NAMES : NO_NAMES;
  let boundPort = config.port;

  const store = new ConversationStore({ now: clock.now, newId: () => streams.ids() });
  const writes = new WritePipeline({ store, now: clock.now, random: () => streams.writes, faults: () => faults });
  const tokens = new TokenStore(clock.now, config.tokenLifetimeSeconds);
  const limiter = new RateLimiter(clock.now);
  const clients: OAuthClient[] = config.clients.map((c) => ({ ...c }));

  const notifications = createNotificationService({
    store,
    faults: () => faults,
    random: () => streams.notifications(),
    now: clock.now,
    newId: () => streams.notificationIds(),
    channelTtlSeconds: config.channelTtlSeconds,
    wsBaseUrl: () => `ws://${urlHost(config.host)}:${boundPort}`,
  });

  const write = (clientId: string, conversationId: string, participantId: string, attributes: Record<string, string>) => {
    writes.accept(clientId, conversationId, participantId, attributes);
  };
  let stopFlow: () => void = () => {};
  const startFlow = () => {
    if (config.demoData && config.backgroundFlowIntervalMs > 0) stopFlow = startBackgroundFlow(store, config.backgroundFlowIntervalMs, write);
  };
  if (config.demoData) seedDemoData(store);
  startFlow();

  /** `GET /api/v2/conversations/{id}` (and media variants) answered per conversation id, for `GET /emulator/reads`. */
  const readCounts = new Map<string, number>();
  const countRead = (conversationId: string) => readCounts.set(conversationId, (readCounts.get(conversationId) ?? 0) + 1);

  const reset = () => {
    readCounts.clear();
    stopFlow();
    notifications.reset();
    writes.clear();
    limiter.clear();
    store.clear();
    streams = createRandomStreams(config.seed);
    faults = faultsFromDefaults(initialFaults);
    if (config.demoData) seedDemoData(store);
    startFlow();
  };

  const app = express();
  app.disable("x-powered-by");
  // Genesys conversations carry no ETag (README, "Reading participants"); don't invent one.
  app.set("etag", false);

  const correlation: RequestHandler = (_req, res, next) => {
    res.setHeader("ININ-Correlation-Id", randomUUID());
    next();
  };
  app.use(correlation);

  app.post("/oauth/token", ...tokenEndpoint(clients, tokens, () => faults.rejectLogins));

  const defaultRateHeaders: RequestHandler = (_req, res, next) => {
    setRateLimitHeaders(res, 0, faults.rateLimitPerMinute, RATE_LIMIT_WINDOW_MS / 1000);
    next();
  };
  const latency: RequestHandler = (_req, _res, next) => {
    const ms = drawBetween(streams.faults, faults.latencyMs.min, faults.latencyMs.max);
    if (ms <= 0) return next();
    setTimeout(next, ms);
  };
  const injectErrors: RequestHandler = (_req, res, next) => {
    if (faults.errorRate <= 0 || streams.faults() >= faults.errorRate) return next();
    const status = faults.errorStatuses[Math.floor(streams.faults() * faults.errorStatuses.length)]!;
    const known = INJECTED_ERRORS[status] ?? { code: "error", message: `Injected error ${status}.` };
    sendError(res, status, known.code, known.message);
  };
  app.use("/api/v2", defaultRateHeaders, latency, requireBearer(tokens), rateLimitMiddleware(limiter, () => faults.rateLimitPerMinute), injectErrors);
  app.use("/api/v2/notifications", notifications.router);
  app.use("/api/v2/conversations", createApiRouter({ store, writes, faults: () => faults, names, countRead }));
  app.use("/api/v2/analytics", createAnalyticsRouter({ store }));

  app.use("/emulator", express.json({ limit: "1mb" }));
  app.use("/emulator/notifications", notifications.controlRouter);
  app.use(
    "/emulator",
    createControlRouter({
      store: () => store,
      names,
      log: () => writes.log(),
      reads: () => Object.fromEntries(readCounts),
      getFaults: () => structuredClone(faults),
      setFaults: (patch) => {
        faults = faultsFromDefaults(patch);
        return structuredClone(faults);
      },
      throttle: (seconds) => {
        limiter.throttle(seconds);
        return limiter.throttleUntil;
      },
      now: clock.now,
      clockOffsetMs: () => clock.offsetMs,
      advanceClock: (ms) => {
        clock.advance(ms);
        writes.flushDue();
      },
      reset,
    }),
  );

  app.use((_req, res) => sendError(res, 404, "not.found", "The requested resource was not found."));
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const status = typeof err?.status === "number" && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) sendError(res, 500, "internal.server.error", "The server encountered an unexpected condition which prevented it from fulfilling the request.");
    else sendError(res, status, "bad.request", "The request could not be understood by the server due to malformed syntax.");
  };
  app.use(onError);

  const server = http.createServer(app);
  server.on("upgrade", (req, socket, head) => {
    if (!notifications.handleUpgrade(req, socket, head)) socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onListenError = (err: Error) => reject(err);
    server.once("error", onListenError);
    server.listen(config.port, config.host, () => {
      server.off("error", onListenError);
      resolve();
    });
  }).catch(async (err) => {
    stopFlow();
    writes.close();
    await notifications.close();
    throw err;
  });
  boundPort = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost(config.host)}:${boundPort}`,
    port: boundPort,
    close: () => {
      closing ??= (async () => {
        stopFlow();
        writes.close();
        await notifications.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
