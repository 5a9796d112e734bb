/**
 * Proves the gateway process's start and exit paths end to end, each in a spawned
 * `node dist/src/main.js` (what `npm start` execs) with a user's environment (no NODE_ENV,
 * no GENESYS_* unless the case sets them):
 * - configuration that cannot lie: a partial Genesys configuration, or NODE_ENV=production
 *   without one, exits 1 with one stderr line naming what is missing, never the secret, having
 *   started nothing (no embedded emulator, no port open);
 * - a complete configuration (GENESYS_GATEWAY_URL at an emulator this test runs) logs the start
 *   line naming that Genesys and the client id, never the secret, and serves through it — also
 *   under NODE_ENV=production;
 * - credentials Genesys refuses: exit 1, "gateway failed to start: …";
 * - a taken PORT or EMULATOR_PORT: exit 1 with one line naming the variable and the port,
 *   not the WebSocket library's "Please check your implementation"; nothing left listening;
 * - SIGTERM stops it (status 0, ports free) even when its stdout reader is gone;
 * - `REDIS_URL` (issue 10) at nothing listening, or at something that is not Redis: exit 1 with
 *   one line naming REDIS_URL without its password, nothing started; at a real redis-server
 *   with a password: it starts, says so without the password, goes not-ready when Redis is lost
 *   (still without the password) and stops.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/server.js";
import { DEMO_CREDENTIALS } from "../support/sdk.js";
import { cleanEnv, freePort, killAll, listening, spawnCollected, type Spawned } from "../support/processes.js";
import { hasRedisServer, warnWithoutRedis } from "../support/redis-server.js";

warnWithoutRedis("test/project/startup.test.ts");

const MAIN_JS = fileURLToPath(new URL("../../dist/src/main.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SECRET = "s3cr3t-VALUE-that-must-not-leak";
const EXIT_TIMEOUT_MS = 15_000;

let emulator: RunningEmulator;
const children: Spawned[] = [];

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, demoData: true, backgroundFlowIntervalMs: 0 });
});
afterEach(() => {
  killAll(children.splice(0).map((c) => c.child.pid!));
});
afterAll(async () => {
  await emulator?.close();
});

/** Spawns the built gateway with a user's environment plus `env`, on free ports unless `env` sets them. */
async function gateway(env: Record<string, string>): Promise<{ run: Spawned; port: number; emulatorPort: number }> {
  const port = Number(env["PORT"] ?? (await freePort()));
  const emulatorPort = Number(env["EMULATOR_PORT"] ?? (await freePort()));
  const run = spawnCollected(process.execPath, [MAIN_JS], {
    cwd: ROOT,
    env: cleanEnv({ LOG_LEVEL: "info", PORT: String(port), EMULATOR_PORT: String(emulatorPort), ...env }),
  });
  children.push(run);
  return { run, port, emulatorPort };
}

/** Waits for the exit; fails the test if the process is still running after {@link EXIT_TIMEOUT_MS}. */
async function exitOf(run: Spawned) {
  const outcome = await run.exitWithin(EXIT_TIMEOUT_MS);
  if (outcome === "timeout") throw new Error(`still running after ${EXIT_TIMEOUT_MS} ms; output:\n${run.output()}`);
  return outcome;
}

describe("configuration that cannot lie: exit 1 naming what is missing, nothing started", () => {
  it.each<[string, Record<string, string>, RegExp[]]>([
    ["NODE_ENV=production without any Genesys variable", { NODE_ENV: "production" }, [/NODE_ENV=production/, /GENESYS_CLIENT_ID/, /GENESYS_CLIENT_SECRET/, /GENESYS_REGION/]],
    ["GENESYS_REGION alone", { GENESYS_REGION: "eu_west_1" }, [/GENESYS_REGION is set/, /GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET are missing/]],
    ["credentials without a region", { GENESYS_CLIENT_ID: "my-client", GENESYS_CLIENT_SECRET: SECRET }, [/GENESYS_REGION \(or GENESYS_GATEWAY_URL\) is missing/]],
    ["NODE_ENV=production with the secret alone", { NODE_ENV: "production", GENESYS_CLIENT_SECRET: SECRET }, [/GENESYS_CLIENT_ID, GENESYS_REGION \(or GENESYS_GATEWAY_URL\) are missing/]],
    ["GENESYS_GATEWAY_URL without credentials", { GENESYS_GATEWAY_URL: "http://127.0.0.1:9" }, [/GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET are missing/]],
    ["GENESYS_REGION and GENESYS_GATEWAY_URL together", { GENESYS_CLIENT_ID: "my-client", GENESYS_CLIENT_SECRET: SECRET, GENESYS_REGION: "eu_west_1", GENESYS_GATEWAY_URL: "http://127.0.0.1:9" }, [/both set/]],
  ])("%s", async (_label, env, expected) => {
    const { run, port, emulatorPort } = await gateway(env);
    expect(await exitOf(run)).toEqual({ code: 1, signal: null });
    const stderr = run.stderr().trim();
    expect(stderr.split("\n"), `one line expected, got:\n${stderr}`).toHaveLength(1);
    for (const pattern of expected) expect(stderr).toMatch(pattern);
    expect(run.output()).not.toContain(SECRET);
    expect(run.lines, "nothing may be logged as started").toEqual([]);
    expect(await listening(port)).toBe(false);
    expect(await listening(emulatorPort)).toBe(false);
  });
});

describe("a complete Genesys configuration", () => {
  it.each<Record<string, string>>([{}, { NODE_ENV: "production" }])("%o: the start line names the Genesys and client id, never the secret; it serves and stops", async (extra) => {
    const { run, port, emulatorPort } = await gateway({
      ...extra,
      GENESYS_GATEWAY_URL: emulator.url,
      GENESYS_CLIENT_ID: DEMO_CREDENTIALS.clientId,
      GENESYS_CLIENT_SECRET: DEMO_CREDENTIALS.clientSecret,
      // Caller auth is issue 6's (test/config-security.test.ts, test/gateway/auth.test.ts): off here, explicitly.
      GATEWAY_AUTH: "none",
    });
    await run.logLine("gateway listening", EXIT_TIMEOUT_MS);
    const startLine = await run.logLine((msg) => msg.startsWith("talking to "), 1_000);
    expect(startLine["genesys"]).toEqual({ kind: "gateway", baseUrl: `${emulator.url}/`, clientId: DEMO_CREDENTIALS.clientId });
    expect(startLine.msg).toBe(`talking to the Genesys API at ${emulator.url}/ (GENESYS_GATEWAY_URL), client id ${DEMO_CREDENTIALS.clientId}`);
    expect(run.lines.some((l) => l.msg?.includes("emulator started"))).toBe(false);
    expect(await listening(emulatorPort), "no embedded emulator").toBe(false);

    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: '{ participant(conversationId: "c0000000-0000-4000-8000-000000000002", participantId: "d0000000-0000-4000-8000-000000000021") { attributes } }' }),
    });
    expect(await response.json()).toEqual({ data: { participant: { attributes: { "crm.caseId": "CASE-1002" } } } });

    run.child.kill("SIGTERM");
    expect(await exitOf(run)).toEqual({ code: 0, signal: null });
    expect(run.output()).not.toContain(DEMO_CREDENTIALS.clientSecret);
    expect(await listening(port)).toBe(false);
  });

  it("credentials Genesys refuses: exit 1, gateway failed to start, nothing listening, no secret", async () => {
    const { run, port } = await gateway({ GENESYS_GATEWAY_URL: emulator.url, GENESYS_CLIENT_ID: DEMO_CREDENTIALS.clientId, GENESYS_CLIENT_SECRET: SECRET, GATEWAY_AUTH: "none" });
    expect(await exitOf(run)).toEqual({ code: 1, signal: null });
    expect(run.stderr()).toMatch(/^gateway failed to start: /);
    expect(run.output()).not.toContain(SECRET);
    expect(await listening(port)).toBe(false);
  });
});

describe("stopping", () => {
  it("SIGTERM stops the gateway and the embedded emulator even when nobody reads its stdout any more", async () => {
    const { run, port, emulatorPort } = await gateway({});
    await run.logLine("gateway listening", EXIT_TIMEOUT_MS);
    // The log reader goes away (a crashed collector, a killed parent): writes to stdout now fail with EPIPE.
    run.child.stdout!.destroy();
    run.child.kill("SIGTERM");
    expect(await exitOf(run)).toEqual({ code: 0, signal: null });
    expect(await listening(port)).toBe(false);
    expect(await listening(emulatorPort)).toBe(false);
  });
});

describe("a port that is taken", () => {
  /** Holds 127.0.0.1:port like another program would. */
  async function occupy(): Promise<{ port: number; close(): Promise<void> }> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  it("PORT: one line naming PORT and the port; the embedded emulator it had started is gone", async () => {
    const taken = await occupy();
    try {
      const { run, emulatorPort } = await gateway({ PORT: String(taken.port) });
      expect(await exitOf(run)).toEqual({ code: 1, signal: null });
      expect(run.stderr()).toBe(`PORT ${taken.port} is already in use on 127.0.0.1: stop what listens there or set PORT to a free port\n`);
      expect(run.output()).not.toMatch(/Please check your implementation/);
      expect(run.lines.some((l) => l.msg?.includes("emulator started")), "the emulator starts first").toBe(true);
      expect(await listening(emulatorPort)).toBe(false);
    } finally {
      await taken.close();
    }
  });

  it("EMULATOR_PORT: one line naming EMULATOR_PORT and the port; the gateway never starts", async () => {
    const taken = await occupy();
    try {
      const { run, port } = await gateway({ EMULATOR_PORT: String(taken.port) });
      expect(await exitOf(run)).toEqual({ code: 1, signal: null });
      expect(run.stderr()).toBe(`EMULATOR_PORT ${taken.port} is already in use on 127.0.0.1: stop what listens there or set EMULATOR_PORT to a free port\n`);
      expect(run.lines).toEqual([]);
      expect(await listening(port)).toBe(false);
    } finally {
      await taken.close();
    }
  });
});

describe("REDIS_URL: Redis unusable at start → exit 1, one line naming REDIS_URL without its password, nothing started", () => {
  it("nothing listens at REDIS_URL", async () => {
    const redisPort = await freePort();
    const { run, port, emulatorPort } = await gateway({ REDIS_URL: `redis://admin:${SECRET}@127.0.0.1:${redisPort}/0` });
    expect(await exitOf(run)).toEqual({ code: 1, signal: null });
    const stderr = run.stderr().trim();
    expect(stderr.split("\n"), `one line expected, got:\n${stderr}`).toHaveLength(1);
    expect(stderr).toMatch(new RegExp(`^REDIS_URL redis://\\*\\*\\*@127\\.0\\.0\\.1:${redisPort}/0 cannot be reached: .*ECONNREFUSED`));
    expect(run.output()).not.toContain(SECRET);
    expect(run.lines, "nothing may be logged as started").toEqual([]);
    expect(await listening(port)).toBe(false);
    expect(await listening(emulatorPort)).toBe(false);
  });

  it("something that is not Redis listens at REDIS_URL (an HTTP server)", async () => {
    const sockets = new Set<net.Socket>();
    const notRedis = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
    });
    await new Promise<void>((resolve) => notRedis.listen(0, "127.0.0.1", resolve));
    try {
      const redisPort = (notRedis.address() as net.AddressInfo).port;
      const { run, port } = await gateway({ REDIS_URL: `redis://:${SECRET}@127.0.0.1:${redisPort}` });
      expect(await exitOf(run)).toEqual({ code: 1, signal: null });
      const stderr = run.stderr().trim();
      expect(stderr.split("\n"), `one line expected, got:\n${stderr}`).toHaveLength(1);
      expect(stderr).toMatch(/^REDIS_URL redis:\/\/\*\*\*@127\.0\.0\.1:\d+ /);
      expect(run.output()).not.toContain(SECRET);
      expect(run.lines).toEqual([]);
      expect(await listening(port)).toBe(false);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => notRedis.close(resolve));
    }
  });

  describe.skipIf(!hasRedisServer)("a real redis-server", () => {
    it("with a password: starts as one instance of a cluster, the password in no log line or answer, also once Redis is lost", async () => {
      // Our own redis-server with requirepass (test/support/redis-server.ts starts them without).
      const redisPort = await freePort();
      const server = spawn("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--requirepass", SECRET], { stdio: "ignore" });
      try {
        await expect.poll(() => listening(redisPort), { timeout: 10_000, interval: 20 }).toBe(true);
        const { run, port } = await gateway({ REDIS_URL: `redis://:${SECRET}@127.0.0.1:${redisPort}/0`, REDIS_KEY_PREFIX: "startup-test:" });
        await run.logLine("gateway listening", EXIT_TIMEOUT_MS);
        const connected = run.lines.find((l) => l.msg?.startsWith("Redis connected"));
        expect(connected).toMatchObject({ redis: `redis://***@127.0.0.1:${redisPort}/0`, keyPrefix: "startup-test:" });
        expect(String(connected?.["redisVersion"])).toMatch(/^([7-9]|\d{2,})\./);
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
        expect(ready.status).toBe(200);
        // Redis goes away: not ready, and still no password anywhere.
        server.kill("SIGKILL");
        await expect.poll(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status, { timeout: 10_000, interval: 50 }).toBe(503);
        const lost = await (await fetch(`http://127.0.0.1:${port}/readyz`)).text();
        expect(lost).toContain('"redis"');
        expect(lost).not.toContain(SECRET);
        run.child.kill("SIGTERM");
        expect(await exitOf(run)).toEqual({ code: 0, signal: null });
        expect(run.output()).not.toContain(SECRET);
      } finally {
        server.kill("SIGKILL");
      }
    });
  });
});
