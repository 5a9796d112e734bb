/**
 * The benchmark's upstream request counter (bench/upstream-requests.ts) counts what reaches the
 * emulator's Platform API, by kind, and nothing that arrives elsewhere.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countUpstreamRequests, requestsBetween } from "../../bench/upstream-requests.js";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { api, getToken, IDS, startTestEmulator } from "../support/emulator-http.js";

let emulator: RunningEmulator;
let other: http.Server;

beforeAll(async () => {
  emulator = await startTestEmulator();
  other = http.createServer((_req, res) => res.end("{}"));
  await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  await emulator.close();
  await new Promise<void>((resolve) => other.close(() => resolve()));
});

describe("countUpstreamRequests", () => {
  it("counts conversation GETs, attribute PATCHes (also per conversation) and all /api/v2 requests on the emulator's port only", async () => {
    const token = await getToken(emulator.url);
    const counter = countUpstreamRequests(emulator.port);
    try {
      const before = counter.snapshot();
      expect((await api(emulator.url, token, "GET", `/api/v2/conversations/${IDS.conversation(1)}`)).status).toBe(200);
      expect((await api(emulator.url, token, "GET", `/api/v2/conversations/${IDS.conversation(2)}`)).status).toBe(200);
      const patch = await api(emulator.url, token, "PATCH", `/api/v2/conversations/${IDS.conversation(1)}/participants/${IDS.customer(1)}/attributes`, { attributes: { k: "v" } });
      expect(patch.status).toBe(202);
      expect((await api(emulator.url, token, "GET", "/api/v2/notifications/channels")).status).toBeLessThan(500);
      // Not the Platform API, or not the emulator: not counted.
      await getToken(emulator.url);
      await fetch(`${emulator.url}/emulator/log`);
      const otherPort = (other.address() as AddressInfo).port;
      await fetch(`http://127.0.0.1:${otherPort}/api/v2/conversations/x`);
      expect(requestsBetween(before, counter.snapshot())).toEqual({
        conversationGets: 2,
        attributePatches: 1,
        api: 4,
        byConversation: { [IDS.conversation(1)]: 2, [IDS.conversation(2)]: 1 },
      });
    } finally {
      counter.close();
    }
    await api(emulator.url, token, "GET", `/api/v2/conversations/${IDS.conversation(1)}`);
    expect(counter.snapshot().conversationGets).toBe(2);
  });
});
