/**
 * A watch folder pinned to the place it resolved to when its converter started, and the check
 * that a path below it still leads into that place.
 *
 * The agent runs as root/SYSTEM while whoever writes into a drop folder (or its parent) can
 * replace a subfolder, or the watch folder itself, with a symbolic link to any folder. An
 * `lstat` of a file's path follows every link on the way but the last, so checking the file
 * alone would let them have the agent read, upload and delete private files.
 *
 * On Linux the watch folder is held open from its pin on, reached by a walk from `/` that
 * follows no link (each folder opened `O_NOFOLLOW` through the one before it, so a link
 * swapped in above the watch folder can't make the agent hold a private folder), and every
 * look, read, delete and move of a file goes through that handle ({@link WatchRoot.use}:
 * `/proc/self/fd/N/<name>`, which the kernel resolves from the open folder wherever its name
 * leads now). A file in a subfolder is reached the same way: each subfolder opened from the
 * one above without following a link (unless `followSymlinks`). No check → act window is left.
 *
 * Elsewhere (or when the handles can't be used) a look goes check → act → verify: every folder
 * from the pinned watch folder down to the file is lstat'ed before (a plain folder, not a link,
 * unless `followSymlinks`; the watch folder with its pinned device and inode) and checked
 * unchanged after. Residual window there: a folder swapped for a link and back between the
 * two checks.
 *
 * @module
 */
import path from "#path";
import type { FileHandle } from "#fs/promises";
import { PinnedFolder } from "./pinned_folder.ts";
import { samePath } from "./safe_name.ts";
import { handlesWork, inFolder, openBelow, openNoLinks } from "./no_links.ts";
import { HeldHandle } from "./held_handle.ts";

const OS = Deno.build.os;
/** A look refused: a folder on the way to the file is not the one pinned (a link, a swap). */
export class OutsideWatch extends Error {
  /** @param problem what is wrong, in words a person can act on */
  constructor(readonly problem: string) {
    super(problem);
    this.name = "OutsideWatch";
  }
}

interface Seen {
  path: string;
  dev: number | null;
  ino: number | null;
}

/** The folders a look went through, as they were checked. */
type Chain = readonly Seen[];

/** One watch folder, pinned. */
export class WatchRoot {
  #id: { dev: number | null; ino: number | null } | null = null;
  /** The watch folder held open (Linux), its identity the pinned one; see {@link use}. */
  #dir = new HeldHandle();
  /** Files handed on and not yet dealt with: the folder stays held for them after a stop. */
  #out = new Set<string>();
  /** Its source stopped (see {@link retire}). */
  #retired = false;
  /** An lstat of the watch folder that is asked for but not started yet (see {@link lookRoot}). */
  #nextLook: Promise<Deno.FileInfo> | null = null;

  private constructor(
    /** As configured (what messages and file paths say). */
    readonly configured: string,
    /** Where it resolved to at start: no symbolic link in it. */
    readonly real: string,
    readonly followSymlinks: boolean,
  ) {}

  /**
   * Pins `configured` where it resolves now (a link the operator configured counts, as for
   * Done/Error); a folder missing now is pinned below its nearest existing parent.
   */
  static async pin(configured: string, followSymlinks: boolean): Promise<WatchRoot> {
    let real = path.resolve(configured);
    try {
      real = (await PinnedFolder.pin(configured)).real;
    } catch { /* unreadable now: the rescan says why */ }
    const root = new WatchRoot(configured, real, followSymlinks);
    try {
      await root.check(); // its identity, and its handle (Linux); a problem: the rescan says it
    } catch { /* unreadable now: the rescan says why */ }
    return root;
  }

  /**
   * Holds the pinned folder open (Linux) if it is the pinned one: `opened` when the caller has
   * just opened it (then it is closed here if it is not kept), else it is opened now. A handle
   * it replaces (the folder was re-created) is closed once no operation uses it (see
   * {@link HeldHandle}).
   */
  async #hold(opened: FileHandle | null = null): Promise<void> {
    if (!this.#id || !(await handlesWork())) {
      await opened?.close().catch(() => {});
      return;
    }
    let h: FileHandle | null = opened;
    try {
      h ??= await openNoLinks(this.real);
      const st = await h.stat();
      if (st.dev !== this.#id.dev || st.ino !== this.#id.ino) throw new Error("not the pinned one");
    } catch {
      await h?.close().catch(() => {});
      return; // swapped or gone meanwhile: the next check tries again
    }
    this.#dir.replace(h);
  }

  /**
   * Lets go of the held folder (its name no longer leads to a folder: moved away or deleted),
   * so that no file is taken from where it went; {@link check} holds it again when it is back.
   */
  letGo(): void {
    this.#dir.replace(null);
  }

  /** The file at `path` was handed on: the folder stays held until it is dealt with. */
  handedOut(path: string): void {
    this.#out.add(path);
  }

  /** The file at `path` was dealt with (or put back); a retired root with none out lets go. */
  handedBack(path: string): void {
    this.#out.delete(path);
    if (this.#retired && this.#out.size === 0) this.letGo();
  }

  /**
   * Its source stopped (the converter's config changed or it was removed): the held folder is
   * let go once the files already handed on are dealt with, so that restarts leave no handle
   * open for nobody.
   */
  retire(): void {
    this.#retired = true;
    if (this.#out.size === 0) this.letGo();
  }

  /**
   * Runs `op` on the file at `rel` (relative, with `/`) below the watch folder, given the path
   * to use. With the folder held (Linux) that is `/proc/self/fd/N/<name>`, N the watch folder
   * or the subfolder holding the file, opened from it without following a link (unless
   * `followSymlinks`): a link met throws {@link OutsideWatch}, a missing folder NotFound.
   * Elsewhere `op` gets the real path between the checks of {@link #enter} and {@link #verify}.
   * Messages name the configured path, never these.
   */
  async use<T>(rel: string, op: (at: string) => Promise<T>): Promise<T> {
    const root = this.#dir.take();
    if (!root) {
      // Where handles work, a folder not held now (moved away, not back yet) is not reached
      // by path: its files are taken again once the rescan holds it.
      if (await handlesWork()) {
        throw new Deno.errors.NotFound(`${this.configured} is not held now (moved or re-made)`);
      }
      const chain = await this.#enter(rel);
      const out = await op(this.realOf(rel));
      await this.#verify(chain);
      return out;
    }
    try {
      const slash = rel.lastIndexOf("/");
      if (slash < 0) return await op(inFolder(root, rel));
      const dir = await this.#openSubfolder(root, rel.slice(0, slash));
      try {
        return await op(inFolder(dir, rel.slice(slash + 1)));
      } finally {
        await dir.close().catch(() => {});
      }
    } finally {
      this.#dir.give(root);
    }
  }

  /**
   * Opens the subfolder `sub` of the held folder one level at a time (see {@link use}); what
   * stops the walk is said for the folder it stopped at.
   */
  async #openSubfolder(root: FileHandle, sub: string): Promise<FileHandle> {
    const parts = sub.split("/");
    try {
      return await openBelow(root, parts, { follow: this.followSymlinks });
    } catch (e) {
      const { code, at: i = 0 } = e as { code?: string; at?: number };
      const at = path.join(this.real, ...parts.slice(0, i + 1));
      if (code === "ENOENT") throw new Deno.errors.NotFound(`${at} is gone`);
      // A link opened O_NOFOLLOW|O_DIRECTORY fails ELOOP or ENOTDIR: say which it is.
      const from = inFolder(root, parts.slice(0, i + 1).join("/"));
      const link = code === "ELOOP" ||
        (code === "ENOTDIR" && (await Deno.lstat(from).catch(() => null))?.isSymlink);
      if (link) {
        throw new OutsideWatch(
          this.followSymlinks
            ? `${at} is a loop of symbolic links`
            : `${at} is now a symbolic link where the agent found a plain folder ` +
              "(followSymlinks is off)",
        );
      }
      if (code === "ENOTDIR") throw new OutsideWatch(`${at} is not a folder now`);
      throw new OutsideWatch(`${at} can't be opened (${(e as Error).message})`);
    }
  }

  /** The real path of the file at `rel` (relative, with `/`) below the watch folder. */
  realOf(rel: string): string {
    return rel === "" ? this.real : path.join(this.real, ...rel.split("/"));
  }

  /**
   * Whether the configured folder still leads to the pinned place (every rescan): a problem, or
   * null. A plain folder re-created at the pinned place is adopted (a new inode, same place).
   * A missing folder is not this check's business (null).
   */
  async check(): Promise<string | null> {
    let now: string;
    try {
      now = await Deno.realPath(this.configured);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      return `${this.configured} can't be resolved (${(e as Error).message})`;
    }
    if (!samePath(now, this.real, OS)) {
      return `${this.configured} now leads to ${now}, not to the folder it was when the ` +
        `converter started (${this.real}): it, or a folder above it, was replaced by a ` +
        "symbolic link";
    }
    if (!(await handlesWork())) {
      const st = await Deno.lstat(this.real);
      if (st.isSymlink || !st.isDirectory) return `${this.real} is not a plain folder now`;
      this.#id = { dev: st.dev, ino: st.ino };
      return null;
    }
    // The name still leads to the folder held: nothing to adopt (one lstat per rescan).
    const held = this.#dir.current && this.#id
      ? await Deno.lstat(this.real).catch(() => null)
      : null;
    if (held?.isDirectory && sameIdentity(this.#id!, held)) return null;
    // Else what a walk that follows no link reaches: an lstat would follow a link swapped in
    // above the folder, and adopt (hold) whatever private folder it leads to.
    let h: FileHandle;
    try {
      h = await openNoLinks(this.real);
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return null; // missing: not this check's
      return `${this.real} can't be reached without following a symbolic link (${
        (e as Error).message
      }): a folder on the way was replaced by a link`;
    }
    const st = await h.stat().catch(async (e: unknown) => {
      await h.close().catch(() => {});
      throw e;
    });
    const adopted = !this.#id || this.#id.dev !== st.dev || this.#id.ino !== st.ino;
    this.#id = { dev: st.dev, ino: st.ino };
    if ((adopted || !this.#dir.current) && !this.#retired) await this.#hold(h);
    else await h.close().catch(() => {});
    return null;
  }

  /**
   * An lstat of the watch folder that starts after this call: every look at a file checks the
   * folder before and after, and in a burst dozens do so at once, so callers that ask before
   * the lstat has started share it (it still started after each of them asked, which is all a
   * check → act → verify needs).
   */
  #lookRoot(): Promise<Deno.FileInfo> {
    if (this.#nextLook) return this.#nextLook;
    const look = Promise.resolve().then(() => {
      if (this.#nextLook === look) this.#nextLook = null;
      return Deno.lstat(this.real);
    });
    this.#nextLook = look;
    return look;
  }

  /**
   * Checks every folder from the watch folder down to the parent of `rel`; returns them for
   * {@link #verify}. Throws {@link OutsideWatch} when one is a link (not followed), not a folder,
   * or the watch folder is not the pinned one.
   */
  async #enter(rel: string): Promise<Chain> {
    if (!this.#id) throw new OutsideWatch(`${this.configured} was not checked yet`);
    const parts = rel.split("/").slice(0, -1);
    const seen: Seen[] = [];
    let at = this.real;
    for (let i = 0; i <= parts.length; i++) {
      if (i > 0) at = path.join(at, parts[i - 1]);
      let st: Deno.FileInfo;
      try {
        st = await (i === 0 ? this.#lookRoot() : Deno.lstat(at));
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) throw e; // gone: the caller forgets the file
        throw new OutsideWatch(`${at} can't be looked at (${(e as Error).message})`);
      }
      if (st.isSymlink && (i === 0 || !this.followSymlinks)) {
        throw new OutsideWatch(
          `${at} is now a symbolic link where the agent found a plain folder (followSymlinks ` +
            "is off)",
        );
      }
      if (st.isSymlink) break; // followed from here on, as configured
      if (!st.isDirectory) throw new OutsideWatch(`${at} is not a folder now`);
      if (i === 0 && !sameIdentity(this.#id, st)) {
        throw new OutsideWatch(
          `${this.configured} is not the folder pinned when the converter started (another ` +
            "folder was put in its place)",
        );
      }
      seen.push({ path: at, dev: st.dev, ino: st.ino });
    }
    return seen;
  }

  /** Throws {@link OutsideWatch} when a folder of `chain` changed since {@link #enter}. */
  async #verify(chain: Chain): Promise<void> {
    for (const s of chain) {
      let st: Deno.FileInfo | null = null;
      try {
        st = await (s.path === this.real ? this.#lookRoot() : Deno.lstat(s.path));
      } catch { /* gone: said below */ }
      if (!st || st.isSymlink || !st.isDirectory || !sameIdentity(s, st)) {
        throw new OutsideWatch(
          `${s.path} was replaced while the agent looked at a file in it` +
            (st?.isSymlink ? " (it is now a symbolic link)" : ""),
        );
      }
    }
  }
}

function sameIdentity(
  a: { dev: number | null; ino: number | null },
  b: Deno.FileInfo,
): boolean {
  // Windows may not report inode numbers: there the link check alone stands.
  if (a.ino === null || b.ino === null) return true;
  return a.ino === b.ino && a.dev === b.dev;
}
