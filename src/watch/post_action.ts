/**
 * What happens to a source file after its reports are durably queued (delete, move into Done)
 * or after it failed (move into Error with `<name>.error.txt` beside it). Moves keep the
 * subfolder path and never overwrite: an existing name gets ` (1)`, ` (2)`, … added.
 *
 * Nothing is written through a symbolic link the operator did not configure: folders are
 * {@link PinnedFolder}s, files are created only as new names (a hard link, or `createNew`,
 * which refuses an existing name even when it is a link) and each write is verified after it
 * happened (the new name is the file written, in the folders checked), else undone. Every step
 * is durable before the next: an Error move's note first, then the new name and its folder
 * fsynced before the source is removed, then the source folder fsynced; so a crash at any point
 * leaves the file at its source or in its new place, and in Error never without its note. A
 * file Windows says is in use is retried briefly, then reported as {@link FileBusy}, the source
 * untouched.
 *
 * @module
 */
import { shownPath } from "./no_links.ts";
import { isBusyError, withBusyRetry } from "../queue/fs_ops.ts";
import { realPostEnv, SourceSwapped } from "./post_fs.ts";
import { type FolderChain, FolderRefused, type PinnedFolder } from "./pinned_folder.ts";
import type { PostEnv } from "./fs_env.ts";
import { noteNames, numberedName, safeName } from "./safe_name.ts";
import { takeBack, takenBackText } from "./take_back.ts";
import { type ErrorNote, noteText, unfinishedNote } from "./error_note.ts";

export { FolderRefused } from "./pinned_folder.ts";
export { realPostEnv, SourceSwapped } from "./post_fs.ts";

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
    throw new NotDurable(to, await shownPath(dir), e);
  }
}

function retry<T>(env: PostEnv, file: string, op: () => Promise<T>): Promise<T> {
  return withBusyRetry(op, { os: env.os, sleep: env.sleep }).catch((e) => {
    throw isBusyError(e, env.os) ? new FileBusy(file, e) : e;
  });
}

/** Whether two lstat results are one file (never a link, and only where inodes are known). */
function sameFile(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.isFile && b.isFile && a.ino !== null && a.ino === b.ino && a.dev === b.dev;
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

/**
 * A name held for the file before it takes the name (the note of an Error move, written first).
 * `release` takes it back when the file could not follow; it says what could not be undone.
 */
interface Reserved {
  release(): Promise<string | null>;
}

/**
 * Holds what must be in place before the file takes `candidate` in `chain` (`to`: its path as
 * messages and notes say it); "taken" skips the name.
 */
type Reserve<R extends Reserved> = (
  candidate: string,
  to: string,
  chain: FolderChain,
) => Promise<R | "taken">;

/**
 * Moves `file` into `folder/rel` without overwriting anything and returns its new path.
 * Throws {@link FolderRefused} (nothing moved), {@link FileBusy} (the source is untouched) or
 * {@link NotDurable} (moved, not yet durable).
 */
export async function moveNoOverwrite(
  file: string,
  folder: PinnedFolder,
  rel: string,
  opts: { env?: PostEnv } = {},
): Promise<string> {
  const m = await moveInto(file, folder, rel, opts.env ?? realPostEnv);
  if (m.unsynced) throw m.unsynced;
  return m.to;
}

async function moveInto<R extends Reserved>(
  file: string,
  folder: PinnedFolder,
  rel: string,
  env: PostEnv,
  reserve?: Reserve<R>,
): Promise<{ to: string; held: R | null; unsynced: NotDurable | null }> {
  const { os } = env;
  const parts = rel.split("/").map((p) => safeName(p, os));
  const name = parts.pop()!;
  const chain = await folder.enter(parts);
  try {
    return await moveThrough(file, folder, chain, name, env, reserve);
  } finally {
    chain.close();
  }
}

async function moveThrough<R extends Reserved>(
  file: string,
  folder: PinnedFolder,
  chain: FolderChain,
  name: string,
  env: PostEnv,
  reserve?: Reserve<R>,
): Promise<{ to: string; held: R | null; unsynced: NotDurable | null }> {
  const { fs, path, os } = env;
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
  /** What a copy must read: the file looked at (a followed link: its target, looked at now). */
  const approved = async () => source.isSymlink ? await fs.lstat(await fs.realPath(file)) : source;
  /** Gives `file` the name `to`; the inode now there (null: not known, a followed link). */
  const place = async (to: string): Promise<number | null> => {
    for (;;) {
      try {
        // A followed link: link(2) keeps the link on Linux but may follow it elsewhere (macOS).
        if (mode === "link") await retry(env, file, () => fs.link(file, to));
        else if (mode === "rename") await retry(env, file, () => fs.rename(file, to));
        else {
          const expect = await approved();
          const follow = source.isSymlink;
          return (await retry(env, file, () => fs.copyNew(file, to, expect, follow))).ino;
        }
        return source.isSymlink ? null : source.ino;
      } catch (e) {
        if (
          !(e instanceof Deno.errors.AlreadyExists) && mode !== "copy" &&
          isLinkUnsupported(e, os, mode)
        ) {
          mode = "copy";
          continue;
        }
        throw e;
      }
    }
  };
  for (let n = 0; n < 10_000; n++) {
    const candidate = numberedName(name, n);
    const to = path.join(chain.dir, candidate);
    const shown = path.join(chain.shown, candidate); // what messages say
    const there = await fs.lstat(to).catch((e) => {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    });
    // This very file (its second name, a hard link): a crash came between the link and the
    // source's removal. The move is finished instead of the file being put here twice.
    const linked = there !== null && mode === "link" && sameFile(there, source);
    if (there !== null && !linked) continue;
    const held = reserve ? await reserve(candidate, shown, chain) : null;
    if (held === "taken") continue;
    let ino: number | null = linked ? source.ino : null;
    let placed = linked;
    // Only the name we created goes: its inode is the one we wrote (wherever a swap put it).
    const ours = async () => {
      const st = await fs.lstat(to).catch(() => null);
      return st !== null && (ino === null || st.ino === ino);
    };
    /** Takes the new name back, then what was reserved; what could not be undone is added. */
    const undone = async (e: unknown): Promise<unknown> => {
      const left: string[] = [];
      try {
        if (placed && chain.held && mode !== "rename") {
          // Made in the folder held open: whatever is at the name is what was linked or copied
          // there, also when it is not the file looked at (the source swapped for a link just
          // before the link(2): that link must not stay in Done or Error).
          await fs.remove(to).catch((u) => {
            if (!(u instanceof Deno.errors.NotFound)) throw u;
          });
        } else if (placed && mode !== "rename" && ino !== null) {
          // By identity: a swap may have put the name elsewhere (see take_back.ts).
          const t = await takeBack(
            env,
            chain,
            candidate,
            (st) => st.isFile && st.ino === ino && (mode !== "link" || st.dev === source.dev),
          );
          const said = takenBackText(t, shown, `the new name of ${await shownPath(file)}`);
          if (said) left.push(said);
        } else if (placed && await ours()) {
          if (mode !== "rename") await fs.remove(to);
          else if (await free(path.basename(file), path.dirname(file))) await fs.rename(to, file);
          else left.push(`taking ${shown} back failed too (a new ${file} was dropped meanwhile)`);
        }
      } catch (u) {
        left.push(`taking ${shown} back failed too (${(u as Error).message})`);
      }
      const kept = await held?.release();
      if (kept) left.push(kept);
      try {
        await fs.syncDir(chain.dir);
      } catch (u) {
        left.push(`syncing ${chain.shown} after taking it back failed (${(u as Error).message})`);
      }
      if (left.length === 0) return e;
      const more = `; ${left.join("; ")}: check it by hand`;
      return e instanceof FolderRefused
        ? new FolderRefused(e.folder, e.problem + more)
        : new Error((e as Error).message + more, { cause: e });
    };
    try {
      if (!linked) ino = await place(to);
      placed = true;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw await undone(e);
      // Taken between the look and the write: the reservation goes, the next name is tried.
      const kept = await held?.release();
      if (kept) throw new Error(`${shown} was taken meanwhile; ${kept}: check it by hand`);
      continue;
    }
    try {
      await chain.verify();
      if (!await ours()) {
        // The source replaced between the look and the link (a held folder can't be swapped):
        // said as such, not as the folder's fault.
        const now = chain.held ? await fs.lstat(file).catch(() => null) : null;
        if (now && (now.ino !== source.ino || now.dev !== source.dev)) {
          const kind = now.isSymlink
            ? " by a symbolic link"
            : now.isFile
            ? ""
            : " by a special file";
          throw new SourceSwapped(
            await shownPath(file),
            `it was replaced${kind} while it was moved`,
            "nothing was moved, and the file now at its name is looked at anew",
          );
        }
        throw new FolderRefused(folder.configured, `${shown} is not the file the agent moved`);
      }
      // Looking `to` up went by path too: a swap just then would have shown another folder's.
      await chain.verify();
      await fs.syncDir(chain.dir);
    } catch (e) {
      throw await undone(e);
    }
    // A new version written at the source's name since the look stays there (it is taken
    // again); only the file moved goes.
    const now = mode === "rename" ? null : await fs.lstat(file).catch(() => null);
    // A copy is of the bytes then: the same inode rewritten since (O_TRUNC) is a new version too.
    const rewritten = (mode as string) === "copy" && now !== null && !source.isSymlink &&
      (now.size !== source.size || now.mtime?.getTime() !== source.mtime?.getTime());
    const replaced = rewritten || (now !== null && now.ino !== null && source.ino !== null &&
      (now.ino !== source.ino || now.dev !== source.dev));
    if (mode !== "rename" && !replaced) {
      try {
        await retry(env, file, () => fs.remove(file));
      } catch (e) {
        // Still in the drop folder: the new name goes, so the file is in one place only.
        if (!(e instanceof Deno.errors.NotFound)) throw await undone(e);
      }
    }
    const unsynced = await syncSourceDir(env, file, shown).then(() => null, (e: NotDurable) => e);
    return { to: shown, held, unsynced };
  }
  throw new Error(`${chain.shown} holds 10000 files named like ${name}; clear it out`);
}

/** Deletes a source file whose reports are queued, durably (its folder fsynced). */
export async function removeSource(file: string, env: PostEnv = realPostEnv): Promise<void> {
  await retry(env, file, () => env.fs.remove(file));
  await syncSourceDir(env, file, null);
}

/** Where a failed file went, and its note. */
export interface MovedToError {
  moved: string;
  note: string;
  /** Set when the drop folder could not be synced after the move (see {@link NotDurable}). */
  unsynced: string | null;
}

/**
 * Moves a failed file into the Error folder (keeping its subfolder) with `<name>.error.txt`
 * beside it (a shortened name when that one is too long). The note is written, verified and
 * durable first, for the name the file then takes: a crash at any step leaves the file at its
 * source, or in Error with its note, never there without it. A note whose file never followed
 * is replaced when the file is moved again. Throws like {@link moveNoOverwrite}, and when the
 * note can't be written (then nothing is moved).
 */
export async function moveToError(
  file: string,
  folder: PinnedFolder,
  rel: string,
  note: ErrorNote,
  env: PostEnv = realPostEnv,
): Promise<MovedToError> {
  const { fs, path } = env;
  const reserve: Reserve<Reserved & { note: string }> = async (candidate, to, chain) => {
    const text = noteText(note, to);
    const head = text.slice(0, text.indexOf("\n", text.indexOf("\n") + 1) + 1);
    const data = new TextEncoder().encode(text);
    let tooLong: unknown = null;
    for (const name of noteNames(candidate)) {
      const at = path.join(chain.dir, name);
      const p = path.join(chain.shown, name); // what messages say
      let info: Deno.FileInfo | null = null;
      for (let replaced = false; info === null;) {
        try {
          info = await fs.writeNew(at, data);
        } catch (e) {
          if ((e as { code?: string }).code === "ENAMETOOLONG") break;
          if (!(e instanceof Deno.errors.AlreadyExists)) {
            throw new Error(`the note ${p} can't be written (${(e as Error).message})`, {
              cause: e,
            });
          }
          if (replaced) return "taken";
          const stale = await unfinishedNote(env, at, head);
          if (!stale) return "taken";
          await chain.verify();
          const now = await fs.lstat(at).catch(() => null);
          if (!now?.isFile || (stale.ino !== null && now.ino !== stale.ino)) return "taken";
          await fs.remove(at);
          replaced = true;
        }
      }
      if (info === null) {
        tooLong = `${name} is too long for this file system`;
        continue;
      }
      const { ino, size } = info;
      // A freed inode number can come back at once: the kind and size are compared too.
      const ours = (st: Deno.FileInfo | null) =>
        st !== null && st.isFile && st.size === size && (ino === null || st.ino === ino);
      const release = async (): Promise<string | null> => {
        if (ino !== null) {
          // By identity: a swap may have put the note elsewhere (see take_back.ts).
          const t = await takeBack(
            env,
            chain,
            name,
            (st) => ours(st) && (info.dev === null || st.dev === info.dev),
          );
          return takenBackText(t, p, `the note ${p}`);
        }
        try {
          if (ours(await fs.lstat(at).catch(() => null))) await fs.remove(at);
          return null;
        } catch (u) {
          return `removing the note ${p} failed (${(u as Error).message})`;
        }
      };
      try {
        await chain.verify();
        if (!ours(await fs.lstat(at).catch(() => null))) {
          throw new FolderRefused(folder.configured, `${p} is not the note the agent wrote`);
        }
        await chain.verify(); // the look at `p` went by path too
        await fs.syncDir(chain.dir);
      } catch (e) {
        const kept = await release();
        if (!kept) throw e;
        throw e instanceof FolderRefused
          ? new FolderRefused(e.folder, `${e.problem}; ${kept}: check it by hand`)
          : new Error(`${(e as Error).message}; ${kept}: check it by hand`, { cause: e });
      }
      return { note: p, release };
    }
    throw new Error(`no note name beside ${to} can be created (${tooLong})`);
  };
  const m = await moveInto(file, folder, rel, env, reserve);
  return { moved: m.to, note: m.held!.note, unsynced: m.unsynced?.message ?? null };
}
