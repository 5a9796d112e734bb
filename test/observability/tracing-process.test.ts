/**
 * Traces from the real process: `node dist/src/main.js` (embedded emulator, ephemeral ports)
 * with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a small OTLP/HTTP (JSON) collector this test
 * runs. One GraphQL query must arrive as spans of the http, express and graphql
 * instrumentations in one trace, with the configured service name, and its log line must name
 * that trace; without the variable the
 * gateway starts with tracing off (the log says so by its silence) and sends nothing.
 * `npm test` builds dist/ first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface OtlpSpan {
  name: string;
  kind: number;
  traceId: string;
  scope: string;
  service?: string;
}

/** An OTLP/HTTP JSON collector on an ephemeral port, keeping every span it receives. */
async function startCollector(): Promise<{ url: string; spans: OtlpSpan[]; requests: string[]; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      requests.push(`${req.method} ${req.url} ${req.headers["content-type"]}`);
      if (req.url === "/v1/traces") {
        const payload = JSON.parse(body) as {
          resourceSpans: Array<{
            resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
            scopeSpans: Array<{ scope: { name: string }; spans: Array<{ name: string; kind: number; traceId: string }> }>;
          }>;
        };
        for (const rs of payload.resourceSpans) {
          const service = rs.resource?.attributes?.find((a) => a.key === "service.name")?.value.stringValue;
          for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ name: s.name, kind: s.kind, traceId: s.traceId, scope: ss.scope.name, service });
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Starts the gateway process and resolves with its GraphQL URL once it logs "gateway listening". */
function startGatewayProcess(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; lines: string[] }> {
  const { NODE_ENV: _n, ...base } = process.env;
  const clean = Object.fromEntries(Object.entries(base).filter(([k]) => !k.startsWith("VITEST") && !k.startsWith("OTEL_")));
  const child = spawn(process.execPath, ["dist/src/main.js"], {
    cwd: ROOT,
    env: { ...clean, PORT: "0", EMULATOR_PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${lines.join("\n")}`)), 60_000);
    let buffer = "";
    child.stdout!.on("data", (chunk) => {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        try {
          const parsed = JSON.parse(line) as { msg?: string; url?: string };
          if (parsed.msg === "gateway listening" && parsed.url) {
            clearTimeout(timer);
            resolve({ child, url: parsed.url, lines });
          }
        } catch {
          // not a log line
        }
      }
    });
    child.stderr!.on("data", (chunk) => lines.push(String(chunk)));
    child.once("exit", (code) => reject(new Error(`gateway exited with ${code}: ${lines.join("\n")}`)));
  });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

const query = (url: string) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: 'query Traced { participant(conversationId: "c0000000-0000-4000-8000-000000000002", participantId: "d0000000-0000-4000-8000-000000000021") { name } }' }),
  }).then((r) => r.json());

describe("tracing in the gateway process", () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let gateway: Awaited<ReturnType<typeof startGatewayProcess>> | undefined;
  beforeAll(async () => {
    collector = await startCollector();
  });
  afterAll(async () => {
    await stop(gateway?.child);
    await collector?.close();
  });

  it("sends http, express and graphql spans of one query to OTEL_EXPORTER_OTLP_ENDPOINT", async () => {
    gateway = await startGatewayProcess({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: "gw-traced", OTEL_BSP_SCHEDULE_DELAY: "100" });
    expect(gateway.lines.some((l) => l.includes('"OpenTelemetry tracing on"'))).toBe(true);
    expect(await query(gateway.url)).toEqual({ data: { participant: { name: "John Customer" } } });
    const server = await (async () => {
      for (let i = 0; i < 200; i++) {
        const found = collector.spans.find((s) => s.scope === "@opentelemetry/instrumentation-http" && s.name === "POST /graphql");
        if (found && collector.spans.some((s) => s.traceId === found.traceId && s.name === "query Traced")) return found;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`no POST /graphql trace; got ${JSON.stringify(collector.spans.map((s) => `${s.scope} ${s.name}`))}`);
    })();
    const trace = collector.spans.filter((s) => s.traceId === server.traceId);
    const scopes = new Set(trace.map((s) => s.scope));
    expect(scopes).toEqual(new Set(["@opentelemetry/instrumentation-http", "@opentelemetry/instrumentation-express", "@opentelemetry/instrumentation-graphql"]));
    expect(trace.every((s) => s.service === "gw-traced")).toBe(true);
    // SPAN_KIND_SERVER = 2, SPAN_KIND_CLIENT = 3 in OTLP: the incoming request and the Genesys call.
    expect(server.kind).toBe(2);
    expect(trace.some((s) => s.scope === "@opentelemetry/instrumentation-http" && s.kind === 3)).toBe(true);
    expect(collector.requests.every((r) => r.startsWith("POST /v1/traces application/json"))).toBe(true);
    // The operation's log line names its trace.
    const line = gateway.lines
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg?: string; operationName?: string; traceId?: string })
      .find((l) => l.msg === "graphql operation" && l.operationName === "Traced");
    expect(line?.traceId).toBe(server.traceId);
    await stop(gateway.child);
  });

  it("is off without OTEL_EXPORTER_OTLP_ENDPOINT: nothing is sent", async () => {
    const before = collector.requests.length;
    gateway = await startGatewayProcess({ OTEL_BSP_SCHEDULE_DELAY: "100" });
    expect(gateway.lines.some((l) => l.includes("OpenTelemetry tracing on"))).toBe(false);
    expect(await query(gateway.url)).toEqual({ data: { participant: { name: "John Customer" } } });
    await stop(gateway.child);
    expect(collector.requests.length).toBe(before);
  });
});
