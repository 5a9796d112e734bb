/**
 * Validates values against the official 2018 Platform API Swagger 2.0 definitions in
 * `test/fixtures/genesys/openapi-2018-subset.json` (inside the repository; provenance in
 * `test/fixtures/genesys/README.md`), resolved from this file's URL.
 *
 * Swagger specifics handled: definitions are referenced as `#/definitions/X`; the `int32`
 * and `int64` formats are checked as integer ranges; `date-time` comes from ajv-formats;
 * `uri` accepts URI references because Genesys returns relative `selfUri`s
 * (`/api/v2/users/{id}`). Vendor keywords (`x-*`) and unknown formats are ignored
 * (ajv `strict: false`). Additional properties stay allowed, as in the spec.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

/** Absolute path of the spec file. */
export const OPENAPI_PATH = fileURLToPath(new URL("../fixtures/genesys/openapi-2018-subset.json", import.meta.url));

const spec = JSON.parse(readFileSync(OPENAPI_PATH, "utf8")) as { definitions: Record<string, unknown> };

// ajv-formats is CommonJS; under NodeNext its default export may arrive wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
ajv.addFormat("int32", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n <= 2 ** 31 - 1 });
ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
ajv.addFormat("uri", { type: "string", validate: (s: string) => /^(?:[a-z][a-z0-9+.-]*:|\/)\S*$/i.test(s) });
ajv.addSchema({ $id: "genesys-2018", definitions: spec.definitions });

const cache = new Map<string, ValidateFunction>();

function validatorFor(name: string): ValidateFunction {
  let validate = cache.get(name);
  if (!validate) {
    if (!(name in spec.definitions)) throw new Error(`No definition ${name} in ${OPENAPI_PATH}`);
    validate = ajv.compile({ $ref: `genesys-2018#/definitions/${name}` });
    cache.set(name, validate);
  }
  return validate;
}

/**
 * Validates `value` against definition `name` (e.g. "CallConversation", "ErrorBody").
 * Returns one readable line per ajv error; an empty array means valid.
 * @throws Error when the definition does not exist in the spec.
 */
export function validateDefinition(name: string, value: unknown): string[] {
  const validate = validatorFor(name);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${name}${e.instancePath || ""} ${e.message ?? "is invalid"}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
}

/**
 * Throws an Error listing the ajv errors unless `value` is a valid `name`.
 * Returns `value` typed as `T` for convenient chaining.
 */
export function expectValid<T = unknown>(name: string, value: unknown): T {
  const errors = validateDefinition(name, value);
  if (errors.length > 0) throw new Error(`Not a valid ${name}:\n${errors.join("\n")}\nvalue: ${JSON.stringify(value)}`);
  return value as T;
}
