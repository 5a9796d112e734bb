/**
 * Readiness of the gateway, as a small state machine fed by what the Genesys client and the
 * notification channel report (no I/O, injected clock). Three parts are tracked:
 *
 * - `token`: failing from a failed login (bad credentials, login host down) until a login
 *   succeeds. While failing, {@link ReadinessTracker.loginProbeDue} says when `/readyz` may try
 *   a fresh login, so the part recovers even without traffic.
 * - `genesysApi`: failing once `failureThreshold` Genesys API exchanges in a row failed
 *   (no response, 408, 429, 5xx), until one succeeds. A 4xx answer other than 401/408/429
 *   (e.g. 404 for an unknown conversation) counts as success: Genesys answered. 401 is left
 *   to `token`. With no exchange for `failureMemoryMs` a failing part counts as ok again: a
 *   gateway taken out of rotation gets no traffic, and must be allowed back to find out.
 * - `notifications`: only while subscribers hold topics: failing unless the notification
 *   socket is open (down, reconnecting, or not yet connected).
 * - `redis` (only with `REDIS_URL`, several instances): failing while a connection to the
 *   shared Redis is lost, until it is back; absent from the report in one process.
 */
import type { GenesysTargetDescription } from "../genesys/endpoint.js";
import type { NotificationSocketState } from "../genesys/notifications.js";

/** Names of the tracked parts, as they appear in the `/readyz` body. */
export type ReadinessPart = "token" | "genesysApi" | "notifications" | "redis";

/** Options of {@link ReadinessTracker}. Durations in ms. */
export interface ReadinessOptions {
  /** Clock, epoch ms. */
  now: () => number;
  /** Which Genesys the gateway talks to (shown in every report). */
  genesys: GenesysTargetDescription;
  /** Distinct notification topics subscribers hold now (the notifications part matters only above 0). */
  heldTopics: () => number;
  /** Failed API exchanges in a row before `genesysApi` is failing. Default 3. */
  failureThreshold?: number;
  /** A failing `genesysApi` with no exchange for this long counts as ok. Default 30 000. */
  failureMemoryMs?: number;
  /** Least time between login attempts started by readiness probes. Default 5 000. */
  loginProbeIntervalMs?: number;
  /** Whether the gateway runs on a shared Redis (`REDIS_URL`): then the `redis` part is tracked, ok until {@link ReadinessTracker.observeRedis} says otherwise. */
  redis?: boolean;
}

/**
 * One part of a {@link ReadinessReport}. `since` is when the part last changed state (ISO 8601;
 * for `notifications`, when the socket entered its current state).
 */
export interface PartReport {
  status: "ok" | "failing";
  since: string;
  /** Why it is failing (or last failed), e.g. `401 bad.credentials`. */
  reason?: string;
}

/** The `/readyz` body (same shape for 200 and 503). */
export interface ReadinessReport {
  status: "ready" | "not-ready";
  /** The failing parts, empty when ready. */
  failing: ReadinessPart[];
  genesys: GenesysTargetDescription;
  checks: {
    token: PartReport;
    genesysApi: PartReport & { consecutiveFailures: number };
    notifications: PartReport & { required: boolean; socket: NotificationSocketState; heldTopics: number };
    /** Only with `REDIS_URL`: the connection to the shared Redis. */
    redis?: PartReport;
  };
}

/** A Genesys API exchange as the tracker needs it (see `GenesysRequestEvent`). */
export interface ApiExchange {
  operation: string;
  /** HTTP status; 0 = no response. */
  status: number;
  code?: string;
}

/** True when an exchange says Genesys is not serving: no response, 408, 429 or 5xx. */
export function isServiceFailure(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

/** The readiness state machine; see the file comment for the rules. */
export class ReadinessTracker {
  private readonly threshold: number;
  private readonly memoryMs: number;
  private readonly probeIntervalMs: number;
  private token: { failing: boolean; since: number; reason?: string };
  private api: { failures: number; since: number; lastExchangeAt: number; reason?: string };
  private socket: { state: NotificationSocketState; since: number };
  private lastLoginAttemptAt = Number.NEGATIVE_INFINITY;
  private redis: { failing: boolean; since: number; reason?: string } | undefined;

  constructor(private readonly options: ReadinessOptions) {
    this.threshold = options.failureThreshold ?? 3;
    this.memoryMs = options.failureMemoryMs ?? 30_000;
    this.probeIntervalMs = options.loginProbeIntervalMs ?? 5_000;
    const now = options.now();
    this.token = { failing: false, since: now };
    this.api = { failures: 0, since: now, lastExchangeAt: now };
    this.socket = { state: "idle", since: now };
    if (options.redis) this.redis = { failing: false, since: now };
  }

  /** The shared Redis connection went down (with why) or came back up; ignored without `redis`. */
  observeRedis(state: { status: "up" } | { status: "down"; reason: string }): void {
    if (!this.redis) return;
    const failing = state.status === "down";
    const reason = state.status === "down" ? state.reason : this.redis.reason;
    if (failing === this.redis.failing) {
      this.redis = { ...this.redis, ...(reason ? { reason } : {}) };
      return;
    }
    this.redis = { failing, since: this.options.now(), ...(reason ? { reason } : {}) };
  }

  /** A login attempt ended. */
  observeLogin(result: { ok: true } | { ok: false; status: number; code: string }): void {
    const now = this.options.now();
    this.lastLoginAttemptAt = now;
    if (result.ok) {
      if (this.token.failing) this.token = { failing: false, since: now, reason: this.token.reason };
      return;
    }
    const reason = `${result.status} ${result.code}`;
    this.token = this.token.failing ? { ...this.token, reason } : { failing: true, since: now, reason };
  }

  /** A Genesys API exchange ended (logins go to {@link observeLogin}). */
  observeApi(exchange: ApiExchange): void {
    const now = this.options.now();
    if (exchange.status === 401) return;
    const wasFailing = this.apiFailing(now);
    const since = this.apiSince(now);
    if (isServiceFailure(exchange.status)) {
      const failures = (this.stale(now) ? 0 : this.api.failures) + 1;
      const reason = `${exchange.operation}: ${exchange.status} ${exchange.code ?? ""}`.trim();
      const failing = failures >= this.threshold;
      this.api = { failures, since: failing !== wasFailing ? now : since, lastExchangeAt: now, reason };
      return;
    }
    this.api = { failures: 0, since: wasFailing ? now : since, lastExchangeAt: now, reason: this.api.reason };
  }

  /** The notification socket changed state. */
  observeSocket(state: NotificationSocketState): void {
    if (state === this.socket.state) return;
    this.socket = { state, since: this.options.now() };
  }

  /**
   * True when the token part is failing and no login was attempted for `loginProbeIntervalMs`;
   * the caller then starts one (e.g. `GenesysClient.authenticate(true)`). Calling it marks the
   * attempt as started.
   */
  loginProbeDue(): boolean {
    const now = this.options.now();
    if (!this.token.failing || now - this.lastLoginAttemptAt < this.probeIntervalMs) return false;
    this.lastLoginAttemptAt = now;
    return true;
  }

  /** The current readiness. */
  report(): ReadinessReport {
    const now = this.options.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const heldTopics = this.options.heldTopics();
    const required = heldTopics > 0;
    const notificationsFailing = required && this.socket.state !== "open";
    const apiFailing = this.apiFailing(now);
    const token: PartReport = { status: this.token.failing ? "failing" : "ok", since: iso(this.token.since), ...(this.token.reason ? { reason: this.token.reason } : {}) };
    const genesysApi = {
      status: apiFailing ? ("failing" as const) : ("ok" as const),
      since: iso(this.apiSince(now)),
      consecutiveFailures: this.stale(now) ? 0 : this.api.failures,
      ...(this.api.reason ? { reason: this.api.reason } : {}),
    };
    const notifications = {
      status: notificationsFailing ? ("failing" as const) : ("ok" as const),
      since: iso(this.socket.since),
      required,
      socket: this.socket.state,
      heldTopics,
      ...(notificationsFailing ? { reason: `socket ${this.socket.state === "idle" ? "not connected yet" : this.socket.state}` } : {}),
    };
    const failing: ReadinessPart[] = [];
    if (token.status === "failing") failing.push("token");
    if (apiFailing) failing.push("genesysApi");
    if (notificationsFailing) failing.push("notifications");
    const redis: PartReport | undefined = this.redis && {
      status: this.redis.failing ? "failing" : "ok",
      since: iso(this.redis.since),
      ...(this.redis.reason ? { reason: this.redis.reason } : {}),
    };
    if (this.redis?.failing) failing.push("redis");
    return {
      status: failing.length === 0 ? "ready" : "not-ready",
      failing,
      genesys: this.options.genesys,
      checks: { token, genesysApi, notifications, ...(redis ? { redis } : {}) },
    };
  }

  private stale(now: number): boolean {
    return now - this.api.lastExchangeAt >= this.memoryMs;
  }

  /** When `genesysApi` last changed state; a failing state that went stale ended `failureMemoryMs` after its last exchange. */
  private apiSince(now: number): number {
    if (this.api.failures >= this.threshold && this.stale(now)) return this.api.lastExchangeAt + this.memoryMs;
    return this.api.since;
  }

  private apiFailing(now: number): boolean {
    return this.api.failures >= this.threshold && !this.stale(now);
  }
}
