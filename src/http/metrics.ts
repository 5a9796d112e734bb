/**
 * Prometheus `GET /metrics`: on the gateway port (open when caller auth is off; otherwise a
 * caller with the `metrics:read` scope), or alone on its own port (`METRICS_PORT`), where it
 * is not behind caller auth.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { RequestHandler } from "express";
import type { Registry } from "prom-client";
import type { Authenticator } from "../auth/authenticator.js";
import { AuthenticationError } from "../auth/errors.js";
import { SCOPES } from "../auth/scopes.js";
import { remoteAddress } from "./authentication.js";
import { sendError, sendUnauthenticated } from "./error-answers.js";

/** The `/metrics` handler of the gateway port. */
export function metricsRoute(registry: Registry, authenticator: Authenticator): RequestHandler {
  return async (req, res, next) => {
    try {
      if (authenticator.required) {
        const caller = await authenticator.authenticate(req.headers.authorization, remoteAddress(req));
        if (!caller.scopes.has(SCOPES.metrics)) {
          sendError(res, 403, "FORBIDDEN", `Reading metrics needs the scope "${SCOPES.metrics}".`);
          return;
        }
      }
      res.type(registry.contentType).send(await registry.metrics());
    } catch (error) {
      if (error instanceof AuthenticationError) {
        sendUnauthenticated(res, error.message);
        return;
      }
      next(error);
    }
  };
}

/** A metrics-only HTTP server. */
export interface MetricsServer {
  /** `http://host:port/metrics` */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` alone on `port` (0 picks a free one); anything else is 404 JSON.
 * @throws Error when the port is taken.
 */
export async function startMetricsServer(registry: Registry, port: number, host: string): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://metrics").pathname;
    if (req.method === "GET" && path === "/metrics") {
      void registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
        () => res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } }] })),
      );
      return;
    }
    res
      .writeHead(404, { "content-type": "application/json; charset=utf-8" })
      .end(JSON.stringify({ errors: [{ message: "Only GET /metrics is served on this port.", extensions: { code: "NOT_FOUND" } }] }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return {
    url: `http://${shown}:${actual}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
