/**
 * Structured JSON logging (pino). Authorization headers, tokens and secrets are redacted
 * wherever they appear in a logged object, so a raw SDK/axios error can never leak a bearer token.
 */
import { pino, type DestinationStream, type Logger } from "pino";

/** The pino logger type used across the gateway. */
export type { Logger };

/** Paths pino censors in every log line. */
const REDACT = [
  "authorization",
  "*.authorization",
  "*.Authorization",
  "*.*.authorization",
  "*.*.Authorization",
  "*.*.*.Authorization",
  "*.*.*.authorization",
  "headers.Authorization",
  "access_token",
  "*.access_token",
  "accessToken",
  "*.accessToken",
  "clientSecret",
  "*.clientSecret",
  "client_secret",
  "*.client_secret",
];

/**
 * Creates the process logger (JSON lines).
 * @param level pino level name; "silent" disables output.
 * @param destination where lines go; stdout by default.
 */
export function createLogger(level: string = "info", destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT, censor: "[redacted]" } };
  return destination ? pino(options, destination) : pino(options);
}
