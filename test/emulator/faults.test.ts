/**
 * Fault settings (`GET`/`PUT /emulator/faults`), rate limits and the forced throttle (429 +
 * Retry-After + inin-ratelimit headers, driven by the emulator clock), error injection and
 * latency.
 */
import { openFrames, upgradeStatus } from "../support/ws.js";
import type { Models } from "purecloud-platform-client-v2";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_FAULTS } from "../../src/emulator/faults.js";
import { startEmulator, type RunningEmulator } from "../../src/emulator/server.js";
import { expectValid } from "../support/openapi.js";
import { connectSdk, type SdkConnection } from "../support/sdk.js";
import { advanceClock, api, control, getToken, IDS, readLog, setFaults, startTestEmulator } from "../support/emulator-http.js";

let emulator: RunningEmulator;
let sdk: SdkConnection;

/** The documented defaults, spelled out (the test pins them). */
const DEFAULTS = {
  visibilityDelayMs: { min: 50, max: 150 },
  lostWriteRate: 0,
  errorRate: 0,
  errorStatuses: [500, 503, 504],
  latencyMs: { min: 0, max: 0 },
  rateLimitPerMinute: 300,
  maxBodyBytes: 65536,
  endedConversationWrites: "accept",
  clearedAttributes: "empty",
  dropRate: 0,
  duplicateRate: 0,
  crossSocketDuplicateRate: 0,
  reorderWindowMs: 0,
  heartbeatIntervalMs: 30000,
  socketClosingGraceMs: 60000,
  answerPings: true,
  rejectLogins: false,
  refuseSockets: false,
  eventTimeResolutionMs: 1,
};

beforeAll(async () => {
  emulator = await startTestEmulator({ faults: { rateLimitPerMinute: 1000 } });
  sdk = await connectSdk(emulator.url);
  sdk.client.setReturnExtendedResponses(true);
});
afterAll(() => emulator.close());
beforeEach(async () => {
  await control(emulator.url, "POST", "/reset");
});

describe("GET/PUT /emulator/faults", () => {
  it("starts with the options' faults over the defaults; PUT {} restores the defaults", async () => {
    expect(DEFAULT_FAULTS).toEqual(DEFAULTS);
    const initial = await control(emulator.url, "GET", "/faults");
    expect(initial.status).toBe(200);
    expect(initial.body).toEqual({ ...DEFAULTS, heartbeatIntervalMs: 0, rateLimitPerMinute: 1000 });
    const restored = await control(emulator.url, "PUT", "/faults", {});
    expect(restored.status).toBe(200);
    expect(restored.body).toEqual(DEFAULTS);
    expect((await control(emulator.url, "GET", "/faults")).body).toEqual(DEFAULTS);
  });

  it("sets the given fields over the defaults (not over the previous settings)", async () => {
    expect(await setFaults(emulator.url, { lostWriteRate: 0.25, latencyMs: { min: 1, max: 2 } })).toEqual({
      ...DEFAULTS,
      lostWriteRate: 0.25,
      latencyMs: { min: 1, max: 2 },
    });
    expect(await setFaults(emulator.url, { endedConversationWrites: "reject" })).toEqual({ ...DEFAULTS, endedConversationWrites: "reject" });
  });

  it.each([
    ["an unknown field", { lostWriteRatio: 0.5 }],
    ["a rate above 1", { lostWriteRate: 2 }],
    ["a negative rate", { errorRate: -0.1 }],
    ["a cross-socket duplicate rate above 1", { crossSocketDuplicateRate: 1.5 }],
    ["a cross-socket duplicate rate that is not a number", { crossSocketDuplicateRate: "all" }],
    ["min > max", { visibilityDelayMs: { min: 10, max: 5 } }],
    ["a half range", { latencyMs: { min: 10 } }],
    ["a non-error status", { errorStatuses: [200] }],
    ["no statuses", { errorStatuses: [] }],
    ["an unknown policy", { endedConversationWrites: "maybe" }],
    ["a zero rate limit", { rateLimitPerMinute: 0 }],
    ["a fractional body limit", { maxBodyBytes: 1.5 }],
    ["a string number", { heartbeatIntervalMs: "1000" }],
    ["a non-object body", [1, 2]],
  ])("400 for %s, nothing changed", async (_label, body) => {
    await setFaults(emulator.url, { lostWriteRate: 0.1 });
    const res = await control(emulator.url, "PUT", "/faults", body);
    expect(res.status).toBe(400);
    expectValid("ErrorBody", res.body);
    expect(res.body.code).toBe("bad.request");
    expect(res.body.message).toMatch(/Invalid faults/);
    expect((await control(emulator.url, "GET", "/faults")).body).toEqual({ ...DEFAULTS, lostWriteRate: 0.1 });
  });

  it("names the offending field in the message", async () => {
    const res = await control(emulator.url, "PUT", "/faults", { lostWriteRate: 3, bogus: 1 });
    expect(res.body.message).toMatch(/bogus/);
  });

  it("startEmulator rejects invalid initial faults", async () => {
    await expect(startEmulator({ port: 0, faults: { lostWriteRate: 5 } })).rejects.toThrow(/lostWriteRate/);
  });
});

describe("rate limit", () => {
  it("counts per token in a 60 s window and answers 429 with Retry-After over the budget", async () => {
    await setFaults(emulator.url, { rateLimitPerMinute: 3, heartbeatIntervalMs: 0 });
    const token = await getToken(emulator.url);
    const path = `/api/v2/conversations/${IDS.conversation(1)}`;
    for (let i = 1; i <= 3; i++) {
      const ok = await api(emulator.url, token, "GET", path);
      expect(ok.status).toBe(200);
      expect(ok.headers.get("inin-ratelimit-count")).toBe(String(i));
      expect(ok.headers.get("inin-ratelimit-allowed")).toBe("3");
    }
    await advanceClock(emulator.url, 20_000);
    const limited = await api(emulator.url, token, "GET", path);
    expect(limited.status).toBe(429);
    expectValid("ErrorBody", limited.body);
    const seconds = Number(limited.headers.get("Retry-After"));
    expect(seconds).toBeGreaterThanOrEqual(39);
    expect(seconds).toBeLessThanOrEqual(40);
    expect(limited.body).toMatchObject({
      status: 429,
      code: "too.many.requests",
      message: `Rate limit exceeded the maximum. Retry the request in [${seconds}] seconds`,
    });
    expect(limited.headers.get("inin-ratelimit-count")).toBe("4");
    expect(limited.headers.get("inin-ratelimit-reset")).toBe(String(seconds));
    expect(limited.headers.get("ININ-Correlation-Id")).toEqual(expect.any(String));

    // Another token has its own budget.
    const other = await getToken(emulator.url);
    expect((await api(emulator.url, other, "GET", path)).status).toBe(200);

    // A rejected write is not accepted.
    const write = await api(emulator.url, token, "PATCH", `${path}/participants/${IDS.customer(1)}/attributes`, { attributes: { a: "b" } });
    expect(write.status).toBe(429);
    expect(await readLog(emulator.url)).toEqual([]);

    // The window resets after 60 s of emulator time.
    await advanceClock(emulator.url, seconds * 1000);
    const again = await api(emulator.url, token, "GET", path);
    expect(again.status).toBe(200);
    expect(again.headers.get("inin-ratelimit-count")).toBe("1");
    expect(again.headers.get("inin-ratelimit-reset")).toBe("60");
  });

  it("shows up through the SDK as status 429 with the Retry-After header", async () => {
    await setFaults(emulator.url, { rateLimitPerMinute: 1, heartbeatIntervalMs: 0 });
    await sdk.client.loginClientCredentialsGrant("emulator-demo-client", "emulator-demo-secret");
    const ok: any = await sdk.conversations.getConversationsCall(IDS.conversation(1));
    expect(ok.status).toBe(200);
    const error: any = await sdk.conversations.getConversationsCall(IDS.conversation(1)).catch((e: unknown) => e);
    expect(error.status).toBe(429);
    expect(Number(error.headers["retry-after"])).toBeGreaterThan(0);
    expect(error.body.code).toBe("too.many.requests");
  });

  it("POST /emulator/faults/throttle forces 429s for that many seconds of emulator time", async () => {
    const token = await getToken(emulator.url);
    const path = `/api/v2/conversations/calls/${IDS.conversation(2)}`;
    const throttle = await control(emulator.url, "POST", "/faults/throttle", { seconds: 30 });
    expect(throttle.status).toBe(200);
    expect(Date.parse(throttle.body.throttledUntil)).not.toBeNaN();

    const first = await api(emulator.url, token, "GET", path);
    expect(first.status).toBe(429);
    expect(first.headers.get("Retry-After")).toBe("30");
    expect(first.body.message).toBe("Rate limit exceeded the maximum. Retry the request in [30] seconds");

    await advanceClock(emulator.url, 10_000);
    const later = await api(emulator.url, token, "GET", path);
    expect(later.status).toBe(429);
    expect(later.headers.get("Retry-After")).toBe("20");

    await advanceClock(emulator.url, 20_000);
    expect((await api(emulator.url, token, "GET", path)).status).toBe(200);
  });

  it("rejects a bad throttle body", async () => {
    const res = await control(emulator.url, "POST", "/faults/throttle", { seconds: -1 });
    expect(res.status).toBe(400);
    expectValid("ErrorBody", res.body);
  });
});

describe("error injection and latency", () => {
  it("errorRate 1 answers every /api/v2 request with one of errorStatuses and does nothing", async () => {
    await setFaults(emulator.url, { errorRate: 1, errorStatuses: [503], heartbeatIntervalMs: 0 });
    const token = await getToken(emulator.url);
    const read = await api(emulator.url, token, "GET", `/api/v2/conversations/${IDS.conversation(1)}`);
    expect(read.status).toBe(503);
    expectValid("ErrorBody", read.body);
    expect(read.body).toMatchObject({ status: 503, code: "service.unavailable" });
    expect(read.headers.get("inin-ratelimit-count")).toBe("1");

    const write: any = await sdk.conversations
      .patchConversationsCallParticipantAttributes(IDS.conversation(1), IDS.customer(1), { attributes: { injected: "x" } })
      .catch((e: unknown) => e);
    expect(write.status).toBe(503);
    expect(await readLog(emulator.url)).toEqual([]);

    // Login and the control API are not affected.
    expect((await control(emulator.url, "GET", "/log")).status).toBe(200);
  });

  it("a partial errorRate draws statuses from errorStatuses (seeded) and lets the rest through", async () => {
    await setFaults(emulator.url, { errorRate: 0.5, errorStatuses: [500, 504], heartbeatIntervalMs: 0 });
    const token = await getToken(emulator.url);
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await api(emulator.url, token, "GET", `/api/v2/conversations/${IDS.conversation(1)}`)).status);
    expect(new Set(statuses)).toEqual(new Set([200, 500, 504]));

    await control(emulator.url, "POST", "/reset");
    await setFaults(emulator.url, { errorRate: 0.5, errorStatuses: [500, 504], heartbeatIntervalMs: 0 });
    const again: number[] = [];
    for (let i = 0; i < 30; i++) again.push((await api(emulator.url, token, "GET", `/api/v2/conversations/${IDS.conversation(1)}`)).status);
    expect(again).toEqual(statuses);
  });

  it("latencyMs delays /api/v2 responses", async () => {
    const token = await getToken(emulator.url);
    const path = `/api/v2/conversations/${IDS.conversation(1)}`;
    await setFaults(emulator.url, { latencyMs: { min: 250, max: 250 }, heartbeatIntervalMs: 0 });
    const started = performance.now();
    const res = await api(emulator.url, token, "GET", path);
    const elapsed = performance.now() - started;
    expect(res.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(240);

    await setFaults(emulator.url, { heartbeatIntervalMs: 0 });
    const fastStart = performance.now();
    await api(emulator.url, token, "GET", path);
    expect(performance.now() - fastStart).toBeLessThan(240);
  });
});

describe("extended responses keep the generic model", () => {
  it("reads a conversation through the SDK with status and headers", async () => {
    await sdk.client.loginClientCredentialsGrant("emulator-demo-client", "emulator-demo-secret");
    const res = (await sdk.conversations.getConversation(IDS.conversation(4))) as unknown as { status: number; headers: Record<string, string>; body: Models.Conversation };
    expect(res.status).toBe(200);
    expect(res.headers["inin-ratelimit-allowed"]).toBe("1000");
    expectValid("Conversation", res.body);
  });
});

describe("outage faults: rejectLogins and refuseSockets", () => {
  it("rejectLogins answers every login 401 bad.credentials; tokens issued before keep working", async () => {
    const token = await getToken(emulator.url);
    await setFaults(emulator.url, { rejectLogins: true, heartbeatIntervalMs: 0 });
    await expect(getToken(emulator.url)).rejects.toThrow(/401/);
    expect((await api(emulator.url, token, "GET", `/api/v2/conversations/${IDS.conversation(1)}`)).status).toBe(200);
    await setFaults(emulator.url, { heartbeatIntervalMs: 0 });
    expect(await getToken(emulator.url)).toMatch(/\S{20,}/);
  });

  it("refuseSockets answers notification upgrades HTTP 503 and keeps the channel", async () => {
    const token = await getToken(emulator.url);
    const channel = (await api(emulator.url, token, "POST", "/api/v2/notifications/channels")).body as { id: string; connectUri: string };
    await setFaults(emulator.url, { refuseSockets: true, heartbeatIntervalMs: 0 });
    expect(await upgradeStatus(channel.connectUri)).toBe(503);
    await setFaults(emulator.url, { heartbeatIntervalMs: 0 });
    const socket = await openFrames(channel.connectUri);
    await socket.close();
  });
});
