/**
 * Attribute diffs between two states of one participant's map.
 *
 * Genesys has no delete for attributes (emulator assumption: "" clears a key), and an event may
 * carry a partial map, so a key missing from a newer notification is never reported as deleted
 * ({@link diffAttributes}); a REST read shows the whole map, and a key it lacks was removed
 * ({@link diffWholeAttributes}).
 * Lookups use own entries only: keys such as `toString` or `__proto__` are plain keys.
 */
import { attributeValue } from "./attribute-map.js";

/** One changed key. `previous` is null when the key was not known before. */
export interface AttributeChange {
  key: string;
  previous: string | null;
  value: string | null;
}

/**
 * Keys of `next` whose value differs from `previous`, sorted by key.
 * Keys absent from `next` are ignored (a missing key never means deleted).
 */
export function diffAttributes(previous: Readonly<Record<string, string>> | undefined, next: Readonly<Record<string, string>>): AttributeChange[] {
  const changes: AttributeChange[] = [];
  for (const key of Object.keys(next).sort()) {
    const before = attributeValue(previous, key);
    const after = attributeValue(next, key);
    if (before !== after) changes.push({ key, previous: before ?? null, value: after ?? null });
  }
  return changes;
}

/**
 * Like {@link diffAttributes}, for two *whole* maps (a REST read shows the participant's whole
 * map): a key of `previous` that `next` lacks was removed — a change with `value: null` (a
 * Genesys that drops keys cleared with "", the emulator's `clearedAttributes: "removed"`).
 */
export function diffWholeAttributes(previous: Readonly<Record<string, string>> | undefined, next: Readonly<Record<string, string>>): AttributeChange[] {
  const changes = diffAttributes(previous, next);
  if (!previous) return changes;
  for (const key of Object.keys(previous)) if (!Object.hasOwn(next, key)) changes.push({ key, previous: previous[key]!, value: null });
  return changes.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Every key of `map` as a change from nothing (`previous: null`), sorted by key: a snapshot event's `changes`. */
export function snapshotChanges(map: Readonly<Record<string, string>>): AttributeChange[] {
  return Object.keys(map)
    .sort()
    .map((key) => ({ key, previous: null, value: map[key] ?? null }));
}
