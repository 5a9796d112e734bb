/**
 * The `AttributeMap` scalar: a JSON object whose values are all strings — Genesys participant
 * attributes (`Participant.attributes: {[key: string]: string}` in the SDK models).
 * Anything else (arrays, nested objects, numbers, null values) is refused with `BAD_USER_INPUT`.
 * Maps are built without a prototype, so every key is a plain key.
 */
import { GraphQLScalarType, Kind, type ValueNode } from "graphql";
import { badUserInput } from "./errors.js";

function toStringMap(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badUserInput("AttributeMap must be a JSON object of string values");
  }
  // No prototype: keys such as "toString" or "constructor" are plain keys, never inherited members.
  const map: Record<string, string> = Object.create(null);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== "string") {
      throw badUserInput(`AttributeMap values must be strings; "${key}" is ${v === null ? "null" : typeof v}`);
    }
    // defineProperty: a "__proto__" key stays a key (and is then refused by the limits).
    Object.defineProperty(map, key, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return map;
}

function literalToValue(node: ValueNode, variables: Record<string, unknown> | null | undefined): unknown {
  switch (node.kind) {
    case Kind.OBJECT: {
      const object: Record<string, unknown> = Object.create(null);
      for (const f of node.fields) object[f.name.value] = literalToValue(f.value, variables);
      return object;
    }
    case Kind.STRING:
      return node.value;
    case Kind.VARIABLE:
      return variables?.[node.name.value];
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map((v) => literalToValue(v, variables));
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.BOOLEAN:
      return node.value;
    default:
      return undefined;
  }
}

/**
 * Output maps checked once per object: one change event is serialized for every subscriber
 * that receives it, and the maps the gateway hands out are never mutated afterwards.
 */
const serialized = new WeakMap<object, Record<string, string>>();

function serializeMap(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null) return toStringMap(value);
  let map = serialized.get(value);
  if (!map) {
    map = toStringMap(value);
    serialized.set(value, map);
  }
  return map;
}

/** `AttributeMap`: JSON object of string values. */
export const AttributeMapScalar = new GraphQLScalarType<Record<string, string>, Record<string, string>>({
  name: "AttributeMap",
  description:
    'Participant attributes: a JSON object whose values are all strings, e.g. {"crm.caseId": "CASE-1001"}. Keys are case-sensitive. Any other shape is refused with BAD_USER_INPUT.',
  serialize: (value) => serializeMap(value),
  parseValue: (value) => toStringMap(value),
  parseLiteral: (node, variables) => toStringMap(literalToValue(node, variables)),
});
