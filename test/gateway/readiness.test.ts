/**
 * `/healthz` and `/readyz` end to end, against the emulator's faults: persistent 5xx, a forced
 * throttle, logins refused after start (token expired on the emulator clock + `rejectLogins`),
 * and a notification socket that is dropped while the streaming host refuses new sockets
 * (`refuseSockets`). Every recovery is observed too. Waits poll the endpoints, never sleep.
 */
import type { Client } from "graphql-ws";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ReadinessReport } from "../../src/health/readiness.js";
import { AttributesChangedDocument, ConversationDocument } from "../generated/graphql.js";
import { DEMO_CREDENTIALS } from "../support/sdk.js";
import { control, createCall, eventually, gql, setFaults, startStack, subscribe, wsClient, type Stack, type TestCall } from "../support/stack.js";

const QUEUE = "a0000000-0000-4000-8000-0000000000f7";
let stack: Stack;
let call: TestCall;

beforeAll(async () => {
  // Threshold 1: one failed exchange makes genesysApi fail (the default, 3, is covered by the unit test).
  stack = await startStack({
    heartbeatTimeoutMs: 5_000,
    readiness: { failureThreshold: 1, loginProbeIntervalMs: 100 },
    // A watch ends with its last subscriber (no WATCH_LINGER_MS), so "nobody subscribed" is at once.
    changes: { lingerMs: 0 },
  });
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(async () => {
  await setFaults(stack.emulator.url);
  call = await createCall(stack.emulator.url, QUEUE);
  // Every test starts ready (a successful read heals genesysApi).
  await gql(stack.gateway.url, ConversationDocument, { id: call.conversationId });
  await waitReadiness("ready");
});

async function readyz(): Promise<{ status: number; body: ReadinessReport; text: string }> {
  const response = await fetch(new URL("/readyz", stack.gateway.url));
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as ReadinessReport, text };
}

function waitReadiness(status: ReadinessReport["status"], failing?: string[]) {
  return eventually(
    async () => {
      const r = await readyz();
      return r.body.status === status && (failing === undefined || JSON.stringify(r.body.failing) === JSON.stringify(failing)) ? r : undefined;
    },
    10_000,
    `readiness ${status} ${failing ?? ""}`,
  );
}

describe("/healthz", () => {
  it("answers 200 while the process runs, whatever Genesys does", async () => {
    await setFaults(stack.emulator.url, { errorRate: 1, errorStatuses: [503] });
    await gql(stack.gateway.url, ConversationDocument, { id: call.conversationId });
    const response = await fetch(new URL("/healthz", stack.gateway.url));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ok", uptimeSeconds: expect.any(Number) });
    expect((await readyz()).status).toBe(503);
  });
});

describe("/readyz", () => {
  it("is 200 with every part ok, naming the Genesys base URL and client id but never the secret", async () => {
    const r = await readyz();
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      status: "ready",
      failing: [],
      genesys: { kind: "gateway", baseUrl: `${stack.emulator.url}/`, clientId: DEMO_CREDENTIALS.clientId },
      checks: {
        token: { status: "ok" },
        genesysApi: { status: "ok", consecutiveFailures: 0 },
        notifications: { status: "ok", required: false },
      },
    });
    expect(r.text).not.toContain(DEMO_CREDENTIALS.clientSecret);
  });

  it("is 503 naming genesysApi while Genesys answers 5xx, and 200 again after the next good answer", async () => {
    await setFaults(stack.emulator.url, { errorRate: 1, errorStatuses: [503] });
    const failed = await gql(stack.gateway.url, ConversationDocument, { id: call.conversationId });
    expect(failed.errors?.[0]?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    const r = await readyz();
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({
      status: "not-ready",
      failing: ["genesysApi"],
      checks: { genesysApi: { status: "failing", reason: "getConversation: 503 service.unavailable" }, token: { status: "ok" } },
    });
    await setFaults(stack.emulator.url);
    expect((await gql(stack.gateway.url, ConversationDocument, { id: call.conversationId })).errors).toBeUndefined();
    expect((await readyz()).status).toBe(200);
  });

  it("is 503 while Genesys throttles (429), and ready once the throttle is over", async () => {
    await control(stack.emulator.url, "POST", "/faults/throttle", { seconds: 2 });
    // The query waits out Retry-After; meanwhile readiness reports the throttling.
    const pending = gql(stack.gateway.url, ConversationDocument, { id: call.conversationId });
    const during = await waitReadiness("not-ready", ["genesysApi"]);
    expect(during.status).toBe(503);
    expect(during.body.checks.genesysApi.reason).toBe("getConversation: 429 too.many.requests");
    expect((await pending).errors).toBeUndefined();
    expect((await readyz()).status).toBe(200);
  });

  it("is 503 naming token once Genesys refuses logins after start, and recovers by itself when logins work again", async () => {
    await setFaults(stack.emulator.url, { rejectLogins: true });
    // The gateway's token expires (emulator tokens live 24 h): its next call must log in, and cannot.
    await control(stack.emulator.url, "POST", "/clock", { advanceMs: 25 * 3_600_000 });
    const failed = await gql(stack.gateway.url, ConversationDocument, { id: call.conversationId });
    expect(failed.errors?.[0]?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    const r = await readyz();
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ failing: ["token"], checks: { token: { status: "failing", reason: "401 bad.credentials" } } });
    // No GraphQL traffic from here on: readiness probes log in again by themselves.
    await setFaults(stack.emulator.url);
    const recovered = await waitReadiness("ready");
    expect(recovered.status).toBe(200);
    expect(recovered.body.checks.token.status).toBe("ok");
  });

  it("with a subscriber, is 503 naming notifications while the socket is down and cannot be replaced, 200 once it is back", async () => {
    const client: Client = wsClient(stack.gateway.wsUrl);
    try {
      const sub = subscribe(client, AttributesChangedDocument, { conversationId: call.conversationId });
      const up = await eventually(async () => {
        const r = await readyz();
        return r.body.checks.notifications.required && r.body.checks.notifications.socket === "open" ? r : undefined;
      });
      expect(up.status).toBe(200);

      await setFaults(stack.emulator.url, { refuseSockets: true });
      await control(stack.emulator.url, "POST", "/notifications/disconnect");
      const down = await waitReadiness("not-ready", ["notifications"]);
      expect(down.status).toBe(503);
      expect(down.body.checks.notifications).toMatchObject({ status: "failing", required: true, socket: "down", heldTopics: 1 });

      await setFaults(stack.emulator.url);
      const back = await waitReadiness("ready");
      expect(back.body.checks.notifications).toMatchObject({ status: "ok", socket: "open" });
      sub.stop();
      // Nobody subscribed: the socket no longer matters.
      await eventually(async () => ((await readyz()).body.checks.notifications.required ? undefined : true));
    } finally {
      await client.dispose();
    }
  });
});
