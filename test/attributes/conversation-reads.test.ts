/**
 * ConversationReads: one GET in flight per conversation, shared by callers that accept any
 * read, while a caller that needs a read started after some moment (mark) gets a follow-up
 * read, itself shared; a read racing a change is repeated; a forgotten conversation's read is
 * not shared any more.
 */
import { describe, expect, it } from "vitest";
import { attributeMap } from "../../src/attributes/attribute-map.js";
import { InMemoryChangeLog } from "../../src/attributes/change-log.js";
import { ChangeTracker, type ObservedParticipant } from "../../src/attributes/change-tracker.js";
import { ConversationReads } from "../../src/attributes/conversation-reads.js";

function setup() {
  const tracker = new ChangeTracker({ log: new InMemoryChangeLog({ epoch: "r" }), now: () => 0 });
  const pending: Array<(p: ObservedParticipant[]) => void> = [];
  let value = "0";
  const reads = new ConversationReads({
    tracker,
    fetch: () =>
      new Promise((resolve) => {
        pending.push(() => resolve([{ info: { id: "p", conversationId: "c", purpose: "customer" }, attributes: attributeMap({ a: value }) }]));
      }),
  });
  const answer = async () => {
    pending.shift()!([]);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { tracker, reads, pending, answer, set: (v: string) => void (value = v) };
}

describe("ConversationReads", () => {
  it("shares one GET among callers that accept a read in flight", async () => {
    const { reads, pending, answer } = setup();
    const all = Promise.all([reads.read("c"), reads.read("c"), reads.read("c")]);
    expect(pending).toHaveLength(1);
    await answer();
    await all;
    expect(reads.sent).toBe(1);
  });

  it("queues one shared follow-up for callers that need a read started after their mark", async () => {
    const { reads, pending, answer } = setup();
    const first = reads.read("c");
    const mark = reads.mark();
    const late = Promise.all([reads.read("c", mark), reads.read("c", mark)]);
    expect(pending).toHaveLength(1);
    await answer();
    await first;
    expect(pending).toHaveLength(1); // the follow-up started after the first finished
    await answer();
    await late;
    expect(reads.sent).toBe(2);
  });

  it("repeats a read that raced a change and disagrees with it", async () => {
    const { reads, tracker, pending, answer, set } = setup();
    const baseline = reads.read("c");
    await answer();
    await baseline;
    const read = reads.read("c");
    tracker.observe({ kind: "detail", conversationId: "c", participantId: "p", attributes: attributeMap({ a: "1" }), eventTime: 5 });
    await answer(); // answers a=0: older than the event, or newer? Read again.
    expect(pending).toHaveLength(1);
    set("1");
    await answer();
    await read;
    expect(reads.sent).toBe(3);
  });

  it("does not share a read of a conversation forgotten meanwhile", async () => {
    const { reads, pending } = setup();
    void reads.read("c");
    reads.forget("c");
    void reads.read("c");
    expect(pending).toHaveLength(2);
  });
});
