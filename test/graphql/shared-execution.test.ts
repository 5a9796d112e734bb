/**
 * subscribeShared: identical subscriptions receiving the same event object share one
 * execution; different variables, documents or callers do not; ending a subscription while it
 * waits for an event ends its source at once.
 */
import { buildSchema, parse } from "graphql";
import { describe, expect, it } from "vitest";
import { subscribeShared } from "../../src/graphql/shared-execution.js";

/** A source that yields the objects pushed into it, and records whether it was ended. */
function source() {
  const waiting: Array<(v: IteratorResult<unknown>) => void> = [];
  let ended = false;
  const iterator: AsyncIterableIterator<unknown> = {
    next: () => new Promise((resolve) => waiting.push(resolve)),
    return: async () => {
      ended = true;
      for (const w of waiting.splice(0)) w({ value: undefined, done: true });
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return { iterator, push: (v: unknown) => waiting.shift()?.({ value: v, done: false }), ended: () => ended };
}

describe("subscribeShared", () => {
  it("executes once per event for identical subscriptions, separately otherwise, and ends sources on return", async () => {
    let executions = 0;
    const schema = buildSchema("type Query { x: Int } type Event { n: Int, label(prefix: String): String } type Subscription { events(tag: String): Event }");
    const sources: Array<ReturnType<typeof source>> = [];
    const rootValue = {};
    const field = schema.getSubscriptionType()!.getFields().events as { subscribe?: unknown; resolve?: unknown };
    field.resolve = (payload: unknown) => payload;
    field.subscribe = () => {
      const s = source();
      sources.push(s);
      return s.iterator;
    };
    (schema.getType("Event") as unknown as { getFields(): Record<string, { resolve?: unknown }> }).getFields().label!.resolve = (e: { n: number }, a: { prefix: string }) => {
      executions += 1;
      return `${a.prefix}${e.n}`;
    };
    const document = parse("subscription($p: String) { events { n label(prefix: $p) } }");
    const start = (variableValues: Record<string, unknown>, caller?: string) =>
      subscribeShared({ schema, document, rootValue, variableValues, contextValue: caller ? { caller: { id: caller } } : {} }) as Promise<AsyncIterableIterator<unknown>>;
    const subs = await Promise.all([start({ p: "a" }), start({ p: "a" }), start({ p: "a" }), start({ p: "b" }), start({ p: "a" }, "someone-else")]);
    const nexts = subs.map((s) => s.next());
    const event = { n: 7 };
    for (const s of sources) s.push(event);
    const results = await Promise.all(nexts);
    expect(results.map((r) => (r.value as { data: { events: { label: string } } }).data.events.label)).toEqual(["a7", "a7", "a7", "b7", "a7"]);
    expect(executions).toBe(3); // one for the three identical, one for p: b, one for the other caller
    const pending = subs[0]!.next();
    await subs[0]!.return!();
    expect(sources[0]!.ended()).toBe(true);
    expect((await pending).done).toBe(true);
  });
});
