/**
 * Seeded randomness for the emulator: every id, visibility delay, latency and fault draw
 * comes from a stream derived from the emulator's seed, so the same seed (and the same
 * sequence of requests) reproduces the same ids and the same draws.
 */
import seedrandom from "seedrandom";

/** A uniform random number generator in [0, 1). */
export type RandomFn = () => number;

/**
 * Independent seeded streams, one per concern, so that e.g. an extra fault draw never shifts
 * the ids that are generated afterwards.
 */
export interface RandomStreams {
  /** Store ids (conversations, participants, communications). */
  ids: () => string;
  /** Write pipeline: lost-write draws and visibility delays. */
  writes: RandomFn;
  /** Request faults: error injection and latency draws. */
  faults: RandomFn;
  /** Passed to the notification service as its `random`. */
  notifications: RandomFn;
  /** Passed to the notification service as its `newId`. */
  notificationIds: () => string;
}

/** Creates a seeded uniform generator in [0, 1) (seedrandom's default ARC4 PRNG). */
export function seededRandom(seed: string): RandomFn {
  const rng = seedrandom(seed);
  return () => rng.quick();
}

/**
 * Creates a seeded RFC 4122 version-4-shaped UUID generator (lower-case, 36 chars).
 * Not cryptographically secure: never use it for secrets (tokens use node:crypto).
 */
export function seededUuid(seed: string): () => string {
  const rng = seedrandom(seed);
  return () => {
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 16; i += 4) {
      const word = rng.int32() >>> 0;
      bytes[i] = word & 0xff;
      bytes[i + 1] = (word >>> 8) & 0xff;
      bytes[i + 2] = (word >>> 16) & 0xff;
      bytes[i + 3] = (word >>> 24) & 0xff;
    }
    bytes[6] = (bytes[6]! & 0x0f) | 0x40;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
}

/** Derives all of the emulator's streams from one seed (`${seed}:ids`, `${seed}:writes`, ...). */
export function createRandomStreams(seed: string): RandomStreams {
  return {
    ids: seededUuid(`${seed}:ids`),
    writes: seededRandom(`${seed}:writes`),
    faults: seededRandom(`${seed}:faults`),
    notifications: seededRandom(`${seed}:notifications`),
    notificationIds: seededUuid(`${seed}:notification-ids`),
  };
}

/** Draws a uniform integer in [min, max] (inclusive) from `random`. */
export function drawBetween(random: RandomFn, min: number, max: number): number {
  if (max <= min) return min;
  return min + Math.floor(random() * (max - min + 1));
}
