/**
 * The file-system calls that folder pinning and post-actions make, as interfaces: the real ones
 * are in pinned_folder.ts and post_action.ts, and tests inject Windows errors and races. Apart,
 * so the modules that use them (folder trust, taking names back) need not import each other.
 *
 * @module
 */
import type nodePath from "#path";

/** The file-system calls a pinned folder makes (injected by tests). */
export interface FolderFs {
  lstat(p: string): Promise<Deno.FileInfo>;
  realPath(p: string): Promise<string>;
  /** Creates one folder (its parent exists); an existing name is an AlreadyExists error. */
  mkdir(p: string): Promise<void>;
  /** The target of a symbolic link, as written in it. */
  readLink(p: string): Promise<string>;
}

/** Where pinned folders run: the calls, the OS, its path rules. */
export interface FolderEnv {
  fs: FolderFs;
  os: string;
  path: typeof nodePath.posix;
  /** The agent's own user id (null or absent: the OS has no owners, Windows). */
  uid?: number | null;
  /**
   * Whether folders are reached through open handles (Linux: no_links.ts); absent: by path,
   * checked before and after each write (what tests that race the checks inject).
   */
  handles?: () => Promise<boolean>;
}

/** The file-system calls a post-action makes (injected by tests: Windows errors, races). */
export interface PostFs extends FolderFs {
  /** A second name for `from` (fails when `to` exists, also as a link). */
  link(from: string, to: string): Promise<void>;
  /** Renames (Windows: replaces an existing `to`, so it is looked at first). */
  rename(from: string, to: string): Promise<void>;
  /**
   * Creates `to` (never over an existing name), copies `from` into it, fsyncs; its fstat. The
   * opened source must be `expect` (dev, ino, size, mtime) and the copy as long as it, else
   * `SourceSwapped` (post_action.ts); the copy gets the source's permission bits, at most 0644.
   * Opened without waiting (a FIFO) and, unless `follow` (a followed link), without following
   * a link at the name.
   */
  copyNew(
    from: string,
    to: string,
    expect: Deno.FileInfo,
    follow?: boolean,
  ): Promise<Deno.FileInfo>;
  /** The entries of a folder (to find a name written through a swapped folder). */
  list(dir: string): Promise<Deno.DirEntry[]>;
  /** Creates `file` (never over an existing name), writes `data`, fsyncs; its fstat. */
  writeNew(file: string, data: Uint8Array): Promise<Deno.FileInfo>;
  /**
   * Reads at most `max` bytes of `file` (one more shows it is longer) and the fstat of what it
   * opened (nothing read unless a regular file). It opens without following a link at the name
   * and without waiting (a FIFO); the caller lstats first and compares the inode.
   */
  readSmall(
    file: string,
    max: number,
  ): Promise<{ info: { isFile: boolean; ino: number | null }; data: Uint8Array }>;
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
