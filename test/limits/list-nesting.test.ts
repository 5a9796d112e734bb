/**
 * The list-nesting limit alone (src/graphql/rules/max-list-nesting.ts) on the gateway schema:
 * lists nested through fields, inline fragments and fragment spreads are counted; introspection
 * is not; fragment cycles end (graphql-js reports them); and a fan of fragments spread many
 * times is measured in linear time (each fragment once).
 */
import "reflect-metadata";
import { parse, validate, type GraphQLSchema } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { maxListNestingRule } from "../../src/graphql/rules/max-list-nesting.js";
import { buildGatewaySchema } from "../../src/graphql/schema.js";

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await buildGatewaySchema();
});

const nesting = (query: string, max = 1) => validate(schema, parse(query), [maxListNestingRule(max)]).map((e) => e.extensions);

describe("maxListNestingRule", () => {
  it("allows one level of participants, refuses a second however it is written", () => {
    expect(nesting(`{ conversation(id: "c") { participants { id conversation { id } } } }`)).toEqual([]);
    const refused = [{ code: "QUERY_TOO_COMPLEX", limit: "listNesting", max: 1 }];
    expect(nesting(`{ conversation(id: "c") { participants { conversation { participants { id } } } } }`)).toEqual(refused);
    expect(nesting(`{ conversation(id: "c") { participants { conversation { ... on Conversation { participants { id } } } } } }`)).toEqual(refused);
    expect(nesting(`{ conversation(id: "c") { participants { ...P } } } fragment P on Participant { conversation { ...C } } fragment C on Conversation { participants { id } }`)).toEqual(refused);
    expect(nesting(`{ conversation(id: "c") { participants { conversation { participants { id } } } } }`, 2)).toEqual([]);
  });

  it("does not count introspection (graphql-js limits its depth)", () => {
    expect(nesting(`{ __schema { types { fields { args { name } } } } }`)).toEqual([]);
  });

  it("ends on fragment cycles", () => {
    expect(nesting(`{ conversation(id: "c") { ...A } } fragment A on Conversation { participants { conversation { ...A } } }`)).toEqual([]);
  });

  it("measures each fragment once: 12 levels of 10 spreads each answer in milliseconds", () => {
    const fragments = ["fragment F0 on Conversation { participants { id } }"];
    for (let i = 1; i <= 12; i++) fragments.push(`fragment F${i} on Conversation { ${`...F${i - 1} `.repeat(10)} }`);
    const started = performance.now();
    expect(nesting(`{ conversation(id: "c") { ...F12 } } ${fragments.join(" ")}`)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
