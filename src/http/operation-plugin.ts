/**
 * Hands every HTTP operation to the shared core (graphql/operation.ts) instead of Apollo's own
 * parse and validation, so HTTP and WebSocket run exactly the same checks.
 *
 * How: Apollo parses and validates only when the request context has no document yet
 * (`processGraphQLRequest` in @apollo/server's requestPipeline.ts: `if (!requestContext.document)`,
 * the path its document cache uses). The server runs with `documentStore: null`, and this
 * plugin's `didResolveSource` sets the document the core prepared. A refused operation gets
 * a placeholder document and its answer (errors, status, headers) from `responseForOperation`,
 * so nothing executes.
 */
import { HeaderMap, type ApolloServerPlugin } from "@apollo/server";
import { parse, type DocumentNode } from "graphql";
import type { GatewayContext } from "../graphql/context.js";
import type { OperationCore, RefusedOperation } from "../graphql/operation.js";

/** Stands in for the document of a refused operation; never executed. */
const REFUSED_PLACEHOLDER: DocumentNode = parse("query Refused { __typename }");

const refusals = new WeakMap<GatewayContext, RefusedOperation>();

/**
 * The core's refusal of the HTTP operation of `context`, when it was refused (its answer came
 * from `responseForOperation`, Apollo saw only a placeholder document): the operation log
 * reports the refused operation, not the placeholder.
 */
export function refusalOf(context: GatewayContext): RefusedOperation | undefined {
  return refusals.get(context);
}

/** The Apollo plugin running {@link OperationCore.prepare} for every HTTP operation. */
export function operationPlugin(core: OperationCore): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      let refused: RefusedOperation | undefined;
      return {
        async didResolveSource(requestContext) {
          const { request } = requestContext;
          const prepared = await core.prepare(
            { query: requestContext.source, operationName: request.operationName, variables: request.variables },
            requestContext.contextValue,
            "http",
          );
          if (prepared.ok) {
            (requestContext as { document?: DocumentNode }).document = prepared.document;
          } else {
            refused = prepared;
            refusals.set(requestContext.contextValue, prepared);
            (requestContext as { document?: DocumentNode }).document = REFUSED_PLACEHOLDER;
          }
        },
        async responseForOperation() {
          if (!refused) return null;
          return {
            http: { status: refused.status, headers: new HeaderMap(Object.entries(refused.headers)) },
            body: { kind: "single", singleResult: { errors: refused.errors.map((e) => core.formatError(e.toJSON(), e)) } },
          };
        },
      };
    },
  };
}
