/**
 * Raw clients of the gateway for edge tests: `fetch` with any body, headers and credentials,
 * and graphql-ws clients that present credentials or an Origin and report how the socket closed.
 */
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

/** An HTTP answer with its parsed JSON body (undefined when not JSON). */
export interface RawAnswer {
  status: number;
  headers: Headers;
  /** Parsed body, or undefined when the body is not JSON. */
  body: any;
  text: string;
}

/**
 * Sends one HTTP request to the gateway.
 * @param body a string is sent as is; anything else JSON-encoded with `content-type: application/json`.
 */
export async function send(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string>; authorization?: string } = {}): Promise<RawAnswer> {
  const isString = typeof init.body === "string" || init.body instanceof Uint8Array;
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: {
      ...(init.body !== undefined && !isString ? { "content-type": "application/json" } : {}),
      ...(init.authorization ? { authorization: init.authorization } : {}),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : isString ? (init.body as string) : JSON.stringify(init.body),
  });
  const text = await response.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** POSTs `{query, variables}` as JSON, optionally with `Authorization`. */
export function post(url: string, query: string, variables: Record<string, unknown> = {}, authorization?: string): Promise<RawAnswer> {
  return send(url, { body: { query, variables }, authorization });
}

/** How a graphql-ws socket closed. */
export interface Closed {
  code: number;
  reason: string;
}

/** A graphql-ws client whose `closed` resolves with the first close of its socket. */
export interface WsTestClient {
  client: Client;
  closed: Promise<Closed>;
  /** Runs one operation to its first result or error (rejects on a close first, or after `timeoutMs`). */
  first(query: string, variables?: Record<string, unknown>, timeoutMs?: number): Promise<{ data?: any; errors?: any[] }>;
  dispose(): Promise<void>;
}

/**
 * A graphql-ws client on `wsUrl` (not lazy: it connects at once).
 * @param options.authorization sent as `{"authorization": …}` in `connection_init`.
 * @param options.origin sent as the upgrade's `Origin` header.
 */
export function wsTestClient(wsUrl: string, options: { authorization?: string; origin?: string } = {}): WsTestClient {
  let onClose!: (closed: Closed) => void;
  const closed = new Promise<Closed>((resolve) => (onClose = resolve));
  class OriginWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, options.origin ? { headers: { origin: options.origin } } : {});
    }
  }
  const client = createClient({
    url: wsUrl,
    webSocketImpl: OriginWebSocket,
    retryAttempts: 0,
    lazy: false,
    // One socket per test client: do not close it when no operation is running.
    lazyCloseTimeout: 60_000,
    connectionParams: options.authorization ? { authorization: options.authorization } : {},
    on: {
      closed: (event) => {
        const e = event as { code?: number; reason?: string };
        onClose({ code: e.code ?? 0, reason: String(e.reason ?? "") });
      },
    },
    onNonLazyError: () => undefined,
  });
  return {
    client,
    closed,
    first(query, variables = {}, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          stop();
          reject(new Error(`no result within ${timeoutMs} ms`));
        }, timeoutMs);
        const stop = client.subscribe(
          { query, variables },
          {
            next: (result) => {
              clearTimeout(timer);
              stop();
              resolve(result as { data?: any; errors?: any[] });
            },
            error: (error) => {
              clearTimeout(timer);
              if (Array.isArray(error)) resolve({ errors: error });
              else reject(error instanceof Error ? error : new Error(`socket closed: ${JSON.stringify(error, ["code", "reason"])}`));
            },
            complete: () => undefined,
          },
        );
      });
    },
    dispose: async () => {
      await client.dispose();
    },
  };
}

/**
 * Attempts a WebSocket upgrade to `url` with the graphql-ws subprotocol and the given headers.
 * Resolves with the HTTP status of a refusal (and its body), or 101 when the upgrade succeeded.
 */
export function upgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, "graphql-transport-ws", { headers });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`upgrade to ${url} neither succeeded nor failed within 2 s`));
    }, 2_000);
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body });
        ws.terminate();
      });
    });
    ws.on("open", () => {
      clearTimeout(timer);
      ws.close();
      resolve({ status: 101, body: "" });
    });
    ws.on("error", () => undefined);
  });
}
