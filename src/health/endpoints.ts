/**
 * `GET /healthz` (liveness) and `GET /readyz` (readiness), and the wiring that feeds the
 * {@link ReadinessTracker} from the Genesys client's and the notification channel pool's events (every channel's socket).
 *
 * - `/healthz` → 200 `{status: "ok", uptimeSeconds}` whenever the process and its event loop
 *   answer; it checks nothing else (a liveness probe must not restart a gateway because
 *   Genesys is down).
 * - `/readyz` → 200 when ready, 503 when not, both with the {@link ReadinessReport} body.
 *   While the token part fails, a request may start a fresh login in the background (at most
 *   one per `loginProbeIntervalMs`), so readiness comes back without traffic.
 */
import express, { type Router } from "express";
import { LOGIN_OPERATION, type GenesysClient } from "../genesys/client.js";
import type { GenesysTargetDescription } from "../genesys/endpoint.js";
import type { NotificationChannelPool } from "../genesys/channel-pool.js";
import { ReadinessTracker, type ReadinessOptions } from "./readiness.js";

/** What readiness needs from the shared Redis connections (src/cluster/redis-connection.ts). */
export interface RedisStateSource {
  readonly state: { status: "up" } | { status: "down"; reason: string };
  on(event: "state", listener: (state: { status: "up" } | { status: "down"; reason: string }) => void): unknown;
}

/**
 * Creates a tracker fed by `genesys` (`login`, `request` events) and `channels`, the pool (`state`: every channel's socket as one),
 * and, with several instances, `redis` (its `state` events: the `redis` part).
 * @param options tracker settings (defaults: the wall clock, see {@link ReadinessOptions}).
 */
export function trackReadiness(
  genesys: Pick<GenesysClient, "on">,
  channels: Pick<NotificationChannelPool, "on" | "heldTopicCount">,
  target: GenesysTargetDescription,
  options: Partial<Omit<ReadinessOptions, "genesys" | "heldTopics" | "redis">> = {},
  redis?: RedisStateSource,
): ReadinessTracker {
  const tracker = new ReadinessTracker({ now: Date.now, ...options, genesys: target, heldTopics: () => channels.heldTopicCount, redis: redis !== undefined });
  if (redis) {
    tracker.observeRedis(redis.state);
    redis.on("state", (state) => tracker.observeRedis(state));
  }
  genesys.on("login", (result) => tracker.observeLogin(result));
  genesys.on("request", (event) => {
    if (event.operation !== LOGIN_OPERATION) tracker.observeApi(event);
  });
  channels.on("state", (state) => tracker.observeSocket(state));
  return tracker;
}

/**
 * The `/healthz` and `/readyz` routes.
 * @param probeLogin starts a fresh login (e.g. `() => genesys.authenticate(true)`); its
 *   failure is already recorded through the `login` event.
 */
export function healthRouter(tracker: ReadinessTracker, probeLogin: () => Promise<void>): Router {
  const router = express.Router();
  const started = performance.now();
  router.get("/healthz", (_req, res) => {
    res.set("cache-control", "no-store").json({ status: "ok", uptimeSeconds: Math.round((performance.now() - started) / 1000) });
  });
  router.get("/readyz", (_req, res) => {
    if (tracker.loginProbeDue()) probeLogin().catch(() => undefined);
    const report = tracker.report();
    res.set("cache-control", "no-store").status(report.status === "ready" ? 200 : 503).json(report);
  });
  return router;
}
