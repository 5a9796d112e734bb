/**
 * Reconciler pacing on a virtual clock: the sweep stays within its share of the budget,
 * suspect conversations are read first, and a token reserve keeps confirmations prompt while
 * the sweep runs; each round re-lists the watched queues first, within the same share.
 */
import { describe, expect, it } from "vitest";
import { Reconciler } from "../../src/attributes/reconciler.js";
import { virtualTimers } from "../support/virtual-timers.js";

describe("Reconciler", () => {
  it("sweeps watched conversations round robin within requestsPerMinute", () => {
    const { timers, advance } = virtualTimers();
    const reads: string[] = [];
    const reconciler = new Reconciler({
      read: async (id) => void reads.push(id),
      watched: () => ["a", "b", "c"],
      requestsPerMinute: 60,
      burst: 3,
      reserve: 1,
      timers,
    });
    reconciler.start();
    advance(60_000);
    // One read a second, plus the initial burst above the reserve.
    expect(reads.length).toBeGreaterThanOrEqual(58);
    expect(reads.length).toBeLessThanOrEqual(62);
    expect(reads.slice(0, 6)).toEqual(["a", "b", "c", "a", "b", "c"]);
    reconciler.stop();
  });

  it("reads a suspect conversation at once, ahead of the sweep, using the reserve", () => {
    const { timers, advance } = virtualTimers();
    const reads: Array<[number, string]> = [];
    let now = 0;
    const reconciler = new Reconciler({
      read: async (id) => void reads.push([now, id]),
      watched: () => ["a", "b", "c", "d"],
      requestsPerMinute: 60,
      burst: 3,
      reserve: 2,
      timers: { now: () => (now = timers.now()), schedule: timers.schedule },
    });
    reconciler.start();
    advance(10_500);
    const before = reads.length;
    reconciler.suspect("x");
    advance(1);
    expect(reads.slice(before)).toEqual([[10_500, "x"]]);
    // Counted by reason: the one confirmation, the rest sweep reads.
    expect(reconciler.readsByReason).toEqual({ confirm: 1, sweep: reads.length - 1, queue: 0 });
    reconciler.stop();
  });

  it("re-lists every watched queue once per round, before the conversations, within requestsPerMinute", () => {
    const { timers, advance } = virtualTimers();
    const requests: Array<[number, string]> = [];
    let queues = ["q1", "q2"];
    const reconciler = new Reconciler({
      read: async (id) => void requests.push([timers.now(), id]),
      watched: () => ["a", "b"],
      watchedQueues: () => queues,
      listQueue: async (queueId) => void requests.push([timers.now(), `list:${queueId}`]),
      requestsPerMinute: 60,
      burst: 2,
      reserve: 1,
      timers,
    });
    reconciler.start();
    advance(8_000);
    // One request a second: a round is the 2 queues and the 2 conversations (4 s).
    expect(requests.map(([, id]) => id)).toEqual(["list:q1", "list:q2", "a", "b", "list:q1", "list:q2", "a", "b"]);
    expect(requests.map(([at]) => Math.round(at / 1_000))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(reconciler.readsByReason).toEqual({ confirm: 0, sweep: 4, queue: 4 });
    // A queue no longer watched at the start of a round is not listed.
    queues = ["q2"];
    advance(3_000);
    expect(requests.slice(8).map(([, id]) => id)).toEqual(["list:q2", "a", "b"]);
    reconciler.stop();
  });

  it("lists queues even while no conversation is watched yet (a queue with nobody found in it)", () => {
    const { timers, advance } = virtualTimers();
    const listed: string[] = [];
    const reconciler = new Reconciler({
      read: async () => undefined,
      watched: () => [],
      watchedQueues: () => ["q"],
      listQueue: async (queueId) => void listed.push(queueId),
      requestsPerMinute: 60,
      burst: 2,
      reserve: 1,
      timers,
    });
    reconciler.start();
    advance(10_000);
    expect(listed.length).toBeGreaterThanOrEqual(9);
    expect(listed.length).toBeLessThanOrEqual(11);
    reconciler.stop();
  });

  it("does nothing while nothing is watched", () => {
    const { timers, advance } = virtualTimers();
    let reads = 0;
    const reconciler = new Reconciler({ read: async () => void (reads += 1), watched: () => [], requestsPerMinute: 600, timers });
    reconciler.start();
    advance(60_000);
    expect(reads).toBe(0);
    reconciler.stop();
  });
});
