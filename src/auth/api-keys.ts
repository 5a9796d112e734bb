/**
 * API keys: parsing the configured key list (`GATEWAY_API_KEYS` / `GATEWAY_API_KEYS_FILE`) and
 * recognising a presented key. Keys are compared by SHA-256 in constant time; a clear key
 * from the configuration is hashed at once and not kept.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { Caller } from "./caller.js";
import { ALL_SCOPES } from "./scopes.js";
import type { ApiKey } from "./settings.js";

const entrySchema = z
  .object({
    id: z.string().trim().min(1).max(128),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters (the SHA-256 of the key)")
      .optional(),
    key: z
      .string()
      .min(16, "clear keys must be at least 16 characters")
      // Presented as `Authorization: Bearer <key>`: anything else could never be sent or matched.
      .regex(/^[\x21-\x7e]+$/, "clear keys must be visible ASCII characters without spaces (they are sent as Bearer <key>)")
      .optional(),
    scopes: z.array(z.string().refine((s) => ALL_SCOPES.includes(s), { message: `scopes are ${ALL_SCOPES.join(", ")}` })),
  })
  .strict()
  .refine((e) => (e.sha256 === undefined) !== (e.key === undefined), { message: 'give exactly one of "sha256" or "key"' });

/** Lower-case hex SHA-256 of a key's UTF-8 bytes (what `"sha256"` entries hold). */
export function sha256Hex(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/**
 * Parses a JSON key list: `[{"id": "crm", "sha256": "<hex>", "scopes": ["participants:read"]}]`,
 * or `"key": "<clear key>"` instead of `"sha256"` (development).
 * @param source names where the JSON came from, for messages (e.g. `GATEWAY_API_KEYS`).
 * @throws Error naming the entry and field; never echoes a key.
 */
export function parseApiKeys(json: string, source: string): ApiKey[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error(`${source}: not valid JSON (expected [{"id": …, "sha256": …, "scopes": […]}])`);
  }
  const parsed = z.array(entrySchema).safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${describePath(i.path)}: ${i.message}`);
    throw new Error(`${source}: ${problems.join("; ")}`);
  }
  const keys = parsed.data.map((e) => ({ id: e.id, sha256: (e.sha256 ?? sha256Hex(e.key!)).toLowerCase(), scopes: e.scopes }));
  const ids = new Set<string>();
  const hashes = new Set<string>();
  for (const k of keys) {
    if (ids.has(k.id)) throw new Error(`${source}: the id "${k.id}" appears twice`);
    if (hashes.has(k.sha256)) throw new Error(`${source}: the key of "${k.id}" is also another entry's key`);
    ids.add(k.id);
    hashes.add(k.sha256);
  }
  return keys;
}

/** Where in the list a problem is: `[1]`, `[1].scopes[0]`, or `list` for the list itself. */
function describePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "list";
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("");
}

/** Recognises presented API keys. */
export class ApiKeyVerifier {
  private readonly keys: Array<{ key: ApiKey; digest: Buffer }>;

  constructor(keys: readonly ApiKey[]) {
    this.keys = keys.map((key) => ({ key, digest: Buffer.from(key.sha256, "hex") }));
  }

  /** Whether any key is configured. */
  get size(): number {
    return this.keys.length;
  }

  /** The caller a presented key belongs to, or undefined for an unknown key. Every entry is compared (constant time). */
  verify(presented: string): Caller | undefined {
    const digest = createHash("sha256").update(presented, "utf8").digest();
    let found: ApiKey | undefined;
    for (const entry of this.keys) {
      if (timingSafeEqual(entry.digest, digest)) found = entry.key;
    }
    return found ? { id: found.id, scopes: new Set(found.scopes), kind: "api-key" } : undefined;
  }
}
