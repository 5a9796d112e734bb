/**
 * GraphQL Code Generator: types the operations that tests (and clients copying them) send.
 * Input: the committed `schema.graphql` and `test/operations/*.graphql`.
 * Output: `test/generated/graphql.ts` (TypedDocumentNode per operation). Run `npm run codegen`.
 */
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["test/operations/**/*.graphql"],
  generates: {
    "test/generated/graphql.ts": {
      plugins: ["typescript-operations", "typed-document-node"],
      config: {
        scalars: { AttributeMap: "Record<string, string>", DateTimeISO: "string" },
        enumsAsTypes: true,
        useTypeImports: true,
        avoidOptionals: { field: true, inputValue: false, object: true },
      },
    },
  },
};

export default config;
