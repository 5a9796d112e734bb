/**
 * A bounded, push-fed async iterator: what one GraphQL subscriber reads its changes from.
 *
 * - `push` never throws and never blocks the producer (the notification socket handler);
 * - a subscriber that falls `limit` events behind is ended (the client sees `complete` and may
 *   subscribe again), so one slow client cannot grow memory or stall others;
 * - `onClose` runs exactly once, whether the consumer returns before its first `next()`, the
 *   queue overflows, or `close()` is called.
 */
export class SubscriberQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private waiter?: (result: IteratorResult<T>) => void;
  private closed = false;

  /**
   * @param limit most events held for a subscriber that is not reading; beyond it the queue ends.
   * @param onClose called once when the queue ends for any reason (release resources here).
   * @param onOverflow called when the queue ends because the subscriber fell behind.
   */
  constructor(
    private readonly limit: number,
    private readonly onClose: () => void,
    private readonly onOverflow: () => void = () => undefined,
  ) {}

  /** Hands an event to the subscriber; ignored once the queue has ended. */
  push(item: T): void {
    if (this.closed) return;
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter({ value: item, done: false });
      return;
    }
    if (this.items.length >= this.limit) {
      this.onOverflow();
      this.close();
      return;
    }
    this.items.push(item);
  }

  /** The next event; `done` once the queue has ended and is drained. */
  next(): Promise<IteratorResult<T>> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** Ends the subscription from the consumer's side (graphql-ws `complete`, client gone). */
  return(): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Ends the subscription because of a consumer-side error. */
  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.close();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  /** Ends the queue: a pending `next()` resolves `done`, `onClose` runs (once). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter({ value: undefined, done: true });
    }
    this.onClose();
  }
}
