/**
 * The identity of one gateway among the instances of a cluster: the owner of its leases
 * (channel holder, write leases) and of its topic demand in Redis, and the `instance` field of
 * its cluster log lines.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";

/** A new id `<host>:<pid>:<8 random hex>`: unique per gateway started (a restarted process is a new instance). */
export function instanceId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
