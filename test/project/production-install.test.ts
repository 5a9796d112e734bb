/**
 * Proves the README's production install path on a copy of the repository (without
 * node_modules, dist/ or .git, in a temporary folder):
 *
 *   npm ci                      → `prepare` builds dist/
 *   npm prune --omit=dev        → no compiler, no test tools left
 *   NODE_ENV=production node dist/src/main.js   (with a complete Genesys configuration)
 *
 * and that the pruned tree serves the participant query and stops on SIGTERM with status 0.
 * Then, in that tree without dev dependencies: `npm run prepare` (what `npm ci --omit=dev` runs)
 * skips the build with a note instead of failing on a missing `tsc`; `npm start` warns when a
 * source file is newer than dist/, and refuses with one clear line when dist/ is missing.
 *
 * Slow on purpose (about a minute: a real `npm ci` and a full build): it is the only test of the
 * install itself. `--prefer-offline` makes npm take packages from its cache, which the
 * `npm ci` that precedes `npm test` (CI, README) has just filled; it falls back to the registry.
 */
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync, statSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/server.js";
import { DEMO_CREDENTIALS } from "../support/sdk.js";
import { cleanEnv, freePort, killAll, listening, spawnCollected, type Exit, type Spawned } from "../support/processes.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Top-level entries that an install or a build creates, or that are not the project's files. */
const NOT_COPIED = new Set(["node_modules", "dist", "coverage", ".git", ".env"]);
const INSTALL_TIMEOUT_MS = 300_000;
/** The caller's API key (issue 6's GATEWAY_API_KEYS). */
const API_KEY = "production-install-key-0123456789";
const STEP_TIMEOUT_MS = 60_000;

let tree: string;
let emulator: RunningEmulator;
const children: Spawned[] = [];

beforeAll(async () => {
  tree = path.join(mkdtempSync(path.join(tmpdir(), "gateway-production-")), "repo");
  cpSync(ROOT, tree, {
    recursive: true,
    filter: (source) => {
      const relative = path.relative(ROOT, source);
      return !NOT_COPIED.has(relative.split(path.sep)[0]!) && !relative.endsWith(".log");
    },
  });
  emulator = await startEmulator({ port: 0, demoData: true, backgroundFlowIntervalMs: 0 });
});

afterAll(async () => {
  killAll(children.map((c) => c.child.pid!));
  await emulator?.close();
  if (tree) rmSync(path.dirname(tree), { recursive: true, force: true });
});

/** Runs `command args` in the copy to its end; fails on timeout. */
async function run(command: string, args: string[], env: Record<string, string> = {}, timeoutMs = STEP_TIMEOUT_MS): Promise<{ exit: Exit; run: Spawned }> {
  const spawned = spawnCollected(command, args, { cwd: tree, env: cleanEnv(env) });
  children.push(spawned);
  const exit = await spawned.exitWithin(timeoutMs);
  if (exit === "timeout") throw new Error(`${command} ${args.join(" ")} still running after ${timeoutMs} ms; output:\n${spawned.output().slice(-4000)}`);
  return { exit, run: spawned };
}

const installed = (name: string) => existsSync(path.join(tree, "node_modules", name, "package.json"));

describe("production install: npm ci && npm prune --omit=dev, then node dist/src/main.js", () => {
  it("npm ci builds dist/ (prepare)", { timeout: INSTALL_TIMEOUT_MS + 10_000 }, async () => {
    expect(existsSync(path.join(tree, "dist"))).toBe(false);
    const { exit, run: ci } = await run("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund"], {}, INSTALL_TIMEOUT_MS);
    expect(exit, ci.output().slice(-4000)).toEqual({ code: 0, signal: null });
    expect(existsSync(path.join(tree, "dist/src/main.js"))).toBe(true);
    expect(installed("typescript")).toBe(true);
  });

  it("npm prune --omit=dev leaves no compiler and no test tools", { timeout: STEP_TIMEOUT_MS + 10_000 }, async () => {
    const { exit, run: prune } = await run("npm", ["prune", "--omit=dev", "--no-audit", "--no-fund"]);
    expect(exit, prune.output().slice(-4000)).toEqual({ code: 0, signal: null });
    for (const devDependency of ["typescript", "vitest", "@graphql-codegen/cli"]) expect(installed(devDependency), devDependency).toBe(false);
    expect(installed("@apollo/server")).toBe(true);
  });

  it("NODE_ENV=production node dist/src/main.js serves the participant query and stops on SIGTERM", { timeout: STEP_TIMEOUT_MS }, async () => {
    const port = await freePort();
    const gateway = spawnCollected(process.execPath, ["dist/src/main.js"], {
      cwd: tree,
      env: cleanEnv({
        NODE_ENV: "production",
        LOG_LEVEL: "info",
        PORT: String(port),
        GENESYS_GATEWAY_URL: emulator.url,
        GENESYS_CLIENT_ID: DEMO_CREDENTIALS.clientId,
        GENESYS_CLIENT_SECRET: DEMO_CREDENTIALS.clientSecret,
        // A real Genesys needs caller auth (issue 6): an API key, as in README "Production install".
        GATEWAY_API_KEYS: JSON.stringify([{ id: "crm", key: API_KEY, scopes: ["participants:read"] }]),
      }),
    });
    children.push(gateway);
    await gateway.logLine("gateway listening", 30_000);
    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify({ query: '{ participant(conversationId: "c0000000-0000-4000-8000-000000000002", participantId: "d0000000-0000-4000-8000-000000000021") { attributes } }' }),
    });
    expect(await response.json()).toEqual({ data: { participant: { attributes: { "crm.caseId": "CASE-1002" } } } });
    gateway.child.kill("SIGTERM");
    expect(await gateway.exitWithin(10_000)).toEqual({ code: 0, signal: null });
    expect(await listening(port)).toBe(false);
  });

  it("without dev dependencies, prepare (what npm ci --omit=dev runs) skips the build with a note", { timeout: STEP_TIMEOUT_MS + 10_000 }, async () => {
    const builtAt = statSync(path.join(tree, "dist/src/main.js")).mtimeMs;
    const { exit, run: prepare } = await run("npm", ["run", "prepare"]);
    expect(exit, prepare.output()).toEqual({ code: 0, signal: null });
    expect(prepare.stderr()).toContain("prepare: typescript is not installed (dev dependencies omitted), dist/ not built");
    expect(statSync(path.join(tree, "dist/src/main.js")).mtimeMs).toBe(builtAt);
  });

  it("npm start warns when src/ is newer than dist/, and refuses in one line when dist/ is missing", { timeout: 2 * STEP_TIMEOUT_MS }, async () => {
    // A source edited after the build (a second later than the build output).
    const builtAt = statSync(path.join(tree, "dist/src/main.js")).mtime;
    const later = new Date(builtAt.getTime() + 1_000);
    utimesSync(path.join(tree, "src/config.ts"), later, later);
    // NODE_ENV=production without Genesys: the gateway itself exits 1 at once, after the warning.
    const stale = await run("npm", ["start"], { NODE_ENV: "production" });
    expect(stale.exit.code).toBe(1);
    expect(stale.run.stderr()).toContain("npm start: warning: src/config.ts changed after the last build");
    expect(stale.run.stderr()).toContain("NODE_ENV=production needs a Genesys Cloud org");

    renameSync(path.join(tree, "dist"), path.join(tree, "dist.moved"));
    const missing = await run("npm", ["start"]);
    expect(missing.exit.code).toBe(1);
    expect(missing.run.stderr()).toContain(
      "npm start: dist/src/main.js is missing: build it with npm run build (needs the dev dependencies; npm ci builds it)",
    );
    expect(missing.run.lines, "nothing started").toEqual([]);
  });
});
