/**
 * Which browser origins may use the gateway: `CORS_ORIGINS`, an allow-list of exact origins
 * (`https://app.example.com`), empty by default. It drives HTTP CORS (http/cors.ts) and the
 * WebSocket upgrade check (ws/upgrade.ts): a cross-site page cannot open the socket.
 */

/** Normalises an origin (`scheme://host[:port]`, lower case, no path); undefined when it is not one. */
export function normalizeOrigin(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
    if (url.pathname !== "/" || url.search || url.hash || url.username || url.password) return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/** The allow-list of browser origins. */
export class OriginPolicy {
  private readonly allowed: Set<string>;

  /** @param origins exact origins, e.g. `["https://crm.example.com"]`. */
  constructor(origins: readonly string[]) {
    this.allowed = new Set(origins.map((o) => normalizeOrigin(o) ?? o));
  }

  /** Whether `origin` (a request's Origin header) is in the allow-list. */
  allows(origin: string): boolean {
    const normalized = normalizeOrigin(origin);
    return normalized !== undefined && this.allowed.has(normalized);
  }

  /**
   * Whether a WebSocket upgrade may proceed: no Origin (not a browser, e.g. Node clients), an
   * Origin in the allow-list, or a same-origin page (Origin's host equals the Host header).
   */
  allowsUpgrade(origin: string | undefined, host: string | undefined): boolean {
    if (origin === undefined) return true;
    if (this.allows(origin)) return true;
    if (!host) return false;
    try {
      return new URL(origin).host.toLowerCase() === host.toLowerCase();
    } catch {
      return false;
    }
  }
}
