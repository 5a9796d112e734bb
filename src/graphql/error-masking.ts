/**
 * The one error mask of both transports: an error that carries a deliberate code (ours,
 * graphql-js's, Apollo's) is answered as it is; anything else becomes `INTERNAL_SERVER_ERROR`
 * with the message "Internal server error", so stacks, upstream details and library names
 * never reach a caller.
 */
import { GraphQLError, type GraphQLFormattedError } from "graphql";

/**
 * Masks one error (Apollo's `formatError` signature; also applied to graphql-ws results).
 * @param formatted the error as GraphQL would send it.
 * @param error the original error (a GraphQLError, possibly wrapping a resolver's error).
 */
export function maskError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (code && code !== "INTERNAL_SERVER_ERROR") return withoutInternals(formatted);
  const original = error instanceof GraphQLError ? error.originalError : undefined;
  if (original instanceof GraphQLError && original.extensions?.code) {
    return withoutInternals({ ...formatted, message: original.message, extensions: { ...original.extensions } });
  }
  return { message: "Internal server error", locations: formatted.locations, path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
}

/**
 * True when {@link maskError} answers `error` as `INTERNAL_SERVER_ERROR` (the same rule, not a
 * copy of it): the operation log (observability/request-log.ts) records the real message and
 * stack of exactly those errors.
 */
export function isMaskedError(error: GraphQLError): boolean {
  return maskError(error.toJSON(), error).extensions?.code === "INTERNAL_SERVER_ERROR";
}

/** Drops extensions that are for the server only (`http` status hints, stack traces). */
function withoutInternals(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const extensions = formatted.extensions;
  if (!extensions || (!("http" in extensions) && !("stacktrace" in extensions))) return formatted;
  const { http: _http, stacktrace: _stacktrace, ...rest } = extensions;
  return { ...formatted, extensions: rest };
}
