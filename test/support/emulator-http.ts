/**
 * Raw HTTP helpers for tests that drive the emulator: start an emulator on an ephemeral port,
 * call the control API, get tokens and make raw API calls with fetch, and poll the
 * ground-truth log (instead of sleeping).
 */
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../src/emulator/server.js";
import type { WriteLogEntry } from "../../src/emulator/writes.js";
import { DEMO_CREDENTIALS } from "./sdk.js";

/** Demo ids (duplicated on purpose: tests pin the documented values). */
export const IDS = {
  support: "a0000000-0000-4000-8000-000000000001",
  sales: "a0000000-0000-4000-8000-000000000002",
  user: (n: number) => `b0000000-0000-4000-8000-00000000000${n}`,
  conversation: (n: number) => `c0000000-0000-4000-8000-00000000000${n}`,
  customer: (n: number) => `d0000000-0000-4000-8000-0000000000${n}1`,
  acd: (n: number) => `d0000000-0000-4000-8000-0000000000${n}2`,
  agent: (n: number) => `d0000000-0000-4000-8000-0000000000${n}3`,
};

/** Starts an emulator on port 0 with demo data and a silent notification heartbeat unless overridden. */
export function startTestEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ port: 0, demoData: true, ...options, faults: { heartbeatIntervalMs: 0, ...options.faults } });
}

/** A fetch response with its parsed JSON body (undefined when empty). */
export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

async function toJson<T>(response: Response): Promise<JsonResponse<T>> {
  const text = await response.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** Calls the control API (`/emulator/...`) with an optional JSON body. */
export async function control<T = any>(url: string, method: string, path: string, body?: unknown): Promise<JsonResponse<T>> {
  const response = await fetch(`${url}/emulator${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return toJson<T>(response);
}

/** Gets a token with the client-credentials grant through plain fetch. */
export async function getToken(url: string, creds: { clientId: string; clientSecret: string } = DEMO_CREDENTIALS): Promise<string> {
  const response = await fetch(`${url}/oauth/token`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${creds.clientId}:${creds.clientSecret}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: "grant_type=client_credentials",
  });
  if (response.status !== 200) throw new Error(`login failed with ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** Raw API call with a bearer token; `body` is sent as given (string) or JSON-encoded. */
export async function api<T = any>(
  url: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse<T>> {
  const isString = typeof body === "string";
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined && !isString ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : isString ? body : JSON.stringify(body),
  });
  return toJson<T>(response);
}

/** The ground-truth log. */
export async function readLog(url: string): Promise<WriteLogEntry[]> {
  return (await control<{ entries: WriteLogEntry[] }>(url, "GET", "/log")).body.entries;
}

/**
 * Polls `GET /emulator/log` every 10 ms until `predicate(entries)` holds.
 * @throws Error after `timeoutMs` with the last log.
 */
export async function waitForLog(url: string, predicate: (entries: WriteLogEntry[]) => boolean, timeoutMs = 5000): Promise<WriteLogEntry[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const entries = await readLog(url);
    if (predicate(entries)) return entries;
    if (Date.now() > deadline) throw new Error(`log condition not met within ${timeoutMs} ms: ${JSON.stringify(entries)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Sets faults (`PUT /emulator/faults`, over the defaults) and returns the resulting settings. */
export async function setFaults(url: string, faults: Record<string, unknown>): Promise<any> {
  const response = await control(url, "PUT", "/faults", faults);
  if (response.status !== 200) throw new Error(`PUT /emulator/faults failed: ${response.text}`);
  return response.body;
}

/** Advances the emulator clock by `ms`. */
export async function advanceClock(url: string, ms: number): Promise<void> {
  const response = await control(url, "POST", "/clock", { advanceMs: ms });
  if (response.status !== 200) throw new Error(`POST /emulator/clock failed: ${response.text}`);
}

/** RFC 4122 UUID pattern (any version). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
