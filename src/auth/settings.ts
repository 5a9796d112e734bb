/**
 * Caller-auth settings: what `GatewayOptions.auth` holds and `loadConfig` builds from
 * `GATEWAY_AUTH`, `GATEWAY_API_KEYS[_FILE]` and `GATEWAY_JWT_*` (README "Security").
 */

/** One API key. The clear key is never kept: only its SHA-256. */
export interface ApiKey {
  /** Caller id (logs, rate limits); unique. */
  id: string;
  /** Lower-case hex SHA-256 of the key's UTF-8 bytes. */
  sha256: string;
  /** Granted scopes (auth/scopes.ts). */
  scopes: string[];
}

/** JWT verification settings: one of `jwksUrl` / `publicKeyPem`, plus the expected issuer and audience. */
export interface JwtSettings {
  /** JSON Web Key Set URL (fetched and cached by `jose`'s `createRemoteJWKSet`). */
  jwksUrl?: URL;
  /** A PEM public key (SPKI `-----BEGIN PUBLIC KEY-----`), instead of a JWKS. */
  publicKeyPem?: string;
  /** Required `iss` claim. */
  issuer: string;
  /** Required `aud` claim (one of the token's audiences). */
  audience: string;
}

/**
 * Caller auth of a gateway:
 * - `none`: every caller is anonymous with every scope. `reason` says why: `embedded-demo`
 *   (no Genesys credentials, the embedded emulator) or `explicit` (`GATEWAY_AUTH=none`).
 * - `required`: a valid API key or JWT on every request and WebSocket connection.
 */
export type AuthSettings =
  | { mode: "none"; reason: "embedded-demo" | "explicit" }
  | { mode: "required"; apiKeys: ApiKey[]; jwt?: JwtSettings };
