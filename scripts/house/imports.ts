/**
 * The import graph of a folder of TypeScript modules, read with a scanner rather than a parser
 * (fast, no dependency): comments and template-literal text are blanked, then every
 * `import … from`, `import "…"` and `export … from` of a relative path is an edge, type-only ones
 * marked. And the circles in that graph. Used by scripts/check_house.ts.
 *
 * @module
 */
import path from "#path";

/** One import of a module by another. */
export interface ImportEdge {
  /** The imported module, relative to the root (`/`-separated). */
  to: string;
  /** 1-based line of the statement. */
  line: number;
  typeOnly: boolean;
}

/**
 * `source` with comments and template-literal text blanked (newlines kept, so offsets still give
 * line numbers), and quoted strings kept: what is left of an import is code.
 */
export function blankComments(source: string): string {
  const out = source.split("");
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i];
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      const end = source.indexOf("\n", i);
      const stop = end === -1 ? n : end;
      blank(i, stop);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end === -1 ? n : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === '"' || c === "'") {
      // A quoted string ends at its quote or, when a regex literal fooled us, at the line's end.
      let j = i + 1;
      while (j < n && source[j] !== c && source[j] !== "\n") j += source[j] === "\\" ? 2 : 1;
      i = j + 1;
    } else if (c === "`") {
      let j = i + 1;
      while (j < n && source[j] !== "`") j += source[j] === "\\" ? 2 : 1;
      blank(i + 1, Math.min(j, n));
      i = j + 1;
    } else {
      i++;
    }
  }
  return out.join("");
}

// `import x from "…"`, `import type { A } from "…"`, `import "…"`, `export { a } from "…"`,
// `export type * from "…"`: a statement that starts a line or follows `;` or `}`.
const IMPORT_RE =
  /(?:^|[;}])[ \t]*(import|export)\s+(type\s+)?(?:([\w$*{}\s,]+?)\s+from\s+)?(["'])([^"'\n]+)\4/gm;

/** The relative `.ts` imports of the module `file` (relative to `root`) whose text is `source`. */
export function importsOf(file: string, source: string): ImportEdge[] {
  const code = blankComments(source);
  const edges: ImportEdge[] = [];
  for (const m of code.matchAll(IMPORT_RE)) {
    const [, keyword, typeKeyword, clause, , spec] = m;
    if (keyword === "export" && clause === undefined) continue; // not a re-export
    if (!spec.startsWith("./") && !spec.startsWith("../")) continue; // import map, npm:, node:
    const to = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    const start = (m.index ?? 0) + m[0].search(/import|export/);
    const line = code.slice(0, start).split("\n").length;
    const names = clause?.match(/\{([\s\S]*)\}/)?.[1];
    const everyNameTyped = names !== undefined && !clause!.replace(/\{[\s\S]*\}/, "").match(/\w/) &&
      names.split(",").map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith("type "));
    edges.push({ to, line, typeOnly: typeKeyword !== undefined || everyNameTyped });
  }
  return edges;
}

/** The import graph among `files` (relative to `root`): edges to other files of the list only. */
export async function importGraph(
  root: string,
  files: string[],
): Promise<Map<string, ImportEdge[]>> {
  const known = new Set(files);
  const graph = new Map<string, ImportEdge[]>();
  for (const f of files) {
    const source = await Deno.readTextFile(path.join(root, f));
    graph.set(f, importsOf(f, source).filter((e) => known.has(e.to)));
  }
  return graph;
}

/** One circle: the files in import order, each with the edge to the next. */
export interface Cycle {
  steps: Array<{ file: string; edge: ImportEdge }>;
}

/**
 * The circles of `graph` found by a depth-first search: one per edge back into the current path
 * (so every file on a circle is in at least one reported circle), each reported once whatever
 * file it was entered from.
 */
export function findCycles(graph: Map<string, ImportEdge[]>): Cycle[] {
  const state = new Map<string, "active" | "done">();
  const stack: Array<{ file: string; edge?: ImportEdge }> = [];
  const seen = new Set<string>();
  const cycles: Cycle[] = [];
  const visit = (file: string) => {
    state.set(file, "active");
    stack.push({ file });
    for (const edge of graph.get(file) ?? []) {
      stack[stack.length - 1].edge = edge;
      const s = state.get(edge.to);
      if (s === "active") {
        const from = stack.findIndex((x) => x.file === edge.to);
        const steps = stack.slice(from).map((x) => ({ file: x.file, edge: x.edge! }));
        const key = canonical(steps.map((x) => x.file));
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push({ steps });
        }
      } else if (s === undefined) {
        visit(edge.to);
      }
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

/** A circle's files from its smallest name on, so rotations compare equal. */
function canonical(files: string[]): string {
  let k = 0;
  for (let i = 1; i < files.length; i++) if (files[i] < files[k]) k = i;
  return [...files.slice(k), ...files.slice(0, k)].join(" > ");
}

/** A circle for people: each file, the line of its import, and where it leads. */
export function describeCycle(c: Cycle): string {
  const lines = c.steps.map(({ file, edge }) =>
    `  ${file}:${edge.line} imports${edge.typeOnly ? " (types only)" : ""} ${edge.to}`
  );
  return `import circle: ${[...c.steps.map((s) => s.file), c.steps[0].file].join(" → ")}\n${
    lines.join("\n")
  }`;
}
