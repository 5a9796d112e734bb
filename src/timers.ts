/**
 * The timer port of the gateway's paced background work (the Genesys request budget, the
 * change log's reconciler): injectable so their tests run on a virtual clock.
 */

/** A clock and a scheduler. */
export interface Timers {
  /** Now, epoch ms. */
  now(): number;
  /** Runs `fn` after `ms` milliseconds; returns a function that cancels it. */
  schedule(fn: () => void, ms: number): () => void;
}

/** The process's real clock and `setTimeout`; timers are unref'd so they never hold the process open. */
export const systemTimers: Timers = {
  now: () => Date.now(),
  schedule: (fn, ms) => {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};
