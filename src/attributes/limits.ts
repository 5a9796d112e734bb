/**
 * The gateway's own limits on attribute writes. Genesys documents none for participant
 * attributes (only bot flows: 50 attributes, 256-character values; shared/genesys/README.md),
 * so these are ours, checked at the edge before anything is sent.
 */

/** Limits applied to every `updateAttributes` input. */
export const ATTRIBUTE_LIMITS = {
  /** Keys per update. */
  maxKeys: 100,
  /** Characters per key (keys are case-sensitive and must not be empty). */
  maxKeyLength: 256,
  /** Characters per value. */
  maxValueLength: 4_096,
  /** Bytes of the serialized `{"attributes": {...}}` body sent to Genesys (UTF-8). */
  maxBodyBytes: 32_768,
} as const;

/**
 * Keys the official SDK (purecloud-platform-client-v2 262.0.0) silently removes from a PATCH
 * body (observed: the PATCH arrives as `{}`; shared/genesys/README.md, "Observed with the
 * official SDK"). They are refused at the edge rather than accepted and never written.
 */
export const SDK_DROPPED_KEYS: ReadonlySet<string> = new Set(["constructor", "prototype"]);

// Control characters (C0, DEL, C1) are refused in keys.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Checks a parsed attribute map against {@link ATTRIBUTE_LIMITS}.
 * @returns human-readable problems; empty when the map is acceptable.
 */
export function attributeLimitProblems(attributes: Record<string, string>): string[] {
  const problems: string[] = [];
  const keys = Object.keys(attributes);
  if (keys.length === 0) problems.push("attributes must name at least one key");
  if (keys.length > ATTRIBUTE_LIMITS.maxKeys) problems.push(`at most ${ATTRIBUTE_LIMITS.maxKeys} keys per update (got ${keys.length})`);
  for (const key of keys) {
    if (key.length === 0) problems.push("attribute keys must not be empty");
    else if (key.length > ATTRIBUTE_LIMITS.maxKeyLength) problems.push(`key "${key.slice(0, 40)}…" is longer than ${ATTRIBUTE_LIMITS.maxKeyLength} characters`);
    else if (CONTROL.test(key)) problems.push(`key ${JSON.stringify(key)} contains control characters`);
    else if (key === "__proto__") problems.push('the key "__proto__" is reserved');
    else if (SDK_DROPPED_KEYS.has(key)) {
      problems.push(`the key "${key}" cannot be written: the Genesys SDK drops the keys "constructor" and "prototype" from request bodies, so it would never reach Genesys`);
    }
    const value = Object.hasOwn(attributes, key) ? (attributes[key] ?? "") : "";
    if (value.length > ATTRIBUTE_LIMITS.maxValueLength) problems.push(`value of "${key.slice(0, 40)}" is longer than ${ATTRIBUTE_LIMITS.maxValueLength} characters`);
  }
  const bytes = Buffer.byteLength(JSON.stringify({ attributes }), "utf8");
  if (bytes > ATTRIBUTE_LIMITS.maxBodyBytes) problems.push(`the write is ${bytes} bytes; at most ${ATTRIBUTE_LIMITS.maxBodyBytes}`);
  return problems;
}
