/**
 * The Apollo Server of `POST /graphql` (and GET queries), on express. Parse, validation and
 * error masking are the shared core's (operation-plugin.ts); Apollo executes and answers.
 * CSRF prevention stays on (Apollo's default): a GET, or a POST with a non-JSON content type,
 * needs an `apollo-require-preflight` or `x-apollo-operation-name` header. Apollo's landing page
 * (Sandbox from a CDN) is off: the IDE is ours (graphql/ide.ts).
 */
import type http from "node:http";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import type { GatewayContext } from "../graphql/context.js";
import type { OperationCore } from "../graphql/operation.js";
import { operationPlugin } from "./operation-plugin.js";

/** Options of {@link createApollo}. */
export interface ApolloOptions {
  core: OperationCore;
  httpServer: http.Server;
  /** Runs while the server drains (closing the WebSocket side). */
  drain?: () => Promise<void>;
  /** More plugins (request logging, …), after the core's. */
  plugins?: ApolloServerPlugin<GatewayContext>[];
}

/** Creates (does not start) the Apollo Server. */
export function createApollo(options: ApolloOptions): ApolloServer<GatewayContext> {
  const { core, httpServer, drain } = options;
  return new ApolloServer<GatewayContext>({
    schema: core.schema,
    formatError: core.formatError,
    includeStacktraceInErrorResponses: false,
    // The core prepares every document (operation-plugin.ts): no cache may hand Apollo another.
    documentStore: null,
    persistedQueries: false,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    // Shutdown belongs to the process (main.ts stops gateway and emulator in order); Apollo's own
    // signal handlers would race it and leave the emulator running.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { async serverWillStart() { return { async drainServer() { await drain?.(); } }; } },
      operationPlugin(core),
      ApolloServerPluginLandingPageDisabled(),
      ...(options.plugins ?? []),
    ],
  });
}
