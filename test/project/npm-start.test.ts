/**
 * Proves the README's quick start and that `npm start` starts and stops like a service.
 *
 * `npm start` runs as a child process the way a user runs it (repository root, no Genesys
 * variable, so with the embedded emulator and demo data; dist/ already built, as `npm ci`'s
 * `prepare` or `npm test`'s build leave it):
 * - it answers having used less than {@link READY_BUDGET_MS} of CPU (it runs no compiler: dist/
 *   is not rewritten), logs "gateway listening" and the start line naming the embedded emulator,
 *   as the README's quick start quotes it;
 * - it answers the README's example participant query (the request is read out of README.md,
 *   and the response must equal the one README.md shows);
 * - SIGTERM, and in a second run SIGINT, sent to the **npm process itself** (not to the
 *   gateway: that is what a process manager or Ctrl-C does) stops it: the gateway logs
 *   "stopped", npm exits with status 0 within {@link STOP_TIMEOUT_MS}, every process npm had
 *   started is gone (no orphan), and both ports (gateway and embedded emulator) are free.
 *
 * npm 11 forwards SIGTERM/SIGINT to the script's shell (@npmcli/run-script's signal manager);
 * `sh -c "node …"` (dash) does not exec its last command, and a shell killed by the signal leaves
 * node running. The `start` script therefore `exec`s node, and this test fails without it.
 * NODE_ENV and the VITEST_* variables are removed from the child's environment so it behaves as
 * under a user's shell (Apollo, for one, changes its signal handling when NODE_ENV=test).
 */
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { alive, cleanEnv, descendants, freePort, killAll, listening, spawnCollected, treeCpuTimeMs, type Spawned } from "../support/processes.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const README = fileURLToPath(new URL("../../README.md", import.meta.url));
const MAIN_JS = fileURLToPath(new URL("../../dist/src/main.js", import.meta.url));
const MARKER = "<!-- example: participant-query";
/**
 * The promise for `npm start` on a built tree: an answer within 3 s. Checked as the CPU
 * time npm and its children use until the first answer (ms): on an idle machine that is the wall
 * time (startup is single-threaded work), and unlike wall time it does not fail when other work
 * shares the machine. A compile in `npm start` alone costs more than 10 s of CPU. The wall time
 * is printed beside it.
 */
const READY_BUDGET_MS = 3_000;
const START_TIMEOUT_MS = 30_000;
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

/** Polls `GET url` every 20 ms until it answers 200; resolves with the time it first did. */
async function firstAnswer(url: string, started: Spawned, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void started.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (response.status === 200) return Date.now();
    } catch {
      /* not listening yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (exited: ${exited}); output:\n${started.output().slice(-4000)}`);
}

const started: number[] = [];
const groups: number[] = [];

afterEach(() => {
  // Whatever happened, leave nothing running: npm's process group (npm runs in its own, and the
  // gateway it execs stays in it), then every process seen in its tree.
  for (const group of groups.splice(0)) {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  killAll(started.splice(0).reverse());
});

describe("npm start", () => {
  it.each(["SIGTERM", "SIGINT"] as const)(
    "answers the README's participant query within 3 s of CPU, then %s to npm stops the gateway and the emulator, leaving nothing",
    { timeout: START_TIMEOUT_MS + 30_000 },
    async (signal) => {
      const example = readmeParticipantExample(readFileSync(README, "utf8"));
      const port = await freePort();
      const emulatorPort = await freePort();
      expect(port).not.toBe(emulatorPort);
      const builtAt = statSync(MAIN_JS).mtimeMs;

      const spawnedAt = Date.now();
      const npm = spawnCollected("npm", ["start"], {
        cwd: ROOT,
        env: cleanEnv({ PORT: String(port), EMULATOR_PORT: String(emulatorPort), LOG_LEVEL: "info" }),
        detached: true,
      });
      started.push(npm.child.pid!);
      groups.push(npm.child.pid!);

      const answeredAt = await firstAnswer(`http://127.0.0.1:${port}/healthz`, npm, START_TIMEOUT_MS);
      const cpuMs = treeCpuTimeMs(npm.child.pid!);
      const readyMs = answeredAt - spawnedAt;
      console.info(`npm start answered ${readyMs} ms after spawn, having used ${cpuMs} ms of CPU`);
      expect(cpuMs, `npm start used ${cpuMs} ms of CPU before answering (${readyMs} ms wall clock)`).toBeLessThan(READY_BUDGET_MS);
      expect(statSync(MAIN_JS).mtimeMs, "npm start rebuilt dist/").toBe(builtAt);

      const ready = await npm.logLine("gateway listening", 5_000);
      expect(ready.url).toBe(`http://127.0.0.1:${port}/graphql`);
      const startLine = await npm.logLine((msg) => msg.includes("embedded Genesys Cloud emulator started"), 1_000);
      expect(startLine["genesys"]).toEqual({ kind: "embedded-emulator", emulatorUrl: `http://127.0.0.1:${emulatorPort}`, clientId: "emulator-demo-client" });
      // The quick start quotes this line (with the default port).
      const prose = readFileSync(README, "utf8").replace(/`/g, "").replace(/\s+/g, " ");
      expect(prose).toContain(startLine.msg!.replace(`:${emulatorPort}`, ":4010"));

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

      // Everything npm started (the gateway's node, and a shell if the script had one).
      const tree = descendants(npm.child.pid!);
      started.push(...tree);
      expect(tree).toContain(ready.pid);

      // Stop: the signal goes to npm itself; npm start must then end with status 0.
      const stoppedAt = Date.now();
      process.kill(npm.child.pid!, signal);
      const outcome = await npm.exitWithin(STOP_TIMEOUT_MS);
      expect(outcome, `npm start did not exit within ${STOP_TIMEOUT_MS} ms of ${signal}; output:\n${npm.output().slice(-3000)}`).not.toBe("timeout");
      expect(outcome).toEqual({ code: 0, signal: null });
      expect(Date.now() - stoppedAt).toBeLessThan(STOP_TIMEOUT_MS);
      expect(npm.lines.find((l) => l.msg === "stopping")?.["signal"]).toBe(signal);
      expect(npm.lines.map((l) => l.msg)).toContain("stopped");
      expect(tree.filter(alive), "processes npm started are still running").toEqual([]);
      expect(await listening(port), `gateway port ${port} still open`).toBe(false);
      expect(await listening(emulatorPort), `emulator port ${emulatorPort} still open`).toBe(false);
    },
  );
});
