/**
 * Builds the release: every target with scripts/compile.ts, then `SHA256SUMS` beside the
 * binaries (the `sha256sum -c` format). The release workflow (.github/workflows/release.yml)
 * also asks it which runner smoke-tests which binary, and for the release notes.
 *
 * Usage: deno run -A scripts/release.ts [--target TARGET]... [--out DIR] [--allow-dirty]
 *        [--no-check]
 *        deno run -A scripts/release.ts --smoke-matrix
 *        deno run -A scripts/release.ts --notes TAG [--out DIR]
 *
 * A release is built from a committed tree: with uncommitted changes to tracked files it stops
 * (the binaries would report "<commit>-dirty"), unless --allow-dirty.
 *
 * @module
 */
import path from "#path";
import { createHash } from "#crypto";
import {
  binaryName,
  buildAgent,
  gitCommit,
  parseBuildArgs,
  projectRoot,
  TARGETS,
} from "./compile.ts";
import { BuildError } from "./compile/build_error.ts";

/**
 * The GitHub-hosted runner that runs each target's binary natively in the release workflow
 * (scripts/smoke.ts), or null when there is none: such a binary ships "not smoke-tested".
 */
export const NATIVE_RUNNERS: Readonly<Record<string, string | null>> = {
  "x86_64-unknown-linux-gnu": "ubuntu-latest",
  "aarch64-unknown-linux-gnu": "ubuntu-24.04-arm",
  "x86_64-pc-windows-msvc": "windows-latest",
  // The last Intel macOS image GitHub hosts.
  "x86_64-apple-darwin": "macos-15-intel",
  "aarch64-apple-darwin": "macos-latest",
};

/** The release workflow's smoke job matrix: one entry per target that has a native runner. */
export function smokeMatrix(): { include: { target: string; runner: string; binary: string }[] } {
  const include = [];
  for (const target of Object.keys(TARGETS)) {
    if (!(target in NATIVE_RUNNERS)) {
      throw new BuildError(
        `target ${target} has no entry in NATIVE_RUNNERS (scripts/release.ts): give its ` +
          "GitHub-hosted runner, or null when there is none",
      );
    }
    const runner = NATIVE_RUNNERS[target];
    if (runner) include.push({ target, runner, binary: binaryName(target) });
  }
  return { include };
}

/**
 * The release notes for `tag` (which must be `v` + deno.json's version): each binary with its
 * size, its SHA-256 and where it was smoke-tested. Reads the binaries and SHA256SUMS in outDir.
 */
export async function releaseNotes(tag: string, outDir: string): Promise<string> {
  const { version } = JSON.parse(await Deno.readTextFile(path.join(projectRoot, "deno.json")));
  if (tag !== `v${version}`) {
    throw new BuildError(
      `the tag is ${tag} but deno.json says version ${version}: tag the commit v${version}, or ` +
        "set the version in deno.json to match the tag",
    );
  }
  const sums = new Map<string, string>();
  const sumsFile = path.join(outDir, "SHA256SUMS");
  const sumsText = await Deno.readTextFile(sumsFile).catch((e) => {
    throw new BuildError(`cannot read ${sumsFile} (${e.message}): build with release.ts first`);
  });
  for (const line of sumsText.split("\n")) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (m) sums.set(m[2], m[1]);
  }
  const rows: string[] = [];
  for (const target of Object.keys(TARGETS)) {
    const name = binaryName(target);
    const size = await Deno.stat(path.join(outDir, name)).then((s) => s.size, () => null);
    const hex = sums.get(name);
    if (size === null || hex === undefined) {
      throw new BuildError(
        `${name} is ${size === null ? "missing from" : "not in SHA256SUMS of"} ${outDir}: ` +
          "every target must be built before the notes are written",
      );
    }
    const runner = NATIVE_RUNNERS[target];
    const smoke = runner ? `smoke-tested on \`${runner}\`` : "not smoke-tested (no native runner)";
    rows.push(`| \`${name}\` | ${(size / 1e6).toFixed(1)} MB | ${smoke} | \`${hex}\` |`);
  }
  return [
    `agent ${version}`,
    "",
    "| binary | size | checked | sha256 |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
    "Smoke-tested: `agent version`, `agent convert` on a sample, `agent run` against the test " +
    "server with a dropped file, and `agent flush` (scripts/smoke.ts). Verify a download with " +
    "`sha256sum -c SHA256SUMS`.",
    "",
  ].join("\n");
}

/** The lower-case hex SHA-256 of a file, read in chunks. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  using f = await Deno.open(file);
  for await (const chunk of f.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** Writes `<outDir>/SHA256SUMS` for `files` ("<hex>  <name>" per line, sorted). Returns its path. */
export async function writeChecksums(outDir: string, files: string[]): Promise<string> {
  const lines: string[] = [];
  for (const file of [...files].sort()) {
    lines.push(`${await sha256File(file)}  ${path.basename(file)}`);
  }
  const sums = path.join(outDir, "SHA256SUMS");
  await Deno.writeTextFile(sums, lines.join("\n") + "\n");
  return sums;
}

/** Builds the targets into outDir and writes SHA256SUMS. Throws {@link BuildError}. */
export async function release(
  o: { targets: string[]; outDir: string; allowDirty: boolean; noCheck?: boolean },
): Promise<{ files: string[]; sums: string }> {
  const commit = await gitCommit(projectRoot);
  if (commit.endsWith("-dirty") && !o.allowDirty) {
    throw new BuildError(
      `the work tree has uncommitted changes (${commit}): commit them first, or pass ` +
        "--allow-dirty to build anyway",
    );
  }
  const { built } = await buildAgent({
    targets: o.targets,
    outDir: o.outDir,
    noCheck: o.noCheck,
  });
  const files = built.map((b) => b.file);
  const sums = await writeChecksums(o.outDir, files);
  console.error(`wrote ${sums}`);
  return { files, sums };
}

/** The value after `flag` in args, or undefined; removes both. */
function takeValue(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  if (at < 0) return undefined;
  const value = args[at + 1];
  if (value === undefined) throw new BuildError(`${flag} needs a value`);
  args.splice(at, 2);
  return value;
}

if (import.meta.main) {
  try {
    const args = [...Deno.args];
    if (args.includes("--smoke-matrix")) {
      console.log(JSON.stringify(smokeMatrix()));
      Deno.exit(0);
    }
    const tag = takeValue(args, "--notes");
    if (tag !== undefined) {
      const outDir = path.resolve(takeValue(args, "--out") ?? path.join(projectRoot, "dist"));
      if (args.length > 0) throw new BuildError(`unexpected arguments with --notes: ${args}`);
      console.log(await releaseNotes(tag, outDir));
      Deno.exit(0);
    }
    const allowDirty = Deno.args.includes("--allow-dirty");
    const build = parseBuildArgs(Deno.args.filter((a) => a !== "--allow-dirty"));
    const { sums } = await release({ ...build, allowDirty });
    console.log(await Deno.readTextFile(sums));
  } catch (e) {
    if (!(e instanceof BuildError)) throw e;
    console.error(`release: ${e.message}`);
    Deno.exit(1);
  }
}
