/**
 * Counts the requests that reach the emulator's Platform API (`/api/v2/...`), whoever sends
 * them (the gateway or the baseline SDK client): the emulator runs in this process, so Node's
 * `http.server.request.start` diagnostics channel (node:diagnostics_channel, Node ≥ 18.7) sees
 * every request its HTTP server receives, identified by the local port it arrived on. This is
 * what Genesys would count against the rate limit; it needs no change to the emulator and no
 * trust in the gateway's own metrics.
 */
import diagnostics_channel from "node:diagnostics_channel";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";

/** Requests counted at the emulator, by kind. */
export interface RequestCounts {
  /** `GET /api/v2/conversations/...` (conversation reads). */
  conversationGets: number;
  /** `PATCH /api/v2/conversations/.../attributes` (attribute writes). */
  attributePatches: number;
  /** Every `/api/v2` request, the two above included. */
  api: number;
}

/** A running counter; `snapshot()` and differences of snapshots measure one phase. */
export interface UpstreamRequestCounter {
  /** The counts since the counter started. */
  snapshot(): RequestCounts;
  /** Stops counting (unsubscribes from the channel). */
  close(): void;
}

const CHANNEL = "http.server.request.start";

/** Starts counting `/api/v2` requests that arrive on `port` (the emulator's). */
export function countUpstreamRequests(port: number): UpstreamRequestCounter {
  const counts: RequestCounts = { conversationGets: 0, attributePatches: 0, api: 0 };
  const onRequest = (message: unknown) => {
    const { request, socket } = message as { request: IncomingMessage; socket: Socket };
    if (socket.localPort !== port) return;
    const path = (request.url ?? "").split("?")[0]!;
    if (!path.startsWith("/api/v2/")) return;
    counts.api += 1;
    if (!path.startsWith("/api/v2/conversations/")) return;
    if (request.method === "GET") counts.conversationGets += 1;
    else if (request.method === "PATCH" && path.endsWith("/attributes")) counts.attributePatches += 1;
  };
  diagnostics_channel.subscribe(CHANNEL, onRequest);
  return {
    snapshot: () => ({ ...counts }),
    close: () => diagnostics_channel.unsubscribe(CHANNEL, onRequest),
  };
}

/** `after − before`, field by field. */
export function requestsBetween(before: RequestCounts, after: RequestCounts): RequestCounts {
  return {
    conversationGets: after.conversationGets - before.conversationGets,
    attributePatches: after.attributePatches - before.attributePatches,
    api: after.api - before.api,
  };
}
