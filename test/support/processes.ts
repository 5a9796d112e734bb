/**
 * Spawned gateway processes for the project tests (`npm start`, `node dist/src/main.js`, npm
 * install steps): a child whose stdout pino lines are parsed as they arrive, free-port and
 * listening probes, and the process tree (read from Linux's /proc) to prove nothing is left
 * behind after a stop.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";

/** A TCP port that was free a moment ago (listen on 0, read the port, close). */
export async function freePort(): Promise<number> {
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
export async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Whether process `pid` exists (a zombie not yet reaped counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Parent pid of every live process, from /proc/<pid>/stat (Linux). */
function parentPids(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid …": comm may contain spaces and parentheses; read after the last ")".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      /* exited meanwhile */
    }
  }
  return parents;
}

/** Every live descendant of `pid` (children, grandchildren, …). */
export function descendants(pid: number): number[] {
  const parents = parentPids();
  const found: number[] = [];
  let frontier = [pid];
  while (frontier.length > 0) {
    const next = [...parents].filter(([, parent]) => frontier.includes(parent)).map(([child]) => child);
    found.push(...next);
    frontier = next;
  }
  return found.filter(alive);
}

/** Linux clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`). */
const CLOCK_TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/**
 * CPU time (ms, user + system) used so far by `pid` and by every descendant of it, whether
 * still running (their own times) or already exited and reaped (their parents' cutime/cstime).
 * Unlike wall-clock time it does not grow when the machine is busy with other work.
 */
export function treeCpuTimeMs(pid: number): number {
  let ticks = 0;
  for (const member of [pid, ...descendants(pid)]) {
    try {
      const stat = readFileSync(`/proc/${member}/stat`, "utf8");
      // After "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
      ticks += fields[11]! + fields[12]! + fields[13]! + fields[14]!;
    } catch {
      /* exited meanwhile */
    }
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * `process.env` as a user's shell would have it, plus `extra`: without GENESYS_*, NODE_ENV and
 * VITEST* (they change how the gateway behaves) and without the npm_lifecycle_* / npm_package_*
 * variables of the `npm test` that runs us (npm_config_*, e.g. a registry, are kept).
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("GENESYS_") || key.startsWith("VITEST") || key === "NODE_ENV" || key.startsWith("npm_lifecycle_") || key.startsWith("npm_package_")) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** One pino JSON line. */
export interface LogLine {
  msg?: string;
  pid?: number;
  url?: string;
  [key: string]: unknown;
}

/** How a child ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned process whose output is collected. */
export interface Spawned {
  child: ChildProcess;
  /** Parsed JSON lines of stdout so far. */
  lines: LogLine[];
  /** stdout and stderr so far, interleaved as received. */
  output(): string;
  /** stderr alone so far. */
  stderr(): string;
  /** Resolves with the first log line whose `msg` satisfies `match`; rejects on timeout or exit. */
  logLine(match: string | ((msg: string) => boolean), timeoutMs: number): Promise<LogLine>;
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
  /** Resolves with the exit, or "timeout" after `timeoutMs`. */
  exitWithin(timeoutMs: number): Promise<Exit | "timeout">;
}

/** Spawns `command` and collects its output (stdin ignored). */
export function spawnCollected(command: string, args: string[], options: SpawnOptions): Spawned {
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  const lines: LogLine[] = [];
  let output = "";
  let stderr = "";
  let buffered = "";
  const waiters = new Set<() => void>();
  child.stdout!.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    buffered += chunk.toString();
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const text = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (!text.startsWith("{")) continue;
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        continue;
      }
      for (const waiter of [...waiters]) waiter();
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
  });
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const logLine = (match: string | ((msg: string) => boolean), timeoutMs: number): Promise<LogLine> => {
    const test = typeof match === "string" ? (msg: string) => msg === match : match;
    const find = () => lines.find((l) => typeof l.msg === "string" && test(l.msg));
    const found = find();
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no "${String(match)}" log line within ${timeoutMs} ms; output:\n${output.slice(-4000)}`));
      }, timeoutMs);
      const check = () => {
        const line = find();
        if (!line) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(line);
      };
      waiters.add(check);
      void exited.then(({ code, signal }) => {
        if (!waiters.has(check)) return;
        clearTimeout(timer);
        waiters.delete(check);
        reject(new Error(`${command} exited (code ${code}, signal ${signal}) before "${String(match)}"; output:\n${output.slice(-4000)}`));
      });
    });
  };
  const exitWithin = (timeoutMs: number) =>
    Promise.race([exited, new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), timeoutMs).unref())]);
  return { child, lines, output: () => output, stderr: () => stderr, logLine, exited, exitWithin };
}

/** SIGKILLs `pids` that are still alive (test clean-up). */
export function killAll(pids: Iterable<number>): void {
  for (const pid of pids) {
    if (!alive(pid)) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}
