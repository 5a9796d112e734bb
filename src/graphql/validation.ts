/**
 * Edge validation of GraphQL arguments. Every failure is a `BAD_USER_INPUT` GraphQLError and
 * happens before anything is sent to Genesys.
 */
import { attributeLimitProblems } from "../attributes/limits.js";
import { badUserInput } from "./errors.js";

/**
 * Genesys ids are UUIDs; we accept 1–128 characters of [A-Za-z0-9_-]. No dots: an id becomes a
 * URL path segment ("." and ".." would walk up the API path) and part of a topic name.
 */
const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Checks an id argument.
 * @throws GraphQLError BAD_USER_INPUT when it is not 1–128 characters of [A-Za-z0-9._-].
 */
export function assertId(value: string, field: string): string {
  if (!ID_PATTERN.test(value)) throw badUserInput(`${field} must be 1–128 characters of A–Z, a–z, 0–9, "_" or "-"`, field);
  return value;
}

/**
 * Checks an attribute map against the gateway's limits (see attributes/limits.ts).
 * @throws GraphQLError BAD_USER_INPUT listing every problem.
 */
export function assertAttributes(attributes: Record<string, string>, field: string): Record<string, string> {
  const problems = attributeLimitProblems(attributes);
  if (problems.length > 0) throw badUserInput(`${field}: ${problems.join("; ")}`, field);
  return attributes;
}
