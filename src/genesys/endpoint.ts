/**
 * Which Genesys a gateway talks to, in words an operator can check (the start log line and
 * `/readyz`): the environment of a Genesys Cloud org (shared/genesys/README.md, "Hosts and auth":
 * the Platform API on `https://api.{environment}`, login on `https://login.{environment}`), or the
 * one base URL everything goes to. Never holds the client secret.
 */
import platformClient from "./sdk.js";
import type { GenesysEndpoint } from "./client.js";

/**
 * A description of a Genesys target; JSON-safe, never the client secret.
 * - `cloud`: `environment` is the host suffix (`mypurecloud.ie`: API `https://api.mypurecloud.ie`);
 *   `region` the SDK's region name for it when it has one (`eu_west_1`, from `PureCloudRegionHosts`);
 * - `gateway`: `baseUrl` is `GENESYS_GATEWAY_URL`, normalized (`URL.href`);
 * - `embedded-emulator`: `emulatorUrl` (an origin) where the embedded emulator listens; its demo
 *   data is not a real org.
 */
export type GenesysTargetDescription =
  | { kind: "cloud"; environment: string; region?: string; clientId: string }
  | { kind: "gateway"; baseUrl: string; clientId: string }
  | { kind: "embedded-emulator"; emulatorUrl: string; clientId: string };

/**
 * Describes `endpoint` for logs and `/readyz`.
 * @param clientId the OAuth client id (public); the secret is never passed here.
 * @param options `embeddedEmulator`: the base URL is the emulator the process started itself.
 */
export function describeGenesysEndpoint(
  endpoint: GenesysEndpoint,
  clientId: string,
  options: { embeddedEmulator?: boolean } = {},
): GenesysTargetDescription {
  if ("baseUrl" in endpoint) {
    return options.embeddedEmulator
      ? { kind: "embedded-emulator", emulatorUrl: endpoint.baseUrl.origin, clientId }
      : { kind: "gateway", baseUrl: endpoint.baseUrl.href, clientId };
  }
  const region = Object.entries(platformClient.PureCloudRegionHosts).find(([, host]) => host === endpoint.environment)?.[0];
  return { kind: "cloud", environment: endpoint.environment, ...(region ? { region } : {}), clientId };
}

/**
 * One human-readable line for a {@link GenesysTargetDescription}, e.g.
 * `Genesys Cloud eu_west_1 (https://api.mypurecloud.ie), client id 7d3…` or
 * `the embedded Genesys Cloud emulator at http://127.0.0.1:4010 (demo data, not a real org), client id emulator-demo-client`.
 */
export function genesysTargetSummary(description: GenesysTargetDescription): string {
  switch (description.kind) {
    case "cloud":
      return `Genesys Cloud ${description.region ?? description.environment} (https://api.${description.environment}), client id ${description.clientId}`;
    case "gateway":
      return `the Genesys API at ${description.baseUrl} (GENESYS_GATEWAY_URL), client id ${description.clientId}`;
    case "embedded-emulator":
      return `the embedded Genesys Cloud emulator at ${description.emulatorUrl} (demo data, not a real org), client id ${description.clientId}`;
  }
}
