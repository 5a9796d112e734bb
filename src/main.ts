/**
 * `npm start` (`node dist/src/main.js`): the gateway process.
 *
 * With `GENESYS_CLIENT_ID`, `GENESYS_CLIENT_SECRET` and `GENESYS_REGION` (or
 * `GENESYS_GATEWAY_URL`) it talks to that Genesys; with no Genesys variable at all, outside
 * `NODE_ENV=production`, it first starts the embedded Genesys Cloud emulator on `EMULATOR_PORT`
 * with demo data and a background flow, and uses it (src/config.ts decides; README.md,
 * "Configuration"). This file is the composition root: the only gateway-side module that knows
 * the emulator exists, and only through its public `startEmulator`.
 *
 * Exit paths:
 * - invalid or incomplete configuration: the ConfigError message on stderr, exit 1, nothing
 *   started;
 * - `REDIS_URL` set but Redis unreachable, not Redis, or older than 7: one stderr line naming
 *   `REDIS_URL` without its password (src/cluster/redis-connection.ts), exit 1, nothing started;
 * - a port that cannot be bound: one stderr line naming the variable and the port
 *   (`PORT 4000 is already in use on 127.0.0.1: …`), exit 1;
 * - any other start failure (e.g. Genesys refuses the credentials): `gateway failed to start: …`
 *   on stderr, exit 1;
 * - SIGTERM / SIGINT: stops the gateway, then the embedded emulator, logs "stopped", exit 0;
 *   if stopping takes longer than {@link STOP_TIMEOUT_MS}, logs that and exits 1.
 */
import { pino } from "pino";
import { ConfigError, describeGenesysTarget, genesysTargetSummary, loadConfig, type GatewayConfig } from "./config.js";
import type { RedisConnections } from "./cluster/redis-connection.js";
import type { RunningEmulator } from "./emulator/server.js";
import type { GenesysEndpoint } from "./genesys/client.js";
import { createLogger } from "./logger.js";
import { startTracing, type Tracing } from "./observability/tracing.js";
import type { RunningGateway } from "./server.js";

/** Background "Architect flow" period of the demo emulator (ms). */
const DEMO_FLOW_INTERVAL_MS = 4_000;
/** Longest a SIGTERM/SIGINT stop may take before the process exits anyway, with status 1 (ms). */
const STOP_TIMEOUT_MS = 10_000;

/** A start failure already explained in one line: printed as is, exit 1. */
class StartError extends Error {
  override name = "StartError";
}

/**
 * Turns a listen error into one line naming the variable that chose the address, e.g.
 * `PORT 4000 is already in use on 127.0.0.1: stop what listens there or set PORT to a free port`.
 * Other errors are returned unchanged.
 */
function listenError(error: unknown, variable: "PORT" | "EMULATOR_PORT", host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EADDRINUSE") return new StartError(`${variable} ${port} is already in use on ${host}: stop what listens there or set ${variable} to a free port`);
  if (code === "EACCES") return new StartError(`${variable} ${port} on ${host}: permission denied (ports below 1024 need privileges): set ${variable} to a port above 1023`);
  if (code === "EADDRNOTAVAIL") return new StartError(`HOST ${host} is not an address of this machine (for ${variable} ${port}): set HOST to one of its addresses, or 0.0.0.0`);
  return error;
}

function readConfig(): GatewayConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) throw new StartError(error.message);
    throw error;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  // Synchronous writes to stdout: a line is out before the next statement (nothing lost at
  // process.exit), and no exit-time flush is needed. pino's default asynchronous stdout flushes
  // with sonic-boom's flushSync at exit, which retries EPIPE forever: with the log reader gone
  // (a crashed collector, a killed parent) the process then never exits, SIGTERM or not.
  const logger = createLogger(config.logLevel, pino.destination({ dest: 1, sync: true }));

  let emulator: RunningEmulator | undefined;
  let gateway: RunningGateway | undefined;
  let tracing: Tracing | undefined;
  let redis: RedisConnections | undefined;
  // Installed before anything starts: a signal during the start stops what has started so far,
  // instead of killing the process mid-way.
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    // Ctrl-C reaches the gateway twice (from the terminal and forwarded by npm): stop once.
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    setTimeout(() => {
      logger.error({ signal, timeoutMs: STOP_TIMEOUT_MS }, "stop timed out: exiting anyway");
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    try {
      await gateway?.close();
    } finally {
      try {
        await redis?.close();
        await emulator?.close();
      } finally {
        // Last: flushes the spans of the requests the gateway has just drained.
        await tracing?.shutdown();
      }
    }
    logger.info("stopped");
    process.exit(0);
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      stop(signal).catch((error: unknown) => {
        logger.error({ err: error }, "stop failed");
        process.exit(1);
      });
    });
  }

  // Tracing first: its instrumentations patch express, http and graphql as they load, so the
  // emulator and the gateway are imported only after it (off without OTEL_EXPORTER_OTLP_ENDPOINT).
  tracing = await startTracing(config.tracing);
  if (tracing) logger.info({ endpoint: config.tracing.endpoint?.href, serviceName: config.tracing.serviceName }, "OpenTelemetry tracing on");
  const { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, startEmulator } = await import("./emulator/server.js");
  const { startGateway } = await import("./server.js");

  // Several instances (REDIS_URL): Redis first, so an unusable one stops the process before
  // anything else starts.
  if (config.redis) {
    const { connectRedis, RedisStartError } = await import("./cluster/redis-connection.js");
    redis = await connectRedis({ settings: config.redis, logger }).catch((error: unknown) => {
      throw error instanceof RedisStartError ? new StartError(error.message) : error;
    });
  }

  let endpoint: GenesysEndpoint;
  let credentials: { clientId: string; clientSecret: string };
  const target = config.genesys;
  if (target.kind === "embedded-emulator") {
    const emulatorHost = "127.0.0.1";
    emulator = await startEmulator({
      port: target.emulatorPort,
      host: emulatorHost,
      demoData: true,
      backgroundFlowIntervalMs: DEMO_FLOW_INTERVAL_MS,
    }).catch((error: unknown) => {
      throw listenError(error, "EMULATOR_PORT", emulatorHost, target.emulatorPort);
    });
    endpoint = { baseUrl: new URL(emulator.url) };
    credentials = { clientId: DEMO_CLIENT_ID, clientSecret: DEMO_CLIENT_SECRET };
    const genesys = describeGenesysTarget(target, { url: emulator.url, clientId: DEMO_CLIENT_ID });
    logger.info(
      { genesys, url: emulator.url },
      `no Genesys variable set: embedded Genesys Cloud emulator started; talking to ${genesysTargetSummary(genesys)}`,
    );
  } else {
    endpoint = target.kind === "cloud" ? { environment: target.environment } : { baseUrl: target.baseUrl };
    credentials = { clientId: target.clientId, clientSecret: target.clientSecret };
    const genesys = describeGenesysTarget(target);
    logger.info({ genesys }, `talking to ${genesysTargetSummary(genesys)}`);
  }

  gateway = await startGateway({
    port: config.port,
    host: config.host,
    genesys: { endpoint, ...credentials, embeddedEmulator: emulator !== undefined },
    logger,
    verify: { deadlineMs: config.updateDeadlineMs },
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    requestsPerMinute: config.genesysRequestsPerMinute,
    trackedReadMaxAgeMs: config.trackedReadMaxAgeMs,
    auth: config.auth,
    limits: config.limits,
    cors: config.cors,
    ...(config.metricsPort !== undefined ? { metrics: { port: config.metricsPort } } : {}),
    introspection: config.introspection,
    ...(redis ? { redis } : {}),
    changes: {
      retention: config.changeLogRetention,
      reconcileRequestsPerMinute: config.genesysRequestsPerMinute * config.reconcileBudgetShare,
      settleMs: config.changeSettleMs,
      lingerMs: config.watchLingerMs,
    },
  }).catch(async (error: unknown) => {
    await redis?.close();
    await emulator?.close();
    throw listenError(error, "PORT", config.host, config.port);
  });
}

main().catch((error: unknown) => {
  if (error instanceof StartError) {
    console.error(error.message);
  } else {
    // GenesysError (login failed) or other start errors: neither carries secrets.
    console.error(`gateway failed to start: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.exit(1);
});
