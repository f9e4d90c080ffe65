/**
 * The module scanner: every file the agent loads at run time, found in the source (worker
 * modules, assets, dynamic imports and everything they import), and the npm packages those
 * modules import. The build checks the binary against this list, so a worker or asset missing
 * from deno.json `compile.include` fails the build instead of the agent in the field.
 *
 * @module
 */
import path from "#path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { BuildError } from "./build_error.ts";
import { output } from "./command.ts";

/** Why a file must be inside the binary. */
export interface RuntimeFile {
  /** Path relative to the project root, with "/" separators. */
  file: string;
  /** Where it is loaded from, e.g. `src/convert/pool.ts:31 new URL("./worker.ts")`. */
  reason: string;
}

/** The runtime-loaded files, and what looked like one but can't be checked. */
export interface RuntimeFiles {
  files: RuntimeFile[];
  /** The npm specifiers those files import (`npm:zod@4.6.7`), sorted: the binary's packages. */
  npm: string[];
  problems: string[];
}

/** Blanks out comments (keeping line numbers) so examples in doc comments don't count. */
function stripComments(text: string): string {
  const blank = (s: string) => s.replace(/[^\n]/g, " ");
  return text.replace(/\/\*[\s\S]*?\*\//g, blank).replace(
    /(^|[^:"'`\\])\/\/[^\n]*/gm,
    (m, p) => p + blank(m.slice(p.length)),
  );
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const full = path.join(dir, e.name);
    if (e.isDirectory) out.push(...await walk(full));
    else if (e.isFile) out.push(full);
  }
  return out.sort();
}

const rel = (root: string, file: string) => path.relative(root, file).split(path.sep).join("/");

/**
 * Every file the agent loads at run time, found in the source rather than a list:
 * - main.ts and everything it imports (statically or with a literal `import("./…")`);
 * - each `new URL("./…", import.meta.url)` / `import.meta.resolve("./…")` target in src/ (worker
 *   modules, the status page; a folder means every file in it), with a module's own imports;
 * - each module in src/ with literal dynamic imports (the converter registry), with what it
 *   imports.
 * A module-relative URL or import built from a template (`./page/${name}`) may load any file in
 * its static folder, so every file there counts. Type-only imports are not followed: they are not
 * needed at run time.
 */
export async function runtimeLoadedFiles(root: string): Promise<RuntimeFiles> {
  const problems: string[] = [];
  const assets = new Map<string, string>();
  const roots = new Map<string, string>([[path.join(root, "main.ts"), "the entry point"]]);
  const sources = (await walk(path.join(root, "src"))).filter((f) =>
    /\.(ts|tsx|mts|js|mjs)$/.test(f)
  );
  const patterns: [RegExp, string][] = [
    [/new\s+URL\(\s*(["'`])(\.\.?\/[^"'`$]*)\1\s*,\s*import\.meta\.url\s*\)/g, "new URL"],
    [/import\.meta\.resolve\(\s*(["'`])(\.\.?\/[^"'`$]*)\1\s*\)/g, "import.meta.resolve"],
    [/(?<![\w.$])import\(\s*(["'`])(\.\.?\/[^"'`$]*)\1\s*[,)]/g, "import"],
  ];
  // A path built from a template (`./page/${name}`) may be any file in its static folder.
  const templated = [
    /new\s+URL\(\s*`(\.\.?\/[^`$]*)\$\{[^`]*`\s*,\s*import\.meta\.url\s*\)/g,
    /(?<![\w.$])import\(\s*`(\.\.?\/[^`$]*)\$\{[^`]*`\s*[,)]/g,
  ];
  // Files a URL points at are read or started as workers; those an import names are modules.
  // Their own imports count for TypeScript anywhere and for JavaScript named on its own (a .js
  // in a folder of web assets is served as text, not run).
  const need = async (target: string, reason: string, imported: boolean) => {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(target);
    } catch {
      problems.push(`${reason} points at ${rel(root, target)}, which does not exist`);
      return;
    }
    for (const f of info.isDirectory ? await walk(target) : [target]) {
      const module = /\.(ts|tsx|mts)$/.test(f) ||
        ((imported || !info.isDirectory) && /\.(js|mjs|jsx)$/.test(f));
      if (module) {
        if (!roots.has(f)) roots.set(f, reason);
      } else {
        assets.set(f, reason);
      }
    }
  };
  for (const file of sources) {
    const text = stripComments(await Deno.readTextFile(file));
    const lineOf = (index: number) => text.slice(0, index).split("\n").length;
    for (const re of templated) {
      for (const m of text.matchAll(re)) {
        const folder = m[1].slice(0, m[1].lastIndexOf("/") + 1);
        const reason = `${rel(root, file)}:${lineOf(m.index)} ${m[0].replace(/\s+/g, " ")} ` +
          `(any file in ${folder})`;
        await need(path.resolve(path.dirname(file), folder), reason, m[0].startsWith("import"));
      }
    }
    for (const [re, how] of patterns) {
      for (const m of text.matchAll(re)) {
        const reason = `${rel(root, file)}:${lineOf(m.index)} ${how}("${m[2]}")`;
        if (how === "import") {
          if (!roots.has(file)) roots.set(file, "it holds literal dynamic imports");
        } else {
          await need(path.resolve(path.dirname(file), m[2]), reason, false);
        }
      }
    }
  }
  const files = new Map<string, string>();
  for (const [f, reason] of assets) files.set(rel(root, f), reason);
  const closure = await moduleClosure(root, roots, problems);
  for (const [f, reason] of closure.modules) {
    if (!files.has(rel(root, f))) files.set(rel(root, f), reason);
  }
  return {
    files: [...files].map(([file, reason]) => ({ file, reason }))
      .sort((a, b) => a.file.localeCompare(b.file)),
    npm: closure.npm,
    problems,
  };
}

interface InfoModule {
  specifier: string;
  error?: string;
  dependencies?: { specifier: string; code?: { specifier: string } }[];
}

/**
 * The local modules reachable by code (not type-only) imports from `roots`, and the npm
 * specifiers they import, via `deno info`.
 */
async function moduleClosure(
  root: string,
  roots: Map<string, string>,
  problems: string[],
): Promise<{ modules: Map<string, string>; npm: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "agent-graph-" });
  try {
    const entry = path.join(dir, "roots.ts");
    await Deno.writeTextFile(
      entry,
      [...roots.keys()].map((f) => `import ${JSON.stringify(pathToFileURL(f).href)};`).join("\n"),
    );
    const config = path.join(root, "deno.json");
    const hasConfig = await Deno.stat(config).then(() => true, () => false);
    const r = await output(Deno.execPath(), [
      "info",
      "--json",
      ...(hasConfig ? ["--config", config] : ["--no-config"]),
      entry,
    ]);
    if (r.code !== 0) {
      throw new BuildError(`deno info could not read the module graph:\n${r.stderr}`);
    }
    const modules = new Map<string, InfoModule>();
    for (const m of (JSON.parse(r.stdout) as { modules: InfoModule[] }).modules) {
      modules.set(m.specifier, m);
    }
    const found = new Map<string, string>();
    const npm = new Set<string>();
    // [module, why it is needed, the root it was reached from]
    const queue = [...roots].map(([f, why]) => [pathToFileURL(f).href, why, rel(root, f)]);
    while (queue.length > 0) {
      const [spec, why, from] = queue.shift()!;
      if (spec.startsWith("npm:")) npm.add(spec);
      if (!spec.startsWith("file:")) continue;
      const file = fileURLToPath(spec);
      if (found.has(file)) continue;
      found.set(file, why);
      const m = modules.get(spec);
      if (m?.error) problems.push(`${rel(root, file)} (${why}): ${m.error}`);
      for (const dep of m?.dependencies ?? []) {
        if (dep.code) queue.push([dep.code.specifier, `imported by the graph of ${from}`, from]);
      }
    }
    return { modules: found, npm: [...npm].sort() };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
