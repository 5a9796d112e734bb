/**
 * OpenTelemetry traces (standard NodeSDK with the http, express and graphql instrumentations),
 * on only when an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT`, OTLP over HTTP:
 * spans go to `{endpoint}/v1/traces`) or a test passes its own span processors.
 *
 * Instrumentations patch modules as they load: start tracing before the gateway's modules are
 * imported (src/main.ts imports the server dynamically after {@link startTracing}). Spans:
 * one per incoming HTTP request (health, readiness and metrics probes excluded), express
 * middleware/route spans, graphql parse/validate/execute and resolver spans (trivial
 * resolvers skipped), and one per outgoing HTTP request (the Genesys calls).
 */
import { register } from "node:module";
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base";

/** Options of {@link startTracing}. */
export interface TracingOptions {
  /** OTLP/HTTP base URL (e.g. `http://127.0.0.1:4318`); spans go to `{endpoint}/v1/traces`. */
  endpoint?: URL;
  /** `service.name` resource attribute. */
  serviceName: string;
  /** Span processors to use instead of the OTLP exporter (tests: an InMemorySpanExporter). */
  spanProcessors?: SpanProcessor[];
}

/** A started tracer provider. */
export interface Tracing {
  /** Flushes pending spans and stops tracing. */
  shutdown(): Promise<void>;
}

/** Paths whose incoming requests are not traced (probes and scrapes). */
const UNTRACED_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * Starts tracing, or does nothing (resolves to undefined) when neither an endpoint nor span
 * processors are given. The OpenTelemetry packages are loaded only then (about 0.5 s).
 */
export async function startTracing(options: TracingOptions): Promise<Tracing | undefined> {
  if (!options.spanProcessors && !options.endpoint) return undefined;
  const [{ OTLPTraceExporter }, { ExpressInstrumentation }, { GraphQLInstrumentation }, { HttpInstrumentation }, { NodeSDK }, { BatchSpanProcessor }] =
    await Promise.all([
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/instrumentation-express"),
      import("@opentelemetry/instrumentation-graphql"),
      import("@opentelemetry/instrumentation-http"),
      import("@opentelemetry/sdk-node"),
      import("@opentelemetry/sdk-trace-base"),
    ]);
  const processors = options.spanProcessors ?? [
    new BatchSpanProcessor(new OTLPTraceExporter({ url: new URL("v1/traces", withSlash(options.endpoint!)).href })),
  ];
  // ESM imports bypass require hooks: express (imported by our ESM modules) is instrumented
  // through import-in-the-middle's loader hook, limited to it. http and graphql are reached
  // through require (node:http is patched in place; type-graphql requires graphql).
  register("@opentelemetry/instrumentation/hook.mjs", import.meta.url, { data: { include: ["express"] } });
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    spanProcessors: processors,
    // Traces only: metrics are Prometheus (/metrics), logs are pino lines. Without these the SDK
    // would start OTLP metric and log exporters of its own.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has(new URL(request.url ?? "/", "http://gateway.invalid").pathname),
      }),
      new ExpressInstrumentation(),
      new GraphQLInstrumentation({ ignoreTrivialResolveSpans: true, mergeItems: true }),
    ],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

function withSlash(url: URL): URL {
  return url.pathname.endsWith("/") ? url : new URL(`${url.href}/`);
}
