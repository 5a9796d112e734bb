/**
 * Per-operation GraphQL context: the long-lived services, the authenticated caller and fresh
 * DataLoaders.
 *
 * Loaders are made per operation (HTTP request or graphql-ws subscribe message), never per
 * connection: a loader kept across operations would serve stale conversations.
 */
import DataLoader from "dataloader";
import type { AttributeChangeFeed } from "../attributes/change-feed.js";
import type { AttributeUpdater } from "../attributes/update.js";
import type { Caller } from "../auth/caller.js";
import type { GenesysClient } from "../genesys/client.js";
import { GenesysError } from "../genesys/errors.js";
import { toConversationSnapshot, type ConversationSnapshot } from "../genesys/participants.js";
import type { Logger } from "../logger.js";
import { upstreamUnavailable } from "./errors.js";

/** Long-lived services shared by every operation. */
export interface GatewayServices {
  genesys: GenesysClient;
  updater: AttributeUpdater;
  feed: AttributeChangeFeed;
  logger: Logger;
}

/** Loaders of one operation. */
export interface Loaders {
  /**
   * Conversation by id (null when Genesys answers 404). One `GET /api/v2/conversations/{id}`
   * per distinct id per operation, however many fields ask for it.
   */
  conversations: DataLoader<string, ConversationSnapshot | null>;
}

/** The context every resolver receives. */
export interface GatewayContext {
  services: GatewayServices;
  loaders: Loaders;
  /** Who sent the operation (authenticated, or anonymous when caller auth is off). */
  caller: Caller;
  /** The operation's request id (HTTP: `X-Request-Id` or generated; graphql-ws: one per subscribe message). */
  requestId: string;
}

/** Creates the loaders of one operation. */
export function createLoaders(genesys: GenesysClient): Loaders {
  return {
    conversations: new DataLoader<string, ConversationSnapshot | null>(async (ids) =>
      Promise.all(
        ids.map(async (id) => {
          try {
            const conversation = await genesys.getConversation(id);
            return conversation ? toConversationSnapshot(conversation) : null;
          } catch (error) {
            if (error instanceof GenesysError) {
              return upstreamUnavailable(`Genesys could not serve conversation ${id}: ${error.message}`, error.status, error.code);
            }
            return error instanceof Error ? error : new Error(String(error));
          }
        }),
      ),
    ),
  };
}

/** Builds a context for one operation of `caller`, identified in logs by `requestId`. */
export function createContext(services: GatewayServices, caller: Caller, requestId: string): GatewayContext {
  return { services, loaders: createLoaders(services.genesys), caller, requestId };
}
