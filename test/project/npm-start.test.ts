/**
 * Proves the README's quick start: `npm start`, run as a child process the way a user runs it
 * (repository root, no Genesys credentials, so with the embedded emulator and demo data), logs
 * "gateway listening", answers the README's example participant query (the request is read out
 * of README.md, and the response must equal the one README.md shows), and then stops cleanly on
 * SIGTERM: the gateway logs "stopped", `npm start` exits with code 0 within 10 s, and both ports
 * are free again.
 *
 * SIGTERM goes to the gateway's node process (its pid is in the pino log line), because npm
 * itself does not forward SIGTERM to the script it runs: a signal sent to npm alone leaves the
 * gateway running. NODE_ENV and the VITEST_* variables are removed from the child's
 * environment so it behaves as under a user's shell (Apollo, for one, changes its signal
 * handling when NODE_ENV=test).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const README = fileURLToPath(new URL("../../README.md", import.meta.url));
const MARKER = "<!-- example: participant-query";
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;

/** The README example after {@link MARKER}: the curl request body and the documented response. */
export function readmeParticipantExample(readme: string): { url: string; body: { query: string; variables?: Record<string, unknown> }; response: unknown } {
  const at = readme.indexOf(MARKER);
  if (at < 0) throw new Error(`README.md has no "${MARKER}" marker`);
  const blocks = [...readme.slice(at).matchAll(/```(\w*)\n([\s\S]*?)```/g)];
  const shell = blocks.find((b) => b[1] === "sh")?.[2];
  const json = blocks.find((b) => b[1] === "json")?.[2];
  if (!shell || !json) throw new Error("the README example needs a ```sh block (the curl) followed by a ```json block (its response)");
  const url = /curl\s[^\n]*?(https?:\/\/\S+)/.exec(shell)?.[1];
  const data = /\s-d\s+'([^']*)'/.exec(shell)?.[1];
  if (!url || !data) throw new Error("the README example's curl needs a URL and a -d '…' body");
  return { url, body: JSON.parse(data), response: JSON.parse(json) };
}

/** A TCP port that was free a moment ago (listen on 0, read the port, close). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface LogLine {
  msg?: string;
  pid?: number;
  url?: string;
  [key: string]: unknown;
}

let child: ChildProcess | undefined;
let gatewayPid: number | undefined;

afterAll(async () => {
  // Whatever happened, leave nothing running: the npm process group (npm, sh, node), then the
  // gateway itself; wait until it is gone.
  if (child?.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  if (gatewayPid && alive(gatewayPid)) process.kill(gatewayPid, "SIGKILL");
  for (let i = 0; gatewayPid && alive(gatewayPid) && i < 50; i++) await new Promise((resolve) => setTimeout(resolve, 100));
});

describe("npm start", () => {
  it("serves the README's example participant query, then stops cleanly on SIGTERM", { timeout: START_TIMEOUT_MS + 60_000 }, async () => {
    const example = readmeParticipantExample(readFileSync(README, "utf8"));
    const port = await freePort();
    const emulatorPort = await freePort();
    expect(port).not.toBe(emulatorPort);

    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (key.startsWith("GENESYS_") || key.startsWith("VITEST") || key === "NODE_ENV") continue;
      env[key] = value;
    }
    Object.assign(env, { PORT: String(port), EMULATOR_PORT: String(emulatorPort), LOG_LEVEL: "info" });

    const npm = spawn("npm", ["start"], { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    child = npm;
    const lines: LogLine[] = [];
    let output = "";
    const waiters: Array<{ msg: string; resolve: (line: LogLine) => void }> = [];
    let buffered = "";
    npm.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const text = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (!text.startsWith("{")) continue;
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          continue;
        }
        lines.push(line);
        for (const waiter of waiters.filter((w) => w.msg === line.msg)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    });
    npm.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      npm.once("exit", (code, signal) => resolve({ code, signal })),
    );
    const logLine = (msg: string, timeoutMs: number): Promise<LogLine> => {
      const found = lines.find((l) => l.msg === msg);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${msg}" log line within ${timeoutMs} ms; output:\n${output.slice(-4000)}`)), timeoutMs);
        waiters.push({ msg, resolve: (line) => (clearTimeout(timer), resolve(line)) });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`npm start exited (code ${code}, signal ${signal}) before "${msg}"; output:\n${output.slice(-4000)}`));
        });
      });
    };

    const ready = await logLine("gateway listening", START_TIMEOUT_MS);
    expect(ready.url).toBe(`http://127.0.0.1:${port}/graphql`);
    expect(typeof ready.pid).toBe("number");
    gatewayPid = ready.pid!;
    expect(lines.some((l) => l.msg?.includes("embedded Genesys Cloud emulator started"))).toBe(true);

    // The README's request, sent where this gateway listens.
    const url = new URL(example.url);
    expect(url.pathname).toBe("/graphql");
    const response = await fetch(`http://127.0.0.1:${port}${url.pathname}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(example.body),
    });
    expect(response.status).toBe(200);
    const result = (await response.json()) as { data?: { participant?: { attributes?: Record<string, string> } } };
    expect(result).toEqual(example.response);
    // And the README's documented data is the demo data (not just self-consistent).
    expect(result.data?.participant?.attributes).toEqual({ "crm.caseId": "CASE-1002" });

    // Stop: SIGTERM to the gateway process; npm start must then end with status 0.
    const stoppedAt = Date.now();
    process.kill(gatewayPid, "SIGTERM");
    const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), STOP_TIMEOUT_MS).unref());
    const outcome = await Promise.race([exited, timeout]);
    expect(outcome, `npm start did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM; output:\n${output.slice(-3000)}`).not.toBe("timeout");
    expect(outcome).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppedAt).toBeLessThan(STOP_TIMEOUT_MS);
    expect(lines.map((l) => l.msg)).toContain("stopped");
    expect(alive(gatewayPid)).toBe(false);
    expect(await listening(port), `gateway port ${port} still open`).toBe(false);
    expect(await listening(emulatorPort), `emulator port ${emulatorPort} still open`).toBe(false);
  });
});
