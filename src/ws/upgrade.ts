/**
 * WebSocket upgrades of the gateway port: only `/graphql`, and only from no Origin (not a
 * browser), an allow-listed origin (`CORS_ORIGINS`) or the same origin. Refusals are plain
 * HTTP answers with a JSON body in GraphQL's error shape (404 `NOT_FOUND`, 403
 * `ORIGIN_NOT_ALLOWED`, and for a handshake `ws` finds malformed 400 `BAD_REQUEST` or 405
 * `METHOD_NOT_ALLOWED` instead of ws's own text/html answer); the socket is never opened.
 */
import type http from "node:http";
import type { Duplex } from "node:stream";
import type { WebSocketServer } from "ws";
import type { OriginPolicy } from "../http/origins.js";

/** The path WebSocket clients connect to. */
export const GRAPHQL_WS_PATH = "/graphql";

function refuse(socket: Duplex, status: number, reason: string, code: string, message: string, headers = ""): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n${headers}Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * Answers the handshakes `ws` refuses (`wsClientError`: wrong method, missing or invalid
 * `Sec-WebSocket-Key`/`-Version`/`-Protocol`/`-Extensions`). `ws` gives the reason but not its
 * status: a method other than GET is 405, anything else 400 with the version this server speaks
 * (`Sec-WebSocket-Version: 13`, RFC 6455 §4.4).
 */
function answerMalformedHandshakes(wss: WebSocketServer): void {
  wss.on("wsClientError", (error: Error, socket: Duplex, req: http.IncomingMessage) => {
    if (req.method !== "GET") {
      refuse(socket, 405, "Method Not Allowed", "METHOD_NOT_ALLOWED", "WebSocket handshakes are GET requests.", "Allow: GET\r\n");
      return;
    }
    refuse(socket, 400, "Bad Request", "BAD_REQUEST", `Not a valid WebSocket handshake: ${error.message}.`, "Sec-WebSocket-Version: 13\r\n");
  });
}

/** Routes the HTTP server's upgrade requests to `wss` after the path and Origin checks. */
export function routeUpgrades(httpServer: http.Server, wss: WebSocketServer, origins: OriginPolicy): void {
  answerMalformedHandshakes(wss);
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
