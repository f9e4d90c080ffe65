/**
 * What happens to a source file after its reports are durably queued (delete, move into Done)
 * or after it failed (move into Error with `<name>.error.txt` beside it). Moves keep the
 * subfolder path and never overwrite: an existing name gets ` (1)`, ` (2)`, … added.
 *
 * Nothing is written through a symbolic link the operator did not configure: folders are
 * {@link PinnedFolder}s, files are created only as new names (a hard link, or `createNew`,
 * which refuses an existing name even when it is a link) and each write is verified after it
 * happened (the new name is the file written, in the folders checked), else undone. Every step
 * is durable before the next: the new name and its folder fsynced before the source is removed,
 * then the source folder fsynced. A file Windows says is in use is retried briefly, then
 * reported as {@link FileBusy}, the source untouched.
 *
 * @module
 */
import nodePath from "#path";
import { DirSyncer, isBusyError, realFsOps, withBusyRetry } from "../queue/fs_ops.ts";
import { escapeControls, redact } from "../log/log.ts";
import {
  type FolderEnv,
  type FolderFs,
  FolderRefused,
  type PinnedFolder,
} from "./pinned_folder.ts";
import { noteNames, numberedName, safeName } from "./safe_name.ts";

export { FolderRefused } from "./pinned_folder.ts";

/** The file-system calls a post-action makes (injected by tests: Windows errors, races). */
export interface PostFs extends FolderFs {
  /** A second name for `from` (fails when `to` exists, also as a link). */
  link(from: string, to: string): Promise<void>;
  /** Renames (Windows: replaces an existing `to`, so it is looked at first). */
  rename(from: string, to: string): Promise<void>;
  /** Creates `to` (never over an existing name), copies `from` into it, fsyncs; its fstat. */
  copyNew(from: string, to: string): Promise<Deno.FileInfo>;
  /** Creates `file` (never over an existing name), writes `data`, fsyncs; its fstat. */
  writeNew(file: string, data: Uint8Array): Promise<Deno.FileInfo>;
  /** Removes a file (a missing one is an error: NotFound). */
  remove(file: string): Promise<void>;
  /** Makes a folder's entries durable. */
  syncDir(dir: string): Promise<void>;
}

/** Where post-actions run. */
export interface PostEnv extends FolderEnv {
  fs: PostFs;
  /** How long to wait between tries on a busy file (tests make it instant). */
  sleep?: (ms: number) => Promise<void>;
}

async function createNew(
  file: string,
  write: (f: Deno.FsFile) => Promise<void>,
): Promise<Deno.FileInfo> {
  const f = await Deno.open(file, { write: true, createNew: true });
  try {
    await write(f);
    await f.sync();
    return await f.stat();
  } catch (e) {
    await Deno.remove(file).catch(() => {}); // a partial copy or note is worse than none
    throw e;
  } finally {
    try {
      f.close();
    } catch { /* closed by pipeTo */ }
  }
}

/** Folder syncs of post-actions running at once are shared (a burst costs a few, not one each). */
const dirSyncer = new DirSyncer(realFsOps);

/** The real file system. */
export const realPostEnv: PostEnv = {
  fs: {
    lstat: (p) => Deno.lstat(p),
    realPath: (p) => Deno.realPath(p),
    mkdir: (p) => Deno.mkdir(p),
    link: (from, to) => Deno.link(from, to),
    rename: (from, to) => Deno.rename(from, to),
    copyNew: async (from, to) => {
      const src = await Deno.open(from, { read: true });
      try {
        return await createNew(
          to,
          (dst) => src.readable.pipeTo(dst.writable, { preventClose: true }),
        );
      } finally {
        try {
          src.close();
        } catch { /* closed by pipeTo */ }
      }
    },
    writeNew: (file, data) =>
      createNew(file, async (f) => {
        let off = 0;
        while (off < data.length) off += await f.write(data.subarray(off));
      }),
    remove: (file) => Deno.remove(file),
    syncDir: (dir) => dirSyncer.sync(dir),
  },
  os: Deno.build.os,
  path: nodePath,
};

/** The file is held open by another program (Windows): nothing was changed; try again later. */
export class FileBusy extends Error {
  /** @param file the source file; @param cause the last refusal */
  constructor(readonly file: string, cause: unknown) {
    super(`${file} is in use by another program (${(cause as Error).message})`);
    this.name = "FileBusy";
  }
}

/**
 * The move or delete happened, but the source folder could not be fsynced afterwards: after a
 * power cut the file may be back in the drop folder (and is then taken again, as a duplicate).
 */
export class NotDurable extends Error {
  /** @param to where the file went (null: deleted); @param dir the folder not synced */
  constructor(readonly to: string | null, readonly dir: string, cause: unknown) {
    super(`${dir} could not be synced (${(cause as Error).message})`);
    this.name = "NotDurable";
  }
}

async function syncSourceDir(env: PostEnv, file: string, to: string | null): Promise<void> {
  const dir = env.path.dirname(file);
  try {
    await env.fs.syncDir(dir);
  } catch (e) {
    throw new NotDurable(to, dir, e);
  }
}

function retry<T>(env: PostEnv, file: string, op: () => Promise<T>): Promise<T> {
  return withBusyRetry(op, { os: env.os, sleep: env.sleep }).catch((e) => {
    throw isBusyError(e, env.os) ? new FileBusy(file, e) : e;
  });
}

/** Errors that mean "copy instead": another volume; for hard links also FAT and some shares. */
function isLinkUnsupported(e: unknown, os: string, mode: "link" | "rename"): boolean {
  const code = (e as { code?: string }).code;
  if (code === "EXDEV") return true;
  // ERROR_NOT_SAME_DEVICE, whatever code it is given.
  if (os === "windows" && /\(os error 17\)/.test(String((e as Error)?.message))) return true;
  if (mode === "rename") return false;
  // Linux and macOS say EPERM for a file system without hard links (links are POSIX-only here).
  return code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "EMLINK" || code === "EPERM" ||
    e instanceof Deno.errors.NotSupported || e instanceof Deno.errors.PermissionDenied;
}

/** Where a moved file went. */
export interface Moved {
  /** Its new path. */
  to: string;
  /** Where its note goes (Error moves): the name reserved beside it. */
  dir: string;
}

/**
 * Moves `file` into `folder/rel` without overwriting anything and returns its new path.
 * With `reserveNote`, a name is taken only when its `.error.txt` is free too.
 * Throws {@link FolderRefused} (nothing moved), {@link FileBusy} (the source is untouched) or
 * {@link NotDurable} (moved, not yet durable).
 */
export async function moveNoOverwrite(
  file: string,
  folder: PinnedFolder,
  rel: string,
  opts: { reserveNote?: boolean; env?: PostEnv } = {},
): Promise<string> {
  const m = await moveInto(file, folder, rel, opts.reserveNote ?? false, opts.env ?? realPostEnv);
  if (m.unsynced) throw m.unsynced;
  return m.to;
}

async function moveInto(
  file: string,
  folder: PinnedFolder,
  rel: string,
  reserveNote: boolean,
  env: PostEnv,
): Promise<Moved & { verify: () => Promise<void>; unsynced: NotDurable | null }> {
  const { fs, path, os } = env;
  const parts = rel.split("/").map((p) => safeName(p, os));
  const name = parts.pop()!;
  const chain = await folder.enter(parts);
  const source = await fs.lstat(file);
  const free = async (n: string, dir = chain.dir) => {
    try {
      await fs.lstat(path.join(dir, n));
      return false;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return true;
      throw e;
    }
  };
  // POSIX: a hard link is an atomic "create if absent", then the old name goes. Windows: a
  // rename, which a file another program holds open refuses with nothing changed (a link would
  // succeed and leave two names neither of which can be removed while it is open).
  let mode: "link" | "rename" | "copy" = os === "windows" ? "rename" : "link";
  for (let n = 0; n < 10_000; n++) {
    const candidate = numberedName(name, n);
    if (!await free(candidate)) continue;
    if (reserveNote && !await free(noteNames(candidate)[0])) continue;
    const to = path.join(chain.dir, candidate);
    // A followed link: link(2) keeps the link on Linux but may follow it elsewhere (macOS).
    let ino: number | null = source.isSymlink ? null : source.ino;
    try {
      if (mode === "link") await retry(env, file, () => fs.link(file, to));
      else if (mode === "rename") await retry(env, file, () => fs.rename(file, to));
      else ino = (await retry(env, file, () => fs.copyNew(file, to))).ino;
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) continue; // taken between look and write
      if (mode !== "copy" && isLinkUnsupported(e, os, mode)) {
        mode = "copy";
        n--;
        continue;
      }
      throw e;
    }
    // Only the name we created goes: its inode is the one we wrote (wherever a swap put it).
    const ours = async () => {
      const st = await fs.lstat(to).catch(() => null);
      return st !== null && (ino === null || st.ino === ino);
    };
    /** Takes the new name back; what could not be undone is added to the error thrown. */
    const undone = async (e: unknown): Promise<unknown> => {
      let left: string | null = null;
      try {
        if (await ours()) {
          if (mode !== "rename") await fs.remove(to);
          else if (await free(path.basename(file), path.dirname(file))) await fs.rename(to, file);
          else left = `a new ${file} was dropped meanwhile`;
          await fs.syncDir(chain.dir);
        }
      } catch (u) {
        left = (u as Error).message;
      }
      if (left === null) return e;
      const more = `; taking ${to} back failed too (${left}): check it by hand`;
      return e instanceof FolderRefused
        ? new FolderRefused(e.folder, e.problem + more)
        : new Error((e as Error).message + more, { cause: e });
    };
    try {
      await chain.verify();
      if (!await ours()) {
        throw new FolderRefused(folder.configured, `${to} is not the file the agent moved`);
      }
      await fs.syncDir(chain.dir);
    } catch (e) {
      throw await undone(e);
    }
    if (mode !== "rename") {
      try {
        await retry(env, file, () => fs.remove(file));
      } catch (e) {
        // Still in the drop folder: the new name goes, so the file is in one place only.
        if (!(e instanceof Deno.errors.NotFound)) throw await undone(e);
      }
    }
    const unsynced = await syncSourceDir(env, file, to).then(() => null, (e: NotDurable) => e);
    return { to, dir: chain.dir, verify: () => chain.verify(), unsynced };
  }
  throw new Error(`${chain.dir} holds 10000 files named like ${name}; clear it out`);
}

/** Deletes a source file whose reports are queued, durably (its folder fsynced). */
export async function removeSource(file: string, env: PostEnv = realPostEnv): Promise<void> {
  await retry(env, file, () => env.fs.remove(file));
  await syncSourceDir(env, file, null);
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

/** Where a failed file went, and whether its note could be written. */
export interface MovedToError {
  moved: string;
  /** The note's path, or null when it could not be written (then `noteError` says why). */
  note: string | null;
  noteError: string | null;
  /** Set when the drop folder could not be synced after the move (see {@link NotDurable}). */
  unsynced: string | null;
}

/** The note's text: escaped, then masked as log lines are. */
export function noteText(note: ErrorNote, moved: string, now = new Date()): string {
  const e = escapeControls; // a name must not smuggle a terminal's escapes into the note
  return redact(
    [
      `File:        ${e(note.source)}`,
      `Moved to:    ${e(moved)}`,
      `When:        ${now.toISOString()}`,
      `Converter:   ${e(note.converter)} (format ${e(note.format)})`,
      `Correlation: ${e(note.correlationId)}`,
      "",
      `What happened: ${e(note.reason)}`,
      "",
      `What to do: ${e(note.hint)}`,
      "To try the file again, move it back into the drop folder (after fixing it or the config).",
      "",
    ].join("\n"),
  );
}

/**
 * Moves a failed file into the Error folder (keeping its subfolder) and writes
 * `<name>.error.txt` beside it (a shortened name when that one is too long). Throws like
 * {@link moveNoOverwrite} when the file could not be moved; a note that can't be written after
 * the move is reported in the result, not thrown (the file did move).
 */
export async function moveToError(
  file: string,
  folder: PinnedFolder,
  rel: string,
  note: ErrorNote,
  env: PostEnv = realPostEnv,
): Promise<MovedToError> {
  const { fs, path } = env;
  const m = await moveInto(file, folder, rel, true, env);
  const unsynced = m.unsynced?.message ?? null;
  const data = new TextEncoder().encode(noteText(note, m.to));
  let lastError: unknown = null;
  const names = noteNames(path.basename(m.to));
  // Then numbered names, for a note name taken between the look and the write.
  for (let n = 1; n <= 3; n++) names.push(noteNames(numberedName(path.basename(m.to), n))[0]);
  for (const name of names) {
    const p = path.join(m.dir, name);
    let written: Deno.FileInfo;
    try {
      written = await fs.writeNew(p, data);
    } catch (e) {
      lastError = e;
      if (
        e instanceof Deno.errors.AlreadyExists || (e as { code?: string }).code === "ENAMETOOLONG"
      ) {
        continue;
      }
      break;
    }
    try {
      await m.verify();
      const st = await fs.lstat(p);
      if (written.ino !== null && st.ino !== written.ino) {
        throw new Error(`${p} is not the note the agent wrote`);
      }
      await fs.syncDir(m.dir);
      return { moved: m.to, note: p, noteError: null, unsynced };
    } catch (e) {
      lastError = e;
      const st = await fs.lstat(p).catch(() => null);
      if (st && (written.ino === null || st.ino === written.ino)) {
        await fs.remove(p).catch((u) => {
          lastError = new Error(`${(e as Error).message}; removing ${p} failed too (${u.message})`);
        });
      }
      break;
    }
  }
  return {
    moved: m.to,
    note: null,
    noteError: (lastError as Error)?.message ?? String(lastError),
    unsynced,
  };
}
