/**
 * The small pure pieces of visibility and readiness: request ids, rate-limit headers, topic
 * kinds, the Genesys target description, the operation-name cap of the metrics, and the
 * masked-error rule of the operation log.
 */
import { GraphQLError } from "graphql";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { rateLimitWindow } from "../../src/genesys/client.js";
import { describeGenesysEndpoint } from "../../src/genesys/endpoint.js";
import { notificationTopicKind } from "../../src/genesys/topics.js";
import { GatewayMetrics, MAX_OPERATION_NAMES } from "../../src/observability/metrics.js";
import { OperationScope, requestIdFrom } from "../../src/observability/operation-scope.js";
import { isMaskedError } from "../../src/graphql/error-masking.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("requestIdFrom", () => {
  it("keeps an acceptable X-Request-Id and replaces anything else with a fresh UUID", () => {
    expect(requestIdFrom("abc-123_x.y:z")).toBe("abc-123_x.y:z");
    expect(requestIdFrom(["first", "second"])).toBe("first");
    for (const bad of [undefined, "", "has space", "x".repeat(129), "line\nbreak", "<script>"]) expect(requestIdFrom(bad)).toMatch(UUID);
    expect(requestIdFrom(undefined)).not.toBe(requestIdFrom(undefined));
  });

  it("OperationScope counts Genesys exchanges by operation", () => {
    const scope = new OperationScope("r1");
    scope.countUpstream("getConversation");
    scope.countUpstream("getConversation");
    scope.countUpstream("patchConversationParticipantAttributes");
    expect(scope.upstreamCalls).toBe(3);
    expect(Object.fromEntries(scope.upstream)).toEqual({ getConversation: 2, patchConversationParticipantAttributes: 1 });
  });
});

describe("rateLimitWindow", () => {
  it("reads the three inin-ratelimit-* headers, or nothing unless all are numbers", () => {
    expect(rateLimitWindow({ "inin-ratelimit-count": "12", "inin-ratelimit-allowed": "300", "inin-ratelimit-reset": "41" })).toEqual({ count: 12, allowed: 300, resetSeconds: 41 });
    expect(rateLimitWindow({ "inin-ratelimit-count": "12", "inin-ratelimit-allowed": "300" })).toBeUndefined();
    expect(rateLimitWindow({ "inin-ratelimit-count": "x", "inin-ratelimit-allowed": "300", "inin-ratelimit-reset": "1" })).toBeUndefined();
    expect(rateLimitWindow(undefined)).toBeUndefined();
  });
});

describe("notificationTopicKind", () => {
  it("names the kind of a topic without its ids", () => {
    expect(notificationTopicKind("v2.detail.events.conversation.c1.attributes")).toBe("conversation.attributes");
    expect(notificationTopicKind("v2.routing.queues.q1.conversations")).toBe("queue.conversations");
    expect(notificationTopicKind("v2.routing.queues.q1.conversations.calls")).toBe("queue.conversations");
    expect(notificationTopicKind("v2.users.u1.conversations")).toBe("user.conversations");
    expect(notificationTopicKind("v2.system.socket_closing")).toBe("system");
    expect(notificationTopicKind("v2.something.else")).toBe("other");
  });
});

describe("describeGenesysEndpoint", () => {
  it("describes a region by its environment and SDK region name, an unknown host by itself, with the client id only", () => {
    expect(describeGenesysEndpoint({ environment: "mypurecloud.ie" }, "cid")).toEqual({
      kind: "cloud",
      environment: "mypurecloud.ie",
      region: "eu_west_1",
      clientId: "cid",
    });
    expect(describeGenesysEndpoint({ environment: "example.pure.cloud" }, "cid")).toEqual({ kind: "cloud", environment: "example.pure.cloud", clientId: "cid" });
  });

  it("describes a base URL by its href, and the embedded emulator by its origin", () => {
    expect(describeGenesysEndpoint({ baseUrl: new URL("http://127.0.0.1:4010/some/path") }, "cid")).toEqual({ kind: "gateway", baseUrl: "http://127.0.0.1:4010/some/path", clientId: "cid" });
    expect(describeGenesysEndpoint({ baseUrl: new URL("http://127.0.0.1:4010") }, "cid", { embeddedEmulator: true })).toEqual({
      kind: "embedded-emulator",
      emulatorUrl: "http://127.0.0.1:4010",
      clientId: "cid",
    });
  });
});

describe("GatewayMetrics operation names", () => {
  it("keeps the first valid names, counts later or invalid ones as other, and unnamed ones as anonymous", async () => {
    const registry = new Registry();
    const metrics = new GatewayMetrics(registry);
    for (let i = 0; i < MAX_OPERATION_NAMES + 5; i++) metrics.observeOperation("query", `Op${i}`, "success", 5);
    metrics.observeOperation("query", "bad name!", "success", 5);
    metrics.observeOperation("query", undefined, "error", 5);
    const text = await registry.metrics();
    const names = new Set([...text.matchAll(/graphql_operation_duration_seconds_count\{[^}]*operation_name="([^"]+)"/g)].map((m) => m[1]));
    expect(names.size).toBe(MAX_OPERATION_NAMES + 2);
    expect(names.has("Op0")).toBe(true);
    expect(names.has(`Op${MAX_OPERATION_NAMES}`)).toBe(false);
    expect(text).toMatch(/graphql_operation_duration_seconds_count\{operation_type="query",operation_name="other",outcome="success"\} 6/);
    expect(text).toMatch(/graphql_operation_duration_seconds_count\{operation_type="query",operation_name="anonymous",outcome="error"\} 1/);
  });
});

describe("isMaskedError", () => {
  it("is true exactly for errors the gateway masks as INTERNAL_SERVER_ERROR", () => {
    expect(isMaskedError(new GraphQLError("boom", { originalError: new TypeError("x") }))).toBe(true);
    expect(isMaskedError(new GraphQLError("boom", { extensions: { code: "INTERNAL_SERVER_ERROR" } }))).toBe(true);
    expect(isMaskedError(new GraphQLError("bad", { extensions: { code: "BAD_USER_INPUT" } }))).toBe(false);
    const coded = new GraphQLError("down", { extensions: { code: "UPSTREAM_UNAVAILABLE" } });
    expect(isMaskedError(new GraphQLError("down", { originalError: coded }))).toBe(false);
  });
});
