/**
 * One Genesys notification channel shared by every subscriber of a gateway, kept alive.
 *
 * Protocol (shared/genesys/README.md, "Notifications"):
 * - `POST /api/v2/notifications/channels` → `{id, connectUri, expires}`; topics are set with
 *   `PUT .../channels/{id}/subscriptions` (replace; `DELETE` removes all); re-subscribing
 *   extends the channel's 24 h life;
 * - one WebSocket per channel at `connectUri`; frames are envelopes
 *   `{topicName, version, eventBody, metadata}`; the service sends `channel.metadata`
 *   heartbeats and answers `{"message":"ping"}` with a `pong`;
 * - `v2.system.socket_closing` announces a close: reconnect to the same `connectUri`
 *   (subscriptions belong to the channel);
 * - delivery is at-most-once: nothing is queued while the socket is down. After every
 *   reconnect this class emits `reconnected` so consumers re-read state to fill the gap;
 * - one socket per channel: a second connection to a channel's `connectUri` kicks the first
 *   (shared/genesys/README.md, "Limits"). A new channel holder in a cluster therefore starts
 *   with the previous holder's channel (`existing`) instead of creating one: it stays within the
 *   20-channel limit and the previous holder's socket is closed by Genesys.
 */
import { EventEmitter } from "node:events";
import WebSocket from "ws";
import type { Logger } from "../logger.js";
import type { GenesysClient } from "./client.js";
import { GenesysError } from "./errors.js";

/** A notification frame as Genesys sends it. */
export interface NotificationEnvelope {
  topicName: string;
  version?: string;
  eventBody: unknown;
  metadata?: { CorrelationId?: string };
}

/** Options of {@link NotificationChannel}. Durations in ms. */
export interface NotificationChannelOptions {
  client: Pick<GenesysClient, "createChannel" | "replaceSubscriptions">;
  logger: Logger;
  /** A socket with no frame at all for this long is declared dead and replaced. Default 75 000. */
  heartbeatTimeoutMs?: number;
  /** Interval of our `{"message":"ping"}` frames (a live socket answers `pong`). Default a third of the timeout. */
  pingIntervalMs?: number;
  /** First reconnect delay; doubles per failure up to `maxReconnectDelayMs`. Default 250. */
  reconnectDelayMs?: number;
  /** Longest reconnect delay. Default 10 000. */
  maxReconnectDelayMs?: number;
  /** Time allowed for the WebSocket opening handshake. Default 10 000. */
  handshakeTimeoutMs?: number;
  /**
   * A channel created earlier (by this or another gateway instance) to connect to instead of
   * creating one; when Genesys no longer knows it (the upgrade is refused with a 4xx) a new one
   * is created as usual. Its subscriptions are replaced by this channel's topics on first acquire.
   */
  existing?: NotificationChannelRef;
  /**
   * Asked before every automatic reconnect (socket dropped, silent, closing, kicked); false closes
   * this channel for good instead (state `closed`). A cluster's channel holder answers whether it
   * still holds its lease, so a deposed holder does not kick the new holder's socket. Errors count as false.
   */
  mayReconnect?: () => Promise<boolean>;
}

/** A Genesys notification channel by its `id` and `connectUri` (what `POST /api/v2/notifications/channels` answered). */
export interface NotificationChannelRef {
  id: string;
  connectUri: string;
}

/** The streaming host answered the upgrade with an HTTP status instead of switching protocols. */
class UpgradeRefused extends Error {
  constructor(readonly status: number) {
    super(`notification socket refused with HTTP ${status}`);
  }
}

/** Events of {@link NotificationChannel}. */
export interface NotificationChannelEvents {
  /** A topic event (heartbeats, pongs and socket_closing are handled here and not emitted). */
  event: [NotificationEnvelope];
  /** The socket is open again after having been down: events in between are lost. */
  reconnected: [];
  /** The socket opened (`open`), went down and is being replaced (`down`), or the channel was closed for good (`closed`). */
  state: [NotificationSocketState];
  /** A Genesys channel was created for this object (the first one, or a replacement for one Genesys forgot). */
  channel: [NotificationChannelRef];
}

/** State of the notification socket as reported by the `state` event ("idle" before the first open). */
export type NotificationSocketState = "idle" | "open" | "down" | "closed";

/**
 * What readiness and metrics watch of the notification side: one channel, or the pool of them
 * (genesys/channel-pool.ts) with the same events.
 */
export interface NotificationStateSource {
  on(event: "state", listener: (state: NotificationSocketState) => void): unknown;
  on(event: "reconnected", listener: () => void): unknown;
  on(event: "event", listener: (envelope: NotificationEnvelope) => void): unknown;
  /** Distinct topics held by at least one subscriber. */
  readonly heldTopicCount: number;
}

/**
 * The gateway's notification channel: topics are reference-counted (a topic stays subscribed
 * while at least one holder needs it), the socket is watched and reconnected, and the channel
 * is re-created when Genesys no longer knows it.
 */
export class NotificationChannel extends EventEmitter<NotificationChannelEvents> {
  private readonly refs = new Map<string, number>();
  private channel?: { id: string; connectUri: string };
  private socket?: WebSocket;
  private connecting?: Promise<void>;
  private syncTail: Promise<void> = Promise.resolve();
  private subscribed = new Set<string>();
  /** Topics Genesys refused on the current channel, with its reason. */
  private rejected = new Map<string, string>();
  private closed = false;
  private reconnectTimer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;
  private pinger?: NodeJS.Timeout;
  private failures = 0;
  /** The socket went down and topics are not yet in place again: events in between are lost. */
  private gap = false;
  private readonly heartbeatTimeoutMs: number;
  private readonly pingIntervalMs: number;
  private readonly reconnectDelayMs: number;
  private readonly maxReconnectDelayMs: number;

  constructor(private readonly options: NotificationChannelOptions) {
    super();
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 75_000;
    this.pingIntervalMs = options.pingIntervalMs ?? Math.max(50, Math.floor(this.heartbeatTimeoutMs / 3));
    this.reconnectDelayMs = options.reconnectDelayMs ?? 250;
    this.maxReconnectDelayMs = options.maxReconnectDelayMs ?? 10_000;
    if (options.existing) this.channel = { id: options.existing.id, connectUri: options.existing.connectUri };
  }

  /** The Genesys channel in use (`existing` or the one created), or undefined before the first connect. */
  get channelRef(): NotificationChannelRef | undefined {
    return this.channel && { ...this.channel };
  }

  /**
   * True when `topic` is subscribed and its events are flowing: the socket is open and no gap
   * (socket down, reconnect under way) is open since. Events Genesys drops without a socket drop
   * cannot be seen here (delivery is at most once).
   */
  isLive(topic: string): boolean {
    return !this.closed && !this.gap && this.socket?.readyState === WebSocket.OPEN && this.subscribed.has(topic);
  }

  /** Distinct topics held by at least one subscriber (wanted, whether or not subscribed yet). */
  get heldTopicCount(): number {
    return this.refs.size;
  }

  /** Topics currently subscribed on the Genesys channel. */
  get topics(): string[] {
    return [...this.subscribed];
  }

  /**
   * Takes a reference on each topic; resolves once the socket is open and every topic is
   * subscribed on the Genesys channel.
   * @throws GenesysError when the channel cannot be created, the topics cannot be set, or
   *   Genesys refuses one of them (code `notification.topic.rejected`, status 403).
   */
  async acquire(topics: string[]): Promise<void> {
    for (const t of topics) this.refs.set(t, (this.refs.get(t) ?? 0) + 1);
    try {
      await this.ensureConnected();
      await this.sync();
    } catch (error) {
      this.dropRefs(topics);
      throw error;
    }
    const refused = topics.filter((t) => this.rejected.has(t));
    if (refused.length > 0) {
      await this.release(topics);
      throw new GenesysError({
        status: 403,
        code: "notification.topic.rejected",
        message: `Genesys refused ${refused.map((t) => `${t} (${this.rejected.get(t)})`).join(", ")}`,
      });
    }
  }

  /** Drops a reference on each topic; topics nobody holds any more are unsubscribed. */
  async release(topics: string[]): Promise<void> {
    this.dropRefs(topics);
    if (this.channel && !this.closed) await this.sync().catch((error) => this.logFailure("unsubscribe", error));
  }

  /** Closes the socket for good and stops all timers. Subscriptions are left to expire with the channel. */
  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.stopTimers();
    this.socket?.removeAllListeners();
    this.socket?.on("error", () => undefined);
    this.socket?.terminate();
    this.socket = undefined;
    this.emit("state", "closed");
  }

  private dropRefs(topics: string[]): void {
    for (const t of topics) {
      const n = (this.refs.get(t) ?? 0) - 1;
      if (n > 0) this.refs.set(t, n);
      else this.refs.delete(t);
    }
  }

  /**
   * Makes the channel's topics equal the wanted set. Calls run one after another, each PUTting
   * the set wanted at its turn (or nothing when that is already subscribed), so no change is lost.
   */
  private sync(): Promise<void> {
    const run = this.syncTail.then(() => this.putWanted());
    this.syncTail = run.catch(() => undefined);
    return run;
  }

  private async putWanted(): Promise<void> {
    const channel = this.channel;
    if (!channel) return;
    const wanted = [...this.refs.keys()].sort();
    if (sameSet(wanted, this.subscribed) && wanted.every((t) => !this.rejected.has(t))) return;
    const entities = await this.options.client.replaceSubscriptions(channel.id, wanted);
    // A channel replaced meanwhile starts from nothing: this answer says nothing about it.
    if (this.channel !== channel) return;
    const refused = new Map(
      entities
        .filter((e) => e.id && e.state && e.state.toLowerCase() !== "permitted")
        .map((e) => [e.id!, e.rejectionReason ?? e.state!] as const),
    );
    if (refused.size > 0) this.options.logger.warn({ topics: [...refused.keys()] }, "genesys refused topics");
    this.rejected = refused;
    this.subscribed = new Set(wanted.filter((t) => !refused.has(t)));
  }

  /** Opens the socket unless it is open; `fresh` opens a new one anyway (socket_closing). Concurrent callers share one attempt. */
  private ensureConnected(fresh = false): Promise<void> {
    if (!fresh && this.socket?.readyState === WebSocket.OPEN) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** Opens the socket, creating a channel first when there is none (or Genesys forgot it). */
  private async connect(): Promise<void> {
    if (!this.channel) await this.createChannel();
    try {
      await this.open(this.channel!.connectUri);
    } catch (error) {
      // Only a refused upgrade (4xx) means Genesys no longer knows the channel (expired,
      // evicted); network trouble is retried on the same channel by the caller.
      if (!(error instanceof UpgradeRefused) || error.status < 400 || error.status >= 500) throw error;
      this.options.logger.warn({ status: error.status }, "notification channel is gone; creating a new one");
      await this.createChannel();
      await this.open(this.channel!.connectUri);
    }
  }

  /** `POST /api/v2/notifications/channels`; the new channel has no topics yet. */
  private async createChannel(): Promise<void> {
    const created = await this.options.client.createChannel();
    if (!created.id || !created.connectUri) throw new Error("Genesys returned a channel without id or connectUri");
    this.channel = { id: created.id, connectUri: created.connectUri };
    this.subscribed = new Set();
    this.rejected = new Map();
    this.options.logger.info({ channelId: created.id }, "genesys notification channel created");
    this.emit("channel", { ...this.channel });
  }

  private open(connectUri: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(connectUri, { handshakeTimeout: this.options.handshakeTimeoutMs ?? 10_000 });
      let opened = false;
      socket.once("open", () => {
        opened = true;
        if (this.closed) {
          socket.terminate();
          reject(new Error("notification channel closed"));
          return;
        }
        this.failures = 0;
        this.replaceSocket(socket);
        resolve();
      });
      socket.once("unexpected-response", (_req, res) => {
        socket.terminate();
        reject(new UpgradeRefused(res.statusCode ?? 0));
      });
      socket.once("error", (error) => {
        if (!opened) reject(error);
      });
    });
  }

  private replaceSocket(socket: WebSocket): void {
    const previous = this.socket;
    this.socket = socket;
    if (previous && previous !== socket) {
      previous.removeAllListeners();
      previous.on("error", () => undefined);
      previous.terminate();
    }
    socket.on("message", (data) => this.onFrame(socket, data));
    socket.on("close", () => this.onDown(socket, "closed"));
    socket.on("error", (error) => this.logFailure("socket", error));
    this.armTimers(socket);
    this.emit("state", "open");
  }

  private onFrame(socket: WebSocket, data: WebSocket.RawData): void {
    if (socket !== this.socket) return;
    this.armWatchdog(socket);
    let envelope: NotificationEnvelope;
    try {
      envelope = JSON.parse(data.toString()) as NotificationEnvelope;
    } catch {
      this.options.logger.warn("notification frame is not JSON; ignored");
      return;
    }
    if (!envelope || typeof envelope.topicName !== "string") return;
    if (envelope.topicName === "channel.metadata") return; // heartbeat or pong
    if (envelope.topicName === "v2.system.socket_closing") {
      this.options.logger.info({ channelId: this.channel?.id }, "genesys announced socket closing; reconnecting");
      this.reconnectSoon(0, true);
      return;
    }
    try {
      this.emit("event", envelope);
    } catch (error) {
      // A consumer's bug must not take the socket handler (and the process) down.
      this.logFailure("event listener", error);
    }
  }

  private onDown(socket: WebSocket, why: string): void {
    if (socket !== this.socket || this.closed) return;
    this.options.logger.warn({ channelId: this.channel?.id, why }, "notification socket down");
    this.stopTimers();
    this.socket = undefined;
    this.gap = true;
    this.emit("state", "down");
    this.reconnectSoon();
  }

  private reconnectSoon(delay?: number, fresh = false): void {
    if (this.closed) return;
    this.gap = true;
    clearTimeout(this.reconnectTimer);
    const wait = delay ?? Math.min(this.maxReconnectDelayMs, this.reconnectDelayMs * 2 ** this.failures);
    this.reconnectTimer = setTimeout(() => {
      this.allowedToReconnect()
        .then((allowed) => {
          if (!allowed) {
            if (!this.closed) {
              this.options.logger.info({ channelId: this.channel?.id }, "notification channel not reconnected: no longer allowed (channel holder deposed)");
              this.close();
            }
            return;
          }
          return this.reconnectNow(fresh);
        })
        .catch((error) => this.logFailure("reconnect", error));
    }, wait);
    this.reconnectTimer.unref();
  }

  private async allowedToReconnect(): Promise<boolean> {
    if (!this.options.mayReconnect) return true;
    try {
      return await this.options.mayReconnect();
    } catch (error) {
      this.logFailure("reconnect permission", error);
      return false;
    }
  }

  /** Reconnects now: socket, then topics; `reconnected` once both are in place; on failure schedules the next attempt. */
  private async reconnectNow(fresh: boolean): Promise<void> {
    if (this.closed) return;
    try {
      await this.ensureConnected(fresh);
      await this.sync();
      if (this.closed) return;
      this.gap = false;
      // Topics are in place again: consumers may now re-read what they missed.
      this.options.logger.info({ channelId: this.channel?.id }, "notification socket reconnected");
      this.emit("reconnected");
    } catch (error) {
      this.failures += 1;
      this.logFailure("reconnect", error);
      this.reconnectSoon();
    }
  }

  private armTimers(socket: WebSocket): void {
    this.stopTimers();
    this.armWatchdog(socket);
    this.pinger = setInterval(() => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ message: "ping" }));
    }, this.pingIntervalMs);
    this.pinger.unref();
  }

  private armWatchdog(socket: WebSocket): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (socket !== this.socket) return;
      this.options.logger.warn({ channelId: this.channel?.id, silentMs: this.heartbeatTimeoutMs }, "notification socket silent; replacing it");
      socket.removeAllListeners();
      socket.on("error", () => undefined);
      socket.terminate();
      this.onDown(socket, "silent");
    }, this.heartbeatTimeoutMs);
    this.watchdog.unref();
  }

  private stopTimers(): void {
    clearTimeout(this.watchdog);
    clearInterval(this.pinger);
  }

  private logFailure(what: string, error: unknown): void {
    this.options.logger.warn({ what, err: errorText(error) }, "notification channel problem");
  }
}

function sameSet(list: string[], set: Set<string>): boolean {
  return list.length === set.size && list.every((t) => set.has(t));
}

function errorText(error: unknown): string {
  if (error && typeof error === "object" && "message" in error) return String((error as { message: unknown }).message);
  return String(error);
}
