/**
 * Connects the official Genesys SDK (purecloud-platform-client-v2) to an emulator.
 *
 * Per shared/genesys/README.md ("The official JavaScript SDK"): one `ApiClientClass` per
 * connection, `config.live_reload_config = false` right after creating it (otherwise each
 * client leaks an `fs.watchFile` listener), `setGateway({host, protocol: "http", port})` to
 * target the emulator, then the client-credentials login. Rejected SDK errors contain the
 * bearer token: never log them raw.
 */
import platformClient from "purecloud-platform-client-v2";

/** The SDK's API client instance type. */
export type SdkClient = InstanceType<typeof platformClient.ApiClientClass>;
/** The SDK's ConversationsApi instance type. */
export type ConversationsApi = InstanceType<typeof platformClient.ConversationsApi>;
/** The SDK's NotificationsApi instance type. */
export type NotificationsApi = InstanceType<typeof platformClient.NotificationsApi>;

/** The emulator's demo OAuth client (public). */
export const DEMO_CREDENTIALS = { clientId: "emulator-demo-client", clientSecret: "emulator-demo-secret" } as const;

/** A logged-in SDK connection. */
export interface SdkConnection {
  /** The logged-in API client (call `setReturnExtendedResponses(true)` for status/headers). */
  client: SdkClient;
  /** ConversationsApi bound to `client`. */
  conversations: ConversationsApi;
  /** NotificationsApi bound to `client`. */
  notifications: NotificationsApi;
}

/** Creates a fresh, not yet logged-in SDK client pointed at `emulatorUrl` (http only). */
export function newSdkClient(emulatorUrl: string): SdkClient {
  const client = new platformClient.ApiClientClass();
  client.config.live_reload_config = false;
  const url = new URL(emulatorUrl);
  client.setGateway({ host: url.hostname, protocol: url.protocol.replace(":", ""), port: Number(url.port) });
  return client;
}

/**
 * Creates an SDK client for `emulatorUrl` (e.g. `http://127.0.0.1:4010`), logs in with the
 * client-credentials grant (`creds`, default {@link DEMO_CREDENTIALS}) and returns it with
 * a ConversationsApi and a NotificationsApi bound to it.
 * @throws whatever the SDK rejects with when the login fails (an ErrorBody).
 */
export async function connectSdk(
  emulatorUrl: string,
  creds: { clientId: string; clientSecret: string } = DEMO_CREDENTIALS,
): Promise<SdkConnection> {
  const client = newSdkClient(emulatorUrl);
  await client.loginClientCredentialsGrant(creds.clientId, creds.clientSecret);
  return {
    client,
    conversations: new platformClient.ConversationsApi(client),
    notifications: new platformClient.NotificationsApi(client),
  };
}
