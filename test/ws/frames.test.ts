/**
 * Frames a client gets wrong, against a running gateway over a real socket: `ws` closes the
 * socket with the RFC 6455 code (1009 message too big, 1007 invalid UTF-8, 1002 protocol
 * error), the gateway logs it through its logger and writes nothing to stderr or console (the
 * process's output stays JSON lines), and other clients are served as before.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { startStack, type Stack } from "../support/stack.js";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ emulator: { demoData: true } });
});
afterAll(async () => {
  await stack?.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Opens a graphql-transport-ws socket, runs `misbehave` on it once open, resolves with its close code. */
async function closeCodeAfter(misbehave: (socket: WebSocket) => void): Promise<number> {
  const socket = new WebSocket(stack.gateway.wsUrl, "graphql-transport-ws");
  socket.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
  misbehave(socket);
  return closed;
}

/** A masked client text frame carrying `payload` as is (ws's client API refuses to send invalid UTF-8). */
function rawTextFrame(payload: Buffer, opcodeByte = 0x81): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([opcodeByte, 0x80 | payload.length]), mask, masked]);
}

describe("invalid WebSocket frames", () => {
  it.each([
    ["a message over the 256 KB limit", 1009, (s: WebSocket) => s.send("x".repeat(300 * 1024))],
    ["a text frame that is not UTF-8", 1007, (s: WebSocket) => (s as unknown as { _socket: { write(b: Buffer): void } })._socket.write(rawTextFrame(Buffer.from([0xff, 0xfe])))],
    ["a frame with reserved bits set", 1002, (s: WebSocket) => (s as unknown as { _socket: { write(b: Buffer): void } })._socket.write(rawTextFrame(Buffer.from("{}"), 0xf1))],
  ])("%s: closed with %i, nothing on stderr or the console, the next client is served", async (_label, code, misbehave) => {
    const consoleError = vi.spyOn(console, "error");
    const consoleWarn = vi.spyOn(console, "warn");
    const stderr = vi.spyOn(process.stderr, "write");
    expect(await closeCodeAfter(misbehave)).toBe(code);
    // The server side has run its error path once the close reached the client; give its log line a turn.
    await new Promise((resolve) => setImmediate(resolve));
    expect(consoleError).not.toHaveBeenCalled();
    expect(consoleWarn).not.toHaveBeenCalled();
    expect(stderr).not.toHaveBeenCalled();
    const next = await closeCodeAfter((s) => {
      s.send(JSON.stringify({ type: "connection_init", payload: {} }));
      s.once("message", (data) => {
        expect(JSON.parse(String(data))).toEqual({ type: "connection_ack" });
        s.close(1000);
      });
    });
    expect(next).toBe(1000);
  });
});
