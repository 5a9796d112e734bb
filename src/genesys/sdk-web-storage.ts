/**
 * Keeps the official SDK's `localStorage` probe quiet on Node 25 and later.
 *
 * The SDK's `ApiClient` constructor (`purecloud-platform-client-v2` 262.0.0,
 * dist/node/purecloud-platform-client-v2.js, "Value is `true` if local storage exists") tries
 * `localStorage.setItem`, and the module builds one client as it loads. Node 25+ has a
 * `localStorage` global whose getter prints "ExperimentalWarning: localStorage is not available
 * because --localstorage-file was not provided" on stderr when no storage file is configured: a
 * stray line at every start, which breaks the one-line error messages of `src/main.ts`.
 *
 * A server keeps no tokens in web storage. Unless the process was given a storage file, this
 * module shadows the global with `undefined` before the SDK loads, so the probe fails quietly
 * (`hasLocalStorage` false), as on Node 20–24 where the global does not exist. Import it only
 * through `./sdk.ts`, before the SDK itself.
 */
const descriptor = Object.getOwnPropertyDescriptor(globalThis, "localStorage");
const storageFileGiven = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].some((arg) =>
  arg.startsWith("--localstorage-file"),
);
if (descriptor?.get && descriptor.configurable && !storageFileGiven) {
  Object.defineProperty(globalThis, "localStorage", { value: undefined, writable: true, configurable: true, enumerable: descriptor.enumerable });
}
