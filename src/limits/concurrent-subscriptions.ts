/**
 * Caps on subscriptions open at once, per key (a socket or a caller): `rate-limiter-flexible`
 * points that never expire (`duration: 0`), taken when a subscription starts and given back
 * when it ends. Counts of callers are kept (one small record per caller); counts of sockets are
 * dropped when the socket closes ({@link ConcurrencyLimiter.forget}).
 */
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

/** Gives a slot back; calling it again does nothing. */
export type Release = () => void;

/** Counts open subscriptions per key. */
export class ConcurrencyLimiter {
  private readonly limiter?: RateLimiterMemory;

  /** @param max open at once per key; 0 disables the cap. */
  constructor(readonly max: number) {
    if (max > 0) this.limiter = new RateLimiterMemory({ points: max, duration: 0 });
  }

  /** Takes a slot for `key`: a release function, or undefined when `key` already holds `max`. */
  async acquire(key: string): Promise<Release | undefined> {
    const limiter = this.limiter;
    if (!limiter) return () => undefined;
    try {
      await limiter.consume(key, 1);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      // A refused consume still counted its point: give it back.
      await limiter.reward(key, 1);
      return undefined;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      void limiter.reward(key, 1);
    };
  }

  /** Drops the count of a key that will never acquire again (a closed socket). */
  async forget(key: string): Promise<void> {
    await this.limiter?.delete(key);
  }
}
