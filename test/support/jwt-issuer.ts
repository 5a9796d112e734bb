/**
 * A test identity provider on loopback: an RSA key pair (jose `generateKeyPair`), its public key
 * served as a JWKS (`GET /jwks.json`) by a real HTTP server, and `sign()` issuing RS256 JWTs
 * with jose `SignJWT`. Also gives the public key as PEM (for `GATEWAY_JWT_PUBLIC_KEY`).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from "jose";

/** Claims and overrides of one test token. */
export interface TokenOptions {
  /** `sub` claim (default "dashboard-7"); null leaves it out. */
  sub?: string | null;
  /** Space-separated scopes (`scope` claim); omitted when undefined. */
  scope?: string;
  issuer?: string;
  audience?: string;
  /** `exp` as epoch seconds; default one hour from now; null leaves it out. */
  exp?: number | null;
  /** Sign with another key (one the JWKS does not hold). */
  foreignKey?: boolean;
}

/** A running test issuer. */
export interface JwtIssuer {
  /** `http://127.0.0.1:port/jwks.json` */
  jwksUrl: URL;
  issuer: string;
  audience: string;
  /** The public key as SPKI PEM. */
  publicKeyPem: string;
  /** Requests the JWKS endpoint has answered. */
  jwksRequests(): number;
  sign(options?: TokenOptions): Promise<string>;
  close(): Promise<void>;
}

const KID = "test-key-1";

/** Starts the issuer on an ephemeral loopback port. */
export async function startJwtIssuer(): Promise<JwtIssuer> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const foreign = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: "RS256", use: "sig" };
  let requests = 0;
  const server = http.createServer((req, res) => {
    if (req.url === "/jwks.json") {
      requests += 1;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = "https://idp.test.example/";
  const audience = "genesys-participants-gateway";
  return {
    jwksUrl: new URL(`http://127.0.0.1:${port}/jwks.json`),
    issuer,
    audience,
    publicKeyPem: await exportSPKI(publicKey as CryptoKey),
    jwksRequests: () => requests,
    async sign(options = {}) {
      const payload = options.scope === undefined ? {} : { scope: options.scope };
      const jwt = new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid: KID });
      if (options.sub !== null) jwt.setSubject(options.sub ?? "dashboard-7");
      if (options.exp !== null) jwt.setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 3600);
      return jwt
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience ?? audience)
        .setIssuedAt()
        .sign(options.foreignKey ? foreign.privateKey : privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
