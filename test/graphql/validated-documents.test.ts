/**
 * The cache of validated documents (src/graphql/validated-documents.ts) and its use by the
 * operation core: a query text seen before skips parse and validation, but never the checks
 * that depend on the request (scopes, variables); invalid documents are never kept.
 */
import "reflect-metadata";
import { parse, type GraphQLSchema } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import type { Caller } from "../../src/auth/caller.js";
import type { GatewayContext, GatewayServices } from "../../src/graphql/context.js";
import { OperationCore } from "../../src/graphql/operation.js";
import { buildGatewaySchema } from "../../src/graphql/schema.js";
import { ValidatedDocuments } from "../../src/graphql/validated-documents.js";
import { DEFAULT_LIMITS } from "../../src/limits/settings.js";

describe("ValidatedDocuments", () => {
  it("keeps at most maxEntries documents, evicting the least recently used", () => {
    const cache = new ValidatedDocuments({ maxEntries: 2 });
    const [a, b, c] = ["{ a }", "{ b }", "{ c }"].map((q) => parse(q));
    cache.set("a", a!);
    cache.set("b", b!);
    expect(cache.get("a")).toBe(a); // a is now the most recently used
    cache.set("c", c!);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBe(a);
    expect(cache.get("c")).toBe(c);
    expect(cache.size).toBe(2);
  });

  it("does not keep queries longer than maxQueryLength, nor anything when maxEntries is 0", () => {
    const short = new ValidatedDocuments({ maxQueryLength: 5 });
    short.set("{ long }", parse("{ long }"));
    expect(short.size).toBe(0);
    const off = new ValidatedDocuments({ maxEntries: 0 });
    off.set("{ a }", parse("{ a }"));
    expect(off.get("{ a }")).toBeUndefined();
  });
});

describe("OperationCore with the document cache", () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildGatewaySchema();
  });
  const QUERY = "query($c: ID!, $p: ID!) { participant(conversationId: $c, participantId: $p) { id attributes version } }";
  const variables = { c: "c0000000-0000-4000-8000-000000000002", p: "d0000000-0000-4000-8000-000000000021" };
  const context = (scopes: string[]) => ({ caller: { kind: "anonymous", id: "test", scopes: new Set(scopes) } as unknown as Caller }) as GatewayContext;

  it("reuses the validated document of a query text, and still checks scopes and variables every time", async () => {
    const core = new OperationCore({ schema, services: {} as GatewayServices, limits: { ...DEFAULT_LIMITS, requestsPerMinute: 0 } });
    const first = await core.prepare({ query: QUERY, variables }, context(["participants:read"]), "http");
    const second = await core.prepare({ query: QUERY, variables }, context(["participants:read"]), "http");
    expect(first.ok && second.ok).toBe(true);
    if (first.ok && second.ok) expect(second.document).toBe(first.document);
    const noScope = await core.prepare({ query: QUERY, variables }, context([]), "http");
    expect(noScope).toMatchObject({ ok: false, status: 403 });
    const badVariables = await core.prepare({ query: QUERY, variables: { c: 1 } }, context(["participants:read"]), "http");
    expect(badVariables).toMatchObject({ ok: false, status: 400 });
  });

  it("refuses an invalid query every time (it is never kept)", async () => {
    const core = new OperationCore({ schema, services: {} as GatewayServices, limits: { ...DEFAULT_LIMITS, requestsPerMinute: 0 } });
    for (let i = 0; i < 2; i++) {
      const refused = await core.prepare({ query: "{ participant { nope } }" }, context(["participants:read"]), "http");
      expect(refused.ok).toBe(false);
      if (!refused.ok) expect(refused.errors[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    }
  });
});
