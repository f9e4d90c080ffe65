/**
 * A Done or Error folder pinned to the place it resolved to when its converter started. The
 * agent runs as root/SYSTEM while anyone who may write into a drop folder can replace
 * `<watch>/Error` (or a subfolder of Done, or the watch folder holding them) with a symbolic
 * link; following it would let them have the agent write anywhere.
 *
 * On Linux the pinned folder is held open, reached by a walk from `/` that follows no link
 * (no_links.ts), and {@link PinnedFolder.enter} opens the subfolders from it the same way: every
 * write goes through `/proc/self/fd/N/<name>`, which the kernel resolves from the open folder
 * wherever its name leads meanwhile. Elsewhere (Deno has no O_NOFOLLOW or openat there) a write
 * goes check → act → verify: {@link PinnedFolder.enter} checks that the pinned path still has
 * no symbolic link in it (creating missing folders one level at a time, never through a link)
 * and returns the folders' identities; {@link FolderChain.verify}, after the write, that they
 * are unchanged.
 * A link on the configured path (there when the converter started) is resolved once and its
 * target is the pinned place, but only when it can be the operator's (see {@link trustLink});
 * one anybody could have planted is refused ({@link UntrustedLink}).
 *
 * @module
 */
import nodePath from "#path";
import { logger } from "../log/log.ts";
import { samePath } from "./safe_name.ts";
import { type LinkSeen, trustedWalk, unsafeFolder, UntrustedLink } from "./folder_trust.ts";
import type { FolderEnv, FolderFs } from "./fs_env.ts";
import type { FileHandle } from "#fs/promises";
import { handlePath, handlesWork, openBelow, openNoLinks } from "./no_links.ts";
import { HeldHandle } from "./held_handle.ts";

export { UntrustedLink } from "./folder_trust.ts";

/** The real file system. */
export const realFolderEnv: FolderEnv = {
  fs: {
    lstat: (p) => Deno.lstat(p),
    realPath: (p) => Deno.realPath(p),
    mkdir: (p) => Deno.mkdir(p),
    readLink: (p) => Deno.readLink(p),
  },
  os: Deno.build.os,
  path: nodePath,
  uid: Deno.uid(),
  handles: handlesWork,
};

/** A write refused because a folder on the way is not the pinned one (a link, a swap). */
export class FolderRefused extends Error {
  /**
   * @param folder the configured folder (as a person knows it)
   * @param problem what is wrong, in words a person can act on
   */
  constructor(readonly folder: string, readonly problem: string) {
    super(problem);
    this.name = "FolderRefused";
  }
}

interface Seen {
  path: string;
  dev: number | null;
  ino: number | null;
}

/** The folders a write goes through, as they were checked (or the folder held open). */
export class FolderChain {
  /**
   * @param dir the folder written into, as paths into it are built (`/proc/self/fd/N` when held)
   * @param seen it and each folder above it to the pin, as checked (none when held)
   * @param held the folder is held open: it is the one written into, whatever its path does;
   *   {@link close} lets go of it
   * @param shown the folder's real path, for messages and notes
   */
  constructor(
    readonly dir: string,
    readonly seen: readonly Seen[],
    readonly folder: string,
    readonly env: FolderEnv,
    readonly held: { close(): void } | null = null,
    readonly shown: string = dir,
  ) {}

  /** Done with the folder (a held one is let go). */
  close(): void {
    this.held?.close();
  }

  /** Throws {@link FolderRefused} when a folder was replaced since it was checked. */
  async verify(): Promise<void> {
    if (this.held) return; // written through the handle: no path was followed
    let real: string | null = null;
    try {
      real = await this.env.fs.realPath(this.dir);
    } catch { /* gone: said below */ }
    if (real === null || !samePath(real, this.dir, this.env.os)) {
      throw new FolderRefused(
        this.folder,
        `${this.dir} was moved or replaced by a symbolic link while the agent wrote into it` +
          (real ? ` (it now leads to ${real})` : ""),
      );
    }
    for (const s of this.seen) {
      const now = await lstatOrNull(this.env.fs, s.path);
      if (!now || now.isSymlink || !now.isDirectory || !sameIdentity(s, now)) {
        throw new FolderRefused(
          this.folder,
          `${s.path} was replaced while the agent wrote into it` +
            (now?.isSymlink ? " (it is now a symbolic link)" : ""),
        );
      }
    }
  }
}

/** A Done or Error folder and the place it is pinned to. */
export class PinnedFolder {
  /** The pinned folder held open (Linux; see {@link enter}). */
  #dir = new HeldHandle();
  /** The held folder's identity: its name must still lead to it for it to be used. */
  #id: { dev: number; ino: number } | null = null;

  private constructor(
    /** As configured. */
    readonly configured: string,
    /** Where it resolved to at start: no symbolic link in it. */
    readonly real: string,
    /** Set when the configured path was a symbolic link (the operator's). */
    readonly linkedTo: string | null,
    readonly env: FolderEnv,
  ) {}

  /** Resolves `configured` (it may not exist yet: then its nearest existing parent). */
  static async pin(configured: string, env: FolderEnv = realFolderEnv): Promise<PinnedFolder> {
    const { fs, path } = env;
    const owners = env.uid !== undefined && env.uid !== null;
    // Every link on the way is checked before it is followed (throws UntrustedLink).
    const walked = owners ? await trustedWalk(env, path.resolve(configured)) : null;
    const missing: string[] = [];
    let at = path.resolve(configured);
    for (;;) {
      try {
        const real = await fs.realPath(at);
        const pinned = missing.length ? path.join(real, ...missing.reverse()) : real;
        const linked = missing.length === 0 && (await fs.lstat(at)).isSymlink ? real : null;
        if (walked) await sameWalk(env, configured, walked, pinned);
        return new PinnedFolder(configured, pinned, linked, env);
      } catch (e) {
        const parent = path.dirname(at);
        if (!(e instanceof Deno.errors.NotFound) || parent === at) throw e;
        missing.push(path.basename(at));
        at = parent;
      }
    }
  }

  /**
   * Checks the pinned folder and `subdirs` below it, creating what is missing one level at a
   * time; returns the chain to {@link FolderChain.verify} after writing into it.
   */
  async enter(subdirs: readonly string[]): Promise<FolderChain> {
    if (await this.env.handles?.()) return await this.#enterHeld(subdirs);
    const { fs, path, os } = this.env;
    // The pinned path held no link at start; one in it now is a swap. realPath of its deepest
    // existing part must be that part itself.
    let existing = this.real;
    const create: string[] = [];
    for (;;) {
      const st = await lstatOrNull(fs, existing);
      if (st) break;
      const parent = path.dirname(existing);
      if (parent === existing) break;
      create.unshift(existing);
      existing = parent;
    }
    let real: string | null = null;
    try {
      real = await fs.realPath(existing);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new FolderRefused(this.configured, `${existing} can't be resolved (${msg(e)})`);
      }
    }
    if (real === null || !samePath(real, existing, os)) {
      const where = existing === this.real ? "" : ` (${existing}, on its way there)`;
      throw new FolderRefused(
        this.configured,
        `${this.#what()} is now a symbolic link${where} leading to ${real ?? "nowhere"}, not ` +
          `the folder pinned when the converter started (${this.real})`,
      );
    }
    const seen: Seen[] = [];
    const check = async (p: string, made: boolean) => {
      const st = await lstatOrNull(fs, p);
      if (st?.isSymlink) {
        let to = "?";
        try {
          to = await fs.realPath(p);
        } catch { /* dangling: say so below */ }
        throw new FolderRefused(
          this.configured,
          `${p} is a symbolic link (to ${to}) where the agent expects a plain folder` +
            (made ? " (it appeared while the agent created it)" : ""),
        );
      }
      if (!st?.isDirectory) {
        throw new FolderRefused(this.configured, `${p} is not a folder`);
      }
      seen.push({ path: p, dev: st.dev, ino: st.ino });
    };
    const make = async (p: string) => {
      try {
        await fs.mkdir(p);
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) {
          throw new FolderRefused(this.configured, `can't create ${p} (${msg(e)})`);
        }
      }
      await check(p, true);
    };
    if (create.length === 0) await check(this.real, false);
    for (const p of create) await make(p);
    let dir = this.real;
    for (const sub of subdirs) {
      dir = path.join(dir, sub);
      if (await lstatOrNull(fs, dir)) await check(dir, false);
      else await make(dir);
    }
    return new FolderChain(dir, seen, this.configured, this.env);
  }

  /**
   * {@link enter} where folders can be held (Linux): the pinned folder is held open while its
   * name leads to it (one lstat per write; a folder deleted, moved or re-made is opened again
   * by the walk from `/`, and a link anywhere on the way is refused), the subfolders are opened
   * (made) from it one level at a time, never through a link.
   */
  async #enterHeld(subdirs: readonly string[]): Promise<FolderChain> {
    const { path } = this.env;
    let root = this.#dir.take();
    if (root) {
      const now = await lstatOrNull(this.env.fs, this.real).catch(() => null);
      if (!now?.isDirectory || now.ino !== this.#id?.ino || now.dev !== this.#id?.dev) {
        this.#dir.give(root);
        root = null;
      }
    }
    if (!root) {
      const h = await this.#refused(this.real, [], () => openNoLinks(this.real, { create: true }));
      const st = await h.stat().catch(async (e: unknown) => {
        await h.close().catch(() => {});
        throw e;
      });
      this.#id = { dev: st.dev, ino: st.ino };
      this.#dir.replace(h);
      root = this.#dir.take()!;
    }
    const held = root;
    const shown = path.join(this.real, ...subdirs);
    if (subdirs.length === 0) {
      const close = () => this.#dir.give(held);
      return new FolderChain(handlePath(held), [], this.configured, this.env, {
        close,
      }, shown);
    }
    let sub: FileHandle;
    try {
      sub = await this.#refused(
        this.real,
        subdirs,
        () => openBelow(held, subdirs, { create: true }),
      );
    } finally {
      this.#dir.give(held);
    }
    const close = () => void sub.close().catch(() => {});
    return new FolderChain(handlePath(sub), [], this.configured, this.env, {
      close,
    }, shown);
  }

  /**
   * Runs a walk of `parts` below `from` (or of `from` itself, when `parts` is empty); its errors
   * become a {@link FolderRefused} that names the folder on the way that is not a plain folder.
   */
  async #refused(from: string, parts: readonly string[], open: () => Promise<FileHandle>) {
    try {
      return await open();
    } catch (e) {
      const { code, at } = e as { code?: string; at?: number };
      const names = parts.length ? parts : from.split("/").filter(Boolean);
      const where = parts.length
        ? this.env.path.join(from, ...parts.slice(0, (at ?? 0) + 1))
        : "/" + names.slice(0, (at ?? 0) + 1).join("/");
      const what = code === "ELOOP" || code === "ENOTDIR"
        ? `${where} is not a plain folder now (a symbolic link or a file)`
        : `${where} can't be opened or created (${msg(e)})`;
      throw new FolderRefused(
        this.configured,
        `${what}, on the way to ${this.#what()}: nothing is written through it`,
      );
    }
  }

  /** Lets go of the held folder (a new pin replaces this one): closed once no write uses it. */
  letGo(): void {
    this.#dir.replace(null);
  }

  #what(): string {
    return this.linkedTo ? `${this.configured} (a link to ${this.real} at start)` : this.configured;
  }
}

/**
 * Verifies that resolving by the system led where the checked walk did, through the same links:
 * a link swapped in or out between the two is refused, not pinned.
 */
async function sameWalk(
  env: FolderEnv,
  configured: string,
  walked: { real: string; links: readonly LinkSeen[] },
  pinned: string,
): Promise<void> {
  if (!samePath(walked.real, pinned, env.os)) {
    throw new Error(
      `${configured} leads to ${walked.real} link by link, but to ${pinned} when resolved at ` +
        "once (a symbolic link on the way leads nowhere, or one changed meanwhile): make every " +
        "link on the way lead to an existing folder",
    );
  }
  for (const l of walked.links) {
    const now = await lstatOrNull(env.fs, l.path);
    if (!now?.isSymlink || !sameIdentity(l, now)) {
      throw new Error(`${l.path} changed while ${configured} was resolved; it is tried again`);
    }
  }
}

async function lstatOrNull(fs: FolderFs, p: string): Promise<Deno.FileInfo | null> {
  try {
    return await fs.lstat(p);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

function sameIdentity(a: Seen, b: Deno.FileInfo): boolean {
  // Windows may not report inode numbers: there the link check alone stands.
  if (a.ino === null || b.ino === null) return true;
  return a.ino === b.ino && a.dev === b.dev;
}

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Why a writer other than the agent could rename `pin`'s folder, or swap what is in it, while the
 * agent writes there (null: nobody can): the folder holding it or the folder itself is
 * {@link unsafeFolder}. The check → act → verify of a write can lose that race (no openat); the
 * operator is told how to close it. Where folders are held open (Linux) there is no race.
 */
export async function swapRisk(pin: PinnedFolder): Promise<string | null> {
  const { env, real } = pin;
  const agent = env.uid ?? null;
  if (agent === null || await env.handles?.()) return null;
  const parent = env.path.dirname(real);
  const own = await lstatOrNull(env.fs, real);
  const up = await lstatOrNull(env.fs, parent);
  const fix = (who: Deno.FileInfo) =>
    who.uid !== null && who.uid !== 0 && who.uid !== agent
      ? "set doneFolder/errorFolder to a folder outside the drop folder that only root (or the " +
        "agent's user) can write to"
      : `run \`chmod +t ${parent}\` (then only a file's owner can rename it), or set ` +
        "doneFolder/errorFolder to a folder outside the drop folder";
  const why = up && unsafeFolder(up, agent);
  if (up && why) return `the folder holding it, ${parent}: ${why}; ${fix(up)}`;
  const self = own && unsafeFolder(own, agent);
  if (own && self) {
    return `${self}; make it root's (\`chown root ${real}; chmod go-w ${real}\`), or ${fix(own)}`;
  }
  return null;
}

/** The pinned Done and Error folders of all converters, by configured path. */
export class PinnedFolders {
  #pins = new Map<string, Promise<PinnedFolder>>();
  #warned = new Set<string>();

  /** @param env the file system (tests inject one) */
  constructor(readonly env: FolderEnv = realFolderEnv) {}

  /** Pins (again) `dir`: when its converter starts or its config changed. */
  pin(dir: string): Promise<PinnedFolder> {
    const p = PinnedFolder.pin(dir, this.env);
    p.catch(() => {}); // said when the folder is used (get)
    const old = this.#pins.get(dir);
    this.#pins.set(dir, p);
    old?.then((o) => o.letGo(), () => {}); // its handle must not stay open for nobody
    return p;
  }

  /** Lets go of the pins of folders not in `dirs` (no converter names them any more). */
  retain(dirs: readonly string[]): void {
    const keep = new Set(dirs);
    for (const [dir, p] of this.#pins) {
      if (keep.has(dir)) continue;
      this.#pins.delete(dir);
      p.then((o) => o.letGo(), () => {});
    }
  }

  /**
   * Pins each of `dirs` (a converter starts): a refused link is said now, and so (once per
   * folder) is a folder others could swap while the agent writes into it.
   */
  async pinAll(dirs: readonly string[]): Promise<void> {
    const log = logger("intake");
    for (const dir of new Set(dirs)) {
      let p: PinnedFolder;
      try {
        p = await this.pin(dir);
      } catch (e) {
        if (e instanceof UntrustedLink) {
          log.error(
            "{folder} is refused: {problem}. Files that would go there stay in the drop " +
              "folder.",
            { folder: dir, problem: e.message },
          );
        }
        continue; // anything else is said when the folder is used
      }
      if (p.linkedTo) {
        log.info("{folder} is a symbolic link to {to}: files go there", {
          folder: dir,
          to: p.linkedTo,
        });
      }
      const risk = await swapRisk(p).catch(() => null);
      if (risk && !this.#warned.has(`${dir}\0${risk}`)) {
        this.#warned.add(`${dir}\0${risk}`);
        log.warn(
          "{folder} can be swapped by others while the agent moves a file into it ({risk}). A " +
            "writer who wins that race for an instant can have a file or its note land " +
            "elsewhere (the agent checks each write and takes back what it finds).",
          { folder: dir, risk },
        );
      }
    }
  }

  /**
   * The pinned folder; throws {@link FolderRefused} when it can't be pinned. One refused or
   * unresolvable before is looked at again (the same checks), so a fix takes effect by itself.
   */
  async get(dir: string): Promise<PinnedFolder> {
    const pinned = this.#pins.get(dir);
    if (pinned) {
      try {
        return await pinned;
      } catch { /* looked at again below */ }
    }
    try {
      const p = await this.pin(dir);
      if (p.linkedTo) {
        logger("intake").info("{folder} is a symbolic link to {to}: files go there", {
          folder: dir,
          to: p.linkedTo,
        });
      }
      return p;
    } catch (e) {
      throw new FolderRefused(
        dir,
        e instanceof UntrustedLink ? e.message : `it can't be resolved (${msg(e)})`,
      );
    }
  }
}
