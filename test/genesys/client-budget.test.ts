/**
 * The Genesys client's logins go through the request budget (GenesysClient against a real
 * emulator, the budget on a virtual clock): a login takes a token at `confirm` priority, so a
 * token expiring under a queue of reads is renewed first, and without budget in time nothing is
 * sent to the login endpoint.
 */
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { BudgetExhaustedError, InMemoryRequestBudget } from "../../src/genesys/budget.js";
import { GenesysClient, LOGIN_OPERATION } from "../../src/genesys/client.js";
import { createLogger } from "../../src/logger.js";
import { IDS, startTestEmulator } from "../support/emulator-http.js";
import { DEMO_CREDENTIALS } from "../support/sdk.js";
import { virtualTimers } from "../support/virtual-timers.js";

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startTestEmulator({ faults: { rateLimitPerMinute: 100_000 } });
});
afterAll(async () => {
  await emulator?.close();
});

function setup(maxBudgetWaitMs?: number) {
  const clock = virtualTimers();
  // One token, refilled at one per second (61/min with a burst of 1).
  const budget = new InMemoryRequestBudget({ requestsPerMinute: 61, burst: 1, timers: clock.timers });
  const client = new GenesysClient({
    endpoint: { baseUrl: new URL(emulator.url) },
    ...DEMO_CREDENTIALS,
    logger: createLogger("silent"),
    registry: new Registry(),
    budget,
    now: clock.timers.now,
    maxBudgetWaitMs,
  });
  const sent: string[] = [];
  client.on("request", (e) => sent.push(e.operation));
  return { clock, budget, client, sent };
}

describe("GenesysClient logins and the request budget", () => {
  it("takes a token for the login at confirm priority, ahead of reads already waiting", async () => {
    const { clock, budget, client, sent } = setup();
    await budget.take("read"); // the only token
    const order: string[] = [];
    const read = budget.take("read").then(() => order.push("read"));
    const login = client.authenticate().then(() => order.push("login"));
    await expect.poll(() => budget.stats().waiting).toMatchObject({ confirm: 1, read: 1 });
    expect(sent).toEqual([]); // nothing went to Genesys while the login waited for budget
    clock.advance(1_000); // one token: the login's
    await login;
    expect(order).toEqual(["login"]);
    expect(sent).toEqual([LOGIN_OPERATION]);
    expect(budget.stats().granted.confirm).toBe(1);
    clock.advance(1_000);
    await read;
    expect(order).toEqual(["login", "read"]);
  });

  it("a call that needs a fresh token spends two tokens: the login's, then its own", async () => {
    const { clock, budget, client, sent } = setup();
    const conversation = client.getConversation(IDS.conversation(1));
    // The login took the burst token; the GET waits for the next one.
    await expect.poll(() => budget.stats().waiting.read).toBe(1);
    expect(sent).toEqual([LOGIN_OPERATION]);
    clock.advance(1_000);
    expect((await conversation)?.id).toBe(IDS.conversation(1));
    expect(sent).toEqual([LOGIN_OPERATION, "getConversation"]);
    expect(budget.stats().granted).toMatchObject({ confirm: 1, read: 1 });
  });

  it("refuses the login with UPSTREAM_BUDGET_EXHAUSTED, nothing sent, when no token can come within maxBudgetWaitMs", async () => {
    const { budget, client, sent } = setup(500);
    await budget.take("read");
    // The next token is a second away: past the 500 ms the login may wait.
    await expect(client.authenticate()).rejects.toBeInstanceOf(BudgetExhaustedError);
    expect(sent).toEqual([]);
  });
});
