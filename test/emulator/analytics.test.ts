/**
 * The emulator's queue observations query (`POST /api/v2/analytics/queues/observations/query`)
 * through the official SDK and raw HTTP: demo conversations classified as waiting or
 * interacting per queue, observations only for detailMetrics, truncation after 100 per metric,
 * ended conversations gone, and 400s for what the emulator does not serve. Response shape
 * checked against a zod transcription of the SDK 262.0.0 `QueueObservationQueryResponse`.
 * Also: `GET /emulator/reads` counts conversation GETs per id.
 */
import platformClient from "purecloud-platform-client-v2";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { api, control, getToken, IDS, startTestEmulator } from "../support/emulator-http.js";
import { connectSdk } from "../support/sdk.js";

/** SDK 262.0.0 index.d.ts: QueueObservationQueryResponse → QueueObservationDataContainer → ObservationMetricData → ObservationValue. */
const ObservationValue = z.looseObject({
  observationDate: z.iso.datetime(),
  conversationId: z.string().optional(),
  sessionId: z.string().optional(),
  routingPriority: z.number().optional(),
  participantName: z.string().optional(),
  userId: z.string().optional(),
  direction: z.string().optional(),
  addressFrom: z.string().optional(),
});
const QueueObservationQueryResponse = z.looseObject({
  results: z.array(
    z.looseObject({
      group: z.record(z.string(), z.string()).optional(),
      data: z.array(
        z.looseObject({
          metric: z.string().optional(),
          qualifier: z.string().optional(),
          stats: z.looseObject({ count: z.number().int().optional() }).optional(),
          truncated: z.boolean().optional(),
          observations: z.array(ObservationValue).optional(),
        }),
      ),
    }),
  ),
});

const query = (queueId: string, detail = true) => ({
  filter: { type: "or", predicates: [{ type: "dimension", dimension: "queueId", operator: "matches", value: queueId }] },
  metrics: ["oWaiting", "oInteracting"],
  ...(detail ? { detailMetrics: ["oWaiting", "oInteracting"] } : {}),
});

let emulator: RunningEmulator;
let analytics: platformClient.AnalyticsApi;
let token: string;

beforeAll(async () => {
  emulator = await startTestEmulator();
  const sdk = await connectSdk(emulator.url);
  analytics = new platformClient.AnalyticsApi(sdk.client);
  token = await getToken(emulator.url);
});
afterAll(async () => {
  await emulator?.close();
});
beforeEach(async () => {
  await control(emulator.url, "POST", "/reset");
});

const idsOf = (data: { observations?: Array<{ conversationId?: string }> } | undefined) => (data?.observations ?? []).map((o) => o.conversationId);

describe("POST /api/v2/analytics/queues/observations/query", () => {
  it("lists a queue's live conversations as waiting or interacting (SDK call, SDK-shaped answer)", async () => {
    const answer = await analytics.postAnalyticsQueuesObservationsQuery(query(IDS.sales));
    QueueObservationQueryResponse.parse(answer);
    expect(answer.results).toHaveLength(1);
    const [result] = answer.results!;
    expect(result!.group).toEqual({ queueId: IDS.sales });
    const waiting = result!.data!.find((d) => d.metric === "oWaiting");
    const interacting = result!.data!.find((d) => d.metric === "oInteracting");
    // Demo: conversation 3's agent is alerting (waiting), conversation 4's connected.
    expect(idsOf(waiting)).toEqual([IDS.conversation(3)]);
    expect(idsOf(interacting)).toEqual([IDS.conversation(4)]);
    expect(waiting!.stats).toEqual({ count: 1 });
    expect(interacting!.observations![0]).toMatchObject({ userId: IDS.user(4), participantName: "Omar Customer", direction: "inbound" });
  });

  it("gives counts only without detailMetrics, and drops ended conversations", async () => {
    await control(emulator.url, "POST", `/conversations/${IDS.conversation(1)}/end`);
    const answer = await analytics.postAnalyticsQueuesObservationsQuery(query(IDS.support, false));
    const data = answer.results![0]!.data!;
    expect(data.map((d) => [d.metric, d.stats?.count, d.observations])).toEqual([
      ["oWaiting", 0, undefined],
      ["oInteracting", 1, undefined],
    ]);
  });

  it("truncates after 100 observations per metric", async () => {
    const queueId = "a0000000-0000-4000-8000-0000000000aa";
    for (let i = 0; i < 105; i++) {
      await control(emulator.url, "POST", "/conversations", { queueId, participants: [{ purpose: "customer" }, { purpose: "acd" }] });
    }
    const answer = await analytics.postAnalyticsQueuesObservationsQuery(query(queueId));
    QueueObservationQueryResponse.parse(answer);
    const waiting = answer.results![0]!.data!.find((d) => d.metric === "oWaiting")!;
    expect(waiting.stats?.count).toBe(105);
    expect(waiting.observations).toHaveLength(100);
    expect(waiting.truncated).toBe(true);
    expect(answer.results![0]!.data!.find((d) => d.metric === "oInteracting")!.truncated).toBeUndefined();
  });

  it("answers one result per queue named in predicates and clauses", async () => {
    const answer = await analytics.postAnalyticsQueuesObservationsQuery({
      filter: {
        type: "or",
        clauses: [
          { type: "or", predicates: [{ dimension: "queueId", value: IDS.support }] },
          { type: "or", predicates: [{ dimension: "queueId", value: IDS.sales }] },
        ],
      },
      metrics: ["oInteracting"],
    });
    expect(answer.results!.map((r) => r.group?.queueId)).toEqual([IDS.support, IDS.sales]);
  });

  it("refuses malformed bodies, unsupported metrics and filters without a queue with 400 bad.request", async () => {
    const path = "/api/v2/analytics/queues/observations/query";
    for (const body of [
      { metrics: ["oWaiting"] },
      { ...query(IDS.sales), metrics: ["oOnQueueUsers"] },
      { filter: { type: "or", predicates: [{ dimension: "mediaType", value: "voice" }] }, metrics: ["oWaiting"] },
      "not json",
    ]) {
      const response = await api(emulator.url, token, "POST", path, body, typeof body === "string" ? { "content-type": "application/json" } : {});
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body).toMatchObject({ code: "bad.request", status: 400 });
    }
    expect((await api(emulator.url, undefined, "POST", path, query(IDS.sales))).status).toBe(401);
  });
});

describe("GET /emulator/reads", () => {
  it("counts conversation GETs per id, and reset clears them", async () => {
    await api(emulator.url, token, "GET", `/api/v2/conversations/${IDS.conversation(1)}`);
    await api(emulator.url, token, "GET", `/api/v2/conversations/calls/${IDS.conversation(1)}`);
    await api(emulator.url, token, "GET", `/api/v2/conversations/${IDS.conversation(2)}`);
    expect((await control(emulator.url, "GET", "/reads")).body).toEqual({ conversations: { [IDS.conversation(1)]: 2, [IDS.conversation(2)]: 1 } });
    await control(emulator.url, "POST", "/reset");
    expect((await control(emulator.url, "GET", "/reads")).body).toEqual({ conversations: {} });
  });
});
