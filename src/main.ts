/**
 * `npm start`: the gateway process.
 *
 * With `GENESYS_CLIENT_ID`/`GENESYS_CLIENT_SECRET` it talks to Genesys Cloud in
 * `GENESYS_REGION` (or to `GENESYS_GATEWAY_URL`); without them it first starts the embedded
 * Genesys Cloud emulator on `EMULATOR_PORT` with demo data and a background flow, and uses it.
 * This file is the composition root: the only gateway-side module that knows the emulator
 * exists, and only through its public `startEmulator`.
 * Exits 1 with a clear message on invalid configuration; stops cleanly on SIGTERM/SIGINT.
 */
import { ConfigError, loadConfig } from "./config.js";
import type { RunningEmulator } from "./emulator/server.js";
import type { GenesysEndpoint } from "./genesys/client.js";
import { createLogger } from "./logger.js";
import { startTracing } from "./observability/tracing.js";

/** Background "Architect flow" period of the demo emulator (ms). */
const DEMO_FLOW_INTERVAL_MS = 4_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  // Tracing first: its instrumentations patch express, http and graphql as they load, so the
  // emulator and the gateway are imported only after it (off without OTEL_EXPORTER_OTLP_ENDPOINT).
  const tracing = await startTracing(config.tracing);
  if (tracing) logger.info({ endpoint: config.tracing.endpoint?.href, serviceName: config.tracing.serviceName }, "OpenTelemetry tracing on");
  const { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, startEmulator } = await import("./emulator/server.js");
  const { startGateway } = await import("./server.js");

  let emulator: RunningEmulator | undefined;
  let endpoint: GenesysEndpoint;
  let credentials: { clientId: string; clientSecret: string };
  const target = config.genesys;
  if (target.kind === "embedded-emulator") {
    emulator = await startEmulator({
      port: target.emulatorPort,
      demoData: true,
      backgroundFlowIntervalMs: DEMO_FLOW_INTERVAL_MS,
    });
    logger.info({ url: emulator.url }, "no Genesys credentials configured: embedded Genesys Cloud emulator started");
    endpoint = { baseUrl: new URL(emulator.url) };
    credentials = { clientId: DEMO_CLIENT_ID, clientSecret: DEMO_CLIENT_SECRET };
  } else {
    endpoint = target.kind === "cloud" ? { environment: target.environment } : { baseUrl: target.baseUrl };
    credentials = { clientId: target.clientId, clientSecret: target.clientSecret };
    logger.info({ genesys: target.kind === "cloud" ? target.environment : target.baseUrl.href }, "using Genesys Cloud");
  }

  const gateway = await startGateway({
    port: config.port,
    host: config.host,
    genesys: { endpoint, ...credentials },
    logger,
    verify: { deadlineMs: config.updateDeadlineMs },
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    auth: config.auth,
    limits: config.limits,
    cors: config.cors,
    ...(config.metricsPort !== undefined ? { metrics: { port: config.metricsPort } } : {}),
    introspection: config.introspection,
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    await gateway.close();
    await emulator?.close();
    await tracing?.shutdown();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error: unknown) => {
  // Errors here are GenesysError (login failed) or listen errors: neither carries secrets.
  console.error(`gateway failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
