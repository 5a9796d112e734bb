/**
 * The emulator's notification service: channels, subscriptions, the streaming WebSocket and
 * topic events, with injectable delivery faults.
 *
 * Genesys facts (shared/genesys/README.md, "Notifications (the only live feed)"; SDK 262.0.0
 * `NotificationsApi` and models `Channel`, `ChannelTopic`, `ChannelTopicEntityListing`,
 * `SystemMessageSystemMessage`; ChannelTopic `state` values from the Java SDK docs:
 * `Permitted`, `Rejected`, `OutdatedSdkVersion`):
 * - `POST /api/v2/notifications/channels` → `{id: "streaming-N-...", connectUri, expires}`;
 *   a channel lives 24 h and re-subscribing extends it; at most 20 channels per user and app
 *   (a 21st evicts the oldest unconnected one); at most 1,000 topics per channel (more → 400);
 *   one socket per channel (a second connection kicks the first).
 * - Subscriptions: PUT replaces, POST adds, GET lists, DELETE removes all; body
 *   `[{"id": topic}]`; `ignoreErrors=true` keeps a permission failure on one topic from failing
 *   the whole request (otherwise 403 for all).
 * - Frames: `{topicName, version: "2", eventBody, metadata: {CorrelationId}}`; heartbeat and
 *   pong on `channel.metadata`; `v2.system.socket_closing` announces a close.
 * - Delivery is at-most-once: nothing is queued while no socket is connected.
 *
 * Emulator decisions where Genesys documents nothing (each one is covered by a test):
 * - A topic that is not one of the five supported patterns (see ./topics.ts) is treated as a
 *   permission failure: without `ignoreErrors=true` → 403 `missing.permissions` and nothing
 *   changes; with it → 200, good topics applied, each bad one listed in `entities` as
 *   `{id, state: "Rejected", rejectionReason, missingPermissions: []}`.
 * - Accepted topics are listed as `{id, state: "Permitted"}`; PUT/POST answer with the
 *   channel's whole resulting subscription list followed by the rejected topics.
 * - A malformed body → 400 `bad.request`; more than 1,000 topics on a channel → 400
 *   `bad.request` (nothing changes, `ignoreErrors` does not apply).
 * - Unknown, expired, evicted or another client's channel → 404 `not.found` on REST, and an
 *   HTTP 404 answer to the WebSocket upgrade (the handshake never completes).
 * - Eviction: when a client creates its 21st channel, the unconnected channel with the oldest
 *   "last used" time (creation, subscription change, socket connect/disconnect) is removed;
 *   if all 20 are connected, the connected one with the oldest last-used time is removed and
 *   its socket closed with 1000 (the web's "channels without an active connection are
 *   removed first" rule).
 * - Server-initiated closes: kicked by a newer connection, channel expired, channel evicted →
 *   close code 1000 with a reason; `socket-closing` control → close 1001 after
 *   `socketClosingGraceMs`; `disconnect` control → TCP terminated without a close frame
 *   (client sees 1006).
 * - Expired channels are removed lazily (on every REST call, upgrade and published change)
 *   and by a 1 s sweep timer, so advancing the emulator clock takes effect at the next request.
 * - `v2.system.socket_closing` frame: envelope like an event (`version: "2"`, metadata
 *   CorrelationId) with an `eventBody` in the SDK's `SystemMessageSystemMessage` shape
 *   `{channelId, systemTopicType: "socket_closing", correlationId, oauthClientId, reason:
 *   "maintenance", message}`; the `reason` value is an assumption.
 * - Channels belong to the OAuth client id (`res.locals.clientId`); `GET /channels` ignores
 *   the SDK's `includechannels` query (every channel of the client is listed). The socket
 *   itself needs no token (the channel id is the credential), as with `connectUri` in Genesys.
 * - `crossSocketDuplicateRate` (a fault; Genesys documents neither order nor duplicates): a
 *   frame is also sent on the client's other open sockets, whatever their channels' topics,
 *   and a socket connecting to a channel first gets again the frames sent on the channel in
 *   the last {@link CROSS_SOCKET_WINDOW_MS} ms, so a client sees one event on two sockets.
 * - `HEAD /channels/{id}` (SDK `headNotificationsChannel`): 200 when the caller's channel is
 *   live, else 404 with an ErrorBody.
 */
import type http from "node:http";
import type stream from "node:stream";
import express, { type NextFunction, type Request, type Response } from "express";
import { WebSocket, WebSocketServer } from "ws";
import { z } from "zod";
import { sendError } from "../errors.js";
import type { ConversationChange, ConversationStore } from "../store.js";
import { eventsForChange } from "./events.js";
import { parseTopic } from "./topics.js";

/** Delivery faults, read from {@link NotificationServiceOptions.faults} on every use. */
export interface NotificationFaults {
  /** Share in [0, 1] of event frames not delivered, drawn per socket and event. */
  dropRate: number;
  /** Share in [0, 1] of delivered event frames sent twice (same frame, same CorrelationId). */
  duplicateRate: number;
  /**
   * Share in [0, 1] of event frames the client also receives on its other sockets, drawn per
   * frame and socket it was delivered on: the same frame (same CorrelationId) is sent on every
   * other open socket of the same OAuth client, and a socket connecting to a channel gets again
   * the frames its channel's previous socket was sent in the {@link CROSS_SOCKET_WINDOW_MS} before.
   * See {@link CROSS_SOCKET_WINDOW_MS}.
   */
  crossSocketDuplicateRate: number;
  /** Each event frame copy is held back a random 0..window ms (0 = sent at once, in order). */
  reorderWindowMs: number;
  /** Heartbeat period in ms; 0 = no heartbeats. Re-read after every beat (or every 1 s while 0). */
  heartbeatIntervalMs: number;
  /** Ms between the `v2.system.socket_closing` frame and the server closing the socket. */
  socketClosingGraceMs: number;
  /** Whether a client's `{"message":"ping"}` gets a pong (false simulates a half-open socket). */
  answerPings: boolean;
  /** Whether every WebSocket upgrade is answered HTTP 503 (the streaming host is down). Default false. */
  refuseSockets?: boolean;
  /** `eventTime` of attribute detail events rounded down to a multiple of this (ms); 1 = exact. */
  eventTimeResolutionMs: number;
}

/** Dependencies and settings of {@link createNotificationService}. */
export interface NotificationServiceOptions {
  /** The conversations whose `change` events are published. */
  store: ConversationStore;
  /** Current delivery faults; called on every use because faults change at run time. */
  faults: () => NotificationFaults;
  /** Seeded uniform random numbers in [0, 1) (channel ids and fault draws). */
  random: () => number;
  /** Emulator clock in epoch ms (channel expiry). */
  now: () => number;
  /** Seeded UUID generator (event CorrelationIds, socket_closing correlation ids). */
  newId: () => string;
  /** Channel lifetime in seconds (Genesys: 24 h = 86400); also the extension on re-subscribe. */
  channelTtlSeconds: number;
  /** Base of `connectUri`, without a trailing slash, e.g. `ws://127.0.0.1:4010`. */
  wsBaseUrl: () => string;
}

/** What {@link createNotificationService} returns. */
export interface NotificationService {
  /** REST API; mount at `/api/v2/notifications` after auth (reads `res.locals.clientId`). */
  router: express.Router;
  /**
   * Control API; mount at `/emulator/notifications` (no auth):
   * `POST /disconnect` → 200 `{disconnected: n}` (every socket terminated, no close frame);
   * `POST /socket-closing` → 202 `{notified: n, closeAfterMs}` (sends `v2.system.socket_closing`,
   * closes with 1001 after `socketClosingGraceMs`);
   * `GET /channels[?clientId=…]` → 200 `{entities: [{id, clientId, connected, topics, expires}]}`
   * (inspection: every channel, or only that OAuth client's).
   */
  controlRouter: express.Router;
  /**
   * Handles an HTTP server `upgrade` event. Returns false (and leaves the socket alone) unless
   * the path is `/channels/{id}`; otherwise takes the socket and returns true: an unknown or
   * expired channel gets an HTTP 404 answer, a live one becomes that channel's WebSocket
   * (kicking any previous one), unless the `refuseSockets` fault is on (HTTP 503).
   */
  handleUpgrade(req: http.IncomingMessage, socket: stream.Duplex, head: Buffer): boolean;
  /** Drops every channel and terminates every socket (subscriptions are lost). */
  reset(): void;
  /** Stops timers, terminates sockets and detaches from the store. Idempotent. */
  close(): Promise<void>;
}

/** Genesys limit: channels per user and app (here: per OAuth client id). */
export const MAX_CHANNELS_PER_CLIENT = 20;
/** Genesys limit: topics per channel. */
export const MAX_TOPICS_PER_CHANNEL = 1000;
/** `channel.metadata` heartbeat frame, exactly as Genesys sends it. */
export const HEARTBEAT_FRAME = JSON.stringify({ topicName: "channel.metadata", eventBody: { message: "WebSocket Heartbeat" } });
/** `channel.metadata` answer to a client's `{"message":"ping"}`. */
export const PONG_FRAME = JSON.stringify({ topicName: "channel.metadata", eventBody: { message: "pong" } });

/** Body of the subscription PUT/POST: `[{"id": "<topic>"}]` (extra fields such as selfUri allowed). */
const TopicListSchema = z.array(z.looseObject({ id: z.string().min(1) }));

/**
 * `crossSocketDuplicateRate`: how far back (real ms) a socket connecting to a channel gets the
 * frames sent on the channel's previous socket again (a redelivery around a reconnect).
 */
export const CROSS_SOCKET_WINDOW_MS = 5000;

/** The expiry sweep period (real ms). */
const SWEEP_INTERVAL_MS = 1000;
/** While heartbeats are off (interval 0), how often the setting is re-read (real ms). */
const HEARTBEAT_IDLE_RECHECK_MS = 1000;

interface Channel {
  id: string;
  clientId: string;
  connectUri: string;
  createdAt: number;
  /** Emulator ms of creation, last subscription change, or last socket connect/disconnect. */
  lastUsedAt: number;
  expiresAt: number;
  /** Subscribed topic names, in subscription order. */
  topics: Set<string>;
  connection?: Connection;
  /** Event frames sent on this channel's sockets in the last {@link CROSS_SOCKET_WINDOW_MS} (real ms, `performance.now()`). */
  recent: Array<{ data: string; at: number }>;
}

interface Connection {
  ws: WebSocket;
  channel: Channel;
  heartbeat?: NodeJS.Timeout;
}

/** Builds the notification service; see {@link NotificationService} for the surface. */
export function createNotificationService(opts: NotificationServiceOptions): NotificationService {
  const channels = new Map<string, Channel>();
  const connections = new Set<Connection>();
  const timers = new Set<NodeJS.Timeout>();
  const wss = new WebSocketServer({ noServer: true, clientTracking: false });
  let closed = false;

  const ttlMs = () => opts.channelTtlSeconds * 1000;

  // ---------------------------------------------------------------- timers

  function later(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    timers.add(timer);
    return timer;
  }

  const sweepTimer = setInterval(() => sweep(), SWEEP_INTERVAL_MS);
  sweepTimer.unref();

  // ---------------------------------------------------------------- channels

  function newChannelId(): string {
    const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    let suffix = "";
    for (let i = 0; i < 26; i++) suffix += alphabet[Math.floor(opts.random() * alphabet.length)];
    return `streaming-${Math.floor(opts.random() * 10)}-${suffix}`;
  }

  function sweep(): void {
    const now = opts.now();
    for (const channel of [...channels.values()]) {
      if (channel.expiresAt <= now) removeChannel(channel, "Channel expired");
    }
  }

  function removeChannel(channel: Channel, reason: string): void {
    channels.delete(channel.id);
    const connection = channel.connection;
    if (connection) {
      detach(connection);
      connection.ws.close(1000, reason);
    }
  }

  function createChannel(clientId: string): Channel {
    sweep();
    const own = [...channels.values()].filter((c) => c.clientId === clientId);
    if (own.length >= MAX_CHANNELS_PER_CLIENT) {
      const byAge = (a: Channel, b: Channel) => a.lastUsedAt - b.lastUsedAt;
      const unconnected = own.filter((c) => !c.connection).sort(byAge);
      const victim = unconnected[0] ?? own.sort(byAge)[0]!;
      removeChannel(victim, "Channel removed: a newer channel exceeded the limit of 20 channels");
    }
    const now = opts.now();
    let id = newChannelId();
    while (channels.has(id)) id = newChannelId();
    const channel: Channel = {
      id,
      clientId,
      connectUri: `${opts.wsBaseUrl()}/channels/${id}`,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: now + ttlMs(),
      topics: new Set(),
      recent: [],
    };
    channels.set(id, channel);
    return channel;
  }

  function renderChannel(channel: Channel) {
    return { connectUri: channel.connectUri, id: channel.id, expires: new Date(channel.expiresAt).toISOString() };
  }

  function renderTopics(channel: Channel, rejected: string[] = []) {
    return {
      entities: [
        ...[...channel.topics].map((id) => ({ id, state: "Permitted" })),
        ...rejected.map((id) => ({
          id,
          state: "Rejected",
          rejectionReason: `Topic ${id} is not available: the emulator supports only queue/user conversation topics and conversation attribute detail events`,
          missingPermissions: [] as string[],
        })),
      ],
    };
  }

  // ---------------------------------------------------------------- REST

  function clientIdOf(res: Response): string {
    const id: unknown = res.locals.clientId;
    return typeof id === "string" && id.length > 0 ? id : "anonymous";
  }

  /** The caller's live channel named in the path, or undefined after sending a 404. */
  function ownedChannel(req: Request, res: Response): Channel | undefined {
    sweep();
    const channel = channels.get(String(req.params.channelId));
    if (!channel || channel.clientId !== clientIdOf(res)) {
      sendError(res, 404, "not.found", `Channel ${String(req.params.channelId)} was not found or has expired`);
      return undefined;
    }
    return channel;
  }

  function subscribe(req: Request, res: Response, mode: "replace" | "add"): void {
    const channel = ownedChannel(req, res);
    if (!channel) return;
    const parsed = TopicListSchema.safeParse(req.body);
    if (!parsed.success) {
      sendError(res, 400, "bad.request", `The request body must be an array of {"id": "<topic>"}: ${z.prettifyError(parsed.error)}`);
      return;
    }
    const ignoreErrors = String(req.query.ignoreErrors ?? "").toLowerCase() === "true";
    const requested = [...new Set(parsed.data.map((t) => t.id))];
    const accepted = requested.filter((id) => parseTopic(id) !== undefined);
    const rejected = requested.filter((id) => parseTopic(id) === undefined);
    if (rejected.length > 0 && !ignoreErrors) {
      sendError(
        res,
        403,
        "missing.permissions",
        `Unable to perform the requested action. You are missing the following permission(s) for topic(s): ${rejected.join(", ")}`,
      );
      return;
    }
    const next = new Set(mode === "replace" ? accepted : [...channel.topics, ...accepted]);
    if (next.size > MAX_TOPICS_PER_CHANNEL) {
      sendError(
        res,
        400,
        "bad.request",
        `A channel can have at most ${MAX_TOPICS_PER_CHANNEL} topics; this request would leave ${next.size}`,
      );
      return;
    }
    const now = opts.now();
    channel.topics = next;
    channel.expiresAt = now + ttlMs();
    channel.lastUsedAt = now;
    res.status(200).json(renderTopics(channel, rejected));
  }

  const router = express.Router();
  router.use(express.json({ limit: "2mb" }));

  router.post("/channels", (_req, res) => {
    res.status(200).json(renderChannel(createChannel(clientIdOf(res))));
  });
  router.get("/channels", (_req, res) => {
    sweep();
    const clientId = clientIdOf(res);
    res.status(200).json({ entities: [...channels.values()].filter((c) => c.clientId === clientId).map(renderChannel) });
  });
  router.head("/channels/:channelId", (req, res) => {
    if (ownedChannel(req, res)) res.status(200).end();
  });
  router.get("/channels/:channelId/subscriptions", (req, res) => {
    const channel = ownedChannel(req, res);
    if (channel) res.status(200).json(renderTopics(channel));
  });
  router.put("/channels/:channelId/subscriptions", (req, res) => subscribe(req, res, "replace"));
  router.post("/channels/:channelId/subscriptions", (req, res) => subscribe(req, res, "add"));
  router.delete("/channels/:channelId/subscriptions", (req, res) => {
    const channel = ownedChannel(req, res);
    if (!channel) return;
    channel.topics = new Set();
    channel.lastUsedAt = opts.now();
    res.status(200).end();
  });
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const type = (err as { type?: unknown } | null)?.type;
    if (type === "entity.parse.failed") sendError(res, 400, "bad.request", "The request body is not valid JSON");
    else if (type === "entity.too.large") sendError(res, 413, "request.entity.too.large", "The request is over the size limit");
    else next(err);
  });

  // ---------------------------------------------------------------- sockets

  function sendFrame(connection: Connection, data: string): void {
    if (connection.channel.connection === connection && connection.ws.readyState === WebSocket.OPEN) connection.ws.send(data);
  }

  /** Sends one event frame copy now, or after a random delay within the reorder window. */
  function sendEventCopy(connection: Connection, data: string, reorderWindowMs: number): void {
    const delay = reorderWindowMs > 0 ? Math.floor(opts.random() * (reorderWindowMs + 1)) : 0;
    if (delay === 0) sendFrame(connection, data);
    else later(delay, () => sendFrame(connection, data));
  }

  /** Remembers an event frame sent on a channel, for the redelivery of `crossSocketDuplicateRate` after a reconnect. */
  function remember(channel: Channel, data: string): void {
    const at = performance.now();
    while (channel.recent.length > 0 && at - channel.recent[0]!.at > CROSS_SOCKET_WINDOW_MS) channel.recent.shift();
    if (channel.recent.length >= 1000) channel.recent.shift();
    channel.recent.push({ data, at });
  }

  /** Sends one event frame through the fault pipeline (drop, duplicate, cross-socket duplicate, reorder). */
  function deliverEvent(connection: Connection, data: string): void {
    const faults = opts.faults();
    if (faults.dropRate > 0 && opts.random() < faults.dropRate) return;
    const copies = faults.duplicateRate > 0 && opts.random() < faults.duplicateRate ? 2 : 1;
    for (let i = 0; i < copies; i++) sendEventCopy(connection, data, faults.reorderWindowMs);
    if (faults.crossSocketDuplicateRate <= 0) return;
    remember(connection.channel, data);
    if (opts.random() >= faults.crossSocketDuplicateRate) return;
    for (const other of connections) {
      if (other !== connection && other.channel.clientId === connection.channel.clientId && other.channel.connection === other) {
        sendEventCopy(other, data, faults.reorderWindowMs);
      }
    }
  }

  /** `crossSocketDuplicateRate`: a new socket of a channel gets again what the previous one was sent within {@link CROSS_SOCKET_WINDOW_MS}. */
  function redeliverRecent(connection: Connection): void {
    const faults = opts.faults();
    const recent = connection.channel.recent;
    if (faults.crossSocketDuplicateRate <= 0 || recent.length === 0) return;
    const since = performance.now() - CROSS_SOCKET_WINDOW_MS;
    for (const { data, at } of [...recent]) {
      if (at >= since && opts.random() < faults.crossSocketDuplicateRate) sendEventCopy(connection, data, faults.reorderWindowMs);
    }
  }

  function scheduleHeartbeat(connection: Connection): void {
    const interval = opts.faults().heartbeatIntervalMs;
    connection.heartbeat = setTimeout(
      () => {
        if (connection.channel.connection !== connection) return;
        if (opts.faults().heartbeatIntervalMs > 0) sendFrame(connection, HEARTBEAT_FRAME);
        scheduleHeartbeat(connection);
      },
      interval > 0 ? interval : HEARTBEAT_IDLE_RECHECK_MS,
    );
    connection.heartbeat.unref();
  }

  /** Unlinks a connection from its channel and stops its heartbeat (the socket itself is left alone). */
  function detach(connection: Connection): void {
    if (connection.heartbeat) clearTimeout(connection.heartbeat);
    connection.heartbeat = undefined;
    connections.delete(connection);
    if (connection.channel.connection === connection) {
      connection.channel.connection = undefined;
      connection.channel.lastUsedAt = opts.now();
    }
  }

  function attach(channel: Channel, ws: WebSocket): void {
    if (closed || channels.get(channel.id) !== channel) {
      ws.close(1000, "Channel expired");
      return;
    }
    const previous = channel.connection;
    if (previous) {
      detach(previous);
      previous.ws.close(1000, "Replaced by a new connection to this channel");
    }
    const connection: Connection = { ws, channel };
    channel.connection = connection;
    channel.lastUsedAt = opts.now();
    connections.add(connection);
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      let message: unknown;
      try {
        message = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (typeof message === "object" && message !== null && (message as { message?: unknown }).message === "ping") {
        if (opts.faults().answerPings) sendFrame(connection, PONG_FRAME);
      }
    });
    ws.on("close", () => detach(connection));
    ws.on("error", () => detach(connection));
    scheduleHeartbeat(connection);
    redeliverRecent(connection);
  }

  function rejectUpgrade(socket: stream.Duplex, status: number, text: string, message: string, code = "not.found"): void {
    const body = JSON.stringify({ message, code, status });
    socket.once("finish", () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  function handleUpgrade(req: http.IncomingMessage, socket: stream.Duplex, head: Buffer): boolean {
    const path = new URL(req.url ?? "/", "http://emulator.invalid").pathname;
    const match = /^\/channels\/([^/]+)\/?$/.exec(path);
    if (!match) return false;
    sweep();
    const channel = closed ? undefined : channels.get(decodeURIComponent(match[1]!));
    if (!channel) {
      rejectUpgrade(socket, 404, "Not Found", `Channel ${match[1]} was not found or has expired`);
      return true;
    }
    if (opts.faults().refuseSockets) {
      rejectUpgrade(socket, 503, "Service Unavailable", "The streaming service is unavailable", "service.unavailable");
      return true;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(channel, ws));
    return true;
  }

  // ---------------------------------------------------------------- publishing

  function onChange(change: ConversationChange): void {
    sweep();
    const live = [...channels.values()].filter((c) => c.connection && c.topics.size > 0);
    if (live.length === 0) return;
    for (const event of eventsForChange(change, opts.faults().eventTimeResolutionMs)) {
      const targets = live.filter((c) => c.topics.has(event.topicName));
      if (targets.length === 0) continue;
      const frame = JSON.stringify({
        topicName: event.topicName,
        version: "2",
        eventBody: event.eventBody,
        metadata: { CorrelationId: opts.newId() },
      });
      for (const channel of targets) if (channel.connection) deliverEvent(channel.connection, frame);
    }
  }
  opts.store.on("change", onChange);

  // ---------------------------------------------------------------- control

  function terminateAll(): number {
    const all = [...connections];
    for (const connection of all) {
      detach(connection);
      connection.ws.terminate();
    }
    return all.length;
  }

  const controlRouter = express.Router();
  controlRouter.post("/disconnect", (_req, res) => {
    res.status(200).json({ disconnected: terminateAll() });
  });
  controlRouter.post("/socket-closing", (_req, res) => {
    const grace = opts.faults().socketClosingGraceMs;
    const all = [...connections];
    for (const connection of all) {
      const correlationId = opts.newId();
      sendFrame(
        connection,
        JSON.stringify({
          topicName: "v2.system.socket_closing",
          version: "2",
          eventBody: {
            channelId: connection.channel.id,
            systemTopicType: "socket_closing",
            correlationId,
            oauthClientId: connection.channel.clientId,
            reason: "maintenance",
            message: "The socket will close soon; reconnect to the same connectUri to keep the channel's subscriptions",
          },
          metadata: { CorrelationId: correlationId },
        }),
      );
      const close = () => {
        detach(connection);
        connection.ws.close(1001, "Going away");
      };
      if (grace > 0) later(grace, close);
      else close();
    }
    res.status(202).json({ notified: all.length, closeAfterMs: grace });
  });
  controlRouter.get("/channels", (req, res) => {
    sweep();
    const clientId = typeof req.query.clientId === "string" ? req.query.clientId : undefined;
    res.status(200).json({
      entities: [...channels.values()].filter((c) => clientId === undefined || c.clientId === clientId).map((c) => ({
        id: c.id,
        clientId: c.clientId,
        connected: c.connection !== undefined,
        topics: [...c.topics],
        expires: new Date(c.expiresAt).toISOString(),
      })),
    });
  });

  // ---------------------------------------------------------------- lifecycle

  function reset(): void {
    terminateAll();
    channels.clear();
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    opts.store.off("change", onChange);
    clearInterval(sweepTimer);
    reset();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  return { router, controlRouter, handleUpgrade, reset, close };
}
