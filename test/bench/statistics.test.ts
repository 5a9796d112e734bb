/** The benchmark's statistics and report arithmetic (bench/statistics.ts, bench/report.ts). */
import { describe, expect, it } from "vitest";
import { formatReport, ratio } from "../../bench/report.js";
import { percentile, summarize } from "../../bench/statistics.js";

describe("percentile (nearest rank)", () => {
  it("returns a measured sample: the ⌈p/100 · n⌉-th smallest", () => {
    const samples = [50, 10, 40, 20, 30, 60, 70, 80, 90, 100];
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 95)).toBe(100);
    expect(percentile(samples, 10)).toBe(10);
    expect(percentile(samples, 100)).toBe(100);
    expect(percentile([7], 50)).toBe(7);
  });

  it("is NaN without samples and refuses p outside (0, 100]", () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it("does not reorder the caller's array", () => {
    const samples = [3, 1, 2];
    percentile(samples, 50);
    expect(samples).toEqual([3, 1, 2]);
  });
});

describe("summarize", () => {
  it("gives count, mean, p50, p95 and max", () => {
    expect(summarize([1, 2, 3, 4])).toEqual({ count: 4, mean: 2.5, p50: 2, p95: 4, max: 4 });
    expect(summarize([]).count).toBe(0);
    expect(summarize([]).mean).toBeNaN();
  });
});

describe("report", () => {
  it("divides the gateway's figure by the baseline's, and gives no ratio without a usable baseline", () => {
    expect(ratio({ scenario: "s", metric: "m", gateway: 3, baseline: 2 })).toBe(1.5);
    expect(ratio({ scenario: "s", metric: "m", gateway: 3 })).toBeUndefined();
    expect(ratio({ scenario: "s", metric: "m", gateway: 3, baseline: 0 })).toBeUndefined();
    expect(ratio({ scenario: "s", metric: "m", gateway: Number.NaN, baseline: 2 })).toBeUndefined();
  });

  it("prints one aligned line per row, the scenario only where it changes", () => {
    const text = formatReport([
      { scenario: "reads", metric: "p50 ms", gateway: 70.4, baseline: 66 },
      { scenario: "reads", metric: "p95 ms", gateway: 88, baseline: 82 },
      { scenario: "writes", metric: "calls", gateway: 3.54, baseline: 2.9, decimals: 1 },
    ]);
    const lines = text.split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^scenario\s+metric\s+gateway\s+SDK direct\s+gateway ÷ SDK$/);
    expect(lines[2]).toMatch(/^reads\s+p50 ms\s+70\s+66\s+1\.07×$/);
    expect(lines[3]).toMatch(/^\s+p95 ms\s+88\s+82\s+1\.07×$/);
    expect(lines[4]).toMatch(/^writes\s+calls\s+3\.5\s+2\.9\s+1\.22×$/);
    // Right-aligned figures: every line ends in the same column.
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });
});
