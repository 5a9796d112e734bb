/**
 * Attribute diffs between two states of one participant's map.
 *
 * Genesys has no delete for attributes (emulator assumption: "" clears a key), and an event may
 * carry a partial map, so a key missing from the newer map is never reported as deleted.
 */

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
export function diffAttributes(previous: Record<string, string> | undefined, next: Record<string, string>): AttributeChange[] {
  const changes: AttributeChange[] = [];
  for (const key of Object.keys(next).sort()) {
    const before = previous !== undefined && Object.hasOwn(previous, key) ? previous[key] : undefined;
    if (before !== next[key]) changes.push({ key, previous: before ?? null, value: next[key] ?? null });
  }
  return changes;
}
