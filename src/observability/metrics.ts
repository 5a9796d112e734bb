/**
 * The gateway's own Prometheus metrics (prom-client), beside the Genesys request metrics that
 * `GenesysClient` records. Names follow the Prometheus conventions: base units (`_seconds`),
 * `_total` for counters, labels of bounded cardinality.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `graphql_operation_duration_seconds` | histogram | `operation_type`, `operation_name`, `outcome` |
 * | `graphql_subscriptions_active` | gauge | |
 * | `graphql_ws_connections_active` | gauge | |
 * | `attribute_update_outcomes_total` | counter | `outcome` |
 * | `attribute_update_attempts` | histogram (PATCHes per update) | `outcome` |
 * | `attribute_update_confirmation_delay_seconds` | histogram | |
 * | `genesys_notification_socket_state` | gauge (1 for the current state) | `state` |
 * | `genesys_notification_reconnects_total` | counter | |
 * | `genesys_notification_events_total` | counter | `topic_kind` |
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { WebSocketServer } from "ws";
import type { UpdateOutcome } from "../attributes/update.js";
import type { NotificationChannelPool } from "../genesys/channel-pool.js";
import type { NotificationSocketState } from "../genesys/notifications.js";
import { notificationTopicKind } from "../genesys/topics.js";

/** Most distinct `operation_name` values kept; further names are counted as `other`. */
export const MAX_OPERATION_NAMES = 100;

/** `outcome` label of GraphQL operations: `success` (no errors) or `error`. */
export type OperationOutcome = "success" | "error";

const SOCKET_STATES: NotificationSocketState[] = ["idle", "open", "down", "closed"];

/** Owns the gateway metrics on one registry; see the file comment for the list. */
export class GatewayMetrics {
  private readonly operations: Histogram<"operation_type" | "operation_name" | "outcome">;
  private readonly subscriptions: Gauge;
  private readonly connections: Gauge;
  private readonly updateOutcomes: Counter<"outcome">;
  private readonly updateAttempts: Histogram<"outcome">;
  private readonly confirmationDelay: Histogram;
  private readonly socketState: Gauge<"state">;
  private readonly reconnects: Counter;
  private readonly events: Counter<"topic_kind">;
  private readonly names = new Set<string>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.operations = new Histogram({
      name: "graphql_operation_duration_seconds",
      help: "Duration of GraphQL operations in seconds (subscriptions: until subscribed), by type, name and outcome",
      labelNames: ["operation_type", "operation_name", "outcome"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.subscriptions = new Gauge({ name: "graphql_subscriptions_active", help: "GraphQL subscriptions currently streaming", registers });
    this.connections = new Gauge({ name: "graphql_ws_connections_active", help: "Open graphql-ws WebSocket connections", registers });
    this.updateOutcomes = new Counter({
      name: "attribute_update_outcomes_total",
      help: "updateAttributes verify-loop outcomes (updated, conflict, unavailable, not-confirmed)",
      labelNames: ["outcome"],
      registers,
    });
    this.updateAttempts = new Histogram({
      name: "attribute_update_attempts",
      help: "PATCH requests sent per updateAttributes (0 when the values were already in place), by outcome",
      labelNames: ["outcome"],
      buckets: [0, 1, 2, 3, 4, 6, 8],
      registers,
    });
    this.confirmationDelay = new Histogram({
      name: "attribute_update_confirmation_delay_seconds",
      help: "Time from the first PATCH until a re-read showed every written key, in seconds (updated outcomes with attempts > 0)",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10],
      registers,
    });
    this.socketState = new Gauge({
      name: "genesys_notification_socket_state",
      help: "State of the Genesys notification sockets (every channel of the pool): 1 for the current state (idle, open, down, closed; open only while every socket is open), 0 for the others",
      labelNames: ["state"],
      registers,
    });
    this.setSocketState("idle");
    this.reconnects = new Counter({
      name: "genesys_notification_reconnects_total",
      help: "Times a Genesys notification socket (any channel of the pool) was reconnected (and the conversations it watched re-read)",
      registers,
    });
    this.events = new Counter({
      name: "genesys_notification_events_total",
      help: "Genesys notification events received, by topic kind (heartbeats and repeated frames excluded)",
      labelNames: ["topic_kind"],
      registers,
    });
  }

  /** Records one finished GraphQL operation; `durationMs` in ms. */
  observeOperation(type: string, name: string | undefined, outcome: OperationOutcome, durationMs: number): void {
    this.operations.observe({ operation_type: type, operation_name: this.operationName(name), outcome }, durationMs / 1000);
  }

  /** A subscription started (+1) or ended (-1) streaming. */
  subscriptionDelta(delta: 1 | -1): void {
    this.subscriptions.inc(delta);
  }

  /** Counts the open WebSocket connections of `server`. */
  trackWebSocketServer(server: WebSocketServer): void {
    server.on("connection", (socket) => {
      this.connections.inc();
      socket.once("close", () => this.connections.dec());
    });
  }

  /** Records one `updateAttributes` outcome. */
  observeUpdate(outcome: UpdateOutcome): void {
    this.updateOutcomes.inc({ outcome: outcome.kind });
    if ("attempts" in outcome) this.updateAttempts.observe({ outcome: outcome.kind }, outcome.attempts);
    if (outcome.kind === "updated" && outcome.attempts > 0) this.confirmationDelay.observe(outcome.confirmedAfterMs / 1000);
  }

  /**
   * Follows the pool's socket state (every channel's, as one: see `NotificationChannelPool.state`),
   * and every channel's reconnects and events.
   */
  trackNotificationChannels(channels: Pick<NotificationChannelPool, "on">): void {
    channels.on("state", (state) => this.setSocketState(state));
    channels.on("reconnected", () => this.reconnects.inc());
    channels.on("event", (envelope) => this.events.inc({ topic_kind: notificationTopicKind(envelope.topicName) }));
  }

  private setSocketState(current: NotificationSocketState): void {
    for (const state of SOCKET_STATES) this.socketState.set({ state }, state === current ? 1 : 0);
  }

  /** Operation names are client-chosen: keep the first {@link MAX_OPERATION_NAMES} valid ones. */
  private operationName(name: string | undefined): string {
    if (!name) return "anonymous";
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,99}$/.test(name)) return "other";
    if (this.names.has(name)) return name;
    if (this.names.size >= MAX_OPERATION_NAMES) return "other";
    this.names.add(name);
    return name;
  }
}
