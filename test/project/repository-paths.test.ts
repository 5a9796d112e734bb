/**
 * Proves that the project reads nothing outside its own repository, so that
 * `npm ci && npm test` and `npm start` work on a clone with nothing beside it (issue 7: six
 * test files once failed with ENOENT reading the Genesys spec subset from the shared folder beside the clone).
 *
 * A cheap grep over the text of src/, test/ (minus the data under test/fixtures/), .ci/ and the
 * root's *.ts and *.json files, for:
 * (a) relative paths that climb above the repository root: a run of `../` segments (or
 *     `"..", ".."` arguments of path.join/resolve) longer than the depth of the file's folder.
 *     Files under src/ also run compiled from dist/src/… (one level deeper), so they may climb
 *     one more level: src/scripts/emit-schema.ts climbs three levels to the root's
 *     schema.graphql, which is right from dist/src/scripts/;
 * (b) absolute paths into places no clone has: `/work/…` (the machine the project grew on),
 *     `/home/…`, `/Users/…`, `/root/…`, `/mnt/…`.
 * Comments count too: a path cited in a comment is a path someone will follow.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Folders scanned recursively (relative to the root), and what is left out of them. */
const SCANNED_DIRS = ["src", "test", ".ci"];
const SKIPPED = new Set(["node_modules", "dist", path.join("test", "fixtures")]);
/** Root files scanned: *.ts and *.json (package.json, package-lock.json, tsconfig.json, codegen.ts, vitest.config.ts). */
const ROOT_FILE = /\.(ts|json)$/;

/**
 * A run of `../` (optionally after `./`), not part of a longer segment such as `a../`. A run
 * after another segment (`$(dirname "$0")/../..`) counts in full: `a/b/../../..` is over-counted,
 * which errs on the safe side.
 */
const DOT_DOT_RUN = /(?<![\w.-])(?:\.\/)?((?:\.\.[\\/])+)/g;
/** A run of `".."` arguments, as in `path.join(dir, "..", "..")`. */
const DOT_DOT_ARGS = /(?:["'`]\.\.["'`]\s*,?\s*)+/g;
/** Absolute paths into home or machine-specific folders (not preceded by a URL host or a word). */
const FOREIGN_ABSOLUTE = /(?<![\w.:\/-])\/(?:work|home|Users|root|mnt)\/[\w.\/-]+/g;

/** One path that leaves the repository. */
export interface Escape {
  /** File relative to the repository root, with `/` separators. */
  file: string;
  /** 1-based line number. */
  line: number;
  /** The matched text. */
  text: string;
  /** Why it leaves the repository. */
  reason: string;
}

/**
 * The paths in `source` that leave the repository, for a file at `file` (relative to the root,
 * `/`-separated). Pure: no file system access.
 */
export function repositoryEscapes(file: string, source: string): Escape[] {
  const folders = file.split("/").slice(0, -1);
  // Compiled copies of src/ files run from dist/src/…: one level deeper.
  const depth = folders.length + (folders[0] === "src" ? 1 : 0);
  const escapes: Escape[] = [];
  const lineOf = (index: number) => source.slice(0, index).split("\n").length;
  for (const match of source.matchAll(DOT_DOT_RUN)) {
    const levels = match[1]!.length / 3;
    if (levels > depth) {
      escapes.push({ file, line: lineOf(match.index), text: match[0], reason: `climbs ${levels} levels from a file ${depth} below the root` });
    }
  }
  for (const match of source.matchAll(DOT_DOT_ARGS)) {
    const levels = (match[0].match(/\.\./g) ?? []).length;
    if (levels > depth) {
      escapes.push({ file, line: lineOf(match.index), text: match[0].trim(), reason: `climbs ${levels} levels from a file ${depth} below the root` });
    }
  }
  for (const match of source.matchAll(FOREIGN_ABSOLUTE)) {
    escapes.push({ file, line: lineOf(match.index), text: match[0], reason: "absolute path outside any clone" });
  }
  return escapes;
}

/** Every file under `dir` (relative to the root), recursively, minus {@link SKIPPED}. */
function filesUnder(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (SKIPPED.has(entry.name) || SKIPPED.has(relative)) return [];
    return entry.isDirectory() ? filesUnder(relative) : [relative];
  });
}

/** The scanned files, relative to the root with `/` separators. */
function scannedFiles(): string[] {
  const rootFiles = readdirSync(ROOT, { withFileTypes: true })
    .filter((entry) => entry.isFile() && ROOT_FILE.test(entry.name))
    .map((entry) => entry.name);
  return [...rootFiles, ...SCANNED_DIRS.flatMap(filesUnder)].map((f) => f.split(path.sep).join("/"));
}

describe("the path scanner", () => {
  // Samples are assembled at run time so this file does not trip its own scan.
  const up = (levels: number) => "../".repeat(levels);
  const work = ["", "work", "shared", "genesys"].join("/");

  it("flags the path that once broke bare clones, and escapes from the root", () => {
    const old = `new URL("${up(3)}shared/genesys/openapi-2018-subset.json", import.meta.url)`;
    expect(repositoryEscapes("test/support/openapi.ts", old)).toHaveLength(1);
    expect(repositoryEscapes("package.json", `"x": "file:${up(1)}shared"`)).toHaveLength(1);
    expect(repositoryEscapes(".ci/run", `cd "$(dirname "$0")/${up(2)}"`)).toHaveLength(1);
    expect(repositoryEscapes("test/a.test.ts", `path.join(here, "..", "..")`)).toHaveLength(1);
    expect(repositoryEscapes("src/a.ts", `see ${work}/README.md`)).toEqual([
      { file: "src/a.ts", line: 1, text: `${work}/README.md`, reason: "absolute path outside any clone" },
    ]);
  });

  it("allows paths that stay inside, with src/ files counted from dist/", () => {
    expect(repositoryEscapes("test/project/x.test.ts", `new URL("${up(2)}README.md", import.meta.url)`)).toEqual([]);
    expect(repositoryEscapes("test/support/openapi.ts", `new URL("${up(1)}fixtures/genesys/x.json", import.meta.url)`)).toEqual([]);
    expect(repositoryEscapes("src/scripts/emit-schema.ts", `new URL("${up(3)}schema.graphql", import.meta.url)`)).toEqual([]);
    expect(repositoryEscapes("src/scripts/emit-schema.ts", `new URL("${up(4)}schema.graphql", import.meta.url)`)).toHaveLength(1);
    expect(repositoryEscapes(".ci/run", `cd "$(dirname "$0")/${up(1)}"`)).toEqual([]);
    expect(repositoryEscapes("src/a.ts", `"https://developer.genesys.cloud/home/x" a..${"/"}b`)).toEqual([]);
  });

  it("sees the files it is meant to see", () => {
    const files = scannedFiles();
    for (const expected of ["package.json", "tsconfig.json", "vitest.config.ts", "codegen.ts", ".ci/run", "src/main.ts", "test/support/openapi.ts"]) {
      expect(files).toContain(expected);
    }
    expect(files.some((f) => f.startsWith("node_modules/") || f.startsWith("dist/") || f.startsWith("test/fixtures/"))).toBe(false);
  });
});

describe("the repository", () => {
  it("has no path that leaves it, in src/, test/, .ci/ and the root's *.ts and *.json", () => {
    const escapes = scannedFiles().flatMap((file) => repositoryEscapes(file, readFileSync(path.join(ROOT, file), "utf8")));
    expect(escapes.map((e) => `${e.file}:${e.line}: ${e.text} (${e.reason})`)).toEqual([]);
  });

  it("holds the Genesys spec subset the tests validate against, with its provenance", () => {
    const spec = JSON.parse(readFileSync(path.join(ROOT, "test/fixtures/genesys/openapi-2018-subset.json"), "utf8")) as Record<string, unknown>;
    expect(spec["swagger"]).toBe("2.0");
    expect(spec["x-subset-of"]).toContain("22.0.0");
    expect(readFileSync(path.join(ROOT, "test/fixtures/genesys/README.md"), "utf8")).toContain("22.0.0");
  });
});
