/**
 * The house rules, checked (part of `deno task check`):
 *
 * 1. **No import circle in `src/`.** Every `import … from`, `import "…"` and `export … from` of a
 *    relative `.ts` path is an edge, type-only imports included (a type import still ties two
 *    concepts together, and one move turns it into a runtime circle). Each circle found is
 *    printed with the line of every import in it (house/imports.ts).
 * 2. **No reference to notes outside the repository**, in `src/`, `scripts/`, `tests/` (the
 *    fixture data excepted, its Markdown not), `docs/`, `.github/`, `README.md`, `main.ts` and
 *    `deno.json`: the names of the reference notes, bare section marks (a section sign before a
 *    number) and paths into the folder beside the repository. What the code relies on is
 *    written in `docs/`, and every pointer into it (`docs/wsjf.md#limits`, or a Markdown link
 *    between our files) must lead to a file and heading that exist (house/pointers.ts).
 * 3. **A file in `src/` or `scripts/` over {@link MAX_LINES} lines gives its reason** in its
 *    opening comment, on a line `Long because: …`. Without `--strict` these are warnings.
 * 4. **The README's map matches the folders**: the code block under its "How it works" heading
 *    names every folder of `src/` (a line `  name/  what is in it`), and no folder that is not
 *    there. A README without that heading is not checked.
 *
 * Usage: deno run --allow-read scripts/check_house.ts [--strict] [--root DIR]
 *
 * Exit 0 when there are no errors (warnings are printed), 1 with the errors.
 *
 * @module
 */
import path from "#path";
import { parseArgs } from "#util";
import { describeCycle, findCycles, importGraph } from "./house/imports.ts";
import { deadPointers, headingAnchors } from "./house/pointers.ts";

/** Files longer than this need a reason in their opening comment. */
export const MAX_LINES = 500;

/**
 * Circles known and being removed: a circle whose files all belong to one group is reported
 * as a warning, not an error. Remove a group as soon as its circle is gone (the check then says
 * so).
 */
export const KNOWN_CYCLES: ReadonlyArray<{ files: readonly string[]; why: string }> = [];

/** What the check found. */
export interface HouseReport {
  errors: string[];
  warnings: string[];
}

/** Options of {@link checkHouse}. */
export interface HouseOptions {
  /** Long files without a reason are errors, not warnings. */
  strict?: boolean;
  /** Circles tolerated for now (default {@link KNOWN_CYCLES}). */
  knownCycles?: ReadonlyArray<{ files: readonly string[]; why: string }>;
}

/** Folders never looked into. */
const SKIP_DIRS = new Set([
  ".git",
  "node_modules",
  ".tools",
  "tools",
  "dist",
  "demo",
  "agent-data",
]);

/** Where outside references are looked for; paths relative to the root. */
const REFERENCE_ROOTS = ["src", "scripts", "tests", "docs", ".github", "README.md", "main.ts"];
const REFERENCE_FILES = ["deno.json"];
const TEXT_EXT = /\.(ts|md|json|ya?ml)$/;

/**
 * Marks of a reference to notes outside the repository. Written so that this file does not
 * match itself: a character class or an escape breaks each literal.
 */
const OUTSIDE_REFERENCES: ReadonlyArray<[RegExp, string]> = [
  [/station-format[s]\b/, "names a reference note that is not in the repository"],
  [/wats-formats-ap[i]\b/, "names a reference note that is not in the repository"],
  [/deno-note[s]\b/, "names a reference note that is not in the repository"],
  [/architecture-sketc[h]\b/, "names a reference note that is not in the repository"],
  [/\u00a7\s?\d/, "cites a section of a note (a bare section mark)"],
  [/shared[\\/]referenc[e]/, "points into the reference notes beside the repository"],
  [/\.\.[\\/]share[d](?![\w.-])/, "points into the folder beside the repository"],
];

/**
 * The one file allowed to name the shared fixtures' default place: the fixture locator (tests
 * read the public samples through it only).
 */
const FIXTURE_LOCATOR = "tests/_fixtures.ts";
const FIXTURE_PATH = /\.\.[\\/]share[d][\\/]fixtures/;

/** Runs every check over the project at `root`. */
export async function checkHouse(root: string, options: HouseOptions = {}): Promise<HouseReport> {
  const report: HouseReport = { errors: [], warnings: [] };
  await checkCycles(root, options.knownCycles ?? KNOWN_CYCLES, report);
  await checkOutsideReferences(root, report);
  await checkLongFiles(root, options.strict ?? false, report);
  await checkReadmeMap(root, report);
  return report;
}

// ---------------------------------------------------------------------------------------------
// Files

/** Every file under `dir` (relative to `root`, `/`-separated, sorted) whose name matches. */
export async function listFiles(root: string, dir: string, match: RegExp): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(path.join(root, rel)));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    for (const e of entries) {
      const child = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory) {
        if (!SKIP_DIRS.has(e.name)) await walk(child);
      } else if (e.isFile && match.test(e.name)) {
        out.push(child);
      }
    }
  };
  await walk(dir);
  return out.sort();
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await Deno.stat(file)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function checkCycles(
  root: string,
  known: ReadonlyArray<{ files: readonly string[]; why: string }>,
  report: HouseReport,
): Promise<void> {
  const cycles = findCycles(await importGraph(root, await listFiles(root, "src", /\.ts$/)));
  const used = new Set<number>();
  for (const c of cycles) {
    const k = known.findIndex((g) => c.steps.every((s) => g.files.includes(s.file)));
    if (k === -1) {
      report.errors.push(
        `${describeCycle(c)}\n  A circle ties these files into one concept: move what both ` +
          "need into a file of its own, or turn one import around.",
      );
    } else {
      used.add(k);
      report.warnings.push(`${describeCycle(c)}\n  Known (${known[k].why}; KNOWN_CYCLES).`);
    }
  }
  known.forEach((g, k) => {
    if (!used.has(k) && g.files.some((f) => isFileSync(path.join(root, f)))) {
      report.warnings.push(
        `KNOWN_CYCLES lists a circle among ${g.files.join(", ")} that is gone: remove it from ` +
          "scripts/check_house.ts.",
      );
    }
  });
}

// A known circle's files still existing tells "gone because fixed" from "not this project".
function isFileSync(file: string): boolean {
  try {
    return Deno.statSync(file).isFile;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Outside references

/** The outside references in one file's text: `[line, what]` pairs. */
export function outsideReferences(file: string, text: string): Array<[number, string]> {
  const found: Array<[number, string]> = [];
  text.split("\n").forEach((line, i) => {
    for (const [re, what] of OUTSIDE_REFERENCES) {
      if (!re.test(line)) continue;
      if (file === FIXTURE_LOCATOR && FIXTURE_PATH.test(line)) continue;
      found.push([i + 1, `${what}: ${line.trim().slice(0, 120)}`]);
      break;
    }
  });
  return found;
}

async function checkOutsideReferences(root: string, report: HouseReport): Promise<void> {
  const cache = new Map<string, Set<string> | null>();
  const anchors = async (target: string) => {
    if (!cache.has(target)) {
      const text = await Deno.readTextFile(path.join(root, target)).catch((e) => {
        if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.IsADirectory) return null;
        throw e;
      });
      cache.set(target, text === null ? null : headingAnchors(text));
    }
    return cache.get(target)!;
  };
  const files: string[] = [...REFERENCE_FILES];
  for (const r of REFERENCE_ROOTS) {
    if (await exists(path.join(root, r))) files.push(r);
    else files.push(...await listFiles(root, r, TEXT_EXT));
  }
  for (const f of files) {
    // Fixture data is station output and may say anything; its READMEs are ours.
    if (f.startsWith("tests/fixtures/") && !f.endsWith(".md")) continue;
    let text: string;
    try {
      text = await Deno.readTextFile(path.join(root, f));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw e;
    }
    for (const [line, what] of outsideReferences(f, text)) {
      report.errors.push(
        `${f}:${line} ${what}\n  A maintainer who clones the project does not have it: write ` +
          "what the code relies on into docs/ and point there.",
      );
    }
    for (const [line, what] of await deadPointers(f, text, anchors)) {
      report.errors.push(`${f}:${line} ${what}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Long files

/** The opening comment of a module: its first `/* … *\/` block or run of `//` lines. */
export function openingComment(source: string): string {
  const text = source.replace(/^#![^\n]*\n/, "").trimStart();
  if (text.startsWith("/*")) {
    const end = text.indexOf("*/");
    return end === -1 ? text : text.slice(0, end + 2);
  }
  const lines: string[] = [];
  for (const line of text.split("\n")) {
    if (!line.trimStart().startsWith("//")) break;
    lines.push(line);
  }
  return lines.join("\n");
}

/** Lines of a text (a final newline does not start another). */
export function lineCount(text: string): number {
  if (text === "") return 0;
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}

async function checkLongFiles(root: string, strict: boolean, report: HouseReport): Promise<void> {
  for (const dir of ["src", "scripts"]) {
    for (const f of await listFiles(root, dir, /\.ts$/)) {
      const source = await Deno.readTextFile(path.join(root, f));
      const lines = lineCount(source);
      if (lines <= MAX_LINES) continue;
      if (/^[\s/*]*Long because:\s*\S/m.test(openingComment(source))) continue;
      const message = `${f}: ${lines} lines (over ${MAX_LINES}) and its opening comment gives ` +
        'no reason: split it by concept, or say why it is one file on a line "Long because: …".';
      (strict ? report.errors : report.warnings).push(message);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The README's map of src/

/** The heading whose first code block is the map of `src/`. */
const MAP_HEADING = /^#{2,4} How it works\s*$/m;

/**
 * The folders of `src/` the README's map names (lines `  name/ …` inside the first code block
 * under the "How it works" heading), or null when the README has no such heading or block.
 */
export function mapFolders(readme: string): string[] | null {
  const at = readme.search(MAP_HEADING);
  if (at === -1) return null;
  const block = /^```[^\n]*\n([\s\S]*?)^```/m.exec(readme.slice(at));
  if (!block) return null;
  const folders: string[] = [];
  let inSrc = false;
  for (const line of block[1].split("\n")) {
    if (/^\S/.test(line)) inSrc = line.startsWith("src/");
    const m = /^ {2}([\w.-]+)\/(\s|$)/.exec(line);
    if (inSrc && m) folders.push(m[1]);
  }
  return folders;
}

async function checkReadmeMap(root: string, report: HouseReport): Promise<void> {
  let readme: string;
  try {
    readme = await Deno.readTextFile(path.join(root, "README.md"));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  const named = mapFolders(readme);
  if (named === null) return;
  const actual: string[] = [];
  for await (const e of Deno.readDir(path.join(root, "src"))) {
    if (e.isDirectory) actual.push(e.name);
  }
  for (const f of actual.filter((f) => !named.includes(f)).sort()) {
    report.errors.push(
      `README.md "How it works": the map does not name src/${f}/; add a line "  ${f}/  …" ` +
        "saying what is in it, in its place on a file's way through the code.",
    );
  }
  for (const f of named.filter((f) => !actual.includes(f))) {
    report.errors.push(
      `README.md "How it works": the map names src/${f}/, which is not there; remove or ` +
        "rename its line.",
    );
  }
}

// ---------------------------------------------------------------------------------------------

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { strict: { type: "boolean", default: false }, root: { type: "string" } },
  });
  const root = path.resolve(values.root ?? path.join(import.meta.dirname!, ".."));
  const report = await checkHouse(root, { strict: values.strict });
  for (const w of report.warnings) console.warn(`warning: ${w}`);
  for (const e of report.errors) console.error(`error: ${e}`);
  console.log(
    `check_house: ${report.errors.length} error(s), ${report.warnings.length} warning(s)` +
      (values.strict ? " (strict)" : ""),
  );
  Deno.exit(report.errors.length === 0 ? 0 : 1);
}
