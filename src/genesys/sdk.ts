/**
 * The official Genesys Cloud SDK (`purecloud-platform-client-v2`, pinned), as every gateway module
 * loads it: the default export only (its named value exports fail at run time under ESM), after
 * `./sdk-web-storage.ts` has kept the SDK's `localStorage` probe from printing a warning on
 * Node 25+. Types come from the package itself (`import type { Models } from
 * "purecloud-platform-client-v2"`).
 */
import "./sdk-web-storage.js";
import platformClient from "purecloud-platform-client-v2";

/** The SDK's module object (`ApiClientClass`, `ConversationsApi`, `PureCloudRegionHosts`, …). */
export default platformClient;
