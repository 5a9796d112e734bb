/**
 * Prototype-free attribute maps.
 *
 * Participant attribute keys are arbitrary strings chosen by other writers (Architect flows,
 * CRMs): `toString`, `constructor` or `__proto__` are plain keys. A map built on
 * `Object.prototype` would answer `map["toString"]` with a function, and assigning
 * `map["__proto__"]` would change its prototype, so every map the change log keeps or hands
 * out is a null-prototype object whose keys are own data properties only.
 */

/** A participant's attributes: string keys to string values, with no prototype. */
export type AttributeMap = Record<string, string>;

/**
 * Copies the own enumerable string-valued entries of `source` into a new null-prototype map.
 * Non-string values are skipped (Genesys values are strings; anything else is not an attribute).
 */
export function attributeMap(source?: Readonly<Record<string, unknown>> | null): AttributeMap {
  const map = Object.create(null) as AttributeMap;
  if (!source) return map;
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (typeof value === "string") define(map, key, value);
  }
  return map;
}

/** A new null-prototype map: `base` with every entry of `update` set over it. */
export function mergeAttributes(base: AttributeMap, update: AttributeMap): AttributeMap {
  const map = attributeMap(base);
  for (const key of Object.keys(update)) define(map, key, update[key]!);
  return map;
}

/** The value of `key` when it is an own entry of `map`, else undefined (never an inherited member). */
export function attributeValue(map: Readonly<Record<string, string>> | undefined, key: string): string | undefined {
  return map !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;
}

/** Whether `value` is a plain object of string values (what an event's `attributes` must be). */
export function isStringMap(value: unknown): value is Record<string, string> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).every((k) => typeof (value as Record<string, unknown>)[k] === "string")
  );
}

/** Rough heap footprint of a map in bytes (UTF-16 strings plus per-entry overhead), for retention by size. */
export function approximateBytes(map: AttributeMap): number {
  let bytes = 64;
  for (const key of Object.keys(map)) bytes += 48 + 2 * (key.length + map[key]!.length);
  return bytes;
}

function define(map: AttributeMap, key: string, value: string): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}
