/**
 * Listing a drop folder: the files that match, skipping ignored names, the agent's own Done and
 * Error folders, and symbolic links unless they are to be followed (then without loops).
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
}

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
    if (opts.followSymlinks) {
      const real = await Deno.realPath(dir);
      if (visited.has(real)) return; // a link loop, or a folder reached twice
      visited.add(real);
    }
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (e) {
      if (dir !== opts.root && e instanceof Deno.errors.NotFound) return; // removed while walking
      throw e;
    }
    for (const e of entries) {
      const abs = path.join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (opts.ignore(r)) continue;
      let isFile = e.isFile;
      let isDir = e.isDirectory;
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

function normalise(p: string): string {
  const n = path.resolve(p);
  return Deno.build.os === "windows" ? n.toLowerCase() : n;
}
