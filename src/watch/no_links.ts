/**
 * Folders reached through open handles, never through a symbolic link (Linux): a walk from `/`
 * that opens each folder `O_PATH|O_DIRECTORY|O_NOFOLLOW` through the one before it
 * (`/proc/self/fd/N/<name>`), and whether this process may use such paths at all (Deno allows
 * them only with every permission; the agent runs with all: src/runtime.ts). A path checked with
 * `lstat` and then used follows any link swapped in above its last name in between; a handle
 * reached this way is the folder the path leads to through plain folders only, and stays that
 * folder whatever its name leads to later.
 *
 * @module
 */
import { constants, type FileHandle, mkdir, open } from "#fs/promises";
import { logger } from "../log/log.ts";

const OS = Deno.build.os;
const log = logger("watch");

/**
 * Linux's `O_PATH` (node:fs does not name it): a handle that only locates a folder, so a folder
 * the agent may pass through but not list (mode 711 above a drop folder) opens too.
 */
export const PATH_ONLY = 0o10000000;

/** Whether folders can be reached through `/proc/self/fd` here (asked once per process). */
let handles: Promise<boolean> | null = null;

/** Linux, and Deno lets the agent use `/proc/self/fd` paths (only with every permission). */
export function handlesWork(): Promise<boolean> {
  if (OS !== "linux") return Promise.resolve(false);
  return handles ??= (async () => {
    const h = await open("/", constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await Deno.lstat(`/proc/self/fd/${h.fd}`);
      return true;
    } catch (e) {
      log.warn(
        "Watch folders can't be reached through open handles ({error}): files are reached by " +
          "path, and a writer who may rename a watch folder or a folder in it could race the " +
          "checks around each look. Run the agent with all permissions (as its service does).",
        { error: (e as Error).message },
      );
      return false;
    } finally {
      await h.close().catch(() => {});
    }
  })();
}

/**
 * Opens the absolute folder `dir` one folder at a time from `/`, never following a link: the
 * folder its path leads to now through plain folders only (Linux; {@link PATH_ONLY} handles).
 * Throws (ENOTDIR, ELOOP, ENOENT) when a link or anything but a folder is on the way; `create`
 * makes the missing folders instead (never through a link).
 */
export async function openNoLinks(
  dir: string,
  opts: { create?: boolean } = {},
): Promise<FileHandle> {
  const root = await open("/", PATH_ONLY | constants.O_DIRECTORY);
  try {
    return await openBelow(root, dir.split("/").filter(Boolean), { create: opts.create });
  } finally {
    await root.close().catch(() => {});
  }
}

/**
 * Opens the folder `parts` below the open folder `dir` one level at a time (`dir` stays open,
 * and is what an empty `parts` opens again), each `O_NOFOLLOW` unless `follow`; `create` makes a
 * missing one first. Throws as {@link openNoLinks}; the error's `at` is the index in `parts` of
 * the name that failed.
 */
export async function openBelow(
  dir: FileHandle,
  parts: readonly string[],
  opts: { create?: boolean; follow?: boolean } = {},
): Promise<FileHandle> {
  const flags = PATH_ONLY | constants.O_DIRECTORY | (opts.follow ? 0 : constants.O_NOFOLLOW);
  let h: FileHandle | null = null;
  let i = 0;
  try {
    if (parts.length === 0) return await open(inFolder(dir, "."), flags);
    for (; i < parts.length; i++) {
      const from = inFolder(h ?? dir, parts[i]);
      const next = await open(from, flags).catch(async (e: unknown) => {
        if (!opts.create || (e as { code?: string }).code !== "ENOENT") throw e;
        // mkdir makes no folder through a link at the name (EEXIST): the open then refuses it.
        await mkdir(from).catch((m: { code?: string }) => {
          if (m.code !== "EEXIST") throw m;
        });
        return await open(from, flags);
      });
      await h?.close().catch(() => {});
      h = next;
    }
  } catch (e) {
    await h?.close().catch(() => {});
    if (e && typeof e === "object") Object.assign(e, { at: i });
    throw e;
  }
  return h!;
}

/**
 * Flags that open a file for reading without following a last-component link (ELOOP) and
 * without waiting (a FIFO swapped in opens at once): the caller then fstats what it opened.
 */
export const READ_NO_WAIT = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) |
  (constants.O_NOFOLLOW ?? 0);

/**
 * `p` as messages say it: a path through an open folder (`/proc/self/fd/N/…`, see {@link inFolder})
 * with the folder's real path now in place of the handle's (else `p` itself).
 */
export async function shownPath(p: string): Promise<string> {
  const m = /^\/proc\/self\/fd\/\d+/.exec(p);
  if (!m) return p;
  const dir = await Deno.realPath(m[0]).catch(() => null);
  return dir === null ? p : dir + p.slice(m[0].length);
}

/** The path of the folder open as `dir` (see {@link openNoLinks}). */
export function handlePath(dir: FileHandle): string {
  return `/proc/self/fd/${dir.fd}`;
}

/** The path of `name` in the folder open as `dir` (see {@link openNoLinks}). */
export function inFolder(dir: FileHandle, name: string): string {
  return `${handlePath(dir)}/${name}`;
}
