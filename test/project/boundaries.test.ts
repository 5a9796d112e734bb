/**
 * Proves the module boundary between the gateway and the embedded emulator, by reading the
 * import/export-from statements (static and dynamic) of every TypeScript file under src/:
 * (a) no file under src/ outside src/emulator/ imports from src/emulator/, except the
 *     composition root src/main.ts, which may import only `./emulator/server.js`;
 * (b) no file under src/emulator/ imports a relative path that leaves src/emulator/.
 * Packages (bare specifiers such as `zod` or `node:http`) are allowed everywhere.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));
const EMULATOR = path.join(SRC, "emulator");
const MAIN = path.join(SRC, "main.ts");

/** `import … from "x"`, `export … from "x"`, `import "x"`, `import("x")`, across line breaks. */
const SPECIFIER = /\b(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)/g;

/** Every .ts file under `dir`, recursively. */
function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

/** The module specifiers a source text imports or re-exports. */
export function importSpecifiers(source: string): string[] {
  const withoutComments = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [...withoutComments.matchAll(SPECIFIER)].map((m) => (m[1] ?? m[2])!);
}

/** Relative imports of `file`, resolved to absolute paths (with the `.js` suffix as written). */
function relativeImports(file: string): Array<{ specifier: string; target: string }> {
  return importSpecifiers(readFileSync(file, "utf8"))
    .filter((s) => s.startsWith("."))
    .map((specifier) => ({ specifier, target: path.resolve(path.dirname(file), specifier) }));
}

const inside = (dir: string, target: string) => target === dir || target.startsWith(dir + path.sep);
const rel = (file: string) => path.relative(SRC, file);

describe("the import scanner", () => {
  it("finds static, type-only, re-export, side-effect and dynamic imports across lines", () => {
    const source = [
      'import a from "./a.js";',
      "import {",
      "  b,",
      "  c,",
      '} from "../b.js";',
      'import type { D } from "./emulator/d.js";',
      'export { e } from "./e.js";',
      'export * from "./f.js";',
      'import "./g.js";',
      'const h = await import("./h.js");',
      '// import x from "./commented.js";',
      '/* import y from "./block-commented.js"; */',
      'const s = "not an import from \\"./s.js\\"";',
    ].join("\n");
    expect(importSpecifiers(source)).toEqual(["./a.js", "../b.js", "./emulator/d.js", "./e.js", "./f.js", "./g.js", "./h.js"]);
  });

  it("sees the emulator and the gateway source", () => {
    const files = tsFiles(SRC);
    expect(files).toContain(MAIN);
    expect(files.filter((f) => inside(EMULATOR, f)).length).toBeGreaterThan(5);
    expect(files.filter((f) => !inside(EMULATOR, f)).length).toBeGreaterThan(5);
  });
});

describe("module boundaries", () => {
  it("(a) only src/main.ts reaches into src/emulator/, and only through ./emulator/server.js", () => {
    const violations: string[] = [];
    for (const file of tsFiles(SRC).filter((f) => !inside(EMULATOR, f))) {
      for (const { specifier, target } of relativeImports(file)) {
        if (!inside(EMULATOR, target)) continue;
        const allowed = file === MAIN && target === path.join(EMULATOR, "server.js");
        if (!allowed) violations.push(`${rel(file)} imports "${specifier}"`);
      }
    }
    expect(violations, "gateway code must not depend on the emulator (src/main.ts may import ./emulator/server.js)").toEqual([]);
  });

  it("(b) nothing under src/emulator/ imports from outside src/emulator/", () => {
    const violations: string[] = [];
    for (const file of tsFiles(EMULATOR)) {
      for (const { specifier, target } of relativeImports(file)) {
        if (!inside(EMULATOR, target)) violations.push(`${rel(file)} imports "${specifier}"`);
      }
    }
    expect(violations, "the emulator must stay self-contained").toEqual([]);
  });
});

/** `import … from "x"` (not `import type`), `export … from "x"` (not `export type`), `import "x"`: what loads when the file loads (dynamic `import()` excluded). */
const LOADED = /\b(?:import|export)\s+(?!type\s)(?:[^'";]*?\s+from\s+)?["']([^"']+)["']/g;

/** The modules loading `file` loads, transitively: relative files (absolute .ts paths) and packages (bare specifiers). */
function loadedGraph(file: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (current: string) => {
    if (files.has(current)) return;
    files.add(current);
    const source = readFileSync(current, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    for (const [, specifier] of source.matchAll(LOADED)) {
      if (specifier!.startsWith(".")) visit(path.resolve(path.dirname(current), specifier!).replace(/\.js$/, ".ts"));
      else packages.add(specifier!);
    }
  };
  visit(file);
  return { files, packages };
}

describe("one process with nothing configured", () => {
  it("the loader scan follows static imports only (not import type, not dynamic import())", () => {
    const found = [
      ...'import a from "./a.js";\nimport type { B } from "b";\nimport {\n  c,\n} from "c";\nconst d = await import("d");\nexport type { E } from "e";\nimport "f";'.matchAll(
        LOADED,
      ),
    ].map((m) => m[1]);
    expect(found).toEqual(["./a.js", "c", "f"]);
  });

  it("loading the gateway (src/server.ts) does not load ioredis: main.ts imports the Redis connection only with REDIS_URL", () => {
    const { files, packages } = loadedGraph(path.join(SRC, "server.ts"));
    expect(files.size).toBeGreaterThan(20);
    expect(files).toContain(path.join(SRC, "cluster", "write-lease.ts"));
    expect([...packages].filter((p) => p === "ioredis" || p.startsWith("ioredis/"))).toEqual([]);
  });
});
