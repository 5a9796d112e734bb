/**
 * The scope of one GraphQL operation: its request id and the Genesys calls it caused, carried
 * through async code with AsyncLocalStorage so the Genesys client needs no context argument.
 *
 * A scope is entered around the operation's execution (HTTP: the request's middleware chain;
 * graphql-ws: `execute`/`subscribe`); work started outside it (a notification reconnect's
 * re-reads, a shared verify loop's first caller) is counted for no operation.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import type { GenesysClient } from "../genesys/client.js";

/** Request ids taken from a client's `X-Request-Id`: 1–128 characters of `A–Z a–z 0–9 . _ : -`. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's id when it is acceptable (see {@link REQUEST_ID}), otherwise a new UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && REQUEST_ID.test(value) ? value : randomUUID();
}

/** One operation's request id and Genesys call counts. */
export class OperationScope {
  /** Genesys exchanges (attempts, retries and logins included) by SDK operation name. */
  readonly upstream = new Map<string, number>();
  /** Set once the operation's log line is written (HTTP: refusals before GraphQL get their own). */
  operationLogged = false;

  /**
   * @param requestId the operation's request id
   * @param traceId the OpenTelemetry trace the operation runs in, when tracing is on
   */
  constructor(
    readonly requestId: string,
    readonly traceId?: string,
  ) {}

  /** Counts one Genesys exchange. */
  countUpstream(operation: string): void {
    this.upstream.set(operation, (this.upstream.get(operation) ?? 0) + 1);
  }

  /** Total Genesys exchanges so far. */
  get upstreamCalls(): number {
    let total = 0;
    for (const n of this.upstream.values()) total += n;
    return total;
  }
}

/** The current operation's scope, when code runs inside one. */
export const operationScopes = new AsyncLocalStorage<OperationScope>();

/** Counts every Genesys exchange of `genesys` for the operation it runs in. */
export function countUpstreamCalls(genesys: Pick<GenesysClient, "on">): void {
  genesys.on("request", (event) => operationScopes.getStore()?.countUpstream(event.operation));
}
