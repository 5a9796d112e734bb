/**
 * The Genesys notification channels of the cluster's channel holder, by slot (the pool's
 * creation order), kept where the next holder finds them: a new holder connects to the same
 * channel ids (Genesys kicks the previous holder's socket; the 20-channels-per-client limit is
 * not spent on new channels at every takeover).
 *
 * Saves are fenced: only the current holder of the channels lease (its fence) may change the
 * directory, so a deposed holder that creates a channel does not overwrite the new holder's.
 */
import type { Redis } from "ioredis";
import type { NotificationChannelRef } from "../genesys/notifications.js";
import { redisLeaseKeys, type LeaseStore } from "./lease.js";
import { CHANNEL_HOLDER_LEASE } from "./channel-holder.js";

/** Where the holder's channel ids live. */
export interface ChannelDirectory {
  /** The channels by slot (index = slot; a slot never saved is absent: `undefined`). */
  load(): Promise<Array<NotificationChannelRef | undefined>>;
  /**
   * Records the channel of a slot, if `fence` is the channels lease's current fence.
   * @returns false when the fence is stale (nothing written). @throws the store's error.
   */
  save(slot: number, channel: NotificationChannelRef, fence: number): Promise<boolean>;
}

/** Options of {@link InMemoryChannelDirectory}. */
export interface InMemoryChannelDirectoryOptions {
  /** The lease store whose `leaseKey` fence a save must match. */
  leases: LeaseStore;
  /** Default {@link CHANNEL_HOLDER_LEASE}. */
  leaseKey?: string;
}

/** The directory in this process's memory (one process; tests of several holders in one process). */
export class InMemoryChannelDirectory implements ChannelDirectory {
  private readonly slots: Array<NotificationChannelRef | undefined> = [];

  /** @param options the lease store saves are fenced against. */
  constructor(private readonly options: InMemoryChannelDirectoryOptions) {}

  /** See {@link ChannelDirectory.load}. */
  async load(): Promise<Array<NotificationChannelRef | undefined>> {
    return this.slots.map((s) => s && { ...s });
  }

  /** See {@link ChannelDirectory.save}. */
  async save(slot: number, channel: NotificationChannelRef, fence: number): Promise<boolean> {
    const current = await this.options.leases.current(this.options.leaseKey ?? CHANNEL_HOLDER_LEASE);
    if (current?.fence !== fence) return false;
    this.slots[slot] = { id: channel.id, connectUri: channel.connectUri };
    return true;
  }
}

/** KEYS[1] lease, KEYS[2] directory hash; ARGV[1] fence, ARGV[2] slot, ARGV[3] JSON ref. */
const SAVE = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, #ARGV[1] + 1) ~= ARGV[1] .. ':' then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
`;

/** Options of {@link RedisChannelDirectory}. */
export interface RedisChannelDirectoryOptions {
  /** Command connection (created and closed by the composition). */
  redis: Redis;
  /** Prefix of every key (e.g. `gw:`); the directory is the hash `<prefix>channel-ids` (field = slot, value = JSON `{id, connectUri}`). */
  keyPrefix: string;
  /** The lease whose fence a save must match (a {@link RedisLeaseStore} key). Default {@link CHANNEL_HOLDER_LEASE}. */
  leaseKey?: string;
}

/** The directory in Redis, fenced by a Lua compare against the channels lease. */
export class RedisChannelDirectory implements ChannelDirectory {
  private readonly redis: Redis & { gwChannelSave(lease: string, hash: string, fence: number, slot: number, ref: string): Promise<number> };
  private readonly hash: string;
  private readonly lease: string;

  /** @param options client, key prefix and lease key ({@link RedisChannelDirectoryOptions}). */
  constructor(options: RedisChannelDirectoryOptions) {
    const redis = options.redis as RedisChannelDirectory["redis"];
    if (!(redis as Partial<RedisChannelDirectory["redis"]>).gwChannelSave) redis.defineCommand("gwChannelSave", { numberOfKeys: 2, lua: SAVE });
    this.redis = redis;
    this.hash = `${options.keyPrefix}channel-ids`;
    this.lease = redisLeaseKeys(options.keyPrefix, options.leaseKey ?? CHANNEL_HOLDER_LEASE).lease;
  }

  /** See {@link ChannelDirectory.load}; entries that are not a `{id, connectUri}` JSON are skipped. */
  async load(): Promise<Array<NotificationChannelRef | undefined>> {
    const fields = await this.redis.hgetall(this.hash);
    const slots: Array<NotificationChannelRef | undefined> = [];
    for (const [slot, json] of Object.entries(fields)) {
      const index = Number(slot);
      if (!Number.isInteger(index) || index < 0 || index > 1_000) continue;
      try {
        const ref = JSON.parse(json) as Partial<NotificationChannelRef>;
        if (typeof ref.id === "string" && typeof ref.connectUri === "string") slots[index] = { id: ref.id, connectUri: ref.connectUri };
      } catch {
        /* not ours: skipped */
      }
    }
    return slots;
  }

  /** See {@link ChannelDirectory.save}; one round trip. */
  async save(slot: number, channel: NotificationChannelRef, fence: number): Promise<boolean> {
    const ref = JSON.stringify({ id: channel.id, connectUri: channel.connectUri });
    return (await this.redis.gwChannelSave(this.lease, this.hash, fence, slot, ref)) === 1;
  }
}
