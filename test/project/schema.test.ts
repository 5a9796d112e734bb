/**
 * Proves that the committed `schema.graphql` is exactly what the code emits: the schema is
 * built with `buildGatewaySchema(tmpPath)` (src/graphql/schema.ts, as `npm run schema` does)
 * into a temporary file, and the two files must be equal byte for byte. A resolver or type
 * change without `npm run schema` fails here.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { buildGatewaySchema } from "../../src/graphql/schema.js";

const COMMITTED = fileURLToPath(new URL("../../schema.graphql", import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), "gateway-schema-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("schema.graphql", () => {
  it("equals the schema the code emits, byte for byte", async () => {
    const emitted = path.join(dir, "schema.graphql");
    await buildGatewaySchema(emitted);
    const fresh = readFileSync(emitted);
    const committed = readFileSync(COMMITTED);
    expect(fresh.length, "the code emitted an empty schema").toBeGreaterThan(0);
    // Compare as text for a readable diff, then as bytes (line endings, trailing newline, BOM).
    expect(committed.toString("utf8"), "schema.graphql is stale: run `npm run schema` and commit it").toBe(fresh.toString("utf8"));
    expect(Buffer.compare(committed, fresh), "schema.graphql differs in bytes: run `npm run schema` and commit it").toBe(0);
  });
});
