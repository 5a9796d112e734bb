/**
 * The GraphQL gateway server: Apollo Server over express for queries and mutations
 * (`POST /graphql`), graphql-ws for subscriptions (`ws://…/graphql`), on one port, plus
 * `GET /healthz` and Prometheus `GET /metrics`.
 *
 * It talks to Genesys only through `GenesysClient` (REST) and `NotificationChannel`
 * (WebSocket); it never imports the emulator.
 */
import "reflect-metadata";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import { getOperationAST, getVariableValues, GraphQLError, parse, validate, type GraphQLFormattedError } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { Registry, collectDefaultMetrics } from "prom-client";
import { WebSocketServer } from "ws";
import { AttributeChangeFeed } from "./attributes/change-feed.js";
import { AttributeUpdater, type VerifyTiming } from "./attributes/update.js";
import { GenesysClient, type GenesysEndpoint } from "./genesys/client.js";
import { NotificationChannel } from "./genesys/notifications.js";
import { createContext, type GatewayContext, type GatewayServices } from "./graphql/context.js";
import { buildGatewaySchema } from "./graphql/schema.js";
import type { Logger } from "./logger.js";

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  genesys: { endpoint: GenesysEndpoint; clientId: string; clientSecret: string };
  logger: Logger;
  /** Verify-loop timing of `updateAttributes` (ms); `deadlineMs` defaults to 5 000. */
  verify?: Partial<VerifyTiming>;
  /** A notification socket silent this long is replaced (ms). Default 75 000. */
  heartbeatTimeoutMs?: number;
}

/** A running gateway. */
export interface RunningGateway {
  /** `http://host:port/graphql` */
  url: string;
  /** `ws://host:port/graphql` */
  wsUrl: string;
  port: number;
  /** Stops accepting, completes subscriptions, closes the Genesys socket. */
  close(): Promise<void>;
}

/** Masks anything that is not a deliberate GraphQLError with a code; never leaks stacks or upstream details. */
function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (code && code !== "INTERNAL_SERVER_ERROR") return formatted;
  const original = error instanceof GraphQLError ? error.originalError : undefined;
  if (original instanceof GraphQLError && original.extensions?.code) {
    return { ...formatted, message: original.message, extensions: { ...original.extensions } };
  }
  return { message: "Internal server error", locations: formatted.locations, path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
}

/**
 * Starts the gateway. Authenticates with Genesys first so bad credentials fail at start.
 * @throws GenesysError when the first login fails; Node's listen error (`code` EADDRINUSE,
 *   EACCES, EADDRNOTAVAIL) when the port cannot be bound, with nothing printed.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { logger } = options;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const genesys = new GenesysClient({ ...options.genesys, logger, registry });
  await genesys.authenticate();
  const channel = new NotificationChannel({ client: genesys, logger, heartbeatTimeoutMs: options.heartbeatTimeoutMs });
  const services: GatewayServices = {
    genesys,
    logger,
    updater: new AttributeUpdater({ backend: genesys, timing: options.verify }),
    feed: new AttributeChangeFeed({ channel, genesys, logger }),
  };

  const schema = await buildGatewaySchema();
  const app = express();
  const httpServer = http.createServer(app);
  const wsServer = new WebSocketServer({ server: httpServer, path: "/graphql" });
  const wsCleanup = useServer(
    {
      schema,
      // Parse and validate here so a bad document gets the same codes as over HTTP
      // (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED) instead of closing the socket.
      onSubscribe: (_ctx, _id, payload) => {
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [new GraphQLError((error as Error).message, { extensions: { code: "GRAPHQL_PARSE_FAILED" } })];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) {
          return errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }));
        }
        const operation = getOperationAST(document, payload.operationName);
        if (operation) {
          const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], payload.variables ?? {});
          if (coerced.errors) {
            return coerced.errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: "BAD_USER_INPUT" } }));
          }
        }
        return {
          schema,
          document,
          variableValues: payload.variables,
          operationName: payload.operationName,
          // Fresh loaders for every subscribe message, never per connection.
          contextValue: createContext(services),
        };
      },
      // Apollo's formatError does not run on this path: apply the same masking and codes here.
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) } : result,
      onError: (_ctx, _id, _payload, errors) => {
        logger.debug({ errors: errors.map((e) => e.message) }, "graphql-ws operation refused");
      },
    },
    wsServer,
  );
  const apollo = new ApolloServer<GatewayContext>({
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    // Shutdown belongs to the process (main.ts stops gateway and emulator in order); Apollo's own
    // signal handlers would race it and leave the emulator running.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { async serverWillStart() { return { async drainServer() { await wsCleanup.dispose(); } }; } },
    ],
  });
  await apollo.start();

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/metrics", async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  app.use("/graphql", express.json({ limit: "256kb" }), expressMiddleware(apollo, { context: async () => createContext(services) }));

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    // A listen error (EADDRINUSE, EACCES) is the caller's to report. ws re-emits the HTTP
    // server's errors on the WebSocket server, where graphql-ws would print "Please check your
    // implementation": its listeners are put back only once the port is ours.
    const others = httpServer.listeners("error") as Array<(error: Error) => void>;
    httpServer.removeAllListeners("error");
    httpServer.once("error", reject);
    httpServer.listen(options.port, host, () => {
      httpServer.off("error", reject);
      for (const listener of others) httpServer.on("error", listener);
      resolve();
    });
  });
  const port = (httpServer.address() as AddressInfo).port;
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  logger.info({ url: `http://${shown}:${port}/graphql` }, "gateway listening");

  let closing: Promise<void> | undefined;
  return {
    url: `http://${shown}:${port}/graphql`,
    wsUrl: `ws://${shown}:${port}/graphql`,
    port,
    close: () =>
      (closing ??= (async () => {
        channel.close();
        await apollo.stop();
      })()),
  };
}
