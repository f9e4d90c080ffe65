/**
 * A Done or Error folder pinned to the place it resolved to when its converter started. The
 * agent runs as root/SYSTEM while anyone who may write into a drop folder can replace
 * `<watch>/Error` (or a subfolder of Done) with a symbolic link; following it would let them
 * have the agent write anywhere. Deno has no O_NOFOLLOW or openat, so every write goes check →
 * act → verify: {@link PinnedFolder.enter} checks that the pinned path still has no symbolic
 * link in it (creating missing folders one level at a time, never through a link) and returns
 * the folders' identities; {@link FolderChain.verify}, after the write, that they are unchanged.
 * A link the operator configured (there when the converter started) is resolved once and its
 * target is the pinned place.
 *
 * @module
 */
import nodePath from "#path";
import { logger } from "../log/log.ts";
import { samePath } from "./safe_name.ts";

/** The file-system calls a pinned folder makes (injected by tests). */
export interface FolderFs {
  lstat(p: string): Promise<Deno.FileInfo>;
  realPath(p: string): Promise<string>;
  /** Creates one folder (its parent exists); an existing name is an AlreadyExists error. */
  mkdir(p: string): Promise<void>;
}

/** Where pinned folders run: the calls, the OS, its path rules. */
export interface FolderEnv {
  fs: FolderFs;
  os: string;
  path: typeof nodePath.posix;
}

/** The real file system. */
export const realFolderEnv: FolderEnv = {
  fs: {
    lstat: (p) => Deno.lstat(p),
    realPath: (p) => Deno.realPath(p),
    mkdir: (p) => Deno.mkdir(p),
  },
  os: Deno.build.os,
  path: nodePath,
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

/** The folders a write goes through, as they were checked. */
export class FolderChain {
  /** @param dir the folder written into; @param seen it and each folder above it to the pin */
  constructor(
    readonly dir: string,
    readonly seen: readonly Seen[],
    readonly folder: string,
    readonly env: FolderEnv,
  ) {}

  /** Throws {@link FolderRefused} when a folder was replaced since it was checked. */
  async verify(): Promise<void> {
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
    const missing: string[] = [];
    let at = path.resolve(configured);
    for (;;) {
      try {
        const real = await fs.realPath(at);
        const pinned = missing.length ? path.join(real, ...missing.reverse()) : real;
        const linked = missing.length === 0 && (await fs.lstat(at)).isSymlink ? real : null;
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

  #what(): string {
    return this.linkedTo ? `${this.configured} (a link to ${this.real} at start)` : this.configured;
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

/** The pinned Done and Error folders of all converters, by configured path. */
export class PinnedFolders {
  #pins = new Map<string, Promise<PinnedFolder>>();

  /** @param env the file system (tests inject one) */
  constructor(readonly env: FolderEnv = realFolderEnv) {}

  /** Pins (again) `dir`: when its converter starts or its config changed. */
  pin(dir: string): Promise<PinnedFolder> {
    const p = PinnedFolder.pin(dir, this.env);
    p.catch(() => {}); // said when the folder is used (get)
    this.#pins.set(dir, p);
    return p;
  }

  /** Pins each of `dirs`; one that can't be resolved is refused when used (and said then). */
  async pinAll(dirs: readonly string[]): Promise<void> {
    for (const dir of new Set(dirs)) {
      try {
        const p = await this.pin(dir);
        if (p.linkedTo) {
          logger("intake").info("{folder} is a symbolic link to {to}: files go there", {
            folder: dir,
            to: p.linkedTo,
          });
        }
      } catch { /* said when used */ }
    }
  }

  /** The pinned folder; throws {@link FolderRefused} when it could not be resolved at start. */
  async get(dir: string): Promise<PinnedFolder> {
    try {
      return await (this.#pins.get(dir) ?? this.pin(dir));
    } catch (e) {
      throw new FolderRefused(
        dir,
        `it could not be resolved when its converter started (${msg(e)}); fix it and restart ` +
          "the agent",
      );
    }
  }
}
