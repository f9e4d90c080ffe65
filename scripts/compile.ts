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
 * - Runtime-loaded files are found in the source (compile/runtime_files.ts), not in a
 *   hand-kept list: a worker or asset missing from deno.json `compile.include` fails the build.
 *   Each binary is read back (compile/binary_layout.ts) to check they are embedded; the staged
 *   deno.json and deno.lock are pruned to the runtime's npm packages (compile/prune.ts).
 * - `deno compile` downloads its base runtime (denort) from dl.deno.land. Offline, set
 *   `DENORT_BIN` (one target per run) or pre-seed `$DENO_DIR/dl/release/v<deno>/`.
 *
 * @module
 */
import path from "#path";
import { agentRunFlags } from "../src/runtime.ts";
import { BuildError } from "./compile/build_error.ts";
import { output } from "./compile/command.ts";
import { runtimeLoadedFiles } from "./compile/runtime_files.ts";
import { writeRuntimeConfig } from "./compile/prune.ts";
import { embeddedPackages, missingFromBinary, readEmbedded } from "./compile/binary_layout.ts";

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

/** The output file name for a target: `agent-<target>[.exe]`. */
export function binaryName(target: string): string {
  if (!(target in TARGETS)) {
    throw new BuildError(
      `unknown target "${target}": expected one of ${Object.keys(TARGETS).join(", ")}`,
    );
  }
  return `agent-${target}${TARGETS[target]}`;
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
            "deno.json/deno.lock; see pruneToRuntime in scripts/compile/prune.ts",
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
