/**
 * The emulated analytics route the gateway uses to list a queue's live conversations:
 * `POST /api/v2/analytics/queues/observations/query` (SDK `AnalyticsApi` / `RoutingApi`
 * `postAnalyticsQueuesObservationsQuery`; shared/genesys/README.md, "Listing a queue's live
 * conversations").
 *
 * Body `QueueObservationQuery {filter: {type, predicates?, clauses?}, metrics, detailMetrics?}`;
 * answer `QueueObservationQueryResponse {results: [{group: {queueId}, data: [{metric, stats:
 * {count}, truncated?, observations?}]}]}` — shapes from the SDK 262.0.0 typings (the 2018
 * spec predates them); the answer is typed against `Models.QueueObservationQueryResponse`.
 *
 * Emulator decisions where Genesys documents nothing (each covered by a test):
 * - metrics supported: `oWaiting` (a live conversation routed through the queue with no
 *   connected agent) and `oInteracting` (with a connected, not ended agent); any other metric,
 *   a filter naming no `queueId`, or a malformed body → 400 `bad.request`;
 * - observations only for `detailMetrics`, oldest first, at most 100 per metric, then
 *   `truncated: true` (README assumption);
 * - one result per queue named in the filter (predicates and clauses), in the order named,
 *   also when its counts are 0.
 */
import express, { type Router } from "express";
import type { Models } from "purecloud-platform-client-v2";
import { z } from "zod";
import { sendError } from "./errors.js";
import type { ConversationStore, StoredConversation } from "./store.js";
import { queuesOf } from "./notifications/topics.js";

/** Observations returned per metric before `truncated: true` (emulator assumption). */
export const MAX_OBSERVATIONS_PER_METRIC = 100;

const SUPPORTED_METRICS = ["oWaiting", "oInteracting"] as const;
type SupportedMetric = (typeof SUPPORTED_METRICS)[number];

const PredicateSchema = z.looseObject({
  type: z.string().optional(),
  dimension: z.string().optional(),
  operator: z.string().optional(),
  value: z.string().optional(),
});

/** zod schema of `QueueObservationQuery` (SDK typings: `filter` and `metrics` required). */
const QuerySchema = z.looseObject({
  filter: z.looseObject({
    type: z.enum(["and", "or"]),
    predicates: z.array(PredicateSchema).optional(),
    clauses: z.array(z.looseObject({ type: z.enum(["and", "or"]), predicates: z.array(PredicateSchema) })).optional(),
  }),
  metrics: z.array(z.string()).min(1),
  detailMetrics: z.array(z.string()).optional(),
});

/** Dependencies of {@link createAnalyticsRouter}. */
export interface AnalyticsDependencies {
  store: ConversationStore;
}

/** How a conversation stands in a queue right now, or undefined when it is not live there. */
function metricOf(conversation: StoredConversation, queueId: string): { metric: SupportedMetric; since: string; agentUserId?: string } | undefined {
  if (conversation.endTime || !queuesOf(conversation).includes(queueId)) return undefined;
  const agent = conversation.participants.find((p) => p.purpose === "agent" && p.state === "connected" && !p.endTime);
  if (agent) return { metric: "oInteracting", since: agent.connectedTime ?? agent.startTime, agentUserId: agent.userId };
  return { metric: "oWaiting", since: conversation.startTime };
}

/** Builds the router for `/api/v2/analytics` (mount after auth and faults). */
export function createAnalyticsRouter(deps: AnalyticsDependencies): Router {
  const router = express.Router();
  router.use(express.json({ limit: "256kb" }));

  router.post("/queues/observations/query", (req, res) => {
    const parsed = QuerySchema.safeParse(req.body);
    if (!parsed.success) return sendError(res, 400, "bad.request", `Invalid QueueObservationQuery: ${z.prettifyError(parsed.error)}`);
    const query = parsed.data;
    const unknown = [...query.metrics, ...(query.detailMetrics ?? [])].filter((m) => !(SUPPORTED_METRICS as readonly string[]).includes(m));
    if (unknown.length > 0) {
      return sendError(res, 400, "bad.request", `Metrics not supported by the emulator: ${unknown.join(", ")} (supported: ${SUPPORTED_METRICS.join(", ")})`);
    }
    const predicates = [...(query.filter.predicates ?? []), ...(query.filter.clauses ?? []).flatMap((c) => c.predicates)];
    const queueIds = [...new Set(predicates.filter((p) => p.dimension === "queueId" && p.value).map((p) => p.value!))];
    if (queueIds.length === 0) return sendError(res, 400, "bad.request", "The filter must name at least one queueId (dimension queueId, operator matches).");

    const conversations = deps.store.list();
    const results = queueIds.map((queueId): Models.QueueObservationDataContainer => {
      const standing = conversations
        .map((c) => ({ conversation: c, state: metricOf(c, queueId) }))
        .filter((x): x is { conversation: StoredConversation; state: NonNullable<ReturnType<typeof metricOf>> } => x.state !== undefined);
      const data = (query.metrics as SupportedMetric[]).map((metric): Models.ObservationMetricData => {
        const matching = standing.filter((x) => x.state.metric === metric).sort((a, b) => a.state.since.localeCompare(b.state.since));
        const metricData: Models.ObservationMetricData = { metric, stats: { count: matching.length } };
        if (query.detailMetrics?.includes(metric)) {
          metricData.observations = matching.slice(0, MAX_OBSERVATIONS_PER_METRIC).map(({ conversation, state }) => {
            const customer = conversation.participants.find((p) => p.purpose === "customer");
            const observation: Models.ObservationValue = {
              observationDate: state.since,
              conversationId: conversation.id,
              sessionId: (conversation.participants.find((p) => p.purpose === "acd") ?? customer ?? conversation.participants[0])?.communicationId,
              routingPriority: 0,
              direction: "inbound",
              ...(customer?.name ? { participantName: customer.name } : {}),
              ...(customer?.address ? { addressFrom: customer.address } : {}),
              ...(state.agentUserId ? { userId: state.agentUserId } : {}),
            };
            return observation;
          });
          if (matching.length > MAX_OBSERVATIONS_PER_METRIC) metricData.truncated = true;
        }
        return metricData;
      });
      return { group: { queueId }, data };
    });
    res.status(200).json({ results } satisfies Models.QueueObservationQueryResponse);
  });

  router.use((err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    if ((err as { type?: unknown } | null)?.type === "entity.parse.failed") sendError(res, 400, "bad.request", "The request body is not valid JSON");
    else next(err);
  });
  return router;
}
