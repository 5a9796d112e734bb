/**
 * The graphql-ws transport (`ws://…/graphql`, protocol `graphql-transport-ws`): graphql-ws's
 * protocol core on the gateway's `ws` adapter (./ws-adapter.ts: errors to the log, not stderr), with the gateway's rules:
 * - `connection_init` must carry `{"authorization": "Bearer …"}` when caller auth is on;
 *   missing or bad credentials close the socket with 4401; a JWT's socket is closed with 4403
 *   when the token expires;
 * - every `subscribe` goes through the shared core (graphql/operation.ts) with a fresh context:
 *   the same rate limit, limits, validation, scopes and error mask as HTTP;
 * - open subscriptions are capped per socket and per caller (`SUBSCRIPTION_LIMIT_REACHED`);
 * - with `observability`, every operation (refused ones included, with their codes) gets its
 *   log line and metrics (observability/request-log.ts), each subscribe its own request id.
 */
import type { OperationDefinitionNode } from "graphql";
import type { Context, ServerOptions } from "graphql-ws";
import type { Extra } from "graphql-ws/use/ws";
import type { WebSocketServer } from "ws";
import type { Authenticator } from "../auth/authenticator.js";
import type { Caller } from "../auth/caller.js";
import { AuthenticationError, AuthenticationUnavailableError } from "../auth/errors.js";
import { subscriptionLimitReached, unauthenticated } from "../graphql/errors.js";
import type { OperationCore } from "../graphql/operation.js";
import { subscribeShared } from "../graphql/shared-execution.js";
import { ConcurrencyLimiter, type Release } from "../limits/concurrent-subscriptions.js";
import type { Logger } from "../logger.js";
import { withOperationLogging, type OperationLogDependencies } from "../observability/request-log.js";
import { serveGraphqlWsOnWs } from "./ws-adapter.js";

/** graphql-ws close codes used here (graphql-ws `CloseCode`: 4401 Unauthorized, 4403 Forbidden). */
export const CLOSE_UNAUTHORIZED = 4401;
/** RFC 6455 §7.4.1 / IANA 1013 "Try Again Later": the credentials could not be checked (JWT key set unavailable). */
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** Sent when the socket's JWT expires. */
export const CLOSE_FORBIDDEN = 4403;

/** setTimeout's longest delay (ms); later expiries are re-armed. */
const MAX_TIMER_MS = 2_147_483_647;

/** Options of {@link serveGraphqlWs}. */
export interface GraphqlWsOptions {
  core: OperationCore;
  authenticator: Authenticator;
  logger: Logger;
  /** Operation log and metrics; none: operations are not logged. */
  observability?: OperationLogDependencies;
  /** Open subscriptions per socket; 0 = no cap. */
  subscriptionsPerSocket: number;
  /** Open subscriptions per caller over all its sockets; 0 = no cap. */
  subscriptionsPerCaller: number;
}

interface Connection {
  caller: Caller;
  socketKey: string;
  /** Releases of the subscriptions open on this socket, by graphql-ws operation id. */
  open: Map<string, Release>;
  /** Operations refused at subscribe, by graphql-ws id, until their log line is written. */
  refused: Map<string, OperationDefinitionNode | undefined>;
  expiry?: NodeJS.Timeout;
}

type WsContext = Context<Record<string, unknown> | undefined, Extra>;

/** Serves graphql-ws on `wss`; the returned `dispose` closes every socket (1001) and the server. */
export function serveGraphqlWs(wss: WebSocketServer, options: GraphqlWsOptions): { dispose(): void | Promise<void> } {
  const { core, authenticator, logger } = options;
  const perSocket = new ConcurrencyLimiter(options.subscriptionsPerSocket);
  const perCaller = new ConcurrencyLimiter(options.subscriptionsPerCaller);
  const connections = new WeakMap<object, Connection>();
  let sockets = 0;

  const closeAtExpiry = (connection: Connection, socket: Extra["socket"]) => {
    const expiresAt = connection.caller.expiresAt;
    if (expiresAt === undefined) return;
    const arm = () => {
      const left = expiresAt - Date.now();
      if (left <= 0) {
        socket.close(CLOSE_FORBIDDEN, "Forbidden: the token has expired");
        return;
      }
      connection.expiry = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      connection.expiry.unref();
    };
    arm();
  };

  // Read (and dropped) by the operation log's line of that refusal; kept only when there is one.
  const noteRefused = (connection: Connection, id: string, operation: OperationDefinitionNode | undefined) => {
    if (options.observability) connection.refused.set(id, operation);
  };

  const release = (connection: Connection, id: string) => {
    connection.open.get(id)?.();
    connection.open.delete(id);
  };

  const serverOptions: ServerOptions<Record<string, unknown> | undefined, Extra> = {
      schema: core.schema,
      // One execution per change event for identical subscriptions of one caller (issue 8).
      subscribe: subscribeShared,
      onConnect: async (ctx: WsContext) => {
        const { socket, request } = ctx.extra;
        const params = ctx.connectionParams ?? {};
        const presented = params.authorization ?? params.Authorization;
        try {
          const caller = await authenticator.authenticate(typeof presented === "string" ? presented : undefined, request.socket.remoteAddress);
          const connection: Connection = { caller, socketKey: `socket:${++sockets}`, open: new Map(), refused: new Map() };
          connections.set(ctx, connection);
          closeAtExpiry(connection, socket);
          return true;
        } catch (error) {
          if (error instanceof AuthenticationUnavailableError) {
            logger.warn({ reason: error.message }, "graphql-ws connection refused: credentials cannot be checked");
            socket.close(CLOSE_TRY_AGAIN_LATER, "Try again later: the credentials cannot be checked");
            return false;
          }
          if (!(error instanceof AuthenticationError)) throw error;
          logger.debug({ reason: error.message }, "graphql-ws connection refused: not authenticated");
          // graphql-ws would close with 4403 on `false`; the caller is not authenticated: 4401.
          socket.close(CLOSE_UNAUTHORIZED, "Unauthorized");
          return false;
        }
      },
      onSubscribe: async (ctx: WsContext, id, payload) => {
        const connection = connections.get(ctx);
        if (!connection) return [unauthenticated("The connection is not authenticated.")];
        if (connection.caller.expiresAt !== undefined && connection.caller.expiresAt <= Date.now()) {
          ctx.extra.socket.close(CLOSE_FORBIDDEN, "Forbidden: the token has expired");
          return [unauthenticated("The token has expired.")];
        }
        // A fresh context (loaders, request id) for every subscribe message, never per connection.
        const contextValue = core.createContext(connection.caller);
        const prepared = await core.prepare(payload, contextValue, "websocket");
        if (!prepared.ok) {
          noteRefused(connection, id, prepared.operation);
          return prepared.errors;
        }
        if (prepared.operation.operation === "subscription") {
          const socketSlot = await perSocket.acquire(connection.socketKey);
          if (!socketSlot) {
            noteRefused(connection, id, prepared.operation);
            return [subscriptionLimitReached("socket", perSocket.max)];
          }
          const callerSlot = await perCaller.acquire(`${connection.caller.kind}:${connection.caller.id}`);
          if (!callerSlot) {
            socketSlot();
            noteRefused(connection, id, prepared.operation);
            return [subscriptionLimitReached("caller", perCaller.max)];
          }
          connection.open.set(id, () => {
            socketSlot();
            callerSlot();
          });
        }
        return {
          schema: core.schema,
          document: prepared.document,
          variableValues: payload.variables,
          operationName: payload.operationName,
          // Fresh loaders for every subscribe message, never per connection.
          contextValue,
        };
      },
      onComplete: (ctx: WsContext, id) => {
        const connection = connections.get(ctx);
        if (connection) release(connection, id);
      },
      onClose: (ctx: WsContext) => {
        const connection = connections.get(ctx);
        if (!connection) return;
        if (connection.expiry) clearTimeout(connection.expiry);
        for (const id of [...connection.open.keys()]) release(connection, id);
        void perSocket.forget(connection.socketKey);
        connections.delete(ctx);
      },
      // The same masking and codes as over HTTP.
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((e) => core.formatError(e.toJSON(), e)) } : undefined,
      onError: (_ctx, _id, _payload, errors) => {
        logger.debug({ codes: errors.map((e) => e.extensions?.code) }, "graphql-ws operation refused");
        return errors.map((e) => core.formatError(e.toJSON(), e));
      },
  };
  const logged = options.observability
    ? withOperationLogging(serverOptions, options.observability, (ctx, id) => {
        const connection = connections.get(ctx);
        if (!connection) return undefined;
        const operation = connection.refused.get(id);
        connection.refused.delete(id);
        return { callerId: connection.caller.id, operation };
      })
    : serverOptions;
  return serveGraphqlWsOnWs<Record<string, unknown> | undefined>(wss, logged, logger);
}
