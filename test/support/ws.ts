/**
 * A test WebSocket client for Genesys-style notification sockets (plain `ws`, as the gateway
 * uses it on Node 20, which has no global WebSocket).
 *
 * Every text frame is parsed as JSON and queued; tests take frames in arrival order with
 * {@link FrameClient.next} (first queued frame matching a predicate, waiting up to a timeout)
 * instead of sleeping. Frames that do not match are kept for later `next` calls.
 *
 * Usage:
 * ```ts
 * const client = await openFrames(channel.connectUri);
 * const frame = await client.next(isTopic("v2.routing.queues.q1.conversations"), 2000);
 * client.close();
 * ```
 */
import { WebSocket } from "ws";

/** A parsed notification frame (`topicName`, `eventBody`, `version`, `metadata`, ...). */
export interface Frame {
  /** Topic of the frame, e.g. `channel.metadata` or `v2.users.{id}.conversations`. */
  topicName?: string;
  /** `"2"` on event frames; absent on heartbeats and pongs. */
  version?: string;
  /** The event body (typed `any` so tests can drill in; cast to an SDK model when useful). */
  eventBody?: any;
  /** Event metadata; `CorrelationId` identifies an event (duplicates share it). */
  metadata?: { CorrelationId?: string };
  /** Anything else the server sent. */
  [key: string]: unknown;
}

/** How a socket closed: the close code (1006 = no close frame) and reason. */
export interface CloseInfo {
  /** WebSocket close code (1000 normal, 1001 going away, 1006 no close frame). */
  code: number;
  /** Close reason text sent by the server ("" when none). */
  reason: string;
}

/** A frame predicate for {@link FrameClient.next}. */
export type FramePredicate = (frame: Frame) => boolean;

/** Matches frames of one topic. */
export const isTopic =
  (topicName: string): FramePredicate =>
  (frame) =>
    frame.topicName === topicName;

/** Matches every frame that is not on `channel.metadata` (heartbeats, pongs). */
export const isEvent: FramePredicate = (frame) => frame.topicName !== "channel.metadata";

/** Matches any frame. */
export const anyFrame: FramePredicate = () => true;

/** An open WebSocket that queues parsed frames. */
export interface FrameClient {
  /** The underlying `ws` socket. */
  ws: WebSocket;
  /** Frames received and not yet taken by {@link next}, in arrival order. */
  readonly queued: Frame[];
  /**
   * Resolves with (and removes) the first queued or future frame matching `predicate`.
   * Rejects after `timeoutMs` (default 2000) with an error listing what was queued, or when the
   * socket closes before a match arrives.
   */
  next(predicate?: FramePredicate, timeoutMs?: number): Promise<Frame>;
  /** Takes the next `count` matching frames, in order (each with its own `timeoutMs`). */
  take(count: number, predicate?: FramePredicate, timeoutMs?: number): Promise<Frame[]>;
  /** Sends a JSON value as a text frame. */
  send(value: unknown): void;
  /** Resolves when the socket has closed (at once if it already has). Never rejects. */
  closed: Promise<CloseInfo>;
  /** Like {@link closed}, but rejects if the socket is still open after `timeoutMs` (default 2000). */
  closedWithin(timeoutMs?: number): Promise<CloseInfo>;
  /** Closes the socket normally (1000) and waits for the close to finish (at most 2 s). */
  close(): Promise<void>;
}

interface Waiter {
  predicate: FramePredicate;
  resolve: (frame: Frame) => void;
  reject: (error: Error) => void;
}

/**
 * Connects to `url` and resolves once the socket is open.
 * @throws Error when the upgrade is refused (e.g. "Unexpected server response: 404") or the
 *   connection fails within `timeoutMs` (default 2000).
 */
export async function openFrames(url: string, timeoutMs = 2000): Promise<FrameClient> {
  const ws = new WebSocket(url);
  const queued: Frame[] = [];
  const waiters = new Set<Waiter>();
  let closeInfo: CloseInfo | undefined;

  const closed = new Promise<CloseInfo>((resolve) => {
    ws.on("close", (code, reason) => {
      closeInfo = { code, reason: reason.toString() };
      for (const waiter of waiters) waiter.reject(new Error(`socket closed (${code} ${closeInfo.reason}) before a matching frame`));
      waiters.clear();
      resolve(closeInfo);
    });
  });

  ws.on("message", (data, isBinary) => {
    if (isBinary) return;
    const frame = JSON.parse(data.toString()) as Frame;
    for (const waiter of waiters) {
      if (waiter.predicate(frame)) {
        waiters.delete(waiter);
        waiter.resolve(frame);
        return;
      }
    }
    queued.push(frame);
  });

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`WebSocket ${url} did not open within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once("open", () => {
      clearTimeout(timer);
      resolve();
    });
    ws.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  ws.on("error", () => undefined);

  const next = (predicate: FramePredicate = anyFrame, timeout = 2000): Promise<Frame> => {
    const index = queued.findIndex(predicate);
    if (index >= 0) return Promise.resolve(queued.splice(index, 1)[0]!);
    if (closeInfo) return Promise.reject(new Error(`socket already closed (${closeInfo.code} ${closeInfo.reason})`));
    return new Promise<Frame>((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no matching frame within ${timeout} ms; queued: ${JSON.stringify(queued.map((f) => f.topicName))}`));
      }, timeout);
      waiters.add(waiter);
    });
  };

  return {
    ws,
    queued,
    next,
    async take(count, predicate = anyFrame, timeout = 2000) {
      const frames: Frame[] = [];
      for (let i = 0; i < count; i++) frames.push(await next(predicate, timeout));
      return frames;
    },
    send(value) {
      ws.send(JSON.stringify(value));
    },
    closed,
    closedWithin(timeout = 2000) {
      return new Promise<CloseInfo>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`socket still open after ${timeout} ms`)), timeout);
        void closed.then((info) => {
          clearTimeout(timer);
          resolve(info);
        });
      });
    },
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close(1000);
      const timer = setTimeout(() => ws.terminate(), 2000);
      await closed;
      clearTimeout(timer);
    },
  };
}

/**
 * Attempts a WebSocket upgrade that is expected to be refused and resolves with the HTTP
 * status the server answered (e.g. 404). Rejects if the upgrade succeeds.
 */
export function upgradeStatus(url: string, timeoutMs = 2000): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`upgrade to ${url} neither succeeded nor failed within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("open", () => {
      clearTimeout(timer);
      ws.terminate();
      reject(new Error(`upgrade to ${url} unexpectedly succeeded`));
    });
    ws.on("error", () => undefined);
  });
}
