/**
 * The gateway's only door to Genesys Cloud: one official-SDK client per org, with
 * client-credentials tokens renewed before they expire, retries for throttling and
 * transient failures, normalised errors and per-operation request metrics.
 *
 * Endpoints used (shared/genesys/README.md):
 * - `POST /oauth/token` (login host) — client credentials, `expires_in` in seconds;
 * - `GET /api/v2/conversations/{conversationId}` — SDK `getConversation`;
 * - `PATCH /api/v2/conversations/{conversationId}/participants/{participantId}/attributes` —
 *   SDK `patchConversationParticipantAttributes`, body `{attributes}`, 202 with no body;
 * - `POST /api/v2/notifications/channels`, `PUT|DELETE .../channels/{id}/subscriptions`;
 * - `POST /api/v2/analytics/queues/observations/query` — SDK `postAnalyticsQueuesObservationsQuery`
 *   (README "Listing a queue's live conversations"): the conversations waiting in or connected
 *   through a queue now.
 */
import { EventEmitter } from "node:events";
import platformClient from "./sdk.js";
import type { Models } from "purecloud-platform-client-v2";
import { DelegateBackoff, handleWhen, retry } from "cockatiel";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Logger } from "../logger.js";
import { GenesysError, toGenesysError } from "./errors.js";
import { BudgetExhaustedError, type BudgetPriority, type RequestBudget } from "./budget.js";


/** Where the SDK sends requests. */
export type GenesysEndpoint =
  /** Real Genesys Cloud, e.g. `mypurecloud.ie` → `https://api.mypurecloud.ie`. */
  | { environment: string }
  /** An explicit base URL for login, API and notifications (the emulator). */
  | { baseUrl: URL };

/** Options of {@link GenesysClient}. */
export interface GenesysClientOptions {
  endpoint: GenesysEndpoint;
  clientId: string;
  clientSecret: string;
  logger: Logger;
  /**
   * Prometheus registry receiving `genesys_requests_total`, `genesys_request_duration_seconds`
   * and the `genesys_rate_limit_*` gauges.
   */
  registry: Registry;
  /** Per-request HTTP timeout in ms (SDK default 16 s). Default 10 000. */
  timeoutMs?: number;
  /** Attempts per call, first one included, for 408/429/502/503/504/network errors. Default 4. */
  maxAttempts?: number;
  /** Base of the exponential backoff for transient errors without Retry-After, in ms. Default 200. */
  backoffBaseMs?: number;
  /** Clock in epoch ms (injectable for tests). */
  now?: () => number;
  /**
   * The request budget every API call waits on before each attempt, logins included (at
   * `confirm` priority); a 429 pauses it for its Retry-After. Without one, calls go out unpaced.
   */
  budget?: RequestBudget;
  /** Longest a call with no deadline of its own waits for budget, except `background` ones (ms). Default 10 000. */
  maxBudgetWaitMs?: number;
}

/** Per-call options. */
export interface CallOptions {
  /**
   * Epoch ms after which no retry is started: a Retry-After or backoff that would end past
   * it makes the call fail with the last error instead of waiting.
   */
  deadline?: number;
  /** Budget class of the call (see genesys/budget.ts). Default `read`. */
  priority?: BudgetPriority;
}

type SdkRejection = unknown;

/** The `operation` of login exchanges in metrics and `request` events (the SDK method name). */
export const LOGIN_OPERATION = "loginClientCredentialsGrant";

/**
 * Genesys's per-token rate-limit window as reported on a response by the `inin-ratelimit-count`,
 * `inin-ratelimit-allowed` and `inin-ratelimit-reset` headers (shared/genesys/README.md, "Rate
 * limits and errors in transit").
 */
export interface RateLimitWindow {
  /** Requests counted in the current window. */
  count: number;
  /** Requests allowed per window. */
  allowed: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

/** One HTTP exchange with Genesys (every attempt, retries and logins included). */
export interface GenesysRequestEvent {
  /** SDK operation name, e.g. `getConversation`, `loginClientCredentialsGrant`. */
  operation: string;
  /** HTTP status; 0 when no response arrived. */
  status: number;
  /** Genesys error code when it failed (`ErrorBody.code` or a transport code). */
  code?: string;
  durationMs: number;
  /** The rate-limit headers of the response, when it carried all three. */
  rateLimit?: RateLimitWindow;
}

/** Events of {@link GenesysClient}; listeners run synchronously, in the caller's async context. */
export interface GenesysClientEvents {
  /** After every HTTP exchange with Genesys. */
  request: [GenesysRequestEvent];
  /** After every login attempt: a token was obtained, or not (with Genesys's status and code). */
  login: [{ ok: true } | { ok: false; status: number; code: string }];
}

/**
 * Genesys access for one org. All methods reject with {@link GenesysError} only.
 *
 * Throttling: a 429 is retried after its `Retry-After` (seconds), 408/502/503/504 and network
 * errors with exponential backoff and jitter — Genesys's own guidance; the SDK retries nothing.
 * A 401 triggers one fresh login and one retry (the token may have been revoked early).
 * Idempotent reads (`getConversation`) also retry a 500. With a `budget`, every attempt first
 * waits for a token at the call's priority (BudgetExhaustedError when none comes in time, nothing
 * sent), every login at `confirm` priority, and a 429 pauses the whole budget for its Retry-After.
 */
export class GenesysClient extends EventEmitter<GenesysClientEvents> {
  private readonly sdk: InstanceType<typeof platformClient.ApiClientClass>;
  private readonly conversationsApi: platformClient.ConversationsApi;
  private readonly notificationsApi: platformClient.NotificationsApi;
  private readonly analyticsApi: platformClient.AnalyticsApi;
  private readonly now: () => number;
  private readonly maxAttempts: number;
  private readonly backoffBaseMs: number;
  private tokenExpiresAt = 0;
  private tokenLifetimeMs = 0;
  private login?: Promise<void>;
  private readonly requests: Counter<"operation" | "status">;
  private readonly durations: Histogram<"operation" | "status">;
  private readonly rateLimit: Record<"remaining" | "allowed" | "reset", Gauge>;

  constructor(private readonly options: GenesysClientOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.maxAttempts = options.maxAttempts ?? 4;
    this.backoffBaseMs = options.backoffBaseMs ?? 200;
    this.sdk = new platformClient.ApiClientClass();
    // Each client otherwise adds an fs.watchFile listener on the SDK config file and leaks.
    this.sdk.config.live_reload_config = false;
    this.sdk.config.logger.log_to_console = false;
    if ("baseUrl" in options.endpoint) {
      const url = options.endpoint.baseUrl;
      this.sdk.setGateway({
        host: url.hostname,
        protocol: url.protocol.replace(":", ""),
        port: url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80,
      });
    } else {
      this.sdk.setEnvironment(options.endpoint.environment);
    }
    // Keep status and headers (Retry-After, correlation id) on failures.
    this.sdk.setReturnExtendedResponses(true);
    // The SDK's own axios transport is kept: on Node >= 19 it already reuses connections (the
    // keep-alive global agent), and a fetch/undici transport through ApiClient.setHttpClient
    // measured no faster (README "Benchmarks").
    this.sdk.getHttpClient().setTimeout(options.timeoutMs ?? 10_000);
    this.conversationsApi = new platformClient.ConversationsApi(this.sdk);
    this.notificationsApi = new platformClient.NotificationsApi(this.sdk);
    this.analyticsApi = new platformClient.AnalyticsApi(this.sdk);
    this.requests = new Counter({
      name: "genesys_requests_total",
      help: "Genesys Platform API requests sent, by operation and HTTP status (0 = no response)",
      labelNames: ["operation", "status"],
      registers: [options.registry],
    });
    this.durations = new Histogram({
      name: "genesys_request_duration_seconds",
      help: "Latency of Genesys Platform API requests, by operation and HTTP status (0 = no response), in seconds",
      labelNames: ["operation", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [options.registry],
    });
    const gauge = (name: string, help: string) => new Gauge({ name, help, registers: [options.registry] });
    this.rateLimit = {
      remaining: gauge(
        "genesys_rate_limit_remaining",
        "Requests left in the current Genesys rate-limit window (inin-ratelimit-allowed minus inin-ratelimit-count of the latest response)",
      ),
      allowed: gauge("genesys_rate_limit_allowed", "Requests allowed per Genesys rate-limit window (inin-ratelimit-allowed of the latest response)"),
      reset: gauge("genesys_rate_limit_reset_seconds", "Seconds until the Genesys rate-limit window resets (inin-ratelimit-reset of the latest response)"),
    };
  }

  /**
   * `GET /api/v2/conversations/{conversationId}`.
   * @returns the conversation, or null when Genesys answers 404.
   * @throws GenesysError for any other failure.
   */
  async getConversation(conversationId: string, opts: CallOptions = {}): Promise<Models.Conversation | null> {
    try {
      // A GET is idempotent: a 500 is retried too (inside the deadline).
      return await this.call("getConversation", opts, () => this.conversationsApi.getConversation(conversationId), true);
    } catch (error) {
      if (error instanceof GenesysError && error.status === 404) return null;
      throw error;
    }
  }

  /**
   * `PATCH /api/v2/conversations/{conversationId}/participants/{participantId}/attributes`
   * with body `{attributes}`: per-key upsert (emulator assumption; Genesys documents none).
   * 202 means accepted, not yet visible.
   * @throws GenesysError (404 unknown ids, 400 invalid body or refused write, 413 too large, ...).
   */
  async patchParticipantAttributes(
    conversationId: string,
    participantId: string,
    attributes: Record<string, string>,
    opts: CallOptions = {},
  ): Promise<void> {
    await this.call("patchConversationParticipantAttributes", opts, () =>
      this.conversationsApi.patchConversationParticipantAttributes(conversationId, participantId, { attributes }),
    );
  }

  /** `POST /api/v2/notifications/channels` → `{id, connectUri, expires}`. */
  async createChannel(opts: CallOptions = {}): Promise<Models.Channel> {
    return this.call("postNotificationsChannels", opts, () => this.notificationsApi.postNotificationsChannels());
  }

  /**
   * `PUT /api/v2/notifications/channels/{channelId}/subscriptions`: replaces the channel's
   * topics with `topics` (an empty list is sent as `DELETE`, removing all).
   * @returns the per-topic entities Genesys answered (state, missingPermissions).
   */
  async replaceSubscriptions(channelId: string, topics: string[], opts: CallOptions = {}): Promise<Models.ChannelTopic[]> {
    if (topics.length === 0) {
      await this.call("deleteNotificationsChannelSubscriptions", opts, () =>
        this.notificationsApi.deleteNotificationsChannelSubscriptions(channelId),
      );
      return [];
    }
    const listing = await this.call("putNotificationsChannelSubscriptions", opts, () =>
      this.notificationsApi.putNotificationsChannelSubscriptions(
        channelId,
        topics.map((id) => ({ id })),
        { ignoreErrors: true },
      ),
    );
    return listing?.entities ?? [];
  }

  /**
   * `POST /api/v2/analytics/queues/observations/query` for one queue with `detailMetrics`
   * `oWaiting` (waiting in the queue) and `oInteracting` (connected to an agent): the ids of the
   * queue's live conversations. Genesys truncates long observation lists (`truncated: true`;
   * how many it returns is unknown): then the list is incomplete and `truncated` says so.
   * @throws GenesysError (403 without `analytics:queueObservation:view`, ...).
   */
  async listQueueConversations(queueId: string, opts: CallOptions = {}): Promise<{ conversationIds: string[]; truncated: boolean }> {
    const metrics = ["oWaiting", "oInteracting"];
    const response = await this.call("postAnalyticsQueuesObservationsQuery", opts, () =>
      this.analyticsApi.postAnalyticsQueuesObservationsQuery({
        filter: { type: "or", predicates: [{ type: "dimension", dimension: "queueId", operator: "matches", value: queueId }] },
        metrics,
        detailMetrics: metrics,
      }),
    );
    const ids = new Set<string>();
    let truncated = false;
    for (const result of response?.results ?? []) {
      if (result.group?.queueId !== undefined && result.group.queueId !== queueId) continue;
      for (const data of result.data ?? []) {
        if (data.truncated) truncated = true;
        for (const observation of data.observations ?? []) if (observation.conversationId) ids.add(observation.conversationId);
      }
    }
    return { conversationIds: [...ids], truncated };
  }

  /**
   * Ensures a valid token now (login at start-up surfaces bad credentials early).
   * @param force log in even when the current token looks valid (a readiness probe after a
   *   failed login: Genesys may have revoked the token we hold).
   * @throws GenesysError when the login fails; BudgetExhaustedError when the request budget had no token for it in time.
   */
  async authenticate(force = false): Promise<void> {
    await this.ensureToken(force);
  }

  private async ensureToken(force = false): Promise<void> {
    // Renew ahead of expiry: 10% of the lifetime, at most 5 minutes.
    const margin = Math.min(300_000, this.tokenLifetimeMs / 10);
    if (!force && this.tokenExpiresAt - margin > this.now()) return;
    this.login ??= this.fetchToken().finally(() => {
      this.login = undefined;
    });
    await this.login;
  }

  /**
   * One client-credentials login (`POST /oauth/token`). With a budget it first takes a token at
   * `confirm` priority — ahead of every read (a login starving behind queries would stall every
   * call waiting for it), FIFO with writes under way — waiting at most `maxBudgetWaitMs`; a 429
   * pauses the budget like any other.
   * @throws GenesysError when Genesys refuses or cannot be reached; BudgetExhaustedError when no
   *   budget came in time (nothing sent).
   */
  private async fetchToken(): Promise<void> {
    const budget = this.options.budget;
    if (budget) await budget.take("confirm", this.now() + (this.options.maxBudgetWaitMs ?? 10_000));
    const started = this.now();
    const operation = LOGIN_OPERATION;
    const timer = performance.now();
    try {
      const auth = await this.sdk.loginClientCredentialsGrant(this.options.clientId, this.options.clientSecret);
      this.record({ operation, status: 200, durationMs: performance.now() - timer });
      this.emit("login", { ok: true });
      // The SDK computes tokenExpiryTime from the wall clock and expires_in (seconds).
      this.tokenLifetimeMs = Math.max(0, auth.tokenExpiryTime - Date.now());
      this.tokenExpiresAt = started + this.tokenLifetimeMs;
      this.options.logger.debug({ expiresInMs: this.tokenLifetimeMs }, "genesys token obtained");
    } catch (rejection) {
      const error = toGenesysError(rejection);
      if (budget && error.status === 429) budget.pause((error.retryAfterSeconds ?? 1) * 1000);
      this.record({ operation, status: error.status, code: error.code, durationMs: performance.now() - timer });
      this.emit("login", { ok: false, status: error.status, code: error.code });
      this.options.logger.error({ status: error.status, code: error.code }, "genesys login failed");
      throw error;
    }
  }

  /** Metrics and the `request` event for one exchange. */
  private record(event: GenesysRequestEvent): void {
    const status = String(event.status);
    this.requests.inc({ operation: event.operation, status });
    this.durations.observe({ operation: event.operation, status }, event.durationMs / 1000);
    if (event.rateLimit) {
      this.rateLimit.remaining.set(Math.max(0, event.rateLimit.allowed - event.rateLimit.count));
      this.rateLimit.allowed.set(event.rateLimit.allowed);
      this.rateLimit.reset.set(event.rateLimit.resetSeconds);
    }
    this.emit("request", event);
  }

  /**
   * Runs one SDK call with token handling, retries and metrics. Extended responses are
   * unwrapped to their body.
   */
  private async call<T>(operation: string, opts: CallOptions, send: () => Promise<T>, idempotent = false): Promise<T> {
    const deadline = opts.deadline ?? Number.POSITIVE_INFINITY;
    const priority = opts.priority ?? "read";
    const budgetDeadline = Number.isFinite(deadline) || priority === "background" ? deadline : this.now() + (this.options.maxBudgetWaitMs ?? 10_000);
    // The wait before the next attempt, drawn once per failure and used by both the retry
    // decision (does it end before the deadline?) and the backoff itself.
    let nextDelay = 0;
    const policy = retry(
      handleWhen((e) => {
        if (!(e instanceof GenesysError) || !(e.isTransient || (idempotent && e.status === 500))) return false;
        nextDelay =
          e.retryAfterSeconds !== undefined
            ? e.retryAfterSeconds * 1000
            : this.backoffBaseMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
        return this.now() + nextDelay < deadline;
      }),
      { maxAttempts: this.maxAttempts - 1, backoff: new DelegateBackoff(() => nextDelay) },
    );
    policy.onRetry((reason) => {
      const e = "error" in reason ? reason.error : undefined;
      if (e instanceof GenesysError) {
        this.options.logger.warn({ operation, status: e.status, code: e.code, delayMs: reason.delay }, "genesys call retried");
      }
    });
    let attempt = 0;
    /** True while an attempt waits for a budget token (nothing sent yet). */
    const queued = { now: false };
    const attemptOnce = async (): Promise<T> => {
      attempt += 1;
      await this.ensureToken();
      try {
        return await this.governed(operation, priority, budgetDeadline, send, queued);
      } catch (error) {
        if (error instanceof GenesysError && error.status === 401) {
          await this.ensureToken(true);
          return await this.governed(operation, priority, budgetDeadline, send, queued);
        }
        throw error;
      }
    };
    const run = policy.execute(attemptOnce);
    if (!Number.isFinite(deadline)) return run;
    // The HTTP timeout is client-wide; a caller's deadline also bounds a single slow request
    // (it keeps running in the background, its result ignored).
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            queued.now
              ? new BudgetExhaustedError(priority, 0)
              : new GenesysError({ status: 0, code: "timeout", message: `no answer from Genesys before the deadline (${operation})` }),
          ),
        Math.max(0, deadline - this.now()),
      );
    });
    run.catch(() => undefined);
    try {
      return await Promise.race([run, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One attempt: a budget token first, then the request; a 429 pauses the budget. */
  private async governed<T>(
    operation: string,
    priority: BudgetPriority,
    deadline: number,
    send: () => Promise<T>,
    queued: { now: boolean },
  ): Promise<T> {
    const budget = this.options.budget;
    if (budget) {
      queued.now = true;
      try {
        await budget.take(priority, deadline);
      } finally {
        queued.now = false;
      }
    }
    try {
      return await this.send(operation, send);
    } catch (error) {
      if (budget && error instanceof GenesysError && error.status === 429) budget.pause((error.retryAfterSeconds ?? 1) * 1000);
      throw error;
    }
  }

  private async send<T>(operation: string, send: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const response = (await send()) as unknown as { status?: number; body?: T; headers?: Record<string, unknown> };
      this.record({ operation, status: response?.status ?? 200, durationMs: performance.now() - started, rateLimit: rateLimitWindow(response?.headers) });
      return (response?.body ?? undefined) as T;
    } catch (rejection: SdkRejection) {
      const error = toGenesysError(rejection);
      const headers = (rejection as { headers?: Record<string, unknown> } | undefined)?.headers;
      this.record({ operation, status: error.status, code: error.code, durationMs: performance.now() - started, rateLimit: rateLimitWindow(headers) });
      throw error;
    }
  }
}

/** Reads the three `inin-ratelimit-*` headers (axios lower-cases names); undefined unless all are numbers. */
export function rateLimitWindow(headers: Record<string, unknown> | undefined): RateLimitWindow | undefined {
  if (!headers || typeof headers !== "object") return undefined;
  const read = (name: string) => {
    const raw = headers[name];
    const value = Number(Array.isArray(raw) ? raw[0] : raw);
    return raw === undefined || raw === null || raw === "" || !Number.isFinite(value) ? undefined : value;
  };
  const count = read("inin-ratelimit-count");
  const allowed = read("inin-ratelimit-allowed");
  const resetSeconds = read("inin-ratelimit-reset");
  if (count === undefined || allowed === undefined || resetSeconds === undefined) return undefined;
  return { count, allowed, resetSeconds };
}
