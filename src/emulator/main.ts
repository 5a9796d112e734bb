/**
 * Standalone runner: `npm run emulator` (`exec node dist/src/emulator/main.js`, on the tree `npm ci` built).
 * Reads the environment (see env.ts), starts the emulator, logs one line with the URL and
 * the (public) demo credentials, and stops cleanly on SIGTERM/SIGINT. Bad environment
 * values print a clear message and exit with status 1.
 */
import { pathToFileURL } from "node:url";
import pino from "pino";
import { parseEmulatorEnv } from "./env.js";
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, startEmulator, type RunningEmulator } from "./server.js";

/** A running standalone emulator with its stop function. */
export interface Standalone {
  /** The started emulator (url, port). */
  emulator: RunningEmulator;
  /** Closes the emulator (idempotent). */
  stop(): Promise<void>;
}

/**
 * Starts the emulator from `env` and logs the start line through `log`.
 * @throws Error with a readable message when the environment is invalid or the port is taken.
 */
export async function runStandalone(
  env: Record<string, string | undefined>,
  log: (fields: Record<string, unknown>, message: string) => void,
): Promise<Standalone> {
  const parsed = parseEmulatorEnv(env);
  if (!parsed.ok) throw new Error(parsed.message);
  const emulator = await startEmulator(parsed.options);
  log(
    {
      url: emulator.url,
      clientId: DEMO_CLIENT_ID,
      clientSecret: DEMO_CLIENT_SECRET,
      demoData: parsed.options.demoData,
      seed: parsed.options.seed ?? "genesys-emulator",
    },
    `Genesys Cloud emulator listening on ${emulator.url} (login ${emulator.url}/oauth/token, client id ${DEMO_CLIENT_ID}, secret ${DEMO_CLIENT_SECRET})`,
  );
  return { emulator, stop: () => emulator.close() };
}

async function main(): Promise<void> {
  const logger = pino({ name: "genesys-emulator" });
  let running: Standalone;
  try {
    running = await runStandalone(process.env, (fields, message) => logger.info(fields, message));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    logger.info({ signal }, "Genesys Cloud emulator stopping");
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
