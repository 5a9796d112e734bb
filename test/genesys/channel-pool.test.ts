/**
 * NotificationChannelPool placement rules with in-memory channels: topics fill one channel up to
 * its limit before a second is created, references are counted per topic, a full pool refuses
 * with UPSTREAM_LIMIT and recovers when topics are released, a failed subscribe gives back every
 * reference it took, a channel's reconnect reports only that channel's topics, and a frame
 * arriving on two channels (same topic and CorrelationId) is emitted once.
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { NotificationChannelPool, TopicLimitError } from "../../src/genesys/channel-pool.js";
import { RecentNotifications } from "../../src/genesys/recent-notifications.js";
import type { NotificationChannel } from "../../src/genesys/notifications.js";

class FakeChannel extends EventEmitter {
  readonly held = new Map<string, number>();
  failNext = false;
  get topics(): string[] {
    return [...this.held.keys()];
  }
  async acquire(topics: string[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("subscribe failed");
    }
    for (const t of topics) this.held.set(t, (this.held.get(t) ?? 0) + 1);
  }
  async release(topics: string[]): Promise<void> {
    for (const t of topics) {
      const n = (this.held.get(t) ?? 0) - 1;
      if (n > 0) this.held.set(t, n);
      else this.held.delete(t);
    }
  }
  close(): void {}
}

function pool(maxTopicsPerChannel: number, maxChannels: number) {
  const created: FakeChannel[] = [];
  const p = new NotificationChannelPool({
    createChannel: () => {
      const channel = new FakeChannel();
      created.push(channel);
      return channel as unknown as NotificationChannel;
    },
    maxTopicsPerChannel,
    maxChannels,
  });
  return { pool: p, created };
}

describe("NotificationChannelPool", () => {
  it("fills a channel before creating the next, and counts references per topic", async () => {
    const { pool: p, created } = pool(2, 3);
    await p.acquire(["a"]);
    await p.acquire(["b"]);
    await p.acquire(["a"]); // a second holder of a: no new slot
    expect(created).toHaveLength(1);
    await p.acquire(["c"]);
    expect(created).toHaveLength(2);
    expect(created.map((c) => c.topics)).toEqual([["a", "b"], ["c"]]);
    await p.release(["a"]);
    expect(created[0]!.topics).toEqual(["a", "b"]);
    await p.release(["a"]);
    expect(created[0]!.topics).toEqual(["b"]);
    // The freed room is used again before the second channel.
    await p.acquire(["d"]);
    expect(created[0]!.topics).toEqual(["b", "d"]);
  });

  it("refuses with UPSTREAM_LIMIT when every channel is full, and admits again after a release", async () => {
    const { pool: p } = pool(1, 2);
    await p.acquire(["a"]);
    await p.acquire(["b"]);
    await expect(p.acquire(["c"])).rejects.toBeInstanceOf(TopicLimitError);
    await expect(p.acquire(["c"])).rejects.toMatchObject({ code: "UPSTREAM_LIMIT" });
    await p.release(["b"]);
    await expect(p.acquire(["c"])).resolves.toBeUndefined();
    expect(p.topics.sort()).toEqual(["a", "c"]);
  });

  it("gives back every reference of a failed subscribe", async () => {
    const { pool: p, created } = pool(1, 3);
    await p.acquire(["a"]);
    created[0]!.failNext = true;
    await expect(p.acquire(["a", "b"])).rejects.toThrow("subscribe failed");
    // b's channel gave its reference back; a keeps only the first holder.
    expect(created[1]!.topics).toEqual([]);
    await p.release(["a"]);
    expect(created[0]!.topics).toEqual([]);
    await p.acquire(["x"]);
    expect(created.flatMap((c) => c.topics)).toEqual(["x"]);
  });

  it("re-emits events, and a channel's reconnect with that channel's topics only", async () => {
    const { pool: p, created } = pool(1, 2);
    await p.acquire(["a", "b"]);
    const reconnected: string[][] = [];
    const events: string[] = [];
    p.on("reconnected", (topics) => reconnected.push(topics));
    p.on("event", (e) => events.push(e.topicName));
    created[1]!.emit("reconnected");
    created[0]!.emit("event", { topicName: "a", eventBody: {} });
    expect(reconnected).toEqual([["b"]]);
    expect(events).toEqual(["a"]);
  });

  it("reports every channel's socket as one state (open only while all are open) and counts held topics over all channels", async () => {
    const { pool: p, created } = pool(1, 3);
    const states: string[] = [];
    p.on("state", (state) => states.push(state));
    expect(p.state).toBe("idle");
    expect(p.heldTopicCount).toBe(0);
    await p.acquire(["a", "b"]);
    await p.acquire(["a"]); // a second holder: still two distinct topics
    expect(created).toHaveLength(2);
    expect(p.heldTopicCount).toBe(2);
    created[0]!.emit("state", "open");
    expect(p.state).toBe("idle"); // the second channel has not opened yet
    created[1]!.emit("state", "open");
    expect(p.state).toBe("open");
    created[1]!.emit("state", "down");
    expect(p.state).toBe("down");
    created[1]!.emit("state", "open");
    expect(p.state).toBe("open");
    expect(states).toEqual(["open", "down", "open"]);
    await p.release(["a", "b"]);
    expect(p.heldTopicCount).toBe(1);
    await p.release(["a"]);
    expect(p.heldTopicCount).toBe(0);
  });

  it("emits a frame that arrives on two channels, or twice on one, once; repeats as duplicate", async () => {
    const { pool: p, created } = pool(1, 2);
    await p.acquire(["a", "b"]);
    const events: string[] = [];
    const duplicates: string[] = [];
    p.on("event", (e) => events.push(`${e.topicName}/${e.metadata?.CorrelationId ?? "-"}`));
    p.on("duplicate", (e) => duplicates.push(`${e.topicName}/${e.metadata?.CorrelationId}`));
    const frame = (topicName: string, id?: string) => ({ topicName, eventBody: {}, metadata: id === undefined ? undefined : { CorrelationId: id } });
    created[0]!.emit("event", frame("a", "1"));
    created[1]!.emit("event", frame("a", "1")); // the same frame on the other channel
    created[0]!.emit("event", frame("a", "1")); // and again on the first
    created[1]!.emit("event", frame("b", "1")); // same id, another topic: another event
    created[0]!.emit("event", frame("a", "2"));
    created[0]!.emit("event", frame("a")); // no CorrelationId: never taken for a repeat
    created[0]!.emit("event", frame("a"));
    expect(events).toEqual(["a/1", "b/1", "a/2", "a/-", "a/-"]);
    expect(duplicates).toEqual(["a/1", "a/1"]);
    expect(p.duplicates).toBe(2);
  });
});

describe("RecentNotifications", () => {
  it("forgets frames past its capacity (oldest first) and its age bound", () => {
    let now = 0;
    const recent = new RecentNotifications({ capacity: 2, maxAgeMs: 1_000, now: () => now });
    const frame = (id: string) => ({ topicName: "t", eventBody: {}, metadata: { CorrelationId: id } });
    expect(recent.isRepeat(frame("1"))).toBe(false);
    expect(recent.isRepeat(frame("2"))).toBe(false);
    expect(recent.isRepeat(frame("1"))).toBe(true);
    expect(recent.isRepeat(frame("3"))).toBe(false); // 1 is forgotten: capacity 2
    expect(recent.isRepeat(frame("1"))).toBe(false);
    expect(recent.size).toBe(2);
    now = 1_001;
    expect(recent.isRepeat(frame("3"))).toBe(false); // older than 1 s: forgotten
    expect(recent.size).toBe(1);
  });
});
