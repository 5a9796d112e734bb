/**
 * `npm run schema`: re-emits `schema.graphql` at the repository root from the code.
 * The test suite fails when the committed file differs from what the code emits.
 */
import { fileURLToPath } from "node:url";
import { buildGatewaySchema } from "../graphql/schema.js";

/** Absolute path of the committed schema file. */
export const SCHEMA_FILE = fileURLToPath(new URL("../../../schema.graphql", import.meta.url));

await buildGatewaySchema(SCHEMA_FILE);
console.log(`wrote ${SCHEMA_FILE}`);
