/**
 * Which Genesys a gateway talks to, in words an operator can check: the environment and the
 * base URLs of the login and API hosts (shared/genesys/README.md, "Hosts and auth": login on
 * `https://login.{environment}`, the Platform API on `https://api.{environment}`, notification
 * sockets on `wss://streaming.{environment}`), or the one base URL everything goes to.
 */
import type { GenesysEndpoint } from "./client.js";

/** A description of a Genesys target; never holds a secret. */
export type GenesysTargetDescription =
  | { kind: "cloud"; environment: string; loginUrl: string; apiUrl: string; clientId: string }
  | { kind: "base-url"; baseUrl: string; clientId: string };

/**
 * Describes `endpoint` for logs and `/readyz`.
 * @param clientId the OAuth client id (public); the secret is never passed here.
 */
export function describeGenesysTarget(endpoint: GenesysEndpoint, clientId: string): GenesysTargetDescription {
  if ("baseUrl" in endpoint) return { kind: "base-url", baseUrl: endpoint.baseUrl.origin, clientId };
  return {
    kind: "cloud",
    environment: endpoint.environment,
    loginUrl: `https://login.${endpoint.environment}`,
    apiUrl: `https://api.${endpoint.environment}`,
    clientId,
  };
}
