/**
 * The `eventTimeResolutionMs` fault: attribute detail events carry `eventTime` rounded down to
 * a multiple of the resolution, so writes made visible close together share an eventTime (the
 * case the gateway must settle with a read). Other topics are unaffected.
 */
import { describe, expect, it } from "vitest";
import { eventsForChange } from "../../src/emulator/notifications/events.js";
import type { ConversationChange } from "../../src/emulator/store.js";

const change = (at: number): ConversationChange => ({
  kind: "attributes",
  at,
  participantId: "p",
  conversation: {
    id: "c",
    mediaType: "call",
    queueId: "q",
    startTime: new Date(0).toISOString(),
    participants: [{ id: "p", purpose: "customer", startTime: new Date(0).toISOString(), state: "connected", communicationId: "m", attributes: { a: "1" } }],
  },
});

const eventTimeOf = (at: number, resolution?: number) =>
  (eventsForChange(change(at), resolution).find((e) => e.topicName.endsWith(".attributes"))!.eventBody as { eventTime: number }).eventTime;

describe("eventTimeResolutionMs", () => {
  it("keeps the exact ms by default and rounds down to the resolution otherwise", () => {
    expect(eventTimeOf(1_234_567)).toBe(1_234_567);
    expect(eventTimeOf(1_234_567, 1_000)).toBe(1_234_000);
    expect(eventTimeOf(1_234_999, 1_000)).toBe(eventTimeOf(1_234_001, 1_000));
  });

  it("leaves queue snapshots alone (they carry no time)", () => {
    const topics = eventsForChange(change(5), 1_000).map((e) => e.topicName);
    expect(topics).toContain("v2.routing.queues.q.conversations");
  });
});
