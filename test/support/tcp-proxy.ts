/**
 * A loopback TCP proxy a test can cut and restore, to lose a server (Redis) the way a network
 * does — every connection dropped, new ones refused — while the server and its data stay as
 * they are; or to black-hole the connections already open (a NAT or firewall forgetting them:
 * nothing arrives, nothing is closed) while new ones work. Clients are pointed at the proxy's port.
 */
import net from "node:net";
import { freePort } from "./processes.js";

/** A running proxy. */
export interface TcpProxy {
  /** The port clients connect to. */
  port: number;
  /** Drops every connection and stops accepting (connections are refused until {@link restore}). */
  cut(): Promise<void>;
  /** Accepts again on the same port. */
  restore(): Promise<void>;
  /** The connections open now stop carrying data either way and are never closed; new connections work. */
  blackhole(): void;
  /** Stops for good. */
  close(): Promise<void>;
}

/** Starts a proxy from a free loopback port to `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  const pairs = new Set<[net.Socket, net.Socket]>();
  let server: net.Server | undefined;
  const listen = async () => {
    const s = net.createServer((client) => {
      const upstream = net.connect(targetPort, "127.0.0.1");
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on("error", () => undefined);
        socket.on("close", () => sockets.delete(socket));
      }
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.pipe(upstream).pipe(client);
      pairs.add([client, upstream]);
      client.on("close", () => pairs.forEach((pair) => pair[0] === client && pairs.delete(pair)));
    });
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => resolve());
    });
    server = s;
  };
  const cut = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  const blackhole = () => {
    for (const [client, upstream] of pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      // Read and drop what still arrives, so neither side sees back-pressure or a close.
      for (const socket of [client, upstream]) socket.on("data", () => undefined).resume();
    }
    pairs.clear();
  };
  await listen();
  return { port, cut, restore: listen, blackhole, close: cut };
}
