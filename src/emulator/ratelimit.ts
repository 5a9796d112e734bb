/**
 * Per-token rate limiting with a fixed 60 s window, plus the forced-throttle control.
 *
 * Facts (shared/genesys/README.md, "Rate limits and errors in transit"): over the budget →
 * 429 ErrorBody `{code: "too.many.requests", message: "Rate limit exceeded the maximum.
 * Retry the request in [N] seconds"}` with `Retry-After: N` (seconds); responses carry
 * `inin-ratelimit-count`, `inin-ratelimit-allowed`, `inin-ratelimit-reset` (seconds).
 * Default budget 300 requests per minute per token ([likely] in the README).
 */
import type { RequestHandler, Response } from "express";
import { sendError } from "./errors.js";

/** Length of a rate-limit window in ms. */
export const RATE_LIMIT_WINDOW_MS = 60_000;

/** Outcome of counting one request. */
export interface RateLimitDecision {
  /** Requests counted in the current window, this one included. */
  count: number;
  /** Budget per window. */
  allowed: number;
  /** Whole seconds (rounded up, >= 1) until the window resets. */
  resetSeconds: number;
  /** True when `count` exceeds `allowed`. */
  limited: boolean;
}

/** Fixed-window counters keyed by token, on the emulator clock, plus a global throttle. */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private throttledUntil = 0;

  /** @param now emulator clock (epoch ms) */
  constructor(private readonly now: () => number) {}

  /** Counts one request for `key` against a budget of `allowed` requests per window. */
  hit(key: string, allowed: number): RateLimitDecision {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || now >= window.start + RATE_LIMIT_WINDOW_MS) {
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    window.count += 1;
    const resetSeconds = Math.max(1, Math.ceil((window.start + RATE_LIMIT_WINDOW_MS - now) / 1000));
    return { count: window.count, allowed, resetSeconds, limited: window.count > allowed };
  }

  /** Forces 429s on every /api/v2 request for `seconds` of emulator time (0 clears). */
  throttle(seconds: number): void {
    this.throttledUntil = seconds > 0 ? this.now() + seconds * 1000 : 0;
  }

  /** Epoch ms until which the forced throttle lasts (0 or in the past: none). */
  get throttleUntil(): number {
    return this.throttledUntil;
  }

  /** Whole seconds (>= 1) of forced throttle left, or 0 when none is active. */
  throttleRemainingSeconds(): number {
    const left = this.throttledUntil - this.now();
    return left > 0 ? Math.max(1, Math.ceil(left / 1000)) : 0;
  }

  /** Forgets every window and the throttle (used by reset). */
  clear(): void {
    this.windows.clear();
    this.throttledUntil = 0;
  }
}

/** Sets the three `inin-ratelimit-*` headers. */
export function setRateLimitHeaders(res: Response, count: number, allowed: number, resetSeconds: number): void {
  res.setHeader("inin-ratelimit-count", String(count));
  res.setHeader("inin-ratelimit-allowed", String(allowed));
  res.setHeader("inin-ratelimit-reset", String(resetSeconds));
}

/** Sends the Genesys 429 ErrorBody with `Retry-After: seconds`. */
export function sendTooManyRequests(res: Response, seconds: number): void {
  res.setHeader("Retry-After", String(seconds));
  sendError(res, 429, "too.many.requests", `Rate limit exceeded the maximum. Retry the request in [${seconds}] seconds`, {
    messageWithParams: "Rate limit exceeded the maximum. Retry the request in [{retryAfter}] seconds",
    messageParams: { retryAfter: String(seconds) },
  });
}

/**
 * Middleware for /api/v2 after authentication: counts the request against the token in
 * `res.locals.token`, sets the `inin-ratelimit-*` headers and answers 429 when the budget
 * (`allowed()`, requests per 60 s) is exceeded or a forced throttle is active (then
 * `Retry-After` is the throttle's remaining seconds, otherwise the window's).
 */
export function rateLimitMiddleware(limiter: RateLimiter, allowed: () => number): RequestHandler {
  return (_req, res, next) => {
    const decision = limiter.hit(String(res.locals.token), allowed());
    setRateLimitHeaders(res, decision.count, decision.allowed, decision.resetSeconds);
    const throttle = limiter.throttleRemainingSeconds();
    if (throttle > 0) {
      sendTooManyRequests(res, throttle);
      return;
    }
    if (decision.limited) {
      sendTooManyRequests(res, decision.resetSeconds);
      return;
    }
    next();
  };
}
