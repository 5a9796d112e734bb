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
import type { SharedConversationReads } from "../attributes/shared-reads.js";
import type { Caller } from "../auth/caller.js";
import type { GenesysClient } from "../genesys/client.js";
import { GenesysError } from "../genesys/errors.js";
import type { ConversationSnapshot } from "../genesys/participants.js";
import type { Logger } from "../logger.js";
import { budgetExhausted, upstreamUnavailable } from "./errors.js";
import { BudgetExhaustedError } from "../genesys/budget.js";

/** Long-lived services shared by every operation. */
export interface GatewayServices {
  genesys: GenesysClient;
  updater: AttributeUpdater;
  feed: AttributeChangeFeed;
  /** Conversation reads shared across operations (single flight, served from the change log when current). */
  reads: SharedConversationReads;
  logger: Logger;
}

/** Loaders of one operation. */
export interface Loaders {
  /**
   * Conversation by id (null when Genesys answers 404). One `GET /api/v2/conversations/{id}`
   * per distinct id per operation at most, however many fields ask for it; shared with other
   * operations and served from the change log when current (attributes/shared-reads.ts).
   */
  conversations: DataLoader<string, ConversationSnapshot | null>;
  /** The same with a GET of its own (`fresh: true`): never the change log, never a GET already in flight. */
  freshConversations: DataLoader<string, ConversationSnapshot | null>;
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
export function createLoaders(reads: SharedConversationReads): Loaders {
  const load = (fresh: boolean) =>
    new DataLoader<string, ConversationSnapshot | null>(async (ids) =>
      Promise.all(
        ids.map(async (id) => {
          try {
            return await reads.get(id, fresh);
          } catch (error) {
            if (error instanceof BudgetExhaustedError) return budgetExhausted(error.message);
            if (error instanceof GenesysError) {
              return upstreamUnavailable(`Genesys could not serve conversation ${id}: ${error.message}`, error.status, error.code);
            }
            return error instanceof Error ? error : new Error(String(error));
          }
        }),
      ),
    );
  return { conversations: load(false), freshConversations: load(true) };
}

/** Builds a context for one operation of `caller`, identified in logs by `requestId`. */
export function createContext(services: GatewayServices, caller: Caller, requestId: string): GatewayContext {
  return { services, loaders: createLoaders(services.reads), caller, requestId };
}
