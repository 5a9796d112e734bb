/**
 * OpenTelemetry traces in process, into an InMemorySpanExporter: tracing starts before the
 * gateway's modules are imported (as src/main.ts does), then one GraphQL query over HTTP must
 * produce the incoming HTTP span, graphql spans and the outgoing Genesys call, in one trace.
 * (vitest's module runner loads express around the ESM loader hook, so express spans are
 * checked by the spawned-process test, tracing-process.test.ts.) This file has its own process
 * (vitest pool "forks"), so the patched modules touch no other test. Without an endpoint or
 * processors tracing stays off.
 */
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTracing, type Tracing } from "../../src/observability/tracing.js";

const exporter = new InMemorySpanExporter();

/** The incoming (server-kind) HTTP span of a POST /graphql. */
function isGraphqlServerSpan(span: ReadableSpan): boolean {
  const path = span.attributes["url.path"] ?? span.attributes["http.target"];
  return span.instrumentationScope.name === "@opentelemetry/instrumentation-http" && span.kind === 1 && path === "/graphql";
}
let tracing: Tracing | undefined;
let stack: { gateway: { url: string }; close(): Promise<void> };

beforeAll(async () => {
  tracing = await startTracing({ serviceName: "gateway-under-test", spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const { startStack } = await import("../support/stack.js");
  stack = await startStack({ emulator: { demoData: true } });
});
afterAll(async () => {
  await stack?.close();
  await tracing?.shutdown();
});

describe("tracing", () => {
  it("is off (no SDK started) without an endpoint", async () => {
    expect(await startTracing({ serviceName: "x" })).toBeUndefined();
  });

  it("produces HTTP and GraphQL spans for a query, and a client span for its Genesys call, in one trace", async () => {
    exporter.reset();
    const response = await fetch(stack.gateway.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: 'query Traced { conversation(id: "c0000000-0000-4000-8000-000000000001") { id } }',
      }),
    });
    expect(await response.json()).toEqual({ data: { conversation: { id: "c0000000-0000-4000-8000-000000000001" } } });
    const spans = await (async () => {
      for (let i = 0; i < 100; i++) {
        const found = exporter.getFinishedSpans();
        if (found.some(isGraphqlServerSpan)) return found;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return exporter.getFinishedSpans();
    })();
    const server = spans.find(isGraphqlServerSpan);
    expect(server, spans.map((s) => s.name).join(", ")).toBeDefined();
    const trace = spans.filter((s) => s.spanContext().traceId === server!.spanContext().traceId);
    const scopes = new Set(trace.map((s) => s.instrumentationScope.name));
    expect(scopes).toContain("@opentelemetry/instrumentation-graphql");
    expect(trace.map((s) => s.name)).toContain("query Traced");
    // The Genesys call: an outgoing (client) GET to the emulator, inside the same trace.
    expect(trace.some((s) => s.instrumentationScope.name === "@opentelemetry/instrumentation-http" && s.kind === 2 && s.name === "GET")).toBe(true);
    expect(server!.resource.attributes["service.name"]).toBe("gateway-under-test");
  });

  it("does not trace probes", async () => {
    exporter.reset();
    await fetch(new URL("/readyz", stack.gateway.url));
    await fetch(new URL("/metrics", stack.gateway.url));
    expect(exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name === "@opentelemetry/instrumentation-http" && s.kind === 1)).toEqual([]);
  });
});
