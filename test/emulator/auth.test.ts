/**
 * Login (`POST /oauth/token`) and bearer-token checks on /api/v2, through the official SDK
 * and raw fetch. Token expiry is driven by the emulator clock control.
 */
import platformClient from "purecloud-platform-client-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { expectValid } from "../support/openapi.js";
import { connectSdk, DEMO_CREDENTIALS, newSdkClient } from "../support/sdk.js";
import { advanceClock, api, getToken, IDS, readLog, startTestEmulator, UUID } from "../support/emulator-http.js";

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startTestEmulator({
    tokenLifetimeSeconds: 300,
    clients: [DEMO_CREDENTIALS, { clientId: "second-client", clientSecret: "s3cret" }],
    faults: { visibilityDelayMs: { min: 0, max: 0 } },
  });
});
afterAll(() => emulator.close());

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;
}

async function login(authorization: string | undefined, body = "grant_type=client_credentials") {
  const response = await fetch(`${emulator.url}/oauth/token`, {
    method: "POST",
    headers: { ...(authorization ? { authorization } : {}), "content-type": "application/x-www-form-urlencoded" },
    body,
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

describe("POST /oauth/token", () => {
  it("issues a bearer token for valid client credentials", async () => {
    const res = await login(basic(DEMO_CREDENTIALS.clientId, DEMO_CREDENTIALS.clientSecret));
    expect(res.status).toBe(200);
    expect(res.headers.get("ININ-Correlation-Id")).toMatch(UUID);
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: "bearer", expires_in: 300 });
    expect(res.body.access_token.length).toBeGreaterThanOrEqual(32);
  });

  it("logs the SDK in (loginClientCredentialsGrant) and the token works on /api/v2", async () => {
    const client = newSdkClient(emulator.url);
    const authData = await client.loginClientCredentialsGrant(DEMO_CREDENTIALS.clientId, DEMO_CREDENTIALS.clientSecret);
    expect(authData.accessToken).toEqual(expect.any(String));
    const conversations = new platformClient.ConversationsApi(client);
    const conversation = await conversations.getConversationsCall(IDS.conversation(1));
    expect(conversation.id).toBe(IDS.conversation(1));
  });

  it.each([
    ["a wrong secret", basic(DEMO_CREDENTIALS.clientId, "nope")],
    ["an unknown client", basic("who", DEMO_CREDENTIALS.clientSecret)],
    ["no Basic header", undefined],
    ["a malformed Basic header", "Basic !!!"],
  ])("answers 401 bad.credentials for %s", async (_label, authorization) => {
    const res = await login(authorization);
    expect(res.status).toBe(401);
    expect(res.headers.get("ININ-Correlation-Id")).toMatch(UUID);
    expectValid("ErrorBody", res.body);
    expect(res.body).toMatchObject({ status: 401, code: "bad.credentials" });
    expect(res.body.contextId).toBe(res.headers.get("ININ-Correlation-Id"));
  });

  it("rejects the SDK login with the ErrorBody for a wrong secret", async () => {
    const client = newSdkClient(emulator.url);
    client.setReturnExtendedResponses(true);
    const error: any = await client.loginClientCredentialsGrant(DEMO_CREDENTIALS.clientId, "wrong").catch((e: unknown) => e);
    // The SDK's login rejects with the raw HTTP error (it contains secrets: never log it).
    expect(error.response.status).toBe(401);
    expect(error.response.data.code).toBe("bad.credentials");
  });

  it("answers 400 for a grant type other than client_credentials", async () => {
    const res = await login(basic(DEMO_CREDENTIALS.clientId, DEMO_CREDENTIALS.clientSecret), "grant_type=password&username=x&password=y");
    expect(res.status).toBe(400);
    expectValid("ErrorBody", res.body);
    expect(res.body.code).toBe("bad.request");
  });
});

describe("bearer tokens on /api/v2", () => {
  it("answers 401 authentication.required without a bearer token, with correlation and rate-limit headers", async () => {
    const res = await api(emulator.url, undefined, "GET", `/api/v2/conversations/${IDS.conversation(1)}`);
    expect(res.status).toBe(401);
    expectValid("ErrorBody", res.body);
    expect(res.body).toMatchObject({ status: 401, code: "authentication.required" });
    expect(res.headers.get("ININ-Correlation-Id")).toMatch(UUID);
    expect(res.headers.get("inin-ratelimit-allowed")).toBe("300");
    expect(res.headers.get("inin-ratelimit-count")).toBe("0");
    expect(res.headers.get("inin-ratelimit-reset")).toBe("60");
  });

  it("answers 401 bad.credentials for an unknown token (also through the SDK)", async () => {
    const res = await api(emulator.url, "not-a-token", "GET", `/api/v2/conversations/${IDS.conversation(1)}`);
    expect(res.status).toBe(401);
    expectValid("ErrorBody", res.body);
    expect(res.body.code).toBe("bad.credentials");

    const { client, conversations } = await connectSdk(emulator.url);
    client.setAccessToken("forged-token");
    client.setReturnExtendedResponses(true);
    const error: any = await conversations.getConversation(IDS.conversation(1)).catch((e: unknown) => e);
    expect(error.status).toBe(401);
    expect(error.body.code).toBe("bad.credentials");
  });

  it("expires tokens after expires_in seconds of emulator time", async () => {
    const { client, conversations } = await connectSdk(emulator.url);
    client.setReturnExtendedResponses(true);
    const before: any = await conversations.getConversationsCall(IDS.conversation(1));
    expect(before.status).toBe(200);

    await advanceClock(emulator.url, 299_000);
    const stillValid: any = await conversations.getConversationsCall(IDS.conversation(1));
    expect(stillValid.status).toBe(200);

    await advanceClock(emulator.url, 1_000);
    const expired: any = await conversations.getConversationsCall(IDS.conversation(1)).catch((e: unknown) => e);
    expect(expired.status).toBe(401);
    expectValid("ErrorBody", expired.body);
    expect(expired.body.code).toBe("bad.credentials");

    // A new login gives a fresh 300 s token.
    await client.loginClientCredentialsGrant(DEMO_CREDENTIALS.clientId, DEMO_CREDENTIALS.clientSecret);
    const renewed: any = await conversations.getConversationsCall(IDS.conversation(1));
    expect(renewed.status).toBe(200);
  });

  it("attributes writes to the authenticated client id", async () => {
    const token = await getToken(emulator.url, { clientId: "second-client", clientSecret: "s3cret" });
    const res = await api(emulator.url, token, "PATCH", `/api/v2/conversations/calls/${IDS.conversation(2)}/participants/${IDS.customer(2)}/attributes`, {
      attributes: { "auth.test": "yes" },
    });
    expect(res.status).toBe(202);
    const entries = await readLog(emulator.url);
    expect(entries.at(-1)).toMatchObject({ clientId: "second-client", attributes: { "auth.test": "yes" } });
  });
});
