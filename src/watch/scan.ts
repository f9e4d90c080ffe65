/**
 * Listing a drop folder: the files that match, skipping ignored names, the agent's own Done and
 * Error folders, and symbolic links unless they are to be followed (then without loops).
 *
 * A subfolder that can't be listed (too deep for the OS, no permission, a link loop) is skipped
 * and reported, never the end of the whole scan: one bad folder must not hide all the others.
 * A name that is not valid UTF-8 reaches us lossily (U+FFFD) and names no file: it is reported,
 * since the agent can't open, move or delete such a file.
 *
 * @module
 */
import path from "#path";
import type { GlobMatcher } from "./glob.ts";

/** What to list. */
export interface ScanOptions {
  root: string;
  recursive: boolean;
  followSymlinks: boolean;
  /** Files to take (relative path). */
  include: GlobMatcher;
  /** Files and folders to skip (relative path). */
  ignore: GlobMatcher;
  /** Absolute folders never to enter (Done, Error). */
  exclude: readonly string[];
  /** `root`'s path relative to the watched folder when listing one of its subfolders. */
  prefix?: string;
  /** Told of each subfolder skipped and each name that can't be opened. */
  onProblem?: (p: ScanProblem) => void;
}

/** Something the scan had to leave out. */
export type ScanProblem =
  /** A subfolder that can't be listed; its files are not seen. */
  | { kind: "unreadable"; path: string; error: string }
  /** A file (or folder) whose name is not valid UTF-8: `path` is the lossy name. */
  | { kind: "unnamable"; path: string }
  /** A FIFO, socket or device: never taken; Deno's folder watcher blocks opening a FIFO. */
  | { kind: "special"; path: string };

/** How Deno shows the bytes of a name that are not UTF-8. */
const LOSSY = "\uFFFD";

/** A file found by a scan. */
export interface Found {
  /** Absolute path. */
  path: string;
  /** Path relative to the watched folder (with `prefix`), with `/`. */
  rel: string;
}

/** Lists the matching files below `root`. Throws NotFound when `root` itself is missing. */
export async function scanFolder(opts: ScanOptions): Promise<Found[]> {
  const out: Found[] = [];
  const exclude = new Set(opts.exclude.map((p) => normalise(p)));
  const visited = new Set<string>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      if (opts.followSymlinks) {
        const real = await Deno.realPath(dir);
        if (visited.has(real)) return; // a link loop, or a folder reached twice
        visited.add(real);
      }
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (e) {
      if (dir === opts.root) throw e;
      if (!(e instanceof Deno.errors.NotFound)) {
        opts.onProblem?.({ kind: "unreadable", path: dir, error: (e as Error).message });
      } // else removed while walking
      return;
    }
    for (const e of entries) {
      const abs = path.join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (opts.ignore(r)) continue;
      if (e.name.includes(LOSSY) && (e.isFile || (e.isDirectory && opts.recursive))) {
        if (e.isDirectory || opts.include(r)) {
          if (!await exists(abs)) {
            opts.onProblem?.({ kind: "unnamable", path: abs });
            continue;
          }
        }
      }
      let isFile = e.isFile;
      let isDir = e.isDirectory;
      if (!isFile && !isDir && !e.isSymlink) {
        opts.onProblem?.({ kind: "special", path: abs });
        continue;
      }
      if (e.isSymlink) {
        if (!opts.followSymlinks) continue;
        try {
          const st = await Deno.stat(abs);
          isFile = st.isFile;
          isDir = st.isDirectory;
        } catch {
          continue; // dangling link
        }
      }
      if (isDir) {
        if (opts.recursive && !exclude.has(normalise(abs))) await walk(abs, r);
      } else if (isFile && opts.include(r)) {
        out.push({ path: abs, rel: r });
      }
    }
  };
  await walk(opts.root, opts.prefix ?? "");
  return out;
}

/** Whether `p` may name something (false: it does not, as a lossy name does not). */
async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch (e) {
    return !(e instanceof Deno.errors.NotFound); // anything else: the look at the file says it
  }
}

function normalise(p: string): string {
  const n = path.resolve(p);
  return Deno.build.os === "windows" ? n.toLowerCase() : n;
}
