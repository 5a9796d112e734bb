/**
 * Participant versions. Genesys keeps no version, ETag or modified time on participants and
 * honours no If-Match (shared/genesys/README.md, "Reading participants"), so the gateway
 * derives one from the attribute map alone: equal maps ⇔ equal versions.
 */
import { createHash } from "node:crypto";

/**
 * The opaque version of an attribute map: SHA-256 over the map's entries sorted by key
 * (key order does not matter), base64url, 22 characters (128 bits).
 */
export function attributesVersion(attributes: Record<string, string>): string {
  const entries = Object.keys(attributes)
    .sort()
    .map((k) => [k, attributes[k]]);
  return createHash("sha256").update(JSON.stringify(entries)).digest("base64url").slice(0, 22);
}
