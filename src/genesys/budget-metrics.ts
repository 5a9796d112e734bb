/**
 * The request budget on /metrics (prom-client, the gateway's registry):
 * - `genesys_budget_granted_total{priority}` — calls let through;
 * - `genesys_budget_refused_total{priority}` — calls refused with UPSTREAM_BUDGET_EXHAUSTED (nothing sent);
 * - `genesys_budget_wait_seconds{priority}` — time calls waited for a token, in seconds;
 * - `genesys_budget_tokens` — tokens available now; `genesys_budget_waiting{priority}` — calls queued now;
 * - `genesys_budget_paused` — 1 while a 429's Retry-After pauses every grant;
 * - `genesys_budget_requests_per_minute` — the configured budget.
 */
import type { Timers } from "../timers.js";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { BUDGET_PRIORITIES, InMemoryRequestBudget, type BudgetPriority, type RequestBudget } from "./budget.js";

/** The metric hooks a budget implementation reports to (both implementations take them as options). */
export interface BudgetMetricHooks {
  onGrant: (priority: BudgetPriority, waitedMs: number) => void;
  onRefuse: (priority: BudgetPriority) => void;
}

/**
 * Creates the budget of `requestsPerMinute` with its metrics registered on `registry`: the
 * in-memory one, or the one `create` makes with the hooks (e.g. a `RedisRequestBudget`,
 * src/genesys/redis-budget.ts, for several instances: `(hooks) => new RedisRequestBudget({ redis,
 * keyPrefix, requestsPerMinute, ...hooks })`).
 * @param timers injectable timers of the in-memory budget (tests).
 */
export function createMeteredBudget(
  requestsPerMinute: number,
  registry: Registry,
  timers?: Timers,
  create?: (hooks: BudgetMetricHooks) => RequestBudget,
): RequestBudget {
  const granted = new Counter({
    name: "genesys_budget_granted_total",
    help: "Genesys calls granted by the request budget, by priority",
    labelNames: ["priority"],
    registers: [registry],
  });
  const refused = new Counter({
    name: "genesys_budget_refused_total",
    help: "Genesys calls refused by the request budget (UPSTREAM_BUDGET_EXHAUSTED, nothing sent), by priority",
    labelNames: ["priority"],
    registers: [registry],
  });
  const waited = new Histogram({
    name: "genesys_budget_wait_seconds",
    help: "Time Genesys calls waited for budget, by priority, in seconds",
    labelNames: ["priority"],
    buckets: [0, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  for (const priority of BUDGET_PRIORITIES) {
    granted.inc({ priority }, 0);
    refused.inc({ priority }, 0);
  }
  const hooks: BudgetMetricHooks = {
    onGrant: (priority, waitedMs) => {
      granted.inc({ priority });
      waited.observe({ priority }, waitedMs / 1000);
    },
    onRefuse: (priority) => refused.inc({ priority }),
  };
  const budget = create ? create(hooks) : new InMemoryRequestBudget({ requestsPerMinute, timers, ...hooks });
  new Gauge({
    name: "genesys_budget_tokens",
    help: "Request budget tokens available now",
    registers: [registry],
    collect() {
      this.set(budget.stats().tokens);
    },
  });
  new Gauge({
    name: "genesys_budget_waiting",
    help: "Genesys calls waiting for budget now, by priority",
    labelNames: ["priority"],
    registers: [registry],
    collect() {
      const waiting = budget.stats().waiting;
      for (const priority of BUDGET_PRIORITIES) this.set({ priority }, waiting[priority]);
    },
  });
  new Gauge({
    name: "genesys_budget_paused",
    help: "1 while a Genesys 429 pauses every grant for its Retry-After, else 0",
    registers: [registry],
    collect() {
      this.set(budget.stats().pausedUntil > 0 ? 1 : 0);
    },
  });
  new Gauge({ name: "genesys_budget_requests_per_minute", help: "The configured Genesys request budget per minute", registers: [registry] }).set(
    requestsPerMinute,
  );
  return budget;
}
