/**
 * `npm run bench`: the gateway against the direct official SDK (the baseline), side by side on
 * the same embedded emulator, in one process on loopback. Prints the Node version and the
 * machine first, then one table of figures and gateway ÷ SDK ratios. Every loop is bounded; the
 * run stops by itself (about half a minute; a hard limit of {@link HARD_LIMIT_MS} ends a stuck
 * run with exit status 1). Not part of `npm test`: figures are measurements, not assertions.
 *
 * To add a benchmark: a function in bench/scenarios/ that takes the {@link BenchStack} and
 * returns `ReportRow`s, called from {@link main} below.
 */
import os from "node:os";
import { formatReport, type ReportRow } from "./report.js";
import { writesOverBudget } from "./scenarios/budget.js";
import { concurrentIdenticalReads, sequentialReads, trackedReads } from "./scenarios/reads.js";
import { confirmedWrites } from "./scenarios/writes.js";
import { BENCH_FAULTS, startBenchStack } from "./stack.js";

/** Sample sizes (kept small enough for a 2-core machine; raise them for steadier figures). */
const SIZES = {
  reads: { samples: 60, warmup: 5 },
  concurrent: { concurrency: 50, rounds: 3 },
  writes: { samples: 40, warmup: 2 },
  budget: { seconds: 20, participants: 40 },
};

/** A run longer than this (ms) is stuck: it is ended with exit status 1. */
const HARD_LIMIT_MS = 240_000;

function describeMachine(): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((l) => l.toFixed(2)).join(" ");
  return `${os.platform()} ${os.arch()}, ${cpus.length} × ${cpus[0]?.model.trim() ?? "unknown CPU"}, load average ${load}`;
}

async function main(): Promise<void> {
  const hardLimit = setTimeout(() => {
    console.error(`bench: still running after ${HARD_LIMIT_MS / 1000} s; stopping`);
    process.exit(1);
  }, HARD_LIMIT_MS);
  hardLimit.unref();

  console.log(`node ${process.version} (V8 ${process.versions.v8})`);
  console.log(describeMachine());
  const latency = BENCH_FAULTS.latencyMs!;
  const visibility = BENCH_FAULTS.visibilityDelayMs!;
  console.log(`emulator: Platform API latency ${latency.min}–${latency.max} ms per request, writes visible ${visibility.min}–${visibility.max} ms after their 202, rate limit lifted`);
  console.log("baseline: purecloud-platform-client-v2 against the same emulator, its own token\n");

  const started = Date.now();
  const stack = await startBenchStack();
  const rows: ReportRow[] = [];
  try {
    rows.push(...(await sequentialReads(stack, SIZES.reads)));
    rows.push(...(await trackedReads(stack, { ...SIZES.reads, conversation: 1 })));
    rows.push(...(await concurrentIdenticalReads(stack, SIZES.concurrent)));
    rows.push(...(await confirmedWrites(stack, SIZES.writes)));
  } finally {
    await stack.close();
  }
  // Its own stack: the emulator enforces the real limit and the gateway's budget matches it.
  rows.push(...(await writesOverBudget(SIZES.budget)));
  console.log(formatReport(rows));
  console.log(`\nupstream calls are counted where they arrive, at the emulator; ms are client-side wall clock; ran ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().then(
  () => {
    // Everything is closed; if a stray handle still holds the loop, do not wait for it.
    setTimeout(() => process.exit(0), 1_000).unref();
  },
  (error: unknown) => {
    // SDK rejections carry the request, bearer token included: print only status and code.
    const sdkError = error as { status?: unknown; code?: unknown } | undefined;
    const what = error instanceof Error ? error.message : `SDK error status ${String(sdkError?.status)} code ${String(sdkError?.code)}`;
    console.error("bench failed:", what);
    process.exit(1);
  },
);
