/**
 * The one GraphQL core both transports use (HTTP through Apollo, WebSocket through graphql-ws):
 * context creation with the authenticated caller, and the preparation of every operation —
 * rate limit, parse (token limit), validation (cost limits, list nesting, then graphql-js's rules),
 * transport check, scope check, variables, conversations cap — before anything executes or
 * reaches Genesys. The validation rules (graphql-js's, plus the introspection switch of
 * introspection-rule.ts) are one list for both transports. Error masking is {@link maskError}
 * (graphql/error-masking.ts).
 *
 * A refusal carries the GraphQL errors (each with a stable `extensions.code`) and the HTTP
 * status an HTTP answer uses; the WebSocket transport sends the errors as an `error` message.
 */
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from "graphql";
import { randomUUID } from "node:crypto";
import type { Caller } from "../auth/caller.js";
import { requiredScope } from "../auth/scopes.js";
import { RequestRateLimiter } from "../limits/request-rate.js";
import type { LimitSettings } from "../limits/settings.js";
import { createContext, type GatewayContext, type GatewayServices } from "./context.js";
import { maskError } from "./error-masking.js";
import { introspectionRules } from "./introspection-rule.js";
import { forbidden, queryTooComplex, rateLimited, subscriptionRequiresWebSocket } from "./errors.js";
import { conversationsNamed } from "./rules/conversations-per-operation.js";
import { maxAliasesRule } from "./rules/max-aliases.js";
import { maxCostRule } from "./rules/max-cost.js";
import { maxDepthRule } from "./rules/max-depth.js";
import { maxDirectivesRule } from "./rules/max-directives.js";
import { maxListNestingRule } from "./rules/max-list-nesting.js";
import { ValidatedDocuments } from "./validated-documents.js";

/** The transport an operation arrived on. */
export type Transport = "http" | "websocket";

/** An operation as a client sends it (HTTP body / query string, graphql-ws `subscribe` payload). */
export interface OperationRequest {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
}

/** An operation ready to execute. */
export interface PreparedOperation {
  ok: true;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  /** Coerced variable values. */
  variableValues: Record<string, unknown>;
}

/** A refused operation: nothing was executed and nothing was sent to Genesys. */
export interface RefusedOperation {
  ok: false;
  errors: GraphQLError[];
  /** HTTP status for an HTTP answer (400, 403, 429). */
  status: number;
  /** HTTP headers for an HTTP answer (`Retry-After` with 429). */
  headers: Record<string, string>;
  /** The operation refused, when it was selected before the refusal (for the operation log). */
  operation?: OperationDefinitionNode;
}

/**
 * graphql-js reports the token limit as a syntax error with this text (language/parser.ts,
 * `maxTokens`; 16.x spells it "more that"). test/gateway/limits.test.ts pins it.
 */
const TOKEN_LIMIT_MESSAGE = /Document contains more tha[nt] \d+ tokens/;

/** Options of {@link OperationCore}. */
export interface OperationCoreOptions {
  schema: GraphQLSchema;
  services: GatewayServices;
  limits: LimitSettings;
  /** Whether `__schema`/`__type` are allowed (`GRAPHQL_INTROSPECTION`). Default true. */
  introspection?: boolean;
}

/** Prepares operations and creates their contexts. */
export class OperationCore {
  /** The cost-limit validation rules (graphql-armor), run before graphql-js's own rules. */
  readonly limitRules: readonly ValidationRule[];
  /** The validation rules after the limits: graphql-js's specified rules and the introspection switch. */
  readonly validationRules: readonly ValidationRule[];
  /** The list-nesting limit, run once the armor limits pass (so a refusal names one limit). */
  private readonly listRules: readonly ValidationRule[];
  private readonly rate: RequestRateLimiter;
  /** Documents that passed parse and every validation rule, by query text. */
  private readonly validated = new ValidatedDocuments();

  constructor(private readonly options: OperationCoreOptions) {
    const { limits } = options;
    const rules: ValidationRule[] = [];
    if (limits.maxDepth > 0) rules.push(maxDepthRule(limits.maxDepth));
    if (limits.maxAliases > 0) rules.push(maxAliasesRule(limits.maxAliases));
    if (limits.maxDirectives > 0) rules.push(maxDirectivesRule(limits.maxDirectives));
    if (limits.maxCost > 0) rules.push(maxCostRule(limits.maxCost));
    this.limitRules = rules;
    this.validationRules = [...specifiedRules, ...introspectionRules(options.introspection ?? true)];
    this.listRules = limits.maxListNesting > 0 ? [maxListNestingRule(limits.maxListNesting)] : [];
    this.rate = new RequestRateLimiter(limits.requestsPerMinute);
  }

  /** Parse (token limit), cost limits, list nesting, graphql-js validation; a valid document is kept for the next request with the same text. */
  private parseAndValidate(query: string): DocumentNode | RefusedOperation {
    const { limits, schema } = this.options;
    let document: DocumentNode;
    try {
      document = parse(query, limits.maxTokens > 0 ? { maxTokens: limits.maxTokens } : {});
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (TOKEN_LIMIT_MESSAGE.test(message)) {
        return refuse([queryTooComplex("tokens", limits.maxTokens, `Query too complex (tokens): more than ${limits.maxTokens} tokens.`)]);
      }
      const located = error instanceof GraphQLError ? { source: error.source, positions: error.positions } : {};
      return refuse([new GraphQLError(message, { ...located, extensions: { code: "GRAPHQL_PARSE_FAILED" } })]);
    }

    // Limits first: graphql-js's rules (overlapping fields above all) cost more on huge documents.
    const limitErrors = this.limitRules.length > 0 ? validate(schema, document, this.limitRules) : [];
    if (limitErrors.length > 0) return refuse(limitErrors);
    const listErrors = this.listRules.length > 0 ? validate(schema, document, this.listRules) : [];
    if (listErrors.length > 0) return refuse(listErrors);
    const invalid = validate(schema, document, this.validationRules);
    if (invalid.length > 0) {
      return refuse(invalid.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } })));
    }
    this.validated.set(query, document);
    return document;
  }

  /** The schema operations run against. */
  get schema(): GraphQLSchema {
    return this.options.schema;
  }

  /**
   * A fresh context (new loaders) for one operation of `caller`.
   * @param requestId the operation's id in logs and masked errors (HTTP: the request's id;
   *   graphql-ws: one per subscribe message); a new UUID when omitted.
   */
  createContext(caller: Caller, requestId: string = randomUUID()): GatewayContext {
    return createContext(this.options.services, caller, requestId);
  }

  /** The error mask of both transports (Apollo `formatError` signature). */
  readonly formatError = maskError;

  /**
   * Prepares one operation of `context.caller`, in this order: rate limit, parse (token
   * limit), cost limits, list nesting, graphql-js validation, operation selection, transport, scope,
   * variables, conversations cap. Takes one rate-limit point.
   */
  async prepare(request: OperationRequest, context: GatewayContext, transport: Transport): Promise<PreparedOperation | RefusedOperation> {
    const { limits, schema } = this.options;
    const decision = await this.rate.take(`${context.caller.kind}:${context.caller.id}`);
    if (!decision.allowed) {
      return refuse([rateLimited(limits.requestsPerMinute, decision.retryAfterMs)], 429, {
        "retry-after": String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))),
      });
    }
    if (typeof request.query !== "string" || request.query.trim() === "") {
      return refuse([new GraphQLError("The request must carry a non-empty `query` string.", { extensions: { code: "BAD_REQUEST" } })]);
    }
    if (request.operationName != null && typeof request.operationName !== "string") {
      return refuse([new GraphQLError("`operationName` must be a string.", { extensions: { code: "BAD_REQUEST" } })]);
    }
    if (request.variables != null && (typeof request.variables !== "object" || Array.isArray(request.variables))) {
      return refuse([new GraphQLError("`variables` must be a JSON object.", { extensions: { code: "BAD_REQUEST" } })]);
    }

    const document = this.validated.get(request.query) ?? this.parseAndValidate(request.query);
    if (!("kind" in document)) return document;

    const operation = getOperationAST(document, (request.operationName as string | undefined) ?? undefined);
    if (!operation) {
      const message = request.operationName
        ? `Unknown operation named "${request.operationName as string}".`
        : "The document has several operations: give operationName.";
      return refuse([new GraphQLError(message, { extensions: { code: "GRAPHQL_VALIDATION_FAILED" } })]);
    }
    if (transport === "http" && operation.operation === "subscription") return refuse([subscriptionRequiresWebSocket()], 400, {}, operation);

    const scope = requiredScope(operation.operation);
    if (!context.caller.scopes.has(scope)) return refuse([forbidden(scope, operation.operation)], 403, {}, operation);

    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], (request.variables as Record<string, unknown>) ?? {});
    if (coerced.errors) {
      return refuse(
        coerced.errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: "BAD_USER_INPUT" } })),
        400,
        {},
        operation,
      );
    }

    if (limits.maxConversationsPerOperation > 0) {
      const named = conversationsNamed(schema, document, operation, coerced.coerced).size;
      if (named > limits.maxConversationsPerOperation) {
        return refuse([
          queryTooComplex(
            "conversations",
            limits.maxConversationsPerOperation,
            `Query too complex (conversations): the operation names ${named} distinct conversations; at most ${limits.maxConversationsPerOperation}.`,
          ),
        ], 400, {}, operation);
      }
    }
    return { ok: true, document, operation, variableValues: coerced.coerced };
  }
}

function refuse(errors: readonly GraphQLError[], status = 400, headers: Record<string, string> = {}, operation?: OperationDefinitionNode): RefusedOperation {
  return { ok: false, errors: [...errors], status, headers, ...(operation ? { operation } : {}) };
}
