/**
 * graphql-ws's protocol core (`makeServer`) on the `ws` library: the gateway's own adapter, in
 * place of graphql-ws's `useServer` (graphql-ws/use/ws), which it follows line for line except
 * that every error goes to the gateway's logger instead of `console.error` with a stack on
 * stderr. A client sending an invalid frame (bad UTF-8, reserved bits, over `maxPayload`) is an
 * everyday event at an edge: `ws` has already closed that socket with the RFC 6455 code
 * (1002, 1007, 1009); it is logged at debug with that code, and the process's output stays
 * JSON lines.
 *
 * Source of the behaviour followed: graphql-ws 6.x `src/use/ws.ts` (protocol selection with
 * `handleProtocols`, keep-alive pings every `keepAliveMs`, terminate when no pong comes within
 * the next interval, close 4500 on an internal error, 1001 on dispose).
 */
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from "graphql-ws";
import type { Extra } from "graphql-ws/use/ws";
import type { WebSocketServer } from "ws";
import type { Logger } from "../logger.js";

/** Serves `options` (graphql-ws server options) on every connection of `wss`. */
export function serveGraphqlWsOnWs<P extends Record<string, unknown> | undefined>(
  wss: WebSocketServer,
  options: ServerOptions<P, Extra>,
  logger: Logger,
  /** Interval of keep-alive pings (ms); a socket without a pong within one more interval is terminated. 0 = none. */
  keepAliveMs = 12_000,
): { dispose(): Promise<void> } {
  const server = makeServer<P, Extra>(options);
  wss.options.handleProtocols = handleProtocols;
  wss.on("error", (error) => {
    logger.error({ err: error }, "graphql-ws: WebSocket server error; closing its sockets");
    for (const client of wss.clients) client.close(CloseCode.InternalServerError, "Internal server error");
  });
  wss.on("connection", (socket, request) => {
    socket.once("error", (error: Error & { code?: string }) => {
      // ws raises these for frames the client got wrong, after closing the socket itself.
      logger.debug({ code: error.code, reason: error.message }, "graphql-ws: socket closed on an invalid frame");
      socket.close(CloseCode.InternalServerError, "Internal server error");
    });
    let pongWait: NodeJS.Timeout | undefined;
    const pings =
      keepAliveMs > 0 && Number.isFinite(keepAliveMs)
        ? setInterval(() => {
            if (socket.readyState !== socket.OPEN) return;
            pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
            socket.once("pong", () => {
              clearTimeout(pongWait);
              pongWait = undefined;
            });
            socket.ping();
          }, keepAliveMs)
        : undefined;
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on("message", async (data) => {
            try {
              await handle(String(data));
            } catch (error) {
              logger.error({ err: error }, "graphql-ws: internal error while handling a message; socket closed with 4500");
              socket.close(CloseCode.InternalServerError, "Internal server error");
            }
          }),
      },
      { socket, request },
    );
    socket.once("close", (code, reason) => {
      clearTimeout(pongWait);
      clearInterval(pings);
      void closed(code, String(reason));
    });
  });
  return {
    dispose: async () => {
      for (const client of wss.clients) client.close(1001, "Going away");
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
