/**
 * Resuming with `after` on an instance that never watched the conversation (issue 10: cursors
 * are valid on any instance). Three feeds on one shared in-memory log stand for three instances
 * (the holder H appends; followers A and B only absorb), with a virtual clock and a stub of the
 * notification side that keeps the cluster's continuity record the way ClusterTopics does
 * (a proof begun before a gap is void; a gap drops the record). The rules:
 *
 * - B accepts `after` when the holder has had the topic live with no gap since at or before the
 *   cursor's seq, and replays exactly the entries after it, then goes on live with no duplicate;
 * - a gap (a reconnect of the holder's channel) after the cursor: refused with CURSOR_EXPIRED
 *   (never a partial replay); the holder proves the topic again only once its re-read after the
 *   gap has been applied, and cursors from then on are accepted;
 * - no proof (the holder's baseline read failed, or the topic is not live): refused.
 *
 * The same rules through real Redis, ClusterTopics and a real socket drop:
 * test/cluster/cluster-feed.test.ts; end to end: test/cluster/three-instances.test.ts.
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { AttributeChangeFeed, type ConversationSource, type StreamItem, type TopicSubscriptions } from "../../src/attributes/change-feed.js";
import { CursorExpiredError, InMemoryChangeLog, type ChangeEntry } from "../../src/attributes/change-log.js";
import { conversationAttributesTopic } from "../../src/genesys/attribute-events.js";
import type { ConversationSnapshot } from "../../src/genesys/participants.js";
import { createLogger } from "../../src/logger.js";
import { virtualTimers } from "../support/virtual-timers.js";

const C = "c1";
const TOPIC = conversationAttributesTopic(C);
const logger = createLogger("silent");

/** The cluster's shared state: one log, the wanted topics, the holder's continuity record, one Genesys. */
function cluster() {
  const vt = virtualTimers();
  const log = new InMemoryChangeLog({ now: vt.now, epoch: "resume" });
  const entries: ChangeEntry[] = [];
  log.listen((e) => entries.push(e));
  const attributes: Record<string, string> = { a: "1" };
  return {
    vt,
    log,
    entries,
    attributes,
    wanted: new Set<string>(),
    /** Topic → seq since which the holder has had it live with no gap (what ClusterTopics publishes). */
    since: new Map<string, number>(),
    /** Grows with every gap: a proof begun before one is void. */
    gaps: 0,
    /** The holder's socket is up. */
    live: true,
    /** The holder's reads fail while set. */
    failReads: false,
    conversation: (): ConversationSnapshot => ({ id: C, participants: [{ id: "p", conversationId: C, purpose: "customer", attributes: { ...attributes } }] }),
  };
}
type Cluster = ReturnType<typeof cluster>;

/** One instance's notification side; only the holder's proofs count (as ClusterTopics: a follower has no pool). */
class Topics extends EventEmitter implements TopicSubscriptions {
  constructor(
    private readonly c: Cluster,
    private readonly holder: boolean,
  ) {
    super();
  }
  async acquire(topics: string[]): Promise<void> {
    for (const t of topics) this.c.wanted.add(t);
  }
  async release(): Promise<void> {}
  isLive(topic: string): boolean {
    return this.c.live && this.c.wanted.has(topic);
  }
  isWanted(topic: string): boolean {
    return this.c.wanted.has(topic);
  }
  wantedTopics(): string[] {
    return [...this.c.wanted];
  }
  async continuousSince(topic: string): Promise<number | undefined> {
    return this.isLive(topic) ? this.c.since.get(topic) : undefined;
  }
  beginContinuity(topics: string[]): (seq: number) => void {
    if (!this.holder) return () => undefined;
    const gaps = this.c.gaps;
    return (seq) => {
      if (this.c.gaps !== gaps) return;
      for (const t of topics) if (this.isLive(t) && !this.c.since.has(t)) this.c.since.set(t, seq);
    };
  }
  /** The holder's channel reconnected: events of `topics` in between were lost. */
  gap(topics: string[]): void {
    this.c.gaps += 1;
    for (const t of topics) this.c.since.delete(t);
    this.emit("reconnected", topics);
  }
  notify(attributes: Record<string, string>, eventTime: number): void {
    this.emit("event", { topicName: TOPIC, eventBody: { eventTime, conversationId: C, participantId: "p", attributes } });
  }
}

function instance(c: Cluster, role: "holder" | "follower") {
  const topics = new Topics(c, role === "holder");
  const genesys: ConversationSource = {
    getConversation: async () => {
      if (role === "holder" && c.failReads) throw new Error("503 from Genesys");
      return c.conversation();
    },
    listQueueConversations: async () => ({ conversationIds: [], truncated: false }),
  };
  const feed = new AttributeChangeFeed({ topics, genesys, log: c.log, logger, now: c.vt.now, timers: c.vt.timers, role, lingerMs: 0, resyncRetryDelaysMs: [] });
  return { feed, topics };
}

async function change(iterator: AsyncIterableIterator<StreamItem>) {
  const { value } = await iterator.next();
  if (!value || value.kind !== "change") throw new Error(`expected a change, got ${JSON.stringify(value)}`);
  return value;
}

/** H, A (the first subscriber) and B (never watched C), with A subscribed and the holder's baseline applied. */
async function started() {
  const c = cluster();
  const h = instance(c, "holder");
  const a = instance(c, "follower");
  const b = instance(c, "follower");
  const first = await a.feed.subscribe({ conversationId: C }, { includeSnapshot: true });
  await change(first);
  // The holder subscribed A's topic for the cluster and reads its baseline; that proves it.
  h.topics.emit("subscribed", [TOPIC]);
  await c.vt.advanceAsync(0);
  return { c, h, a, b, first };
}

/** A notification on the holder (Genesys state updated first, as it would be). */
function write(s: Awaited<ReturnType<typeof started>>, value: string, eventTime: number) {
  s.c.attributes.a = value;
  s.h.topics.notify({ a: value }, eventTime);
}

describe("resuming with after on an instance that never watched the conversation", () => {
  it("accepted when the holder has had the topic live with no gap since at or before the cursor: exactly the missed entries, then live, nothing twice", async () => {
    const s = await started();
    expect(s.c.since.get(TOPIC)).toBe(0);
    write(s, "2", 1_000);
    const seen = await change(s.first);
    expect(seen.changes).toEqual([{ key: "a", previous: "1", value: "2" }]);
    await s.first.return?.();
    // While the client is away.
    write(s, "3", 2_000);
    write(s, "4", 3_000);
    expect(s.c.entries).toHaveLength(3);

    const resumed = await s.b.feed.subscribe({ conversationId: C }, { after: seen.cursor });
    expect((await change(resumed)).changes).toEqual([{ key: "a", previous: "2", value: "3" }]);
    const caughtUp = await change(resumed);
    expect(caughtUp.changes).toEqual([{ key: "a", previous: "3", value: "4" }]);
    expect(caughtUp.cursor).toBe(s.c.entries[2]!.cursor);
    write(s, "5", 4_000);
    const live = await change(resumed);
    expect(live.changes).toEqual([{ key: "a", previous: "4", value: "5" }]);
    expect(live.cursor).toBe(s.c.entries[3]!.cursor);
    // A cursor at exactly the proof's seq is accepted too (since ≤ cursor).
    const fromStart = await s.b.feed.subscribe({ conversationId: C }, { after: s.c.entries[0]!.cursor });
    expect((await change(fromStart)).attributes).toEqual({ a: "3" });
    expect(s.b.feed.stats().cursorsRefused).toBe(0);
    await resumed.return?.();
    await fromStart.return?.();
    for (const i of [s.h, s.a, s.b]) i.feed.close();
  });

  it("a gap after the cursor is refused with CURSOR_EXPIRED; once the holder's re-read after it is applied, later cursors are accepted", async () => {
    const s = await started();
    write(s, "2", 1_000);
    const beforeGap = await change(s.first);
    // The holder's socket drops; a change lands meanwhile; it reconnects and re-reads.
    s.c.live = false;
    s.c.attributes.a = "3";
    s.c.live = true;
    s.c.failReads = true; // the first re-read fails: the topic stays unproven
    s.h.topics.gap([TOPIC]);
    await s.c.vt.advanceAsync(0);
    expect(s.c.since.has(TOPIC)).toBe(false);
    await expect(s.b.feed.subscribe({ conversationId: C }, { after: beforeGap.cursor })).rejects.toBeInstanceOf(CursorExpiredError);

    s.c.failReads = false;
    s.h.topics.gap([TOPIC]);
    await s.c.vt.advanceAsync(0);
    // The re-read appended what changed in the gap; the topic is continuous from there.
    expect(s.c.entries.map((e) => e.attributes.a)).toEqual(["2", "3"]);
    expect(s.c.since.get(TOPIC)).toBe(s.c.entries[1]!.seq);
    await expect(s.b.feed.subscribe({ conversationId: C }, { after: beforeGap.cursor })).rejects.toThrow(/not watching this conversation continuously/);
    expect(s.b.feed.stats().cursorsRefused).toBe(2);
    // A (watching all along, here) still accepts it: its own watch is continuous (today's rule).
    const onA = await s.a.feed.subscribe({ conversationId: C }, { after: beforeGap.cursor });
    expect((await change(onA)).attributes).toEqual({ a: "3" });

    const afterGap = s.c.entries[1]!.cursor;
    const resumed = await s.b.feed.subscribe({ conversationId: C }, { after: afterGap });
    // Past the re-read's settle window: the next notification is not suspect.
    await s.c.vt.advanceAsync(5_000);
    write(s, "4", 9_000);
    expect((await change(resumed)).changes).toEqual([{ key: "a", previous: "3", value: "4" }]);
    await resumed.return?.();
    await onA.return?.();
    await s.first.return?.();
    for (const i of [s.h, s.a, s.b]) i.feed.close();
  });

  it("refused without a proof: the holder's baseline read failed, or the topic is not live", async () => {
    const c = cluster();
    c.failReads = true;
    const h = instance(c, "holder");
    const a = instance(c, "follower");
    const b = instance(c, "follower");
    const first = await a.feed.subscribe({ conversationId: C }, { includeSnapshot: true });
    await change(first);
    h.topics.emit("subscribed", [TOPIC]);
    await c.vt.advanceAsync(0);
    expect(c.since.has(TOPIC)).toBe(false);
    c.failReads = false;
    c.attributes.a = "2";
    h.topics.notify({ a: "2" }, 1_000);
    const seen = await change(first);
    await expect(b.feed.subscribe({ conversationId: C }, { after: seen.cursor })).rejects.toBeInstanceOf(CursorExpiredError);

    // Proven now (the holder re-read it after a reconnect), but the topic is not live (no holder).
    h.topics.gap([TOPIC]);
    await c.vt.advanceAsync(0);
    expect(c.since.get(TOPIC)).toBe(c.entries[0]!.seq);
    c.live = false;
    await expect(b.feed.subscribe({ conversationId: C }, { after: seen.cursor })).rejects.toBeInstanceOf(CursorExpiredError);
    c.live = true;
    const resumed = await b.feed.subscribe({ conversationId: C }, { after: seen.cursor });
    await c.vt.advanceAsync(5_000);
    c.attributes.a = "3";
    h.topics.notify({ a: "3" }, 2_000);
    expect((await change(resumed)).changes).toEqual([{ key: "a", previous: "2", value: "3" }]);
    await resumed.return?.();
    await first.return?.();
    for (const i of [h, a, b]) i.feed.close();
  });
});
