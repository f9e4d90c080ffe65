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
import fs from "#fs";
import type { FileHandle } from "#fs/promises";
import { OutsideWatch, type WatchRoot } from "./watch_root.ts";
import { READ_NO_WAIT } from "./no_links.ts";

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

/** Where a source file is: its watch folder and its path relative to it (with `/`). */
export interface SourcePlace {
  root: WatchRoot;
  rel: string;
}

/**
 * Looks at a path as a drop folder sees it: the link itself (lstat), or, with `followSymlinks`,
 * what a link points to. With `where`, the file is reached through {@link WatchRoot.use}: a
 * folder on the way swapped for a link throws {@link OutsideWatch}.
 */
export async function lookAt(
  p: string,
  followSymlinks: boolean,
  where?: SourcePlace,
): Promise<Deno.FileInfo> {
  const look = async (at: string) => {
    const lst = await Deno.lstat(at);
    return lst.isSymlink && followSymlinks ? await Deno.stat(at) : lst;
  };
  return where ? await where.root.use(where.rel, look) : await look(p);
}

/** How a source file was read. */
export type SourceRead =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; kind: "changed" | "too-large" | "stuck"; message: string; hint: string };

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

/** A call on a source file that does not return for this long has hung (per call: a slow share
 * that still moves is not hung). */
export const READ_STALL_MS = 60_000;
/** Bytes asked for per read call: how far a read moves between two stall checks. */
const CHUNK = 4 * 1024 * 1024;
const { O_NOFOLLOW = 0 } = fs.constants;

/** Source files whose open or read hangs now: path → since when, and which call. */
const hung = new Map<string, { since: number; what: string }>();

/** Whether a read of `p` hangs now (its file is not offered again until it returns). */
export function isHung(p: string): boolean {
  return hung.has(p);
}

/** Health reasons: every source file whose read hangs. */
export function hungReads(now = Date.now()): string[] {
  return [...hung].map(([p, h]) =>
    `reading ${p} hangs: ${h.what} has not returned for ${Math.round((now - h.since) / 1000)} s ` +
    "(a network share or disk that does not answer?). The file is not taken while it hangs; " +
    "the blocked call can't be cancelled and holds one of the agent's threads until the file " +
    "system answers. Check the share or disk; restart the agent if it never answers"
  );
}

class Hung extends Error {}

/** What a stat says a path is, for messages. */
function notRegular(st: Deno.FileInfo): string {
  const what = st.isSymlink
    ? "a symbolic link"
    : st.isDirectory
    ? "a folder"
    : st.isFifo
    ? "a FIFO (named pipe)"
    : st.isSocket
    ? "a socket"
    : st.isCharDevice || st.isBlockDevice
    ? "a device"
    : "not a regular file";
  return `it is ${what} now; it is not opened`;
}

/** A node:fs error as the Deno error the callers know (NotFound, PermissionDenied). */
function denoError(e: unknown): unknown {
  const code = (e as { code?: string }).code;
  const m = (e as Error).message;
  if (code === "ENOENT") return new Deno.errors.NotFound(m);
  if (code === "EACCES" || code === "EPERM") return new Deno.errors.PermissionDenied(m);
  return e;
}

/**
 * Reads the file at `p` if it is still the `approved` one, and at most `maxBytes` of it.
 * Throws what opening throws (NotFound, PermissionDenied): the caller's "can't read".
 *
 * Before opening, the path must name a regular file (never a FIFO, socket or device: opening
 * one waits for a writer or has effects) below plain folders (`approved.where`); it is opened
 * without following a last-component link (O_NOFOLLOW, unless links are followed) and without
 * waiting (O_NONBLOCK: a FIFO swapped in after the check opens at once, then fstat refuses it).
 * After the open, the handle must be the approved version. The file is reached through
 * {@link WatchRoot.use}: on Linux in the held watch folder (or its subfolder opened without
 * following a link), elsewhere between checks of the folders on the way (residual window there:
 * a folder swapped for a link and back between two checks). Each call is bounded by `stallMs`:
 * a hung one ends the read as "stuck" (the caller frees the file's slot); the call itself can't
 * be cancelled and closes its handle when it returns.
 */
export async function readApproved(
  p: string,
  approved: FileIdentity & { where?: SourcePlace },
  maxBytes: number,
  stallMs = READ_STALL_MS,
): Promise<SourceRead> {
  const changed = (when: string, why: string): SourceRead => ({
    ok: false,
    kind: "changed",
    message: `${p} changed ${when} (${why}); not converted now`,
    hint: "The file is looked at again and taken when it is stable.",
  });
  const stuck = (what: string): SourceRead => ({
    ok: false,
    kind: "stuck",
    message: `${p} can't be read: ${what} did not return within ${stallMs / 1000} s; not ` +
      "converted now, and not taken again while the call hangs",
    hint: "Check the disk or network share the file is on (agent status lists hung reads).",
  });
  const was = hung.get(p);
  if (was) return stuck(was.what);
  const where = approved.where;
  // No place given (a caller outside a watch folder): links are followed and the identity decides.
  const follow = where?.root.followSymlinks ?? true;
  let fh: FileHandle | null = null;
  let late: Promise<unknown> | null = null;
  const bounded = async <T>(op: Promise<T>, what: string): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Hung(what)), stallMs);
    });
    try {
      return await Promise.race([op, timeout]);
    } catch (e) {
      if (e instanceof Hung) {
        hung.set(p, { since: Date.now(), what });
        late = op.then((v) => v, () => null);
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  };
  /** Opens the file at `at` into `fh` if it is a regular file; else says what it is. */
  const openAt = async (at: string): Promise<string | null> => {
    const lst = await Deno.lstat(at);
    const st = lst.isSymlink && follow ? await Deno.stat(at) : lst;
    if (!st.isFile) return notRegular(st);
    try {
      fh = await bounded(
        fs.promises.open(at, follow ? READ_NO_WAIT & ~O_NOFOLLOW : READ_NO_WAIT),
        "opening it",
      );
    } catch (e) {
      if (e instanceof Hung) throw e;
      if ((e as { code?: string }).code === "ELOOP") {
        return "it is a symbolic link now; not followed";
      }
      throw denoError(e);
    }
    return null;
  };
  try {
    let problem: string | null;
    try {
      problem = where ? await where.root.use(where.rel, openAt) : await openAt(p);
    } catch (e) {
      if (e instanceof OutsideWatch) return changed("after it was found complete", e.problem);
      throw e;
    }
    if (problem !== null) return changed("after it was found complete", problem);
    const handle: FileHandle = fh;
    const fstat = async () => {
      const st: fs.Stats = await bounded(handle.stat(), "asking the open file for its size");
      const id: FileIdentity = {
        size: st.size,
        mtimeMs: st.mtime?.getTime() ?? 0,
        dev: st.dev ?? null,
        ino: st.ino ?? null,
      };
      return { id, isFile: st.isFile() };
    };
    const opened = await fstat();
    if (!opened.isFile) {
      return changed("after it was found complete", "what was opened is not a regular file");
    }
    const before = identityChange(approved, opened.id);
    if (before) return changed("after it was found complete", before);
    if (opened.id.size > maxBytes) {
      const t = tooLarge(opened.id.size, maxBytes);
      return { ok: false, kind: "too-large", message: t.reason, hint: t.hint };
    }
    // One byte more than the size: a file that grew since is seen (and never read past the limit).
    const buf = new Uint8Array(Math.min(opened.id.size, maxBytes) + 1);
    let n = 0;
    while (n < buf.length) {
      const len = Math.min(CHUNK, buf.length - n);
      const { bytesRead }: { bytesRead: number } = await bounded(
        handle.read(buf, n, len, n),
        "reading it",
      );
      if (bytesRead === 0) break;
      n += bytesRead;
      // All the bytes the open file had, and a short read: the end (growth since: see below).
      if (n >= opened.id.size && bytesRead < len) break;
    }
    if (n > maxBytes) {
      const t = tooLarge(null, maxBytes);
      return { ok: false, kind: "too-large", message: t.reason, hint: t.hint };
    }
    const after = identityChange(opened.id, (await fstat()).id) ||
      (n !== opened.id.size ? `${n} bytes read of ${opened.id.size}` : "");
    if (after) return changed("while it was read", after);
    return { ok: true, bytes: buf.subarray(0, n) };
  } catch (e) {
    if (e instanceof Hung) return stuck(e.message);
    throw denoError(e);
  } finally {
    const pending = late as Promise<unknown> | null;
    if (pending) {
      // The hung call returns some day: then its handle (or the one the open returns) is closed.
      pending.then(async (v) => {
        await (fh ?? (v as FileHandle | null))?.close().catch(() => {});
        hung.delete(p);
      });
    } else {
      await fh?.close().catch(() => {});
    }
  }
}
