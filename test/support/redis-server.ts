/**
 * A real `redis-server` (Debian's package, 7.x) for the Redis tests: one per test file, on a free
 * loopback port, with persistence off (`--save '' --appendonly no`), stopped after the file.
 *
 * Where `redis-server` is not on PATH the Redis tests must be reported as skipped, never passed:
 * use `describe.skipIf(!hasRedisServer)` and the one install command in {@link REDIS_INSTALL}
 * (printed once per file by {@link warnWithoutRedis}). `.ci/run` installs it when missing.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { freePort } from "./processes.js";

/** The one command that installs what the Redis tests need (Debian). */
export const REDIS_INSTALL = "apt-get install -y redis-server";

/** Whether `redis-server` can be run here. */
export const hasRedisServer: boolean = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;

/** Prints, once per test file without `redis-server`, why its Redis tests are skipped and how to run them. */
export function warnWithoutRedis(file: string): void {
  if (!hasRedisServer) console.warn(`${file}: redis-server is not on PATH; its Redis tests are skipped (install: ${REDIS_INSTALL})`);
}

/** A running redis-server child. */
export interface RunningRedis {
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** The child process (e.g. to SIGSTOP it and simulate a hung server). */
  process: ChildProcess;
  /** A new ioredis client on this server (closed by {@link RunningRedis.stop} if still open). */
  client(): Redis;
  /** Stops the server (SIGTERM, then SIGKILL after 2 s) and closes the clients it gave out. */
  stop(): Promise<void>;
  /** Starts the server again on the same port (empty: persistence is off), e.g. after {@link stop}. */
  restart(): Promise<void>;
}

/** Starts `redis-server` on a free loopback port; resolves once it answers PING. */
export async function startRedis(): Promise<RunningRedis> {
  const port = await freePort();
  const clients = new Set<Redis>();
  let child = await launch(port);
  const running: RunningRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get process() {
      return child;
    },
    client() {
      const client = new Redis(port, "127.0.0.1", { lazyConnect: false, maxRetriesPerRequest: 1 });
      client.on("error", () => {});
      clients.add(client);
      client.once("end", () => clients.delete(client));
      return client;
    },
    async stop() {
      for (const client of clients) client.disconnect();
      clients.clear();
      await terminate(child);
    },
    async restart() {
      await terminate(child);
      child = await launch(port);
    },
  };
  return running;
}

async function launch(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited (${child.exitCode}): ${stderr}`);
    const probe = new Redis(port, "127.0.0.1", { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === "PONG") return child;
    } catch {
      /* not yet listening */
    } finally {
      probe.disconnect();
    }
    if (Date.now() - started > 10_000) {
      child.kill("SIGKILL");
      throw new Error(`redis-server on port ${port} did not answer PING within 10 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 2_000);
  await exited;
  clearTimeout(timer);
}
