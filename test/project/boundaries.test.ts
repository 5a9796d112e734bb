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
