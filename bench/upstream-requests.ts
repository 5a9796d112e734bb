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
  /**
   * Conversation GETs and attribute PATCHes per conversation id: what one scenario's own
   * conversation cost, apart from background work on others (e.g. reconciliation reads of a
   * watch lingering from an earlier scenario).
   */
  byConversation: Record<string, number>;
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
  const counts: RequestCounts = { conversationGets: 0, attributePatches: 0, api: 0, byConversation: {} };
  const onRequest = (message: unknown) => {
    const { request, socket } = message as { request: IncomingMessage; socket: Socket };
    if (socket.localPort !== port) return;
    const path = (request.url ?? "").split("?")[0]!;
    if (!path.startsWith("/api/v2/")) return;
    counts.api += 1;
    if (!path.startsWith("/api/v2/conversations/")) return;
    const conversationId = path.split("/")[4] ?? "";
    const perConversation = () => (counts.byConversation[conversationId] = (counts.byConversation[conversationId] ?? 0) + 1);
    if (request.method === "GET") {
      counts.conversationGets += 1;
      perConversation();
    } else if (request.method === "PATCH" && path.endsWith("/attributes")) {
      counts.attributePatches += 1;
      perConversation();
    }
  };
  diagnostics_channel.subscribe(CHANNEL, onRequest);
  return {
    snapshot: () => ({ ...counts, byConversation: { ...counts.byConversation } }),
    close: () => diagnostics_channel.unsubscribe(CHANNEL, onRequest),
  };
}

/** `after − before`, field by field (conversations with no request in between are left out of `byConversation`). */
export function requestsBetween(before: RequestCounts, after: RequestCounts): RequestCounts {
  const byConversation: Record<string, number> = {};
  for (const [id, n] of Object.entries(after.byConversation)) {
    const delta = n - (before.byConversation[id] ?? 0);
    if (delta > 0) byConversation[id] = delta;
  }
  return {
    conversationGets: after.conversationGets - before.conversationGets,
    attributePatches: after.attributePatches - before.attributePatches,
    api: after.api - before.api,
    byConversation,
  };
}
