/**
 * Builds the release: every target with scripts/compile.ts, then `SHA256SUMS` beside the
 * binaries (the `sha256sum -c` format).
 *
 * Usage: deno run -A scripts/release.ts [--target TARGET]... [--out DIR] [--allow-dirty]
 *        [--no-check]
 *
 * A release is built from a committed tree: with uncommitted changes to tracked files it stops
 * (the binaries would report "<commit>-dirty"), unless --allow-dirty.
 *
 * @module
 */
import path from "#path";
import { createHash } from "#crypto";
import { buildAgent, BuildError, gitCommit, parseBuildArgs, projectRoot } from "./compile.ts";

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

if (import.meta.main) {
  try {
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
