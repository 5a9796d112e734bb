/**
 * JWT callers, verified with `jose` (`jwtVerify`, `createRemoteJWKSet`): signature against the
 * configured JWKS or PEM public key (asymmetric algorithms only), `iss`, `aud`, `exp`/`nbf`, and
 * a `sub` (the caller id). `exp` is required: a token without one would be valid forever (JWT
 * access tokens always carry it, RFC 9068 §2.2), and a socket opened with it never closed.
 * `sub` must be a non-empty string. Scopes come from the standard space-separated `scope` claim
 * (RFC 8693 §4.2).
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { Caller } from "./caller.js";
import { AuthenticationError, AuthenticationUnavailableError } from "./errors.js";
import { parseScopeClaim } from "./scopes.js";
import type { JwtSettings } from "./settings.js";

/** Signature algorithms accepted: asymmetric only (a public key cannot verify HMAC, and `none` is never accepted). */
export const JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

/** Verifies bearer JWTs. */
export class JwtVerifier {
  private readonly key: KeyObject | JWTVerifyGetKey;

  /**
   * @param settings issuer, audience and one of JWKS URL / PEM key.
   * @param jwksTimeoutMs how long one JWKS fetch may take (ms; default 5 000).
   * @throws Error when the PEM key cannot be read or neither key source is given.
   */
  constructor(
    private readonly settings: JwtSettings,
    jwksTimeoutMs = 5_000,
  ) {
    if (settings.jwksUrl) {
      // jose caches the set, re-fetches on an unknown `kid` (at most every 30 s) and after 10 min.
      this.key = createRemoteJWKSet(settings.jwksUrl, { timeoutDuration: jwksTimeoutMs });
    } else if (settings.publicKeyPem) {
      this.key = createPublicKey(settings.publicKeyPem);
    } else {
      throw new Error("JWT verification needs a JWKS URL or a PEM public key");
    }
  }

  /**
   * The caller a token stands for.
   * @throws AuthenticationError (message safe to show: names the failed check, never the token).
   * @throws AuthenticationUnavailableError when the JWKS cannot be fetched (unreachable, timeout, not a key set).
   */
  async verify(token: string): Promise<Caller> {
    let payload: JWTPayload;
    try {
      const options = { issuer: this.settings.issuer, audience: this.settings.audience, algorithms: JWT_ALGORITHMS, requiredClaims: ["sub", "exp"] };
      ({ payload } =
        typeof this.key === "function" ? await jwtVerify(token, this.key, options) : await jwtVerify(token, this.key, options));
    } catch (error) {
      if (typeof this.key === "function" && keySetUnavailable(error)) throw new AuthenticationUnavailableError("the token could not be checked: the key set is unavailable");
      throw new AuthenticationError(describe(error));
    }
    if (!payload.sub) throw new AuthenticationError('the token\'s "sub" claim is not acceptable (empty)');
    return { id: payload.sub, scopes: parseScopeClaim(payload.scope), kind: "jwt", expiresAt: payload.exp! * 1000 };
  }
}

/**
 * Whether verification failed for want of the key set rather than because of the token: jose's
 * JWKS timeout, a key set that is not one, a non-200 answer (a plain JOSEError from
 * createRemoteJWKSet's fetch), or the fetch failing outright (not a JOSEError at all).
 */
function keySetUnavailable(error: unknown): boolean {
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return true;
  if (!(error instanceof errors.JOSEError)) return true;
  return error.constructor === errors.JOSEError && /JSON Web Key Set HTTP response/.test(error.message);
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "the token has expired";
  if (error instanceof errors.JWTClaimValidationFailed) return `the token's "${error.claim}" claim is not acceptable (${error.reason})`;
  if (error instanceof errors.JOSEAlgNotAllowed) return "the token's signature algorithm is not accepted";
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) {
    return "the token's signature does not verify";
  }
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid) return "the token is malformed";
  return "the token could not be verified";
}
