/**
 * Per-caller request rate limit (`rate-limiter-flexible`, in memory): a fixed 60 s window of
 * `requestsPerMinute` points per caller, one point per operation.
 */
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

/** What {@link RequestRateLimiter.take} decided. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Counts operations per caller. */
export class RequestRateLimiter {
  private readonly limiter?: RateLimiterMemory;

  /** @param perMinute operations per caller per 60 s; 0 disables the limit. */
  constructor(readonly perMinute: number) {
    if (perMinute > 0) this.limiter = new RateLimiterMemory({ points: perMinute, duration: 60 });
  }

  /** Takes one point for `key` (a caller). Refused points are not counted twice. */
  async take(key: string): Promise<RateDecision> {
    if (!this.limiter) return { allowed: true };
    try {
      await this.limiter.consume(key, 1);
      return { allowed: true };
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return { allowed: false, retryAfterMs: Math.max(1, rejection.msBeforeNext) };
      throw rejection;
    }
  }
}
