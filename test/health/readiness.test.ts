/**
 * The readiness state machine alone, with a virtual clock: logins, API exchanges and socket
 * states in, reports out.
 */
import { describe, expect, it } from "vitest";
import { ReadinessTracker, type ReadinessOptions } from "../../src/health/readiness.js";

const T0 = Date.parse("2026-12-01T10:00:00.000Z");
const GENESYS = { kind: "gateway" as const, baseUrl: "http://127.0.0.1:4010/", clientId: "client-a" };

function tracker(options: Partial<ReadinessOptions> = {}) {
  let now = T0;
  let held = 0;
  const t = new ReadinessTracker({ now: () => now, genesys: GENESYS, heldTopics: () => held, ...options });
  return {
    t,
    advance: (ms: number) => (now += ms),
    hold: (n: number) => (held = n),
    iso: (offset: number) => new Date(T0 + offset).toISOString(),
  };
}

describe("ReadinessTracker", () => {
  it("starts ready with every part ok, and names the Genesys target", () => {
    const { t } = tracker();
    const report = t.report();
    expect(report).toMatchObject({
      status: "ready",
      failing: [],
      genesys: GENESYS,
      checks: {
        token: { status: "ok" },
        genesysApi: { status: "ok", consecutiveFailures: 0 },
        notifications: { status: "ok", required: false, socket: "idle", heldTopics: 0 },
      },
    });
    expect(JSON.stringify(report)).not.toMatch(/secret/i);
  });

  it("token: failing from a failed login until one succeeds, with the reason", () => {
    const { t, advance, iso } = tracker();
    advance(1000);
    t.observeLogin({ ok: false, status: 401, code: "bad.credentials" });
    expect(t.report()).toMatchObject({ status: "not-ready", failing: ["token"], checks: { token: { status: "failing", since: iso(1000), reason: "401 bad.credentials" } } });
    advance(1000);
    t.observeLogin({ ok: false, status: 0, code: "ECONNREFUSED" });
    expect(t.report().checks.token).toMatchObject({ status: "failing", since: iso(1000), reason: "0 ECONNREFUSED" });
    advance(1000);
    t.observeLogin({ ok: true });
    expect(t.report()).toMatchObject({ status: "ready", checks: { token: { status: "ok", since: iso(3000) } } });
  });

  it("login probes: due only while the token fails, at most once per interval", () => {
    const { t, advance } = tracker({ loginProbeIntervalMs: 5000 });
    expect(t.loginProbeDue()).toBe(false);
    t.observeLogin({ ok: false, status: 401, code: "bad.credentials" });
    expect(t.loginProbeDue()).toBe(false); // a login was just attempted
    advance(4999);
    expect(t.loginProbeDue()).toBe(false);
    advance(1);
    expect(t.loginProbeDue()).toBe(true);
    expect(t.loginProbeDue()).toBe(false); // the probe started counts as an attempt
    advance(5000);
    t.observeLogin({ ok: true });
    expect(t.loginProbeDue()).toBe(false);
  });

  it("genesysApi: failing after `failureThreshold` service failures in a row; one success heals it", () => {
    const { t, advance, iso } = tracker({ failureThreshold: 3 });
    t.observeApi({ operation: "getConversation", status: 503, code: "service.unavailable" });
    t.observeApi({ operation: "getConversation", status: 0, code: "ECONNRESET" });
    expect(t.report().status).toBe("ready");
    expect(t.report().checks.genesysApi.consecutiveFailures).toBe(2);
    advance(10);
    t.observeApi({ operation: "getConversation", status: 429, code: "too.many.requests" });
    expect(t.report()).toMatchObject({
      status: "not-ready",
      failing: ["genesysApi"],
      checks: { genesysApi: { status: "failing", since: iso(10), consecutiveFailures: 3, reason: "getConversation: 429 too.many.requests" } },
    });
    advance(10);
    t.observeApi({ operation: "getConversation", status: 200 });
    expect(t.report()).toMatchObject({ status: "ready", checks: { genesysApi: { status: "ok", since: iso(20), consecutiveFailures: 0 } } });
  });

  it("genesysApi: 404 and 400 are answers (success), 401 is the token's business, a success in between resets the count", () => {
    const { t } = tracker({ failureThreshold: 2 });
    t.observeApi({ operation: "getConversation", status: 500 });
    t.observeApi({ operation: "getConversation", status: 404, code: "not.found" });
    t.observeApi({ operation: "getConversation", status: 500 });
    expect(t.report().status).toBe("ready");
    t.observeApi({ operation: "getConversation", status: 401, code: "bad.credentials" });
    expect(t.report().checks.genesysApi.consecutiveFailures).toBe(1);
    t.observeApi({ operation: "patchConversationParticipantAttributes", status: 400, code: "bad.request" });
    expect(t.report().checks.genesysApi.consecutiveFailures).toBe(0);
    t.observeApi({ operation: "getConversation", status: 504 });
    t.observeApi({ operation: "getConversation", status: 408 });
    expect(t.report().failing).toEqual(["genesysApi"]);
  });

  it("genesysApi: a failure state without any exchange for `failureMemoryMs` counts as ok again", () => {
    const { t, advance, iso } = tracker({ failureThreshold: 1, failureMemoryMs: 30_000 });
    t.observeApi({ operation: "getConversation", status: 503 });
    advance(29_999);
    expect(t.report().status).toBe("not-ready");
    advance(1);
    expect(t.report()).toMatchObject({ status: "ready", checks: { genesysApi: { status: "ok", since: iso(30_000), consecutiveFailures: 0 } } });
    // The next failure starts a fresh count (threshold 1: failing at once, since now).
    advance(5_000);
    t.observeApi({ operation: "getConversation", status: 503 });
    expect(t.report().checks.genesysApi).toMatchObject({ status: "failing", since: iso(35_000), consecutiveFailures: 1 });
  });

  it("notifications: only while topics are held, failing unless the socket is open", () => {
    const { t, advance, hold, iso } = tracker();
    t.observeSocket("down");
    expect(t.report().status).toBe("ready"); // nobody subscribed: the socket does not matter
    hold(2);
    expect(t.report()).toMatchObject({
      status: "not-ready",
      failing: ["notifications"],
      checks: { notifications: { status: "failing", required: true, socket: "down", heldTopics: 2, reason: "socket down" } },
    });
    advance(500);
    t.observeSocket("open");
    expect(t.report()).toMatchObject({ status: "ready", checks: { notifications: { status: "ok", socket: "open", since: iso(500) } } });
    hold(0);
    t.observeSocket("idle");
    hold(1);
    expect(t.report().checks.notifications).toMatchObject({ status: "failing", reason: "socket not connected yet" });
  });

  it("reports every failing part at once, in a fixed order", () => {
    const { t, hold } = tracker({ failureThreshold: 1 });
    hold(1);
    t.observeSocket("down");
    t.observeApi({ operation: "getConversation", status: 503 });
    t.observeLogin({ ok: false, status: 401, code: "bad.credentials" });
    expect(t.report().failing).toEqual(["token", "genesysApi", "notifications"]);
  });

  it("redis: absent in one process; with REDIS_URL ok until the connection is lost, failing with the reason until it is back", () => {
    expect(tracker().t.report().checks).not.toHaveProperty("redis");
    const { t, advance, iso } = tracker({ redis: true });
    expect(t.report()).toMatchObject({ status: "ready", failing: [], checks: { redis: { status: "ok", since: iso(0) } } });
    advance(1_000);
    t.observeRedis({ status: "down", reason: "commands connection lost (ECONNREFUSED)" });
    expect(t.report()).toMatchObject({
      status: "not-ready",
      failing: ["redis"],
      checks: { redis: { status: "failing", since: iso(1_000), reason: "commands connection lost (ECONNREFUSED)" } },
    });
    advance(500);
    t.observeRedis({ status: "down", reason: "reader connection lost" });
    expect(t.report().checks.redis).toMatchObject({ status: "failing", since: iso(1_000), reason: "reader connection lost" });
    advance(2_000);
    t.observeRedis({ status: "up" });
    expect(t.report()).toMatchObject({ status: "ready", failing: [], checks: { redis: { status: "ok", since: iso(3_500) } } });
  });

  it("redis: observeRedis without REDIS_URL changes nothing", () => {
    const { t } = tracker();
    t.observeRedis({ status: "down", reason: "x" });
    expect(t.report()).toMatchObject({ status: "ready", failing: [] });
  });
});
