/**
 * Several instances end to end (issue 10): the emulator (in this process), one real
 * redis-server and three gateway processes (`node dist/src/main.js`, spawned like the project
 * tests spawn it, `REDIS_URL` set), meeting only at the wire.
 *
 * - The contract through a client that round-robins across the instances: a write through one
 *   is seen by queries on another and by subscribers on a third (fan-out from the shared log).
 * - 10 concurrent writers with one `expectedVersion`, spread over the three → exactly one
 *   `AttributesUpdated`; and no PATCH ever sent with a stale fence. How that is checked: every
 *   writer writes its own key, each instance logs every PATCH it sends with the fence it was
 *   checked under ("attribute write sent", debug), and the emulator's ground-truth write log
 *   gives the order Genesys accepted them in. A fence grows with every acquisition of the
 *   participant's lease, so if a PATCH were sent under a fence that had already passed on, the
 *   write log would show it after a PATCH of a newer fence (or two writers interleaved). The test
 *   maps each accepted write to its fence through its key and requires the fences to be
 *   non-decreasing in acceptance order, each writer's PATCHes contiguous, and one fence per writer.
 * - A subscriber that drops and resumes with `after` on an instance that never watched the
 *   conversation (accepted because the channel holder had its topic live with no gap since the
 *   cursor): exactly the changes it missed, no gap, no duplicate.
 * - The channel holder killed (SIGKILL) during writes: another instance holds the channels
 *   within 15 s and every subscriber converges to the final state.
 * - Redis lost later (the instances reach it through a TCP proxy the test cuts: connections
 *   dropped, data kept) → `/readyz` 503 naming `redis` on every instance, subscriptions ended
 *   with CHANGE_LOG_UNAVAILABLE and a cursor, mutations refused with WRITE_LEASE_UNAVAILABLE
 *   (nothing sent to Genesys); back → ready again without a restart, the ended subscriber
 *   resumes with its cursor and the cluster writes and fans out again.
 * - Redis restarted empty (no persistence): the instances rebuild what it lost by themselves (a
 *   holder is elected again, topic demand rewritten, the log re-created under a new epoch): new
 *   subscriptions and writes work across instances, and a cursor of the old log answers
 *   CURSOR_EXPIRED instead of a replay the log cannot prove.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "graphql-ws";
import { startEmulator, type RunningEmulator } from "../../src/emulator/server.js";
import { attributesVersion } from "../../src/attributes/version.js";
import { conversationAttributesTopic } from "../../src/genesys/attribute-events.js";
import { AttributesChangedDocument, ParticipantDocument, UpdateAttributesDocument } from "../generated/graphql.js";
import { cleanEnv, freePort, killAll, spawnCollected, type LogLine, type Spawned } from "../support/processes.js";
import { hasRedisServer, startRedis, warnWithoutRedis, type RunningRedis } from "../support/redis-server.js";
import { control, createCall, gql, gqlData, subscribe, TEST_FAULTS, wsClient, type LiveSubscription, type TestCall } from "../support/stack.js";
import { connectSdk, DEMO_CREDENTIALS, type SdkConnection } from "../support/sdk.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import type { AttributesChangedSubscription } from "../generated/graphql.js";
import type { WriteLogEntry } from "../../src/emulator/writes.js";

warnWithoutRedis("test/cluster/three-instances.test.ts");

const MAIN_JS = fileURLToPath(new URL("../../dist/src/main.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const QUEUE = "a0000000-0000-4000-8000-0000000000c1";
const START_TIMEOUT_MS = 30_000;

/** One spawned gateway instance. */
interface Instance {
  name: string;
  run: Spawned;
  url: string;
  wsUrl: string;
}

let emulator: RunningEmulator;
let redis: RunningRedis;
/** What the instances connect to instead of Redis itself, so the test can take Redis away from them. */
let proxy: TcpProxy;
/** The "other writer" (an Architect flow, another integration) writing behind the gateways' back. */
let sdk: SdkConnection;
const instances: Instance[] = [];
const clients: Client[] = [];

async function startInstance(name: string): Promise<Instance> {
  const port = await freePort();
  const run = spawnCollected(process.execPath, [MAIN_JS], {
    cwd: ROOT,
    env: cleanEnv({
      LOG_LEVEL: "debug",
      PORT: String(port),
      GENESYS_GATEWAY_URL: emulator.url,
      GENESYS_CLIENT_ID: DEMO_CREDENTIALS.clientId,
      GENESYS_CLIENT_SECRET: DEMO_CREDENTIALS.clientSecret,
      GATEWAY_AUTH: "none",
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      GENESYS_REQUESTS_PER_MINUTE: "100000",
      RATE_LIMIT_REQUESTS_PER_MINUTE: "0",
      // Ten writes to one participant run one after the other cluster-wide: room for a loaded CI machine.
      UPDATE_DEADLINE_MS: "15000",
    }),
  });
  await run.logLine("gateway listening", START_TIMEOUT_MS);
  return { name, run, url: `http://127.0.0.1:${port}/graphql`, wsUrl: `ws://127.0.0.1:${port}/graphql` };
}

/** The instance whose log says it was elected channel holder last (and is still running). */
function holder(): Instance | undefined {
  let best: { instance: Instance; fence: number } | undefined;
  for (const instance of instances) {
    if (instance.run.child.exitCode !== null || instance.run.child.signalCode !== null) continue;
    for (const line of instance.run.lines) {
      if (line.msg?.startsWith("elected channel holder") && (!best || Number(line["fence"]) > best.fence)) best = { instance, fence: Number(line["fence"]) };
    }
  }
  return best?.instance;
}

/** The instances still running (the holder test kills one). */
function running(): Instance[] {
  return instances.filter((i) => i.run.child.exitCode === null && i.run.child.signalCode === null);
}

/** A client that sends each operation to the next instance in turn (a round-robin load balancer). */
function roundRobin() {
  let next = 0;
  const alive = () => instances.filter((i) => i.run.child.exitCode === null && i.run.child.signalCode === null);
  return () => {
    const pool = alive();
    return pool[next++ % pool.length]!;
  };
}

function ws(instance: Instance): Client {
  const client = wsClient(instance.wsUrl);
  clients.push(client);
  return client;
}

async function participant(instance: Instance, call: TestCall) {
  return (await gqlData(instance.url, ParticipantDocument, { conversationId: call.conversationId, participantId: call.customerId })).participant!;
}

async function update(instance: Instance, call: TestCall, attributes: Record<string, string>, expectedVersion?: string) {
  const result = await gql(instance.url, UpdateAttributesDocument, {
    input: { conversationId: call.conversationId, participantId: call.customerId, attributes, ...(expectedVersion ? { expectedVersion } : {}) },
  });
  if (result.errors?.length) return { __typename: "error" as const, code: String(result.errors[0]!.extensions?.["code"]), message: result.errors[0]!.message };
  return result.data!.updateAttributes;
}

async function readyz(instance: Instance): Promise<{ status: number; failing: string[] }> {
  const response = await fetch(new URL("/readyz", instance.url));
  return { status: response.status, failing: ((await response.json()) as { failing: string[] }).failing };
}

async function writeLog(call: TestCall): Promise<WriteLogEntry[]> {
  const { entries } = await control<{ entries: WriteLogEntry[] }>(emulator.url, "GET", "/log");
  return entries.filter((e) => e.conversationId === call.conversationId && e.participantId === call.customerId);
}

/** Every "attribute write sent" line of every instance for this participant. */
function sentWrites(call: TestCall): Array<LogLine & { keys: string[]; fence: number; attempt: number }> {
  return instances.flatMap((i) =>
    i.run.lines.filter((l) => l.msg === "attribute write sent" && l["conversationId"] === call.conversationId && l["participantId"] === call.customerId),
  ) as Array<LogLine & { keys: string[]; fence: number; attempt: number }>;
}

/**
 * Subscribes to the customer of `call` on `instance` with `includeSnapshot` and reads the
 * snapshot: once it is there the subscription is live (no write after this is missed).
 */
async function liveSubscription(instance: Instance, call: TestCall, extra: { after?: string } = {}) {
  const sub = subscribe(ws(instance), AttributesChangedDocument, {
    conversationId: call.conversationId,
    participantId: call.customerId,
    ...(extra.after ? { after: extra.after } : { includeSnapshot: true }),
  });
  if (!extra.after) {
    const first = await sub.next(20_000);
    if (first.errors) throw new Error(`subscription error: ${JSON.stringify(first.errors)}`);
    expect(first.data!.attributesChanged.snapshot).toBe(true);
  }
  return sub;
}

/** Reads events until one shows `attributes` ⊇ `wanted`; fails after `timeoutMs`. */
async function until(sub: LiveSubscription<AttributesChangedSubscription>, wanted: Record<string, string>, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const result = await sub.next(Math.max(1, end - Date.now()));
    if (result.errors) throw new Error(`subscription error: ${JSON.stringify(result.errors)}`);
    const event = result.data!.attributesChanged;
    if (Object.entries(wanted).every(([k, v]) => event.attributes[k] === v)) return event;
  }
}

describe.skipIf(!hasRedisServer)("three gateway instances on one Redis", () => {
  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, faults: TEST_FAULTS });
    redis = await startRedis();
    proxy = await startTcpProxy(redis.port);
    sdk = await connectSdk(emulator.url);
    instances.push(...(await Promise.all(["gw-a", "gw-b", "gw-c"].map(startInstance))));
    // One of them holds the channels.
    await Promise.race(instances.map((i) => i.run.logLine((msg) => msg.startsWith("elected channel holder"), 15_000).catch(() => new Promise(() => undefined))));
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.dispose();
    killAll(instances.map((i) => i.run.child.pid!));
    await Promise.all(instances.map((i) => i.run.exited));
    await proxy?.close();
    await redis?.stop();
    await emulator?.close();
  });

  it("one API through a round-robin client: a write through one instance is seen by queries and subscribers on the others", async () => {
    const next = roundRobin();
    const call = await createCall(emulator.url, QUEUE, { start: "0" });
    const subscribers = await Promise.all(instances.map((i) => liveSubscription(i, call)));
    for (let n = 0; n < 3; n++) expect((await participant(next(), call)).attributes).toEqual({ start: "0" });
    const written = await update(next(), call, { "crm.caseId": "CASE-RR" });
    expect(written.__typename).toBe("AttributesUpdated");
    for (const sub of subscribers) {
      const event = await until(sub, { "crm.caseId": "CASE-RR" });
      expect(event.changes).toEqual([{ key: "crm.caseId", previous: null, value: "CASE-RR" }]);
    }
    // Every instance answers queries with the write (served from the shared log or read).
    for (let n = 0; n < 3; n++) expect((await participant(next(), call)).attributes).toEqual({ start: "0", "crm.caseId": "CASE-RR" });
    for (const sub of subscribers) sub.stop();
  });

  it("10 concurrent writers with one expectedVersion over three instances: exactly one AttributesUpdated, and no PATCH under a stale fence", async () => {
    const call = await createCall(emulator.url, QUEUE, { base: "1" });
    const version = attributesVersion({ base: "1" });
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => update(instances[i % 3]!, call, { [`writer.${i}`]: "won" }, version)),
    );
    const kinds = outcomes.map((o) => o.__typename);
    expect(kinds.filter((k) => k === "AttributesUpdated"), JSON.stringify(outcomes)).toHaveLength(1);
    expect(kinds.filter((k) => k === "VersionConflict"), JSON.stringify(outcomes)).toHaveLength(9);
    const winner = outcomes.findIndex((o) => o.__typename === "AttributesUpdated");
    // Genesys saw one write, the winner's, sent once under one fence.
    const log = await writeLog(call);
    expect(log.map((e) => e.attributes)).toEqual([{ [`writer.${winner}`]: "won" }]);
    expect(sentWrites(call).map((s) => s.keys)).toEqual([[`writer.${winner}`]]);
  });

  it("10 concurrent unconditional writers over three instances: every PATCH accepted in fence order, one fence per writer, never interleaved", async () => {
    const call = await createCall(emulator.url, QUEUE, {});
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => update(instances[i % 3]!, call, { [`writer.${i}`]: "1" })));
    expect(outcomes.map((o) => o.__typename), JSON.stringify(outcomes)).toEqual(Array(10).fill("AttributesUpdated"));
    const sent = sentWrites(call);
    const fenceOf = new Map<string, number>();
    for (const s of sent) {
      const key = s.keys[0]!;
      // One fence per writer (all its PATCHes and re-sends under the lease it took).
      expect(fenceOf.get(key) ?? s.fence).toBe(s.fence);
      fenceOf.set(key, s.fence);
    }
    expect(new Set(fenceOf.values()).size, "each writer took the lease anew").toBe(10);
    const accepted = (await writeLog(call)).map((e) => Object.keys(e.attributes)[0]!);
    expect(accepted).toHaveLength(sent.length);
    const fences = accepted.map((key) => fenceOf.get(key));
    expect(fences.every((f) => f !== undefined), "every accepted PATCH was logged with its fence").toBe(true);
    // Acceptance order = fence order: no PATCH of an older fence after one of a newer fence.
    expect(fences).toEqual([...fences].sort((a, b) => a! - b!));
    // Contiguous: a writer's PATCHes are not interleaved with another's.
    const runs = accepted.filter((key, i) => i === 0 || accepted[i - 1] !== key);
    expect(new Set(runs).size).toBe(runs.length);
  });

  it("a subscriber resumes with after on an instance that never watched the conversation: exactly what it missed, no gap, no duplicate", async () => {
    const call = await createCall(emulator.url, QUEUE, {});
    const first = await liveSubscription(instances[0]!, call);
    // The holder has proven the topic continuous (its baseline applied) and published since when.
    const topic = conversationAttributesTopic(call.conversationId);
    const inspect = redis.client();
    await expect.poll(async () => JSON.parse((await inspect.get("gw:live-since")) ?? "{}")[topic], { timeout: 10_000, interval: 50 }).toBeTypeOf("number");
    inspect.disconnect();
    expect((await update(instances[0]!, call, { step: "1" })).__typename).toBe("AttributesUpdated");
    const seen = await until(first, { step: "1" });
    first.stop();
    // While it is away: two more writes (through the same instance, and behind the gateways' back).
    expect((await update(instances[0]!, call, { step: "2" })).__typename).toBe("AttributesUpdated");
    await sdk.conversations.patchConversationsCallParticipantAttributes(call.conversationId, call.customerId, { attributes: { step: "3" } });
    // Resumes through the load balancer on a follower that never had a subscriber or a write there:
    // its own watch starts now, so only the holder's published continuity can accept the cursor.
    const other = instances.find((i) => i !== instances[0] && i !== holder())!;
    const resumed = await liveSubscription(other, call, { after: seen.cursor });
    const event = async () => {
      const r = await resumed.next(20_000);
      // Before the fix: CURSOR_EXPIRED here (the follower had not watched it since the cursor).
      if (r.errors) throw new Error(`subscription error: ${JSON.stringify(r.errors)}`);
      return r.data!.attributesChanged;
    };
    const replay = [await event(), await event()];
    expect(replay.map((e) => e.attributes["step"])).toEqual(["2", "3"]);
    expect(replay.map((e) => e.changes)).toEqual([[{ key: "step", previous: "1", value: "2" }], [{ key: "step", previous: "2", value: "3" }]]);
    // Live after the replay, and nothing twice.
    expect((await update(instances[2]!, call, { step: "4" })).__typename).toBe("AttributesUpdated");
    expect((await event()).changes).toEqual([{ key: "step", previous: "3", value: "4" }]);
    expect(resumed.pending()).toBe(0);
    resumed.stop();
  });

  it("the channel holder killed during writes: another instance holds the channels within 15 s; every subscriber converges to the final state", async () => {
    const call = await createCall(emulator.url, QUEUE, {});
    const dying = holder()!;
    const survivors = instances.filter((i) => i !== dying);
    const subscribers = await Promise.all(survivors.map((i) => liveSubscription(i, call)));
    expect((await update(survivors[0]!, call, { n: "0" })).__typename).toBe("AttributesUpdated");
    for (const sub of subscribers) await until(sub, { n: "0" });

    // Writes keep coming from "another writer" (the SDK side of the emulator) while the holder dies.
    const writer = (async () => {
      for (let n = 1; n <= 20; n++) {
        await sdk.conversations.patchConversationsCallParticipantAttributes(call.conversationId, call.customerId, { attributes: { n: String(n) } });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const killedAt = Date.now();
    dying.run.child.kill("SIGKILL");
    await expect.poll(() => (holder() !== undefined && holder() !== dying ? holder()!.name : undefined), { timeout: 15_000, interval: 50 }).toBeDefined();
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThanOrEqual(15_000);
    await writer;
    // Every subscriber converges to the final state, n = 20.
    for (const sub of subscribers) await until(sub, { n: "20" }, 20_000);
    for (const sub of subscribers) sub.stop();
    console.info(`channel holder takeover after ${takeoverMs} ms`);
  });

  it("Redis lost: 503 naming redis, subscriptions ended with a resumable cursor, mutations refused; back: recovers without a restart", async () => {
    const call = await createCall(emulator.url, QUEUE, {});
    const [first, second] = running();
    const sub = await liveSubscription(first!, call);
    expect((await update(second!, call, { phase: "before" })).__typename).toBe("AttributesUpdated");
    const before = await until(sub, { phase: "before" });
    const patchesBefore = (await writeLog(call)).length;

    await proxy.cut();
    for (const instance of running()) {
      await expect.poll(async () => (await readyz(instance)).status, { timeout: 10_000, interval: 50 }).toBe(503);
      expect((await readyz(instance)).failing).toContain("redis");
    }
    const ended = await sub.next(10_000);
    expect(ended.errors?.[0]?.extensions).toEqual({ code: "CHANGE_LOG_UNAVAILABLE", cursor: before.cursor });
    await sub.done;
    for (const instance of running()) {
      const refused = await update(instance, call, { phase: "during" });
      expect(refused).toMatchObject({ __typename: "error", code: "WRITE_LEASE_UNAVAILABLE" });
    }
    expect((await writeLog(call)).length, "nothing was sent to Genesys while the lease could not be taken").toBe(patchesBefore);

    await proxy.restore();
    for (const instance of running()) await expect.poll(async () => (await readyz(instance)).status, { timeout: 15_000, interval: 100 }).toBe(200);
    // The ended subscriber resumes with its cursor on the instance that kept watching the
    // conversation (its own watch never stopped; the holder's continuity may have been reset by
    // the outage): nothing was appended meanwhile, so nothing is replayed; then live.
    const resumed = await liveSubscription(first!, call, { after: String(ended.errors![0]!.extensions!["cursor"]) });
    await expect
      .poll(async () => (await update(second!, call, { phase: "after" })).__typename, { timeout: 20_000, interval: 500 })
      .toBe("AttributesUpdated");
    const after = await until(resumed, { phase: "after" });
    expect(after.changes).toEqual([{ key: "phase", previous: "before", value: "after" }]);
    resumed.stop();
  });

  it("Redis restarted empty: rebuilt from the instances' own state without a restart; old cursors are refused", async () => {
    const call = await createCall(emulator.url, QUEUE, {});
    const [first, second] = running();
    const sub = await liveSubscription(first!, call);
    expect((await update(second!, call, { epoch: "old" })).__typename).toBe("AttributesUpdated");
    const old = await until(sub, { epoch: "old" });
    const electedBefore = instances.flatMap((i) => i.run.lines).filter((l) => l.msg?.startsWith("elected channel holder")).length;

    redis.process.kill("SIGKILL");
    await redis.restart(); // same port, empty
    const ended = await sub.next(15_000);
    expect(ended.errors?.[0]?.extensions?.["code"]).toBe("CHANGE_LOG_UNAVAILABLE");
    for (const instance of running()) await expect.poll(async () => (await readyz(instance)).status, { timeout: 15_000, interval: 100 }).toBe(200);
    // A holder again (the lease was lost with Redis).
    await expect
      .poll(() => instances.flatMap((i) => i.run.lines).filter((l) => l.msg?.startsWith("elected channel holder")).length, { timeout: 20_000, interval: 100 })
      .toBeGreaterThan(electedBefore);

    const fresh = await liveSubscription(second!, call);
    await expect
      .poll(async () => (await update(first!, call, { epoch: "new" })).__typename, { timeout: 20_000, interval: 500 })
      .toBe("AttributesUpdated");
    expect((await until(fresh, { epoch: "new" })).changes).toEqual([{ key: "epoch", previous: "old", value: "new" }]);
    fresh.stop();

    const stale = subscribe(ws(first!), AttributesChangedDocument, { conversationId: call.conversationId, after: old.cursor });
    expect((await stale.next(10_000)).errors?.[0]?.extensions?.["code"]).toBe("CURSOR_EXPIRED");
  });
});
