/**
 * One JSON log line per GraphQL operation, on both transports, plus the server-side record of
 * every masked internal error.
 *
 * The line (`msg: "graphql operation"`, level info):
 * `{requestId, transport: "http"|"ws", connectionId? (ws), operationType, operationName,
 *   caller, durationMs, outcome: "success"|"error", errorCodes, upstreamCalls, upstream,
 *   results? (ws: results sent), traceId? (HTTP, with tracing on)}` — `caller` is
 *   `context.caller.id` (auth/caller.ts); a request refused before GraphQL (401, CORS, bad
 *   body) gets the same line with `operationType: "unknown"`, `status` and the answer's code;
 *   `upstream` maps SDK operation names to the Genesys
 * exchanges the operation caused (attempts, retries and logins included).
 *
 * Every error the caller sees as `INTERNAL_SERVER_ERROR` is logged at level error with its real
 * message and stack (`msg: "masked internal error"`, `requestId`, `path`), and the caller's
 * error carries `extensions.requestId` so support can find that line.
 *
 * HTTP: {@link httpRequestIds} (pino-http's `genReqId`: `X-Request-Id` taken when acceptable,
 * else a UUID; echoed in the response header) and {@link operationLogPlugin} (Apollo).
 * graphql-ws: {@link assignConnectionIds} on the WebSocketServer and
 * {@link withOperationLogging} around the `useServer` options; every subscribe message gets
 * its own request id, the socket's id (from the upgrade's `X-Request-Id`) is `connectionId`.
 */
import type { IncomingMessage } from "node:http";
import type { ApolloServerPlugin } from "@apollo/server";
import { trace } from "@opentelemetry/api";
import type { RequestHandler } from "express";
import {
  execute as graphqlExecute,
  getOperationAST,
  GraphQLError,
  subscribe as graphqlSubscribe,
  type ExecutionArgs,
  type GraphQLFormattedError,
  type OperationDefinitionNode,
} from "graphql";
import type { Context, ServerOptions } from "graphql-ws";
import { pinoHttp } from "pino-http";
import type { WebSocketServer } from "ws";
import type { GatewayContext } from "../graphql/context.js";
import { isMaskedError, maskError } from "../graphql/error-masking.js";
import { refusalOf } from "../http/operation-plugin.js";
import type { Logger } from "../logger.js";
import type { GatewayMetrics, OperationOutcome } from "./metrics.js";
import { OperationScope, operationScopes, requestIdFrom } from "./operation-scope.js";

/** What the operation log needs. */
export interface OperationLogDependencies {
  logger: Logger;
  metrics: GatewayMetrics;
}

/** The caller's id for the log line: `context.caller.id` (set by auth, graphql/context.ts). */
function callerIdOf(context: unknown): string | undefined {
  return (context as { caller?: { id?: string } } | undefined)?.caller?.id;
}

function codesOf(errors: readonly GraphQLFormattedError[] | undefined): string[] {
  return (errors ?? []).map((e) => String(e.extensions?.code ?? "INTERNAL_SERVER_ERROR"));
}

/** Adds `extensions.requestId` to every INTERNAL_SERVER_ERROR. */
function withRequestId(errors: readonly GraphQLFormattedError[], requestId: string): GraphQLFormattedError[] {
  return errors.map((e) => (e.extensions?.code === "INTERNAL_SERVER_ERROR" ? { ...e, extensions: { ...e.extensions, requestId } } : e));
}

function logMasked(logger: Logger, requestId: string, errors: readonly GraphQLError[]): void {
  for (const error of errors) {
    if (!isMaskedError(error)) continue;
    const real = error.originalError ?? error;
    logger.error({ requestId, path: error.path, err: real }, "masked internal error");
  }
}

interface LineFields {
  requestId: string;
  transport: "http" | "ws";
  connectionId?: string;
  operationType: string;
  operationName?: string;
  caller?: string;
  startedAt: number;
  codes: string[];
  scope: OperationScope;
  results?: number;
}

function logLine(deps: OperationLogDependencies, f: LineFields, observe: boolean): void {
  const durationMs = Math.round((performance.now() - f.startedAt) * 10) / 10;
  const outcome: OperationOutcome = f.codes.length > 0 ? "error" : "success";
  if (observe) deps.metrics.observeOperation(f.operationType, f.operationName, outcome, durationMs);
  deps.logger.info(
    {
      requestId: f.requestId,
      transport: f.transport,
      ...(f.connectionId ? { connectionId: f.connectionId } : {}),
      operationType: f.operationType,
      operationName: f.operationName ?? null,
      caller: f.caller ?? null,
      durationMs,
      outcome,
      errorCodes: [...new Set(f.codes)],
      upstreamCalls: f.scope.upstreamCalls,
      upstream: Object.fromEntries(f.scope.upstream),
      ...(f.scope.traceId ? { traceId: f.scope.traceId } : {}),
      ...(f.results !== undefined ? { results: f.results } : {}),
    },
    "graphql operation",
  );
}

/**
 * Express middleware for the GraphQL route: pino-http gives the request its id (`req.id`, the
 * `X-Request-Id` response header) and the rest of the chain runs in the operation's scope.
 * pino-http's own per-request line is off: the operation line replaces it.
 */
export function httpRequestIds(logger: Logger): RequestHandler[] {
  const ids = pinoHttp({
    logger,
    autoLogging: false,
    quietReqLogger: true,
    customAttributeKeys: { reqId: "requestId" },
    genReqId: (req, res) => {
      const id = requestIdFrom(req.headers["x-request-id"]);
      res.setHeader("X-Request-Id", id);
      return id;
    },
  });
  return [
    ids,
    (req, res, next) => {
      // With tracing on, the request's span carries the request id and the line the trace id.
      const span = trace.getActiveSpan();
      span?.setAttribute("gateway.request_id", String(req.id));
      const scope = new OperationScope(String(req.id), span?.spanContext().traceId);
      const startedAt = performance.now();
      // Refused before GraphQL (credentials, origin, body): no operation line was written.
      res.once("finish", () => {
        if (scope.operationLogged || res.statusCode < 400) return;
        const code = (res.locals as { errorCode?: unknown }).errorCode;
        logger.info(
          {
            requestId: scope.requestId,
            transport: "http",
            operationType: "unknown",
            operationName: null,
            caller: (res.locals as { caller?: { id?: string } }).caller?.id ?? null,
            durationMs: Math.round((performance.now() - startedAt) * 10) / 10,
            outcome: "error",
            errorCodes: typeof code === "string" ? [code] : [],
            status: res.statusCode,
            upstreamCalls: 0,
            upstream: {},
            ...(scope.traceId ? { traceId: scope.traceId } : {}),
          },
          "graphql operation",
        );
      });
      operationScopes.run(scope, next);
    },
  ];
}

/** Apollo plugin writing the operation line and the masked-error records for HTTP requests. */
export function operationLogPlugin(deps: OperationLogDependencies): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart({ contextValue }) {
      const startedAt = performance.now();
      const scope = operationScopes.getStore() ?? new OperationScope(contextValue.requestId);
      return {
        async didEncounterErrors({ errors }) {
          logMasked(deps.logger, contextValue.requestId, errors);
        },
        async willSendResponse({ response, operation: executed, operationName, request }) {
          scope.operationLogged = true;
          // Refused by the core (limits, scopes, validation…): the answer came from the operation
          // plugin's responseForOperation, and Apollo's operation is a placeholder.
          const refusal = refusalOf(contextValue);
          const operation = refusal ? refusal.operation : executed;
          let codes: string[] = [];
          if (response.body.kind === "single") {
            const errors = response.body.singleResult.errors;
            if (errors) response.body.singleResult.errors = withRequestId(errors, contextValue.requestId);
            codes = codesOf(errors);
          }
          logLine(
            deps,
            {
              requestId: contextValue.requestId,
              transport: "http",
              operationType: operation?.operation ?? "unknown",
              operationName: (refusal ? refusal.operation?.name?.value : operationName) ?? request.operationName ?? undefined,
              caller: callerIdOf(contextValue),
              startedAt,
              codes,
              scope,
            },
            true,
          );
        },
      };
    },
  };
}

const connectionIds = new WeakMap<IncomingMessage, string>();

/** Gives every WebSocket upgrade an id (its `X-Request-Id` when acceptable) and echoes it in the 101 answer. */
export function assignConnectionIds(server: WebSocketServer): void {
  server.on("headers", (headers, request) => {
    const id = requestIdFrom(request.headers["x-request-id"]);
    connectionIds.set(request, id);
    headers.push(`X-Request-Id: ${id}`);
  });
}

/** What the log line of a graphql-ws operation refused before execution names. */
export interface RefusedDescription {
  /** The socket's caller (`context.caller.id`), when the socket is authenticated. */
  callerId?: string;
  /** The refused operation, when it was selected before the refusal. */
  operation?: OperationDefinitionNode;
}

interface WsOperation extends LineFields {
  executed: boolean;
  streaming: boolean;
  done: boolean;
  results: number;
}

/**
 * Wraps graphql-ws server options: the same operation line and masked-error records as over
 * HTTP, execution inside the operation's scope, and the active-subscription gauge. The wrapped
 * `onSubscribe` must return execution args whose `contextValue` has a `requestId`.
 * Errors the wrapped `onError` leaves unformatted are masked here when unexpected.
 */
export function withOperationLogging<P extends Record<string, unknown> | undefined, E>(
  options: ServerOptions<P, E>,
  deps: OperationLogDependencies,
  describeRefused?: (ctx: Context<P, E>, id: string) => RefusedDescription | undefined,
): ServerOptions<P, E> {
  const byContext = new WeakMap<object, WsOperation>();
  const byId = new WeakMap<object, Map<string, WsOperation>>();
  const find = (ctx: object, id: string) => byId.get(ctx)?.get(id);
  const finish = (ctx: object, id: string) => {
    const op = find(ctx, id);
    if (!op || op.done) return;
    op.done = true;
    byId.get(ctx)?.delete(id);
    if (op.streaming) deps.metrics.subscriptionDelta(-1);
    logLine(deps, op, !op.streaming);
  };
  const inScope = <T>(args: ExecutionArgs, run: () => T): T => {
    const op = byContext.get(args.contextValue as object);
    if (!op) return run();
    op.executed = true;
    return operationScopes.run(op.scope, run);
  };
  const execute = options.execute ?? graphqlExecute;
  const subscribe = options.subscribe ?? graphqlSubscribe;

  return {
    ...options,
    onSubscribe: async (ctx, id, payload) => {
      const startedAt = performance.now();
      const result = await options.onSubscribe?.(ctx, id, payload);
      const args = result && !Array.isArray(result) ? (result as ExecutionArgs) : undefined;
      const requestId = (args?.contextValue as { requestId?: string } | undefined)?.requestId ?? requestIdFrom(undefined);
      const request = (ctx.extra as { request?: IncomingMessage } | undefined)?.request;
      const refused = args ? undefined : describeRefused?.(ctx, id);
      const operation = args ? getOperationAST(args.document, args.operationName) : refused?.operation;
      const op: WsOperation = {
        requestId,
        transport: "ws",
        connectionId: request ? connectionIds.get(request) : undefined,
        operationType: operation?.operation ?? "unknown",
        operationName: payload.operationName ?? operation?.name?.value ?? undefined,
        caller: args ? callerIdOf(args.contextValue) : refused?.callerId,
        startedAt,
        codes: [],
        scope: new OperationScope(requestId),
        executed: false,
        streaming: false,
        done: false,
        results: 0,
      };
      let ops = byId.get(ctx);
      if (!ops) byId.set(ctx, (ops = new Map()));
      ops.set(id, op);
      if (args?.contextValue && typeof args.contextValue === "object") byContext.set(args.contextValue, op);
      return result;
    },
    execute: (args) => inScope(args, () => execute(args)),
    subscribe: (args) => inScope(args, () => subscribe(args)),
    onOperation: async (ctx, id, payload, args, result) => {
      const op = find(ctx, id);
      if (op && result && typeof result === "object" && Symbol.asyncIterator in result) {
        op.streaming = true;
        deps.metrics.subscriptionDelta(1);
        deps.metrics.observeOperation(op.operationType, op.operationName, "success", performance.now() - op.startedAt);
      }
      return options.onOperation?.(ctx, id, payload, args, result);
    },
    onNext: async (ctx, id, payload, args, result) => {
      const formatted = (await options.onNext?.(ctx, id, payload, args, result)) ?? {
        ...result,
        ...(result.errors ? { errors: result.errors.map((e) => e.toJSON()) } : {}),
      };
      const op = find(ctx, id);
      if (!op) return formatted;
      op.results += 1;
      if (result.errors) logMasked(deps.logger, op.requestId, result.errors);
      if (!formatted.errors) return formatted;
      op.codes.push(...codesOf(formatted.errors));
      return { ...formatted, errors: withRequestId(formatted.errors, op.requestId) };
    },
    onError: async (ctx, id, payload, errors) => {
      const op = find(ctx, id);
      const requestId = op?.requestId ?? requestIdFrom(undefined);
      const formatted =
        (await options.onError?.(ctx, id, payload, errors)) ??
        errors.map((e) => maskError(e.toJSON(), e));
      logMasked(deps.logger, requestId, errors);
      if (op) {
        op.codes.push(...codesOf(formatted));
        // Refused before execution (parse, validation, variables): graphql-ws sends no complete.
        if (!op.executed) finish(ctx, id);
      }
      return withRequestId(formatted, requestId);
    },
    onComplete: async (ctx, id, payload) => {
      await options.onComplete?.(ctx, id, payload);
      finish(ctx, id);
    },
  };
}
