/**
 * The change feed's roles on one shared log (two feeds in one process stand for two instances),
 * with a virtual clock and in-memory ports: only the holder appends and reconciles; a follower's
 * subscribers get the holder's entries and its snapshots show the absorbed state; a follower that
 * becomes holder re-reads what the cluster watches at `background` priority and appends exactly
 * what changed while nobody appended; a deposed holder appends nothing.
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { AttributeChangeFeed, type ConversationSource, type StreamItem, type TopicSubscriptions } from "../../src/attributes/change-feed.js";
import { InMemoryChangeLog, type ChangeEntry } from "../../src/attributes/change-log.js";
import type { ReadPriority } from "../../src/attributes/conversation-reads.js";
import { conversationAttributesTopic } from "../../src/genesys/attribute-events.js";
import type { ConversationSnapshot } from "../../src/genesys/participants.js";
import { createLogger } from "../../src/logger.js";
import { virtualTimers, type VirtualTimers } from "../support/virtual-timers.js";

const C = "c1";
const TOPIC = conversationAttributesTopic(C);
const logger = createLogger("silent");

/** The cluster's shared state: one log, one union of wanted topics, one Genesys. */
function cluster() {
  const vt = virtualTimers();
  const log = new InMemoryChangeLog({ now: vt.now, epoch: "roles" });
  const entries: ChangeEntry[] = [];
  log.listen((e) => entries.push(e));
  const wanted = new Set<string>();
  const attributes: Record<string, string> = { a: "1" };
  const reads: Array<[string, string, ReadPriority]> = [];
  const conversation = (): ConversationSnapshot => ({
    id: C,
    participants: [{ id: "p", conversationId: C, purpose: "customer", attributes: { ...attributes } }],
  });
  return { vt, log, entries, wanted, attributes, reads, conversation };
}

/** TopicSubscriptions of one instance: acquire adds to the cluster's union; the test emits notifications. */
class Topics extends EventEmitter implements TopicSubscriptions {
  constructor(private readonly wanted: Set<string>) {
    super();
  }
  async acquire(topics: string[]): Promise<void> {
    for (const t of topics) this.wanted.add(t);
  }
  async release(): Promise<void> {}
  isLive(topic: string): boolean {
    return this.wanted.has(topic);
  }
  isWanted(topic: string): boolean {
    return this.wanted.has(topic);
  }
  wantedTopics(): string[] {
    return [...this.wanted];
  }
  notify(attributes: Record<string, string>, eventTime: number): void {
    this.emit("event", { topicName: TOPIC, eventBody: { eventTime, conversationId: C, participantId: "p", attributes } });
  }
}

function instance(name: string, c: ReturnType<typeof cluster>, role: "holder" | "follower", vt: VirtualTimers = c.vt) {
  const topics = new Topics(c.wanted);
  const genesys: ConversationSource = {
    getConversation: async (id, priority) => {
      c.reads.push([name, id, priority]);
      return c.conversation();
    },
    listQueueConversations: async () => ({ conversationIds: [], truncated: false }),
  };
  const feed = new AttributeChangeFeed({ topics, genesys, log: c.log, logger, now: vt.now, timers: vt.timers, role, lingerMs: 0, reconcileRequestsPerMinute: 60 });
  return { feed, topics };
}

async function next(iterator: AsyncIterableIterator<StreamItem>) {
  const { value } = await iterator.next();
  if (!value || value.kind !== "change") throw new Error(`expected a change, got ${JSON.stringify(value)}`);
  return value;
}

describe("AttributeChangeFeed roles", () => {
  it("a follower's subscriber gets the holder's entries; the follower's own reads and notifications append nothing", async () => {
    const c = cluster();
    const holder = instance("holder", c, "holder");
    const follower = instance("follower", c, "follower");
    expect(follower.feed.role).toBe("follower");
    const stream = await follower.feed.subscribe({ conversationId: C }, { includeSnapshot: true });
    expect(await next(stream)).toMatchObject({ snapshot: true, attributes: { a: "1" } });
    expect(c.entries).toEqual([]); // the follower's baseline read is not appended
    // The holder subscribed the topic for the cluster and reads its baseline.
    holder.topics.emit("subscribed", [TOPIC]);
    await c.vt.advanceAsync(0);
    expect(c.reads).toEqual([
      ["follower", C, "read"],
      ["holder", C, "background"],
    ]);

    c.attributes.a = "2";
    follower.topics.notify({ a: "2" }, 1_000); // a follower sees none in a cluster; if it did, it would not append
    expect(c.entries).toEqual([]);
    holder.topics.notify({ a: "2" }, 1_000);
    expect(c.entries.map((e) => e.changes)).toEqual([[{ key: "a", previous: "1", value: "2" }]]);
    expect(await next(stream)).toMatchObject({ snapshot: false, changes: [{ key: "a", previous: "1", value: "2" }], cursor: c.entries[0]!.cursor });
    expect(follower.feed.tracker.committed(C)).toMatchObject([{ attributes: { a: "2" }, seq: 1 }]);
    // A second subscriber on the follower starts from the absorbed state without reading Genesys.
    const second = await follower.feed.subscribe({ conversationId: C }, { includeSnapshot: true });
    expect(await next(second)).toMatchObject({ snapshot: true, attributes: { a: "2" } });
    expect(c.reads).toHaveLength(2);
    await stream.return?.();
    await second.return?.();
    holder.feed.close();
    follower.feed.close();
  });

  it("only the holder reconciles", async () => {
    const c = cluster();
    const holder = instance("holder", c, "holder");
    const follower = instance("follower", c, "follower");
    const stream = await follower.feed.subscribe({ conversationId: C });
    await c.vt.advanceAsync(60_000);
    const byWhom = (name: string) => c.reads.filter(([n, , p]) => n === name && p === "background").length;
    expect(byWhom("follower")).toBe(0);
    expect(byWhom("holder")).toBeGreaterThan(30); // the cluster's watch, swept about once a second
    await stream.return?.();
    holder.feed.close();
    follower.feed.close();
  });

  it("on takeover the new holder re-reads what the cluster watches at background priority and appends what changed meanwhile, once", async () => {
    const c = cluster();
    const holder = instance("holder", c, "holder");
    const follower = instance("follower", c, "follower");
    const stream = await follower.feed.subscribe({ conversationId: C }, { includeSnapshot: true });
    await next(stream);
    holder.topics.emit("subscribed", [TOPIC]);
    await c.vt.advanceAsync(0);
    c.attributes.a = "2";
    holder.topics.notify({ a: "2" }, 1_000);
    expect((await next(stream)).attributes).toMatchObject({ a: "2" });

    // The holder dies; a change lands in Genesys while nobody appends.
    holder.feed.close();
    holder.feed.becomeFollower();
    c.attributes.a = "3";
    c.reads.length = 0;
    await follower.feed.becomeHolder([TOPIC]);
    expect(follower.feed.role).toBe("holder");
    expect(c.reads).toEqual([["follower", C, "background"]]);
    expect(c.entries.map((e) => e.changes)).toEqual([[{ key: "a", previous: "1", value: "2" }], [{ key: "a", previous: "2", value: "3" }]]);
    expect(await next(stream)).toMatchObject({ changes: [{ key: "a", previous: "2", value: "3" }] });

    // The new holder decides notifications now; the late notification of a=2 is not a change back.
    follower.topics.notify({ a: "2" }, 1_000);
    expect(c.entries).toHaveLength(2);
    c.vt.advance(5_000);
    follower.topics.notify({ a: "4" }, 9_000);
    expect(c.entries.at(-1)!.changes).toEqual([{ key: "a", previous: "3", value: "4" }]);
    // The deposed holder appends nothing.
    holder.topics.notify({ a: "5" }, 10_000);
    expect(c.entries).toHaveLength(3);
    await stream.return?.();
    follower.feed.close();
  });

  it("becomeHolder on the holder does nothing; becomeFollower stops appending and reconciling", async () => {
    const c = cluster();
    const one = instance("one", c, "holder");
    const stream = await one.feed.subscribe({ conversationId: C });
    c.reads.length = 0;
    await one.feed.becomeHolder([TOPIC]);
    expect(c.reads).toEqual([]);
    one.feed.becomeFollower();
    expect(one.feed.tracker.isAppending).toBe(false);
    one.topics.notify({ a: "2" }, 1_000);
    await c.vt.advanceAsync(30_000);
    expect(c.entries).toEqual([]);
    expect(c.reads).toEqual([]);
    await stream.return?.();
    one.feed.close();
  });

  it("hands an append the log refused (a stale fence) to onAppendError, so the holder can step down", async () => {
    const c = cluster();
    const refusing = Object.create(c.log) as InMemoryChangeLog;
    const stale = Object.assign(new Error("the change-log fence 1 is stale"), { name: "StaleFenceError" });
    refusing.append = async () => Promise.reject(stale);
    const errors: unknown[] = [];
    const topics = new Topics(c.wanted);
    const feed = new AttributeChangeFeed({
      topics,
      log: refusing,
      logger,
      now: c.vt.now,
      timers: c.vt.timers,
      lingerMs: 0,
      onAppendError: (error) => errors.push(error),
      genesys: { getConversation: async () => c.conversation(), listQueueConversations: async () => ({ conversationIds: [], truncated: false }) },
    });
    const stream = await feed.subscribe({ conversationId: C });
    topics.notify({ a: "2" }, 1_000);
    await c.vt.advanceAsync(0);
    expect(errors).toEqual([stale]);
    expect(c.entries).toEqual([]);
    await stream.return?.();
    feed.close();
  });

  it("a new holder first absorbs the previous holder's entries still on their way, so nothing is appended twice", async () => {
    const c = cluster();
    // The follower's view of the shared log: entries reach its listeners only when flushed.
    const pending: ChangeEntry[] = [];
    const listeners = new Set<(entry: ChangeEntry) => void>();
    let delivered = 0;
    c.log.listen((entry) => pending.push(entry));
    const slow = Object.create(c.log) as InMemoryChangeLog;
    slow.listen = (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    };
    slow.headSeq = () => delivered;
    const start = c.log.headCursor();
    slow.headCursor = () => (delivered === 0 ? start : c.entries[delivered - 1]!.cursor);
    const flush = () => {
      for (const entry of pending.splice(0)) {
        delivered = entry.seq;
        for (const l of listeners) l(entry);
      }
    };
    const holder = instance("holder", c, "holder");
    const topics = new Topics(c.wanted);
    const follower = new AttributeChangeFeed({
      topics,
      log: slow,
      logger,
      now: c.vt.now,
      timers: c.vt.timers,
      role: "follower",
      lingerMs: 0,
      genesys: { getConversation: async (id, priority) => (c.reads.push(["follower", id, priority]), c.conversation()), listQueueConversations: async () => ({ conversationIds: [], truncated: false }) },
    });
    await holder.feed.subscribe({ conversationId: C });
    c.attributes.a = "2";
    holder.topics.notify({ a: "2" }, 1_000);
    expect(c.entries).toHaveLength(1);
    expect(pending).toEqual([c.entries[0]]); // appended, not yet delivered to the follower
    holder.feed.close();
    holder.feed.becomeFollower();

    const takeover = follower.becomeHolder([TOPIC]);
    await c.vt.advanceAsync(50);
    expect(c.reads.filter(([n]) => n === "follower")).toEqual([]); // still waiting for the entry in flight
    flush();
    await c.vt.advanceAsync(20);
    await takeover;
    expect(c.reads.filter(([n]) => n === "follower")).toEqual([["follower", C, "background"]]);
    expect(c.entries).toHaveLength(1); // a=2 was absorbed, not appended again
    expect(follower.tracker.committed(C)).toMatchObject([{ attributes: { a: "2" }, seq: 1 }]);
    follower.close();
  });
});
