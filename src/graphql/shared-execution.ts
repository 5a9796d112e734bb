/**
 * Subscription execution shared across subscribers: graphql-js runs a subscription's selection
 * set once per event *per subscriber*; with 1,000 dashboards on one conversation that is 1,000
 * identical executions of the same event. Here, subscribers whose event source hands them the
 * same event object (the change feed shares one object per log entry, see ChangeStream) and who
 * sent the same document, variables and operation name get one execution's result.
 *
 * Results are keyed per event object (a WeakMap, so they go with the event) and per
 * `document + variables + operationName + caller`. `caller` is the authenticated identity in the
 * context when there is one (`context.caller`, kind and id), so a result is never shared across callers.
 * Drop-in for graphql-js `subscribe` as graphql-ws's `subscribe` option; `return()` on the
 * result ends the source stream at once, even while it waits for an event.
 */
import { createSourceEventStream, execute, print, type ExecutionArgs, type ExecutionResult } from "graphql";

const shared = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();

/** graphql-js `subscribe`, with per-event results shared as described in the file comment. */
export async function subscribeShared(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!isAsyncIterable(source)) return source as ExecutionResult;
  const iterator = source[Symbol.asyncIterator]();
  const who = (args.contextValue as { caller?: { kind?: unknown; id?: unknown } } | undefined)?.caller;
  const caller = who ? `${String(who.kind)}:${String(who.id)}` : undefined;
  const key = `${print(args.document)}\u0000${JSON.stringify(args.variableValues ?? {})}\u0000${args.operationName ?? ""}\u0000${String(caller ?? "")}`;
  const run = (payload: unknown): Promise<ExecutionResult> => {
    const exec = () => Promise.resolve(execute({ ...args, rootValue: payload }));
    if (typeof payload !== "object" || payload === null) return exec();
    let results = shared.get(payload);
    if (!results) shared.set(payload, (results = new Map()));
    let result = results.get(key);
    if (!result) results.set(key, (result = exec()));
    return result;
  };
  const mapped: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const step = await iterator.next();
      if (step.done) return { value: undefined, done: true };
      return { value: await run(step.value), done: false };
    },
    async return() {
      await iterator.return?.();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      await iterator.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return mapped;
    },
  };
  return mapped;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}
