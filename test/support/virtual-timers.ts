/**
 * A virtual clock and scheduler for the gateway's `Timers` port (src/timers.ts), so paced logic
 * (the request budget, the reconciler) is tested without real time: nothing runs until the test
 * advances the clock, and due callbacks then run in time order (ties in scheduling order).
 */
import type { Timers } from "../../src/timers.js";

/** A virtual clock: `timers` to inject, `now()` to read it, and two ways to move it. */
export interface VirtualTimers {
  timers: Timers;
  /** Virtual now, ms (starts at 0). */
  now(): number;
  /** Moves the clock `ms` forward, running every callback due on the way, synchronously. */
  advance(ms: number): void;
  /**
   * The same, but lets promise reactions run before each callback and at the end (for logic
   * whose callbacks resolve promises that schedule more work).
   */
  advanceAsync(ms: number): Promise<void>;
}

/** A new virtual clock at 0 with nothing scheduled. */
export function virtualTimers(): VirtualTimers {
  let now = 0;
  let tasks: Array<{ at: number; fn: () => void; id: number }> = [];
  let nextId = 0;
  const timers: Timers = {
    now: () => now,
    schedule: (fn, ms) => {
      const id = nextId++;
      tasks.push({ at: now + ms, fn, id });
      return () => void (tasks = tasks.filter((t) => t.id !== id));
    },
  };
  /** Runs the next callback due by `end`; false when there is none. */
  const runNext = (end: number): boolean => {
    tasks.sort((a, b) => a.at - b.at || a.id - b.id);
    const task = tasks[0];
    if (!task || task.at > end) return false;
    tasks.shift();
    now = task.at;
    task.fn();
    return true;
  };
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  return {
    timers,
    now: () => now,
    advance: (ms) => {
      const end = now + ms;
      while (runNext(end));
      now = end;
    },
    advanceAsync: async (ms) => {
      const end = now + ms;
      for (;;) {
        await flush();
        if (!runNext(end)) break;
      }
      now = end;
      await flush();
    },
  };
}
