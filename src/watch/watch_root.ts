/**
 * A watch folder pinned to the place it resolved to when its converter started, and the check
 * that a path below it still leads into that place.
 *
 * The agent runs as root/SYSTEM while whoever writes into a drop folder (or its parent) can
 * replace a subfolder, or the watch folder itself, with a symbolic link to any folder. An
 * `lstat` of a file's path follows every link on the way but the last, so checking the file
 * alone would let them have the agent read, upload and delete private files. Deno has no
 * openat/O_NOFOLLOW for folders, so a look goes check → act → verify: {@link WatchRoot.enter}
 * lstats every folder from the pinned watch folder down to the file (each a plain folder, not a
 * link, unless `followSymlinks`; the watch folder with its pinned device and inode) and
 * {@link WatchRoot.verify} checks after the act that they are unchanged. On Linux the watch
 * folder is also held open from its pin on, and files are reached through that handle
 * (`/proc/self/fd/N/<name>`, {@link WatchRoot.opPath}): a watch folder swapped for a link (its
 * parent writable by someone else) and back around the act can no longer make an lstat, read,
 * delete or move land elsewhere; a racing writer swapped it in ~25 s of atomic
 * `renameat2(RENAME_EXCHANGE)` flips before. Residual window: a subfolder swapped for a link and
 * back between the two checks (the file's identity, approved by the gate and checked on the
 * opened handle, narrows it further: ./source_file.ts), and elsewhere the watch folder too.
 *
 * @module
 */
import path from "#path";
import { constants, type FileHandle, open } from "#fs/promises";
import { PinnedFolder } from "./pinned_folder.ts";
import { samePath } from "./safe_name.ts";
import { logger } from "../log/log.ts";

const OS = Deno.build.os;
const log = logger("watch");
/** The warning that open handles can't be used is given once per process. */
let warnedNoHandle = false;

/** A look refused: a folder on the way to the file is not the one pinned (a link, a swap). */
export class OutsideWatch extends Error {
  /** @param problem what is wrong, in words a person can act on */
  constructor(readonly problem: string) {
    super(problem);
    this.name = "OutsideWatch";
  }
}

interface Seen {
  /** The folder's real path (what messages say). */
  path: string;
  /** The path it is looked at by: null for the watch folder by its real path. */
  look: string | null;
  dev: number | null;
  ino: number | null;
}

/** The folders a look went through, as they were checked. */
export type Chain = readonly Seen[];

/** One watch folder, pinned. */
export class WatchRoot {
  #id: { dev: number | null; ino: number | null } | null = null;
  /** The watch folder held open (Linux), its identity the pinned one; see {@link opPath}. */
  #dir: FileHandle | null = null;
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
      const st = await Deno.lstat(real);
      if (st.isDirectory) root.#id = { dev: st.dev, ino: st.ino };
    } catch { /* missing: pinned when it appears */ }
    await root.#hold();
    return root;
  }

  /**
   * Opens the pinned folder (Linux) and keeps the handle if it is the pinned one. A handle it
   * replaces (the folder was re-created) is closed only minutes later: a path built from its
   * number just before must not reach whatever file reuses the number.
   */
  async #hold(): Promise<void> {
    if (OS !== "linux" || !this.#id) return;
    let h: FileHandle | null = null;
    try {
      h = await open(this.real, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      const st = await h.stat();
      if (st.dev !== this.#id.dev || st.ino !== this.#id.ino) throw new Error("not the pinned one");
    } catch {
      await h?.close().catch(() => {});
      return; // swapped or gone meanwhile: paths are used, and the next check tries again
    }
    try {
      // Deno allows /proc/self/fd paths only with every permission (src/runtime.ts grants them).
      await Deno.lstat(`/proc/self/fd/${h.fd}`);
    } catch (e) {
      await h.close().catch(() => {});
      if (!warnedNoHandle) {
        warnedNoHandle = true;
        log.warn(
          "Watch folders can't be reached through their open handles ({error}): files are " +
            "reached by path, and a writer who may rename a watch folder could race the checks " +
            "around each look. Run the agent with all permissions (as its service does).",
          { error: (e as Error).message },
        );
      }
      return;
    }
    const old = this.#dir;
    this.#dir = h;
    if (old) Deno.unrefTimer(setTimeout(() => old.close().catch(() => {}), 15 * 60_000));
  }

  /**
   * The path to give file operations for the file at `rel`: through the held watch folder
   * (Linux: `/proc/self/fd/N/…`, which the kernel resolves from the open folder, wherever its
   * name now leads), else the real path. Messages name the configured path, never this one.
   */
  opPath(rel: string): string {
    if (!this.#dir) return this.realOf(rel);
    return rel === "" ? `/proc/self/fd/${this.#dir.fd}` : `/proc/self/fd/${this.#dir.fd}/${rel}`;
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
    const st = await Deno.lstat(this.real);
    if (st.isSymlink || !st.isDirectory) return `${this.real} is not a plain folder now`;
    const adopted = !this.#id || this.#id.dev !== st.dev || this.#id.ino !== st.ino;
    this.#id = { dev: st.dev, ino: st.ino };
    if (adopted || (!this.#dir && OS === "linux")) await this.#hold();
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
   * {@link verify}. Throws {@link OutsideWatch} when one is a link (not followed), not a folder,
   * or the watch folder is not the pinned one. With the watch folder held open (Linux) it is not
   * looked at: the file operations and the subfolder looks go through the handle, which is the
   * pinned folder whatever its name leads to now (the rescan's {@link check} sees a swap).
   */
  async enter(rel: string): Promise<Chain> {
    if (!this.#id) throw new OutsideWatch(`${this.configured} was not checked yet`);
    const parts = rel.split("/").slice(0, -1);
    const held = this.#dir !== null;
    const seen: Seen[] = [];
    let at = this.real;
    for (let i = held ? 1 : 0; i <= parts.length; i++) {
      if (i > 0) at = path.join(at, parts[i - 1]);
      const look = held ? this.opPath(parts.slice(0, i).join("/")) : at;
      let st: Deno.FileInfo;
      try {
        st = await (i === 0 ? this.#lookRoot() : Deno.lstat(look));
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
      seen.push({ path: at, look: i === 0 ? null : look, dev: st.dev, ino: st.ino });
    }
    return seen;
  }

  /** Throws {@link OutsideWatch} when a folder of `chain` changed since {@link enter}. */
  async verify(chain: Chain): Promise<void> {
    for (const s of chain) {
      let st: Deno.FileInfo | null = null;
      try {
        st = await (s.look === null ? this.#lookRoot() : Deno.lstat(s.look));
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
