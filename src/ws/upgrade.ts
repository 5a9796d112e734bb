/**
 * WebSocket upgrades of the gateway port: only `/graphql`, and only from no Origin (not a
 * browser), an allow-listed origin (`CORS_ORIGINS`) or the same origin. Refusals are plain
 * HTTP answers with a JSON body in GraphQL's error shape (404 `NOT_FOUND`, 403
 * `ORIGIN_NOT_ALLOWED`); the socket is never opened.
 */
import type http from "node:http";
import type { Duplex } from "node:stream";
import type { WebSocketServer } from "ws";
import type { OriginPolicy } from "../http/origins.js";

/** The path WebSocket clients connect to. */
export const GRAPHQL_WS_PATH = "/graphql";

function refuse(socket: Duplex, status: number, reason: string, code: string, message: string): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Routes the HTTP server's upgrade requests to `wss` after the path and Origin checks. */
export function routeUpgrades(httpServer: http.Server, wss: WebSocketServer, origins: OriginPolicy): void {
  httpServer.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const path = new URL(req.url ?? "/", "http://gateway").pathname;
    if (path !== GRAPHQL_WS_PATH) {
      refuse(socket, 404, "Not Found", "NOT_FOUND", `WebSocket connections are served at ${GRAPHQL_WS_PATH} only.`);
      return;
    }
    if (!origins.allowsUpgrade(req.headers.origin, req.headers.host)) {
      refuse(socket, 403, "Forbidden", "ORIGIN_NOT_ALLOWED", "This origin is not allowed to open the gateway's WebSocket (CORS_ORIGINS).");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  });
}
