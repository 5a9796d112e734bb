/**
 * The emulator clock: real time plus an offset that only moves forward.
 *
 * All expiry logic (token lifetime, rate-limit windows, throttle, visibility due times,
 * notification channel expiry) reads this one clock, so tests advance it with
 * `POST /emulator/clock {"advanceMs": N}` instead of sleeping.
 */

/** A monotonic-offset clock in epoch milliseconds. */
export class EmulatorClock {
  private offset = 0;

  /** Current emulator time in epoch ms (`Date.now()` + offset). */
  readonly now = (): number => Date.now() + this.offset;

  /** The total offset added so far, in ms. */
  get offsetMs(): number {
    return this.offset;
  }

  /**
   * Moves the clock forward by `ms` milliseconds.
   * @throws RangeError when `ms` is negative or not finite (the clock never goes back).
   */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advanceMs must be a finite number >= 0, got ${ms}`);
    this.offset += ms;
  }
}
