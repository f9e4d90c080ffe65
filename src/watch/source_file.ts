/**
 * A source file's identity (what the stability gate approved) and reading exactly that file.
 *
 * Between the gate and the read, and between the read and the post-action, the name can come
 * to mean another file: a tester rewrites it, someone swaps it for a symbolic link to a private
 * file. Deno can't open without following links (no O_NOFOLLOW), so the reader opens, asks the
 * handle what it opened (fstat) and reads only when that is the approved file; and it never
 * reads more than the size limit allows, since a file can grow after any check.
 *
 * @module
 */

/** What identifies one version of a file: its size, mtime and, where known, device and inode. */
export interface FileIdentity {
  size: number;
  mtimeMs: number;
  /** Null where the OS does not say (then size and mtime decide). */
  dev: number | null;
  ino: number | null;
}

/** The identity in a stat result. */
export function identityOf(st: Deno.FileInfo): FileIdentity {
  return {
    size: st.size,
    mtimeMs: st.mtime?.getTime() ?? 0,
    dev: st.dev ?? null,
    ino: st.ino ?? null,
  };
}

/** What differs between two identities ("" when they are the same file, same version). */
export function identityChange(was: FileIdentity, now: FileIdentity): string {
  const changes: string[] = [];
  if (was.dev !== null && now.dev !== null && was.ino !== null && now.ino !== null) {
    if (was.dev !== now.dev || was.ino !== now.ino) changes.push("it is another file now");
  }
  if (was.size !== now.size) changes.push(`its size changed from ${was.size} to ${now.size} bytes`);
  if (was.mtimeMs !== now.mtimeMs) changes.push("its modification time changed");
  return changes.join(", ");
}

/**
 * Looks at a path as a drop folder sees it: the link itself (lstat), or, with `followSymlinks`,
 * what a link points to.
 */
export async function lookAt(p: string, followSymlinks: boolean): Promise<Deno.FileInfo> {
  const st = await Deno.lstat(p);
  return st.isSymlink && followSymlinks ? await Deno.stat(p) : st;
}

/** How a source file was read. */
export type SourceRead =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; kind: "changed" | "too-large"; message: string; hint: string };

/** `n` bytes in MB with one decimal, for messages. */
export function megabytes(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The reason and hint for a file larger than `intake.maxFileMb`. */
export function tooLarge(size: number | null, maxBytes: number): { reason: string; hint: string } {
  const what = size === null ? "grew past the limit while it was read" : `is ${megabytes(size)}`;
  return {
    reason: `the file ${what}: intake.maxFileMb allows ${megabytes(maxBytes)}; not converted`,
    hint: "If such files are normal for this tester, raise intake.maxFileMb in the config (a " +
      "converter needs a few times the file's size in memory: check pool.memoryMb too), then " +
      "move the file back into the drop folder.",
  };
}

/**
 * Reads the file at `p` if it is still the `approved` one, and at most `maxBytes` of it.
 * Throws what opening throws (NotFound, PermissionDenied): the caller's "can't read".
 */
export async function readApproved(
  p: string,
  approved: FileIdentity,
  maxBytes: number,
): Promise<SourceRead> {
  using f = await Deno.open(p, { read: true });
  const opened = identityOf(await f.stat());
  const changed = (when: string, why: string): SourceRead => ({
    ok: false,
    kind: "changed",
    message: `${p} changed ${when} (${why}); not converted now`,
    hint: "The file is looked at again and taken when it is stable.",
  });
  const before = identityChange(approved, opened);
  if (before) return changed("after it was found complete", before);
  if (opened.size > maxBytes) {
    const t = tooLarge(opened.size, maxBytes);
    return { ok: false, kind: "too-large", message: t.reason, hint: t.hint };
  }
  // One byte more than the size: a file that grew since is seen (and never read past the limit).
  const buf = new Uint8Array(Math.min(opened.size, maxBytes) + 1);
  let n = 0;
  while (n < buf.length) {
    const got = await f.read(buf.subarray(n));
    if (got === null) break;
    n += got;
  }
  if (n > maxBytes) {
    const t = tooLarge(null, maxBytes);
    return { ok: false, kind: "too-large", message: t.reason, hint: t.hint };
  }
  const after = identityChange(opened, identityOf(await f.stat())) ||
    (n !== opened.size ? `${n} bytes read of ${opened.size}` : "");
  if (after) return changed("while it was read", after);
  return { ok: true, bytes: buf.subarray(0, n) };
}
