/**
 * The rate limit and the subscription caps alone (src/limits/, rate-limiter-flexible in memory):
 * points per caller per minute with a retry-after, slots taken and given back exactly once,
 * refusals that do not count, independent keys, and 0 meaning no limit.
 */
import { describe, expect, it } from "vitest";
import { ConcurrencyLimiter } from "../../src/limits/concurrent-subscriptions.js";
import { RequestRateLimiter } from "../../src/limits/request-rate.js";

describe("RequestRateLimiter", () => {
  it("allows perMinute operations per key, then refuses with a retry-after within the minute", async () => {
    const limiter = new RequestRateLimiter(3);
    for (let i = 0; i < 3; i++) expect(await limiter.take("a")).toEqual({ allowed: true });
    const refused = await limiter.take("a");
    expect(refused.allowed).toBe(false);
    if (!refused.allowed) {
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    }
    expect(await limiter.take("b")).toEqual({ allowed: true });
  });

  it("0 disables the limit", async () => {
    const limiter = new RequestRateLimiter(0);
    for (let i = 0; i < 1_000; i++) expect((await limiter.take("a")).allowed).toBe(true);
  });
});

describe("ConcurrencyLimiter", () => {
  it("holds at most max slots per key; a refusal takes none; a release frees one, once", async () => {
    const limiter = new ConcurrencyLimiter(2);
    const first = await limiter.acquire("k");
    const second = await limiter.acquire("k");
    expect(first && second).toBeTruthy();
    expect(await limiter.acquire("k")).toBeUndefined();
    expect(await limiter.acquire("k")).toBeUndefined();
    expect(await limiter.acquire("other")).toBeTruthy();
    first!();
    first!(); // a second release gives nothing back
    await Promise.resolve();
    const third = await limiter.acquire("k");
    expect(third).toBeTruthy();
    expect(await limiter.acquire("k")).toBeUndefined();
  });

  it("forget drops a key's count; 0 disables the cap", async () => {
    const limiter = new ConcurrencyLimiter(1);
    expect(await limiter.acquire("socket:1")).toBeTruthy();
    await limiter.forget("socket:1");
    expect(await limiter.acquire("socket:1")).toBeTruthy();
    const unlimited = new ConcurrencyLimiter(0);
    for (let i = 0; i < 100; i++) expect(await unlimited.acquire("k")).toBeTruthy();
  });
});
