/**
 * Redis client errors in one log line. Apart from src/cluster/redis-connection.ts (which loads
 * ioredis) so that modules the one-process gateway loads too (the write lease) can describe a
 * Redis error without loading ioredis when `REDIS_URL` is unset.
 */

/**
 * One line for a Redis client error: its code (e.g. `ECONNREFUSED`) and message, whitespace
 * collapsed. Never the URL's password: ioredis errors name host and port only.
 */
export function describeRedisError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  const message = error.message.replace(/\s+/g, " ").trim();
  return code && !message.includes(code) ? `${code} ${message}` : message;
}
