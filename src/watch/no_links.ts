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
import { constants, type FileHandle, open } from "#fs/promises";
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
 * Throws (ENOTDIR, ENOENT) when a link or anything but a folder is on the way.
 */
export async function openNoLinks(dir: string): Promise<FileHandle> {
  const flags = PATH_ONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
  let h = await open("/", flags);
  try {
    for (const part of dir.split("/").filter(Boolean)) {
      const next = await open(inFolder(h, part), flags);
      await h.close().catch(() => {});
      h = next;
    }
  } catch (e) {
    await h.close().catch(() => {});
    throw e;
  }
  return h;
}

/** The path of `name` in the folder open as `dir` (see {@link openNoLinks}). */
export function inFolder(dir: FileHandle, name: string): string {
  return `/proc/self/fd/${dir.fd}/${name}`;
}
