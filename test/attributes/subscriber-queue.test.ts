/**
 * SubscriberQueue: what one GraphQL subscriber reads from. Proves events are delivered in order,
 * a subscriber that stops reading is ended at the limit instead of growing memory or throwing
 * into the producer, and the release callback runs exactly once however the queue ends —
 * including a consumer that returns before its first next().
 */
import { describe, expect, it } from "vitest";
import { SubscriberQueue } from "../../src/attributes/subscriber-queue.js";

describe("SubscriberQueue", () => {
  it("delivers pushed events in order, to a waiting reader too", async () => {
    const queue = new SubscriberQueue<number>(10, () => undefined);
    const waiting = queue.next();
    queue.push(1);
    queue.push(2);
    expect(await waiting).toEqual({ value: 1, done: false });
    expect(await queue.next()).toEqual({ value: 2, done: false });
  });

  it("ends a subscriber that falls `limit` events behind, without throwing into the producer", async () => {
    let closed = 0;
    let overflowed = 0;
    const queue = new SubscriberQueue<number>(3, () => closed++, () => overflowed++);
    for (let i = 0; i < 10; i++) expect(() => queue.push(i)).not.toThrow();
    expect([closed, overflowed]).toEqual([1, 1]);
    // What was queued is still readable, then the stream ends.
    expect(await queue.next()).toEqual({ value: 0, done: false });
    await queue.next();
    await queue.next();
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });

  it("releases once when the consumer returns before reading anything", async () => {
    let closed = 0;
    const queue = new SubscriberQueue<number>(10, () => closed++);
    expect(await queue.return()).toEqual({ value: undefined, done: true });
    await queue.return();
    queue.close();
    queue.push(1);
    expect(closed).toBe(1);
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });

  it("resolves a pending next() as done when closed", async () => {
    const queue = new SubscriberQueue<number>(10, () => undefined);
    const pending = queue.next();
    queue.close();
    expect(await pending).toEqual({ value: undefined, done: true });
  });
});
