/**
 * What happens to a source file after its reports are durably queued (delete, move into Done)
 * or after it failed (move into Error with `<name>.error.txt` beside it). Moves keep the
 * subfolder path and never overwrite: an existing name gets ` (1)`, ` (2)`, … added.
 *
 * @module
 */
import path from "#path";

/** Moves `file` to `destDir/rel` without overwriting anything. Returns the new path. */
export async function moveNoOverwrite(file: string, destDir: string, rel: string): Promise<string> {
  const target = path.join(destDir, ...rel.split("/"));
  await Deno.mkdir(path.dirname(target), { recursive: true });
  const ext = path.extname(target);
  const stem = target.slice(0, target.length - ext.length);
  let linkable = true;
  for (let n = 0;; n++) {
    const candidate = n === 0 ? target : `${stem} (${n})${ext}`;
    if (await exists(candidate)) continue;
    try {
      if (linkable) {
        await Deno.link(file, candidate); // atomic "create if absent", then drop the old name
      } else {
        await copyDurably(file, candidate); // no hard links: copy (createNew), fsync
      }
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) continue; // taken between look and write
      if (linkable && isLinkUnsupported(e)) {
        linkable = false; // another volume, FAT, some shares
        n--;
        continue;
      }
      throw e;
    }
    await Deno.remove(file);
    return candidate;
  }
}

function isLinkUnsupported(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === "EXDEV" || code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP" ||
    e instanceof Deno.errors.NotSupported || e instanceof Deno.errors.PermissionDenied;
}

/** Copies into a new file (never over an existing one); a partial copy is removed. */
async function copyDurably(from: string, to: string): Promise<void> {
  const src = await Deno.open(from, { read: true });
  let dst: Deno.FsFile;
  try {
    dst = await Deno.open(to, { write: true, createNew: true });
  } catch (e) {
    src.close();
    throw e;
  }
  try {
    await src.readable.pipeTo(dst.writable, { preventClose: true });
    await dst.sync();
  } catch (e) {
    await Deno.remove(to).catch(() => {});
    throw e;
  } finally {
    try {
      dst.close();
    } catch { /* closed by pipeTo */ }
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** What a person needs to know about a file that went to Error. */
export interface ErrorNote {
  /** What went wrong, in one sentence. */
  reason: string;
  /** What to do about it. */
  hint: string;
  converter: string;
  format: string;
  correlationId: string;
  source: string;
}

/**
 * Moves a failed file into the Error folder (keeping its subfolder) and writes
 * `<name>.error.txt` beside it. Returns the new path of the file.
 */
export async function moveToError(
  file: string,
  errorDir: string,
  rel: string,
  note: ErrorNote,
): Promise<string> {
  const moved = await moveNoOverwrite(file, errorDir, rel);
  const text = [
    `File:        ${note.source}`,
    `Moved to:    ${moved}`,
    `When:        ${new Date().toISOString()}`,
    `Converter:   ${note.converter} (format ${note.format})`,
    `Correlation: ${note.correlationId}`,
    "",
    `What happened: ${note.reason}`,
    "",
    `What to do: ${note.hint}`,
    "To try the file again, move it back into the drop folder (after fixing it or the config).",
    "",
  ].join("\n");
  await Deno.writeTextFile(moved + ".error.txt", text);
  return moved;
}
