/**
 * The gateway's connections to the Redis its instances share (`REDIS_URL`; README "Running
 * several instances"): one client for commands (leases, budget, fenced appends, topic demand)
 * and one for blocking reads (`XREAD BLOCK` of the change log's listener, which holds its
 * connection while it waits).
 *
 * Start: {@link connectRedis} connects both and probes the server (`INFO server`): unreachable,
 * not answering like Redis, or older than Redis 7 (Streams commands and Lua functions the
 * modules use) → {@link RedisStartError} with one line naming `REDIS_URL` without its password.
 *
 * Later: ioredis reconnects by itself (backoff up to {@link MAX_RECONNECT_DELAY_MS}); while a
 * client is not connected its commands fail at once (no offline queue: a mutation must learn
 * "Redis is lost" now, not after its deadline), and a command unanswered for `commandTimeoutMs`
 * fails (a hung server), and a PING every second finds a server that stops answering on an open
 * connection. {@link RedisConnections} reports `down` / `up` for readiness and for
 * the modules that rebuild what a restarted Redis lost.
 */
import { EventEmitter } from "node:events";
import { Redis, type RedisOptions } from "ioredis";
import { redactRedisUrl, type RedisSettings } from "../config.js";
import type { Logger } from "../logger.js";
import { describeRedisError } from "./redis-errors.js";

export { describeRedisError };

/** Oldest Redis major version the gateway runs on. */
export const MIN_REDIS_MAJOR = 7;
/** Longest wait between two reconnect attempts (ms). */
export const MAX_RECONNECT_DELAY_MS = 2_000;

/** The key of {@link RedisConnections}' down reasons for a connected server that does not answer. */
const UNRESPONSIVE = Symbol("unresponsive");

/** Redis cannot serve the gateway at start; `message` is one line, without the password. */
export class RedisStartError extends Error {
  override name = "RedisStartError";
}

/**
 * A reader connection with a command pending that receives nothing this long (ms) is destroyed
 * and reconnected (ioredis `socketTimeout`): well over the change log's 2 s `XREAD BLOCK`, so
 * only a connection that is silently dead trips it.
 */
export const READER_SOCKET_TIMEOUT_MS = 8_000;

/** Options of {@link connectRedis}. Durations in ms. */
export interface RedisConnectionOptions {
  /** `REDIS_URL` and `REDIS_KEY_PREFIX`, parsed (src/config.ts). */
  settings: RedisSettings;
  /** Connection up/down lines (the URL redacted). */
  logger: Logger;
  /** How long the start-up probe may take (connect, `INFO`). Default 5 000. */
  probeTimeoutMs?: number;
  /** A command (other than blocking reads) unanswered this long fails. Default 2 000. */
  commandTimeoutMs?: number;
  /**
   * How often the commands connection is PINGed once connected: a PING unanswered within
   * `commandTimeoutMs` on a connection that stays open (a paused or hung server) makes the state
   * `down` until a PING is answered again. Default 1 000.
   */
  pingEveryMs?: number;
}

/** Whether every client is connected (`up`) or one is not (`down`, with why). */
export type RedisState = { status: "up" } | { status: "down"; reason: string };

/** Events of {@link RedisConnections}. */
export interface RedisConnectionEvents {
  /** The connections went down (a client lost its connection) or came back up (every client ready again). */
  state: [RedisState];
}

/** The clients the cluster modules use, created once per process by the composition. */
export class RedisConnections extends EventEmitter<RedisConnectionEvents> {
  /** Ordinary commands: leases, budget, fenced appends, topic demand (no offline queue). */
  readonly commands: Redis;
  /** Blocking reads (`XREAD BLOCK`): its own connection, no command timeout. */
  readonly reader: Redis;
  /** `REDIS_URL` without the password (for log lines and errors). */
  readonly shownUrl: string;
  /** The settings it was made from (key prefix). */
  readonly settings: RedisSettings;
  /** Why each part is down: a client not connected, or {@link UNRESPONSIVE} (connected, not answering). */
  private readonly down = new Map<Redis | typeof UNRESPONSIVE, string>();
  private closed = false;
  private pingTimer?: NodeJS.Timeout;

  /** Creates the clients (not yet connected: see {@link connectRedis}). */
  constructor(
    settings: RedisSettings,
    private readonly logger: Logger,
    commandTimeoutMs: number,
  ) {
    super();
    this.settings = settings;
    this.shownUrl = redactRedisUrl(settings.url).href;
    const common: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 5_000,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), MAX_RECONNECT_DELAY_MS),
    };
    this.commands = new Redis(settings.url.href, { ...common, connectionName: "gateway-commands", commandTimeout: commandTimeoutMs });
    // A blocking XREAD answers within its BLOCK time (2 s) on a healthy connection: a reader
    // connection silent far longer was forgotten on the way (NAT, firewall) and is replaced.
    this.reader = new Redis(settings.url.href, { ...common, connectionName: "gateway-reader", socketTimeout: READER_SOCKET_TIMEOUT_MS });
    for (const [name, client] of [["commands", this.commands], ["reader", this.reader]] as const) this.follow(name, client);
  }

  /** The current state: `down` while any client is not connected. */
  get state(): RedisState {
    const reason = this.down.values().next().value;
    return reason === undefined ? { status: "up" } : { status: "down", reason };
  }

  /**
   * PINGs the commands connection every `everyMs` (ms) while it is connected (see
   * {@link RedisConnectionOptions.pingEveryMs}); stopped by {@link close}. Idempotent.
   */
  startPinging(everyMs: number): void {
    if (this.closed || this.pingTimer) return;
    const ping = async () => {
      if (this.commands.status === "ready") {
        try {
          await this.commands.ping();
          this.markAnswering(true);
        } catch (error) {
          // A closed connection is reported by its own events; this is a server that stopped answering.
          if (this.commands.status === "ready") this.markAnswering(false, describeRedisError(error));
        }
      }
      if (!this.closed) this.pingTimer = setTimeout(() => void ping(), everyMs).unref();
    };
    this.pingTimer = setTimeout(() => void ping(), everyMs).unref();
  }

  /** Disconnects both clients (no reconnect); idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.pingTimer);
    await Promise.all(
      [this.commands, this.reader].map(async (client) => {
        if (client.status === "ready") await client.quit().catch(() => client.disconnect());
        else client.disconnect();
      }),
    );
  }

  /** Records whether the server answers PINGs on an open connection, emitting `state` when that changes the overall state. */
  private markAnswering(answering: boolean, reason?: string): void {
    if (this.closed || answering !== this.down.has(UNRESPONSIVE)) return;
    const wasUp = this.down.size === 0;
    if (answering) this.down.delete(UNRESPONSIVE);
    else this.down.set(UNRESPONSIVE, `commands connection open but Redis not answering (${reason ?? "no reply"})`);
    const isUp = this.down.size === 0;
    if (wasUp === isUp) return;
    if (isUp) this.logger.info({ redis: this.shownUrl }, "Redis answering again");
    else this.logger.warn({ redis: this.shownUrl, reason: this.state.status === "down" ? this.state.reason : undefined }, "Redis not answering: counted as lost");
    this.emit("state", this.state);
  }

  private follow(name: string, client: Redis): void {
    // Until the first connect the client counts as down.
    this.down.set(client, "not connected yet");
    let lastError: string | undefined;
    client.on("error", (error: Error) => {
      lastError = describeRedisError(error);
    });
    client.on("ready", () => {
      const wasDown = this.down.size > 0;
      this.down.delete(client);
      if (wasDown && this.down.size === 0) {
        this.logger.info({ redis: this.shownUrl }, "Redis connection up");
        this.emit("state", this.state);
      }
    });
    client.on("close", () => {
      if (this.closed || this.down.has(client)) return;
      const wasUp = this.down.size === 0;
      const reason = `${name} connection lost${lastError ? ` (${lastError})` : ""}`;
      this.down.set(client, reason);
      if (wasUp) {
        this.logger.warn({ redis: this.shownUrl, reason }, "Redis connection lost: reconnecting");
        this.emit("state", this.state);
      }
    });
  }
}

/**
 * Creates the clients, connects them and probes the server.
 * @throws RedisStartError (one line naming `REDIS_URL` without the password) when Redis cannot
 *   be reached within `probeTimeoutMs`, does not answer like Redis, refuses the credentials, or
 *   is older than {@link MIN_REDIS_MAJOR}; the clients are then disconnected.
 */
export async function connectRedis(options: RedisConnectionOptions): Promise<RedisConnections> {
  const connections = new RedisConnections(options.settings, options.logger, options.commandTimeoutMs ?? 2_000);
  const probeTimeoutMs = options.probeTimeoutMs ?? 5_000;
  const where = `REDIS_URL ${connections.shownUrl}`;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisStartError(`${where} did not answer as Redis within ${probeTimeoutMs} ms: check the URL and that Redis ${MIN_REDIS_MAJOR}+ listens there`)), probeTimeoutMs);
  });
  try {
    const version = await Promise.race([probe(connections, where), timeout]);
    options.logger.info({ redis: connections.shownUrl, redisVersion: version, keyPrefix: options.settings.keyPrefix }, "Redis connected: running as one instance of a cluster");
    connections.startPinging(options.pingEveryMs ?? 1_000);
    return connections;
  } catch (error) {
    await connections.close();
    if (error instanceof RedisStartError) throw error;
    throw new RedisStartError(`${where} is not usable: ${describeRedisError(error)}`);
  } finally {
    clearTimeout(timer);
  }
}

async function probe(connections: RedisConnections, where: string): Promise<string> {
  // A connect error is retried by ioredis in the background: take the first one as the answer.
  const firstError = new Promise<never>((_, reject) => {
    connections.commands.once("error", (error: Error) =>
      reject(
        new RedisStartError(
          /protocol error/i.test(error.message)
            ? `${where} answered, but not like Redis (${describeRedisError(error)}): check the URL and that Redis ${MIN_REDIS_MAJOR}+ listens there`
            : `${where} cannot be reached: ${describeRedisError(error)}`,
        ),
      ),
    );
  });
  await Promise.race([Promise.all([connections.commands.connect(), connections.reader.connect()]), firstError]);
  const info = await connections.commands.info("server");
  const version = /^redis_version:(\S+)/m.exec(info)?.[1];
  if (version === undefined) throw new RedisStartError(`${where} answered, but not like Redis (no redis_version in INFO)`);
  const major = Number(version.split(".")[0]);
  if (!(major >= MIN_REDIS_MAJOR)) throw new RedisStartError(`${where} runs Redis ${version}; the gateway needs Redis ${MIN_REDIS_MAJOR} or later`);
  return version;
}

