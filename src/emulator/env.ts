/**
 * Environment configuration of the standalone emulator runner (`npm run emulator`),
 * validated with zod.
 *
 * | variable | meaning | default |
 * |---|---|---|
 * | `EMULATOR_PORT` | TCP port (0–65535; 0 = ephemeral) | 4010 |
 * | `EMULATOR_HOST` | interface to bind | 127.0.0.1 |
 * | `EMULATOR_SEED` | seed of ids, delays and fault draws | genesys-emulator |
 * | `EMULATOR_TOKEN_LIFETIME_SECONDS` | `expires_in` of tokens (seconds, > 0) | 86400 |
 * | `EMULATOR_CHANNEL_TTL_SECONDS` | notification channel lifetime (seconds, > 0) | 86400 |
 * | `EMULATOR_DEMO_DATA` | demo org on/off (`true`/`false`/`1`/`0`/`yes`/`no`) | true |
 * | `EMULATOR_FLOW_INTERVAL_MS` | background flow period (ms; 0 disables) | 4000 |
 */
import { z } from "zod";
import type { EmulatorOptions } from "./server.js";

const intFrom = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const booleanFrom = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ["true", "false", "1", "0", "yes", "no"].includes(v), "must be true or false")
  .transform((v) => v === "true" || v === "1" || v === "yes");

/** zod schema of the runner's environment (unknown variables are ignored). */
export const EmulatorEnvSchema = z.object({
  EMULATOR_PORT: intFrom(0, 65535).default(4010),
  EMULATOR_HOST: z.string().trim().min(1).default("127.0.0.1"),
  EMULATOR_SEED: z.string().min(1).optional(),
  EMULATOR_TOKEN_LIFETIME_SECONDS: intFrom(1).default(86400),
  EMULATOR_CHANNEL_TTL_SECONDS: intFrom(1).default(86400),
  EMULATOR_DEMO_DATA: booleanFrom.default(true),
  EMULATOR_FLOW_INTERVAL_MS: intFrom(0).default(4000),
});

/** Result of {@link parseEmulatorEnv}. */
export type EmulatorEnvResult = { ok: true; options: EmulatorOptions } | { ok: false; message: string };

/**
 * Turns environment variables into {@link EmulatorOptions}. Empty strings count as unset.
 * Never throws: bad values yield `{ ok: false, message }` naming each variable.
 */
export function parseEmulatorEnv(env: Record<string, string | undefined>): EmulatorEnvResult {
  const relevant = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key.startsWith("EMULATOR_") && value !== undefined && value !== ""),
  );
  const parsed = EmulatorEnvSchema.safeParse(relevant);
  if (!parsed.success) return { ok: false, message: `Invalid emulator environment:\n${z.prettifyError(parsed.error)}` };
  const e = parsed.data;
  return {
    ok: true,
    options: {
      port: e.EMULATOR_PORT,
      host: e.EMULATOR_HOST,
      ...(e.EMULATOR_SEED !== undefined ? { seed: e.EMULATOR_SEED } : {}),
      tokenLifetimeSeconds: e.EMULATOR_TOKEN_LIFETIME_SECONDS,
      channelTtlSeconds: e.EMULATOR_CHANNEL_TTL_SECONDS,
      demoData: e.EMULATOR_DEMO_DATA,
      backgroundFlowIntervalMs: e.EMULATOR_FLOW_INTERVAL_MS,
    },
  };
}
