/**
 * The standalone runner (`npm run emulator` → `node dist/src/emulator/main.js`): environment
 * parsing, the start log line, and, as a real child process, startup, SIGTERM shutdown and
 * exit status 1 on bad values. The child runs a fresh transpilation of src/emulator (type
 * checking is tsc's job), so the test never depends on a stale dist/.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEmulatorEnv } from "../../src/emulator/env.js";
import { runStandalone } from "../../src/emulator/main.js";
import { getToken, IDS } from "../support/emulator-http.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const sourceDir = join(repoRoot, "src/emulator");
// Inside the repo so the child resolves node_modules; ignored by git.
const outDir = join(repoRoot, "node_modules/.cache", `emulator-standalone-${process.pid}`);

function transpileEmulator(): void {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : path.endsWith(".ts") ? [path] : [];
    });
  for (const file of walk(sourceDir)) {
    const output = ts.transpileModule(readFileSync(file, "utf8"), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    const target = join(outDir, relative(sourceDir, file)).replace(/\.ts$/, ".js");
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, output.outputText);
  }
  // The transpiled files are ESM: mark the folder as such.
  writeFileSync(join(outDir, "package.json"), JSON.stringify({ type: "module" }));
}

describe("parseEmulatorEnv", () => {
  it("applies the documented defaults", () => {
    expect(parseEmulatorEnv({})).toEqual({
      ok: true,
      options: { port: 4010, host: "127.0.0.1", tokenLifetimeSeconds: 86400, channelTtlSeconds: 86400, demoData: true, backgroundFlowIntervalMs: 4000 },
    });
  });

  it("reads every variable", () => {
    const result = parseEmulatorEnv({
      EMULATOR_PORT: "0",
      EMULATOR_HOST: "0.0.0.0",
      EMULATOR_SEED: "abc",
      EMULATOR_TOKEN_LIFETIME_SECONDS: "300",
      EMULATOR_CHANNEL_TTL_SECONDS: "600",
      EMULATOR_DEMO_DATA: "false",
      EMULATOR_FLOW_INTERVAL_MS: "0",
      UNRELATED: "ignored",
    });
    expect(result).toEqual({
      ok: true,
      options: { port: 0, host: "0.0.0.0", seed: "abc", tokenLifetimeSeconds: 300, channelTtlSeconds: 600, demoData: false, backgroundFlowIntervalMs: 0 },
    });
    expect(parseEmulatorEnv({ EMULATOR_DEMO_DATA: "1" })).toMatchObject({ ok: true, options: { demoData: true } });
    expect(parseEmulatorEnv({ EMULATOR_DEMO_DATA: "NO" })).toMatchObject({ ok: true, options: { demoData: false } });
    expect(parseEmulatorEnv({ EMULATOR_PORT: "" })).toMatchObject({ ok: true, options: { port: 4010 } });
  });

  it.each([
    ["EMULATOR_PORT", "abc"],
    ["EMULATOR_PORT", "70000"],
    ["EMULATOR_PORT", "-1"],
    ["EMULATOR_TOKEN_LIFETIME_SECONDS", "0"],
    ["EMULATOR_TOKEN_LIFETIME_SECONDS", "1.5"],
    ["EMULATOR_CHANNEL_TTL_SECONDS", "soon"],
    ["EMULATOR_DEMO_DATA", "maybe"],
    ["EMULATOR_FLOW_INTERVAL_MS", "-5"],
  ])("rejects %s=%s with a message naming the variable", (name, value) => {
    const result = parseEmulatorEnv({ [name]: value });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toContain(name);
  });
});

describe("runStandalone (in process)", () => {
  it("starts from the environment and logs the URL and the demo credentials", async () => {
    const lines: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const running = await runStandalone({ EMULATOR_PORT: "0", EMULATOR_FLOW_INTERVAL_MS: "0" }, (fields, message) => lines.push({ fields, message }));
    try {
      expect(lines).toHaveLength(1);
      expect(lines[0]!.fields).toMatchObject({ url: running.emulator.url, clientId: "emulator-demo-client", clientSecret: "emulator-demo-secret", demoData: true });
      expect(lines[0]!.message).toContain(running.emulator.url);
      const token = await getToken(running.emulator.url);
      const res = await fetch(`${running.emulator.url}/api/v2/conversations/${IDS.conversation(1)}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
    } finally {
      await running.stop();
    }
  });

  it("throws the validation message on a bad environment", async () => {
    await expect(runStandalone({ EMULATOR_PORT: "x" }, () => {})).rejects.toThrow(/EMULATOR_PORT/);
  });
});

describe("main.js as a child process", () => {
  beforeAll(transpileEmulator);
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  function run(env: Record<string, string>): { child: ChildProcess; stdout: () => string; stderr: () => string; exit: Promise<number | null> } {
    const child = spawn(process.execPath, [join(outDir, "main.js")], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout!.on("data", (chunk) => (out += chunk));
    child.stderr!.on("data", (chunk) => (err += chunk));
    const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    return { child, stdout: () => out, stderr: () => err, exit };
  }

  it("logs one start line, serves, and exits 0 on SIGTERM", async () => {
    const proc = run({ EMULATOR_PORT: "0", EMULATOR_FLOW_INTERVAL_MS: "0" });
    const deadline = Date.now() + 10_000;
    while (!proc.stdout().includes("\n") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const line = JSON.parse(proc.stdout().split("\n")[0]!) as { url: string; clientId: string; msg: string };
    expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(line.clientId).toBe("emulator-demo-client");
    expect(line.msg).toContain(line.url);
    const token = await getToken(line.url);
    expect(token).not.toContain(" ");
    expect(proc.stdout()).not.toContain(token);

    proc.child.kill("SIGTERM");
    expect(await proc.exit).toBe(0);
  });

  it("exits 1 with a clear message on a bad value", async () => {
    const proc = run({ EMULATOR_PORT: "abc" });
    expect(await proc.exit).toBe(1);
    expect(proc.stderr()).toMatch(/Invalid emulator environment/);
    expect(proc.stderr()).toContain("EMULATOR_PORT");
  });
});
