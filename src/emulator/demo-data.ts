/**
 * Demo data with fixed ids (documented in the project README) and the background
 * "Architect flow" writer.
 *
 * - Queues: Support `a0000000-0000-4000-8000-000000000001`, Sales `...000000000002`.
 * - Agents (users) `b0000000-0000-4000-8000-00000000000N`, N = 1..4.
 * - Live calls `c0000000-0000-4000-8000-00000000000N` (1, 2 in Support; 3, 4 in Sales), each
 *   with customer `d0000000-0000-4000-8000-0000000000N1`, acd `...N2` and agent `...N3`
 *   (user b...N). Conversation 3's agent is alerting, every other participant connected.
 *
 * Fact behind the flow writer (shared/genesys/README.md, "Writing attributes"): Architect
 * flows ("Set Participant Data") write the same attribute map as API clients.
 */
import type { ConversationStore, NewConversation } from "./store.js";
import type { NameDirectory } from "./render.js";

/** Queue ids of the demo org. */
export const DEMO_QUEUES = {
  support: "a0000000-0000-4000-8000-000000000001",
  sales: "a0000000-0000-4000-8000-000000000002",
} as const;

/** User (agent) ids of the demo org, index 0 = agent 1. */
export const DEMO_USERS = [1, 2, 3, 4].map((n) => `b0000000-0000-4000-8000-00000000000${n}`) as readonly string[];

/** Conversation ids of the demo calls, index 0 = conversation 1. */
export const DEMO_CONVERSATIONS = [1, 2, 3, 4].map((n) => `c0000000-0000-4000-8000-00000000000${n}`) as readonly string[];

/** Participant ids of demo conversation `n` (1..4): customer, acd, agent. */
export function demoParticipantIds(n: number): { customer: string; acd: string; agent: string } {
  const prefix = `d0000000-0000-4000-8000-0000000000${n}`;
  return { customer: `${prefix}1`, acd: `${prefix}2`, agent: `${prefix}3` };
}

/** OAuth client id the background flow writes as (appears in the log's `clientId`). */
export const ARCHITECT_FLOW_CLIENT_ID = "architect-flow";

/** Attribute key the background flow writes on conversation 1's customer. */
export const FLOW_STEP_ATTRIBUTE = "flow.step";

/** Names of the demo users and queues, for `user`/`queue` references. */
export const DEMO_NAMES: NameDirectory = {
  queues: new Map([
    [DEMO_QUEUES.support, "Support"],
    [DEMO_QUEUES.sales, "Sales"],
  ]),
  users: new Map(DEMO_USERS.map((id, i) => [id, ["Alice Agent", "Bob Agent", "Carol Agent", "Dave Agent"][i]!])),
};

const CUSTOMERS: Array<{ name: string; address: string; attributes: Record<string, string> }> = [
  { name: "Jane Customer", address: "tel:+15550100001", attributes: { "crm.caseId": "CASE-1001", "customer.tier": "gold" } },
  { name: "John Customer", address: "tel:+15550100002", attributes: { "crm.caseId": "CASE-1002" } },
  { name: "Maria Customer", address: "tel:+15550100003", attributes: {} },
  { name: "Omar Customer", address: "tel:+15550100004", attributes: { "customer.tier": "silver", "ivr.intent": "billing" } },
];

/** The four demo calls as control-API-shaped inputs (fixed ids). */
export function demoConversations(): NewConversation[] {
  return [1, 2, 3, 4].map((n) => {
    const queueId = n <= 2 ? DEMO_QUEUES.support : DEMO_QUEUES.sales;
    const ids = demoParticipantIds(n);
    const customer = CUSTOMERS[n - 1]!;
    const agentName = DEMO_NAMES.users.get(DEMO_USERS[n - 1]!);
    return {
      id: DEMO_CONVERSATIONS[n - 1]!,
      mediaType: "call",
      queueId,
      participants: [
        { id: ids.customer, purpose: "customer", name: customer.name, address: customer.address, attributes: { ...customer.attributes } },
        { id: ids.acd, purpose: "acd", name: n <= 2 ? "Support" : "Sales", queueId, state: "connected" },
        {
          id: ids.agent,
          purpose: "agent",
          name: agentName,
          userId: DEMO_USERS[n - 1]!,
          queueId,
          state: n === 3 ? "alerting" : "connected",
        },
      ],
    };
  });
}

/** Creates the demo calls in `store` (emits `created` for each). */
export function seedDemoData(store: ConversationStore): void {
  for (const conversation of demoConversations()) store.create(conversation);
}

/**
 * Starts the background "Architect flow": every `intervalMs` (real time) it calls
 * `write(ARCHITECT_FLOW_CLIENT_ID, conversation 1, its customer, {"flow.step": "step-N"})`
 * with N = 1, 2, ... while conversation 1 exists and has not ended. Returns a stop function.
 */
export function startBackgroundFlow(
  store: ConversationStore,
  intervalMs: number,
  write: (clientId: string, conversationId: string, participantId: string, attributes: Record<string, string>) => void,
): () => void {
  let step = 0;
  const conversationId = DEMO_CONVERSATIONS[0]!;
  const participantId = demoParticipantIds(1).customer;
  const timer = setInterval(() => {
    const conversation = store.get(conversationId);
    if (!conversation || conversation.endTime) return;
    step += 1;
    write(ARCHITECT_FLOW_CLIENT_ID, conversationId, participantId, { [FLOW_STEP_ATTRIBUTE]: `step-${step}` });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
