/**
 * Shared conversation reads: one GET for identical concurrent reads, answers from the change log
 * only while it is current and within the staleness bound, and `fresh` always its own GET.
 */
import { describe, expect, it } from "vitest";
import { SharedConversationReads, type TrackedConversations } from "../../src/attributes/shared-reads.js";
import type { ConversationSnapshot } from "../../src/genesys/participants.js";

const conversation = (value: string): ConversationSnapshot => ({
  id: "c",
  participants: [{ id: "p", conversationId: "c", purpose: "customer", attributes: { a: value } }],
});

function genesys() {
  const pending: Array<() => void> = [];
  let value = "0";
  let gets = 0;
  return {
    fetch: (_id: string) => {
      gets += 1;
      const answer = conversation(value);
      return new Promise<ConversationSnapshot | null>((resolve) => pending.push(() => resolve(answer)));
    },
    answerAll: () => pending.splice(0).forEach((r) => r()),
    set: (v: string) => void (value = v),
    gets: () => gets,
  };
}

describe("SharedConversationReads", () => {
  it("makes one GET for identical concurrent reads", async () => {
    const g = genesys();
    const reads = new SharedConversationReads({ fetch: g.fetch });
    const all = Array.from({ length: 50 }, () => reads.get("c"));
    g.answerAll();
    const answers = await Promise.all(all);
    expect(g.gets()).toBe(1);
    expect(answers.every((a) => a?.participants[0]?.attributes.a === "0")).toBe(true);
    // A read after the flight landed sends a new GET.
    const later = reads.get("c");
    g.answerAll();
    await later;
    expect(g.gets()).toBe(2);
  });

  it("serves from the log only while it is current, within maxAgeMs, and never for fresh", async () => {
    const g = genesys();
    let current: ConversationSnapshot | undefined = conversation("logged");
    const asked: number[] = [];
    const tracked: TrackedConversations = {
      current: (_id, maxAgeMs) => (asked.push(maxAgeMs), current),
      observeRead: () => undefined,
    };
    const reads = new SharedConversationReads({ fetch: g.fetch, tracked, maxAgeMs: 2_000 });
    expect((await reads.get("c"))?.participants[0]?.attributes.a).toBe("logged");
    expect(asked).toEqual([2_000]);
    expect(g.gets()).toBe(0);

    const fresh = reads.get("c", true);
    g.answerAll();
    expect((await fresh)?.participants[0]?.attributes.a).toBe("0");
    expect(g.gets()).toBe(1);

    current = undefined; // e.g. channel down or gap open
    const fetched = reads.get("c");
    g.answerAll();
    expect((await fetched)?.participants[0]?.attributes.a).toBe("0");
    expect(g.gets()).toBe(2);
  });

  it("a fresh read does not join a GET already in flight, but later reads join it", async () => {
    const g = genesys();
    const reads = new SharedConversationReads({ fetch: g.fetch });
    const old = reads.get("c");
    g.set("1");
    const fresh = reads.get("c", true);
    const joiner = reads.get("c");
    g.answerAll();
    expect((await old)?.participants[0]?.attributes.a).toBe("0");
    expect((await fresh)?.participants[0]?.attributes.a).toBe("1");
    expect((await joiner)?.participants[0]?.attributes.a).toBe("1");
    expect(g.gets()).toBe(2);
  });

  it("hands every GET's result to the log", async () => {
    const g = genesys();
    const seen: Array<ConversationSnapshot | null> = [];
    const reads = new SharedConversationReads({
      fetch: g.fetch,
      tracked: { current: () => undefined, observeRead: () => (c) => seen.push(c) },
    });
    const read = reads.get("c");
    g.answerAll();
    await read;
    expect(seen).toHaveLength(1);
  });
});
