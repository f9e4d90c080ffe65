/**
 * `deno task compile`: builds `dist/agent-<target>[.exe]` for every release target with
 * `deno compile`, then checks that each binary embeds every module and asset the agent loads
 * at run time.
 *
 * Usage: deno task compile [--target TARGET]... [--out DIR] [--no-check]
 *
 * - The version comes from deno.json; the commit (`git rev-parse`, "-dirty" when tracked files
 *   changed, or `$AGENT_COMMIT`) is stamped into a staged copy of the sources, so the work tree
 *   is never touched.
 * - The baked flags (permissions, V8 flags) are `agentRunFlags` from src/runtime.ts, which must
 *   equal the flags of the `agent` task in deno.json (checked), so `deno task agent status` and a compiled
 *   `agent status` behave the same.
 * - Runtime-loaded files are found in the source (see {@link runtimeLoadedFiles}), not in a
 *   hand-kept list: a worker or asset missing from deno.json `compile.include` fails the build.
 * - `deno compile` downloads its base runtime (denort) from dl.deno.land. Offline, set
 *   `DENORT_BIN` (one target per run) or pre-seed `$DENO_DIR/dl/release/v<deno>/`.
 *
 * @module
 */
import path from "#path";
import { Buffer } from "node:buffer";
import { fileURLToPath, pathToFileURL } from "node:url";
import { agentRunFlags } from "../src/runtime.ts";

/** The project folder (where deno.json is). */
export const projectRoot: string = path.resolve(import.meta.dirname!, "..");

/** Release targets and the file suffix of their executables. */
export const TARGETS: Readonly<Record<string, string>> = {
  "x86_64-unknown-linux-gnu": "",
  "aarch64-unknown-linux-gnu": "",
  "x86_64-pc-windows-msvc": ".exe",
  "x86_64-apple-darwin": "",
  "aarch64-apple-darwin": "",
};

/** A build that can't be done or whose result is wrong; the message says what to do. */
export class BuildError extends Error {
  /** @param message what failed and what to do */
  constructor(message: string) {
    super(message);
    this.name = "BuildError";
  }
}

/** The output file name for a target: `agent-<target>[.exe]`. */
export function binaryName(target: string): string {
  if (!(target in TARGETS)) {
    throw new BuildError(
      `unknown target "${target}": expected one of ${Object.keys(TARGETS).join(", ")}`,
    );
  }
  return `agent-${target}${TARGETS[target]}`;
}

async function output(cmd: string, args: string[], cwd?: string) {
  const out = await new Deno.Command(cmd, { args, cwd, stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout).trim(), stderr: dec.decode(out.stderr) };
}

/**
 * The commit to record: `$AGENT_COMMIT` when set (e.g. a build from a source archive), else
 * `git rev-parse --short=12 HEAD` plus "-dirty" when tracked files differ from it, else
 * "unknown".
 */
export async function gitCommit(root: string): Promise<string> {
  const fromEnv = Deno.env.get("AGENT_COMMIT");
  if (fromEnv !== undefined) {
    if (!/^[\w.+-]{1,64}$/.test(fromEnv)) {
      throw new BuildError(
        `AGENT_COMMIT="${fromEnv}" is not a commit label: use letters, digits, ".", "_", "+", "-"`,
      );
    }
    return fromEnv;
  }
  try {
    const head = await output("git", ["-C", root, "rev-parse", "--short=12", "HEAD"]);
    if (head.code !== 0) return "unknown";
    const status = await output("git", [
      "-C",
      root,
      "status",
      "--porcelain",
      "--untracked-files=no",
    ]);
    return head.stdout + (status.stdout !== "" ? "-dirty" : "");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "unknown";
    throw e;
  }
}

const COMMIT_LINE = /^export const COMMIT: string = "dev";$/gm;

/** src/version.ts with its COMMIT line set to `commit`. Throws when the line isn't there once. */
export function stampCommit(versionSource: string, commit: string): string {
  const found = versionSource.match(COMMIT_LINE)?.length ?? 0;
  if (found !== 1) {
    throw new BuildError(
      `src/version.ts must hold the line \`export const COMMIT: string = "dev";\` exactly once ` +
        `(found ${found}): the build stamps the commit there`,
    );
  }
  return versionSource.replace(
    COMMIT_LINE,
    `export const COMMIT: string = ${JSON.stringify(commit)};`,
  );
}

/**
 * Checks that the `agent` task in deno.json runs with exactly `agentRunFlags`, and
 * returns them: the flags baked into the binary.
 */
export function runFlags(denoJson: { tasks?: Record<string, string> }): string[] {
  const task = denoJson.tasks?.agent;
  if (!task) throw new BuildError('deno.json has no "agent" task to take the permissions from');
  const inTask = task.split(/\s+/).filter((w) =>
    /^--(allow|deny)-|^--no-prompt$|^-A$|^--v8-flags=/.test(w)
  );
  const expected = [...agentRunFlags];
  const same = inTask.length === expected.length && inTask.every((f) => expected.includes(f));
  if (!same) {
    throw new BuildError(
      `deno.json tasks.agent runs with ${inTask.join(" ")} but src/runtime.ts ` +
        `agentRunFlags says ${expected.join(" ")}: make them equal, so the compiled agent ` +
        "has the same permissions as `deno task agent`",
    );
  }
  return expected;
}

/**
 * Copies what `deno compile` needs (main.ts, deno.json, deno.lock, src/ and any other
 * compile.include path) to a temporary folder and stamps the commit there. Returns the folder;
 * the caller removes it.
 */
export async function stageSources(root: string, commit: string): Promise<string> {
  const stage = await Deno.makeTempDir({ prefix: "agent-build-" });
  const denoJson = JSON.parse(await Deno.readTextFile(path.join(root, "deno.json")));
  const includes: string[] = denoJson.compile?.include ?? [];
  const tops = new Set(["main.ts", "deno.json", "deno.lock", "src"]);
  for (const inc of includes) tops.add(path.normalize(inc).split(/[\\/]/)[0]);
  for (const top of tops) {
    await copyTree(path.join(root, top), path.join(stage, top));
  }
  const versionFile = path.join(stage, "src", "version.ts");
  await Deno.writeTextFile(versionFile, stampCommit(await Deno.readTextFile(versionFile), commit));
  return stage;
}

/** Copies a file or a folder tree. */
export async function copyTree(from: string, to: string): Promise<void> {
  const info = await Deno.stat(from);
  if (info.isFile) {
    await Deno.mkdir(path.dirname(to), { recursive: true });
    await Deno.copyFile(from, to);
    return;
  }
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    await copyTree(path.join(from, entry.name), path.join(to, entry.name));
  }
}

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

/** `npm:@scope/name@1.2.3/sub/path` → `npm:@scope/name@1.2.3` (the import map's and lock's key). */
export function npmPackageOf(specifier: string): string {
  const bare = specifier.replace(/^npm:\/?/, "");
  const parts = bare.split("/");
  return `npm:${parts.slice(0, bare.startsWith("@") ? 2 : 1).join("/")}`;
}

/** A package id of the lock (`name@version[_peers]`) → `name@version`. */
function baseId(id: string): string {
  const at = id.indexOf("@", 1);
  return at < 0 ? id : id.slice(0, at) + "@" + id.slice(at + 1).split("_")[0];
}

/** The package name of `name@version…` (scoped or not). */
function nameOf(id: string): string {
  const at = id.indexOf("@", 1);
  return at < 0 ? id : id.slice(0, at);
}

interface DenoLock {
  specifiers?: Record<string, string>;
  npm?: Record<string, { dependencies?: string[]; optionalDependencies?: string[] }>;
  workspace?: { dependencies?: string[] };
  [key: string]: unknown;
}

/** deno.json and deno.lock cut down to what the binary needs (see {@link pruneToRuntime}). */
export interface RuntimeConfig {
  denoJson: Record<string, unknown>;
  lock: DenoLock;
  /** npm packages (`name@version`) the binary embeds: the runtime imports and their deps. */
  packages: string[];
  /** Import map entries left out (`playwright-core -> npm:playwright-core@1.65.1`). */
  dropped: string[];
}

/**
 * `deno compile` embeds every npm package of the lock file, whoever imports it. This keeps only
 * the npm import map entries that runtime modules import (`used`, from
 * {@link runtimeLoadedFiles}) and, in the lock, those packages with their dependencies, so
 * test-only packages (a browser driver, say) stay out of the binary. `deno compile --frozen`
 * rejects the result if the two disagree.
 */
export function pruneToRuntime(
  denoJson: Record<string, unknown>,
  lock: DenoLock,
  used: string[],
): RuntimeConfig {
  const keep = new Set(used.map(npmPackageOf));
  const dropped: string[] = [];
  const imports: Record<string, string> = {};
  for (const [key, value] of Object.entries((denoJson.imports ?? {}) as Record<string, string>)) {
    if (value.startsWith("npm:") && !keep.has(npmPackageOf(value))) {
      dropped.push(`${key} -> ${value}`);
    } else imports[key] = value;
  }
  const needed = (spec: string) => !spec.startsWith("npm:") || keep.has(npmPackageOf(spec));
  const specifiers = Object.fromEntries(
    Object.entries(lock.specifiers ?? {}).filter(([spec]) => needed(spec)),
  );
  const all = lock.npm ?? {};
  const ids = Object.keys(all);
  // A dependency is named by its id when the lock holds several versions, else by its name.
  const resolve = (dep: string) =>
    dep in all ? [dep] : ids.filter((id) => nameOf(id) === nameOf(dep));
  const npm: DenoLock["npm"] = {};
  const queue = Object.entries(specifiers).filter(([spec]) => spec.startsWith("npm:"))
    .map(([spec, version]) => `${nameOf(npmPackageOf(spec).slice(4))}@${version}`);
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (id in npm || !(id in all)) continue;
    npm[id] = all[id];
    for (const dep of [...all[id].dependencies ?? [], ...all[id].optionalDependencies ?? []]) {
      queue.push(...resolve(dep));
    }
  }
  const sorted = Object.fromEntries(ids.filter((id) => id in npm).map((id) => [id, npm[id]]));
  const out: DenoLock = { ...lock, specifiers, npm: sorted };
  if (lock.workspace) {
    out.workspace = {
      ...lock.workspace,
      dependencies: (lock.workspace.dependencies ?? []).filter(needed),
    };
  }
  return {
    denoJson: { ...denoJson, imports },
    lock: out,
    packages: [...new Set(Object.keys(sorted).map(baseId))].sort(),
    dropped,
  };
}

/** The npm packages (`name@version`) embedded in a binary, from its file table. */
export function embeddedPackages(files: string[]): string[] {
  const found = new Set<string>();
  for (const f of files) {
    const m = /^\.deno_compile_node_modules\/[^/]+\/((?:@[^/]+\/)?[^/@]+)\/([^/]+)\//.exec(f);
    if (m) found.add(`${m[1]}@${m[2]}`);
  }
  return [...found].sort();
}

/** What `deno compile` wrote into a binary, read back from it. */
export interface Embedded {
  /** Every embedded file, relative to the embedded root, "/"-separated. */
  files: string[];
  /** The compile metadata (permissions, app_version, entrypoint_key, …). */
  metadata: Record<string, unknown>;
}

/** Finds a length-prefixed JSON value (8-byte little-endian length before it) in a binary. */
function findPrefixedJson(bin: Buffer, starts: string[]): unknown {
  for (const start of starts) {
    const needle = Buffer.from(start);
    for (let at = bin.indexOf(needle); at >= 8; at = bin.indexOf(needle, at + 1)) {
      const len = Number(bin.readBigUInt64LE(at - 8));
      if (len < needle.length || at + len > bin.length) continue;
      try {
        return JSON.parse(bin.subarray(at, at + len).toString("utf8"));
      } catch {
        // Not the table itself (the same bytes inside other data): keep looking.
      }
    }
  }
  return undefined;
}

type VfsEntry = Record<string, { n: string; e?: VfsEntry[] }>;

/**
 * Reads the embedded file table and the metadata from a `deno compile` binary (Deno 2.x layout:
 * length-prefixed JSON). Throws when they can't be found, e.g. after a Deno upgrade changed it.
 */
export function readEmbedded(binary: Uint8Array): Embedded {
  const bin = Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength);
  const tree = findPrefixedJson(bin, ['[{"File":{"n":', '[{"Dir":{"n":', '[{"Symlink":{"n":']);
  const metadata = findPrefixedJson(bin, ['{"argv":']);
  if (!Array.isArray(tree) || typeof metadata !== "object" || metadata === null) {
    throw new BuildError(
      "could not find the embedded file table and metadata in the binary: the layout of " +
        `deno compile output changed (Deno ${Deno.version.deno}); update readEmbedded in ` +
        "scripts/compile.ts",
    );
  }
  const files: string[] = [];
  const visit = (entries: VfsEntry[], prefix: string) => {
    for (const entry of entries) {
      const [kind, value] = Object.entries(entry)[0];
      if (kind === "Dir") visit(value.e ?? [], `${prefix}${value.n}/`);
      else files.push(`${prefix}${value.n}`);
    }
  };
  visit(tree as VfsEntry[], "");
  return { files: files.sort(), metadata: metadata as Record<string, unknown> };
}

/**
 * Checks a built binary: every runtime-loaded file of `sourceRoot` is in its file table and its
 * bytes are in the binary. Returns what is missing, one line each (empty = all good).
 */
export async function missingFromBinary(
  binary: Uint8Array,
  sourceRoot: string,
  required: RuntimeFile[],
): Promise<string[]> {
  const embedded = new Set(readEmbedded(binary).files);
  const bin = Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength);
  const missing: string[] = [];
  for (const { file, reason } of required) {
    if (!embedded.has(file)) {
      missing.push(`${file} (${reason}) is not embedded`);
      continue;
    }
    const bytes = await Deno.readFile(path.join(sourceRoot, file));
    if (bytes.length > 0 && bin.indexOf(bytes) < 0) {
      missing.push(`${file} (${reason}) is listed but its content is not in the binary`);
    }
  }
  return missing;
}

/** Options of one `deno compile` run. */
export interface CompileOptions {
  /** The folder holding the entry and deno.json (a staged copy for release builds). */
  root: string;
  /** Entry module, relative to root. */
  entry: string;
  target: string;
  output: string;
  flags: string[];
  /** Extra --include paths (deno.json compile.include applies as well, unless noConfig). */
  include?: string[];
  /** Build without a deno.json (test fixtures). */
  noConfig?: boolean;
  /** The base runtime binary (DENORT_BIN); default: what deno compile finds or downloads. */
  denortBin?: string;
  /** More environment for deno compile (e.g. DENO_DIR). */
  env?: Record<string, string>;
}

/** A base-runtime download that failed; the message says how to build offline. */
function denortHelp(target: string, stderr: string): string {
  const url = /https:\/\/dl\.deno\.land\/\S+?\.zip/.exec(stderr)?.[0] ??
    `https://dl.deno.land/release/v${Deno.version.deno}/denort-${target}.zip`;
  return [
    `deno compile could not get its base runtime for ${target}: it downloads ${url} and that ` +
    "failed (no internet here?). Either:",
    `  - download that zip where there is internet and put it at ` +
    `$DENO_DIR/dl/release/v${Deno.version.deno}/${url.split("/").pop()} (see \`deno info\` ` +
    "for DENO_DIR), or",
    "  - set DENORT_BIN=/path/to/denort (the runtime for that one target) and pass --target.",
    "  For a build smoke test, DENORT_BIN=$(command -v deno) works, but that binary then runs " +
    "the Deno CLI, not the agent.",
  ].join("\n");
}

/** Runs `deno compile` once. Returns its output ("Embedded Files" listing). */
export async function compileOne(o: CompileOptions): Promise<string> {
  const args = [
    "compile",
    ...(o.noConfig ? ["--no-config"] : ["--frozen"]),
    // Type-checked beforehand in the work tree, where deno's check cache applies.
    "--no-check",
    ...o.flags,
    ...(o.include ?? []).flatMap((i) => ["--include", i]),
    "--target",
    o.target,
    "--output",
    o.output,
    o.entry,
  ];
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: o.root,
    stdin: "null",
    env: { NO_COLOR: "1", ...o.env, ...(o.denortBin ? { DENORT_BIN: o.denortBin } : {}) },
  }).output();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  if (out.code !== 0) {
    if (/Setting up base binary|dl\.deno\.land|denort/.test(text)) {
      throw new BuildError(`${denortHelp(o.target, text)}\n\ndeno compile said:\n${text.trim()}`);
    }
    throw new BuildError(`deno compile for ${o.target} failed:\n${text.trim()}`);
  }
  return text;
}

/** Type-checks main.ts and every module in src/ (workers too: they are not in main's graph). */
async function typeCheck(root: string): Promise<void> {
  const r = await output(Deno.execPath(), ["check", "--frozen", "main.ts", "src/"], root);
  if (r.code !== 0) {
    throw new BuildError(`deno check main.ts src/ failed; fix the types first:\n${r.stderr}`);
  }
}

/** One built binary. */
export interface Built {
  target: string;
  file: string;
  size: number;
  /** Number of embedded files. */
  embedded: number;
  /** Number of runtime-loaded files checked. */
  checked: number;
  /** The npm packages embedded (`name@version`). */
  packages: string[];
}

/**
 * Rewrites the staged deno.json and deno.lock to hold only the npm packages in `used` (and
 * their dependencies), so the binary embeds nothing that only tests or scripts import.
 */
export async function writeRuntimeConfig(stage: string, used: string[]): Promise<RuntimeConfig> {
  const jsonFile = path.join(stage, "deno.json");
  const lockFile = path.join(stage, "deno.lock");
  const denoJson = JSON.parse(await Deno.readTextFile(jsonFile));
  const lock = JSON.parse(await Deno.readTextFile(lockFile));
  const runtime = pruneToRuntime(denoJson, lock, used);
  await Deno.writeTextFile(jsonFile, JSON.stringify(runtime.denoJson, null, 2) + "\n");
  await Deno.writeTextFile(lockFile, JSON.stringify(runtime.lock, null, 2) + "\n");
  return runtime;
}

/** Options of {@link buildAgent}. */
export interface BuildOptions {
  targets: string[];
  outDir: string;
  root?: string;
  /** The base runtime binary; default `$DENORT_BIN`. */
  denortBin?: string;
  /** Skip the type check (when `deno task check` already ran, e.g. in tests). */
  noCheck?: boolean;
  log?: (line: string) => void;
}

/**
 * Builds the agent for each target into `outDir`, from a staged copy with the commit stamped,
 * and checks each binary (runtime-loaded files embedded). Throws {@link BuildError}.
 */
export async function buildAgent(o: BuildOptions): Promise<{ commit: string; built: Built[] }> {
  const root = o.root ?? projectRoot;
  const log = o.log ?? ((line: string) => console.error(line));
  const denoJson = JSON.parse(await Deno.readTextFile(path.join(root, "deno.json")));
  const flags = runFlags(denoJson);
  const denort = o.denortBin ?? Deno.env.get("DENORT_BIN");
  if (denort) {
    if (o.targets.length !== 1) {
      throw new BuildError(
        `DENORT_BIN is the runtime of one target, but ${o.targets.length} targets were asked ` +
          "for: pass --target for the target it belongs to",
      );
    }
    log(`DENORT_BIN=${denort}: building ${o.targets[0]} on it.`);
    if (/^deno(\.exe)?$/i.test(path.basename(denort))) {
      log(
        "  That is the full Deno CLI, not denort: the result embeds the agent but runs as the " +
          "Deno CLI. Use it as a build smoke test only, never ship it.",
      );
    }
  }
  const commit = await gitCommit(root);
  log(`agent ${denoJson.version} (${commit})`);
  if (!o.noCheck) await typeCheck(root);
  const stage = await stageSources(root, commit);
  try {
    const required = await runtimeLoadedFiles(stage);
    if (required.problems.length > 0) {
      throw new BuildError(
        `the runtime-loaded files can't all be checked:\n  - ${required.problems.join("\n  - ")}`,
      );
    }
    const runtime = await writeRuntimeConfig(stage, required.npm);
    log(`npm packages in the binary: ${runtime.packages.join(", ")}`);
    if (runtime.dropped.length > 0) {
      log(`  left out (not imported at run time): ${runtime.dropped.join(", ")}`);
    }
    await Deno.mkdir(o.outDir, { recursive: true });
    const built: Built[] = [];
    for (const target of o.targets) {
      const file = path.resolve(o.outDir, binaryName(target));
      log(`compiling ${target} -> ${file}`);
      const listing = await compileOne({
        root: stage,
        entry: "main.ts",
        target,
        output: file,
        flags,
        denortBin: denort,
      });
      const tree = listing.slice(Math.max(0, listing.indexOf("Embedded Files"))).trim();
      log(tree.replace(/^/gm, "    "));
      const binary = await Deno.readFile(file);
      const missing = await missingFromBinary(binary, stage, required.files);
      if (missing.length > 0) {
        await Deno.remove(file);
        throw new BuildError(
          `${path.basename(file)} lacks files the agent loads at run time (add them to ` +
            `deno.json "compile.include"):\n  - ${missing.join("\n  - ")}`,
        );
      }
      const { files } = readEmbedded(binary);
      const packages = embeddedPackages(files);
      const extra = packages.filter((p) => !runtime.packages.includes(p));
      if (extra.length > 0) {
        await Deno.remove(file);
        throw new BuildError(
          `${path.basename(file)} embeds npm packages the agent does not import at run time: ` +
            `${extra.join(", ")}. deno compile took them from somewhere other than the pruned ` +
            "deno.json/deno.lock; see pruneToRuntime in scripts/compile.ts",
        );
      }
      const embedded = files.length;
      built.push({
        target,
        file,
        size: binary.length,
        embedded,
        checked: required.files.length,
        packages,
      });
      log(
        `  ${path.basename(file)}: ${(binary.length / 1e6).toFixed(1)} MB ` +
          `(${binary.length} bytes), ${embedded} embedded files, ${packages.length} npm ` +
          `packages; all ${required.files.length} runtime-loaded files present`,
      );
    }
    return { commit, built };
  } finally {
    await Deno.remove(stage, { recursive: true });
  }
}

/** Parses `--target T` (repeatable), `--out DIR` and `--no-check`. */
export function parseBuildArgs(
  args: string[],
): { targets: string[]; outDir: string; noCheck: boolean } {
  const targets: string[] = [];
  let outDir = path.join(projectRoot, "dist");
  let noCheck = false;
  for (let i = 0; i < args.length; i++) {
    const value = () => {
      if (args[i + 1] === undefined) throw new BuildError(`${args[i]} needs a value`);
      return args[++i];
    };
    if (args[i] === "--target") targets.push(value());
    else if (args[i] === "--out") outDir = path.resolve(value());
    else if (args[i] === "--no-check") noCheck = true;
    else {
      throw new BuildError(
        `unknown argument "${args[i]}": expected --target TARGET, --out DIR or --no-check`,
      );
    }
  }
  for (const t of targets) binaryName(t);
  if (targets.length === 0) {
    // One runtime binary can only make its own target; a plain run builds every target.
    targets.push(...(Deno.env.get("DENORT_BIN") ? [Deno.build.target] : Object.keys(TARGETS)));
  }
  return { targets, outDir, noCheck };
}

if (import.meta.main) {
  try {
    await buildAgent(parseBuildArgs(Deno.args));
  } catch (e) {
    if (!(e instanceof BuildError)) throw e;
    console.error(`compile: ${e.message}`);
    Deno.exit(1);
  }
}
