/**
 * Builds the executable GraphQL schema from the type-graphql resolvers.
 * `schema.graphql` at the repository root is this schema printed (see `npm run schema`).
 */
import "reflect-metadata";
import { createPubSub } from "@graphql-yoga/subscription";
import type { GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { AttributesChangedResolver } from "./resolvers/attributes-changed.js";
import { ConversationResolver, ParticipantResolver } from "./resolvers/conversation.js";
import { UpdateAttributesResolver } from "./resolvers/update-attributes.js";

/**
 * The gateway's schema.
 * @param emitSchemaFile when set, also writes the SDL to this path (sorted, with descriptions).
 */
export function buildGatewaySchema(emitSchemaFile?: string): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [ConversationResolver, ParticipantResolver, UpdateAttributesResolver, AttributesChangedResolver],
    validate: false,
    // type-graphql insists on a PubSub whenever a subscription exists; ours use `subscribe`
    // (attributes/change-feed.ts), so this one stays unused.
    pubSub: createPubSub(),
    emitSchemaFile: emitSchemaFile ? { path: emitSchemaFile, sortedSchema: true } : false,
  });
}
