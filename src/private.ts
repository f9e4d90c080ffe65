/**
 * Files that can hold a server's words (error sidecars, state.json, quarantine notes, logs) or a
 * secret are for the agent's user only: 0600, folders 0700. Texts are redacted before they are
 * written; this is the second wall. The mode given when a file is created is masked by the
 * umask, so it is set explicitly (a private file that must also survive a power cut is written
 * with `replaceDurably(file, data, { mode: PRIVATE_FILE })`). On Windows a file's mode means nothing: the data folder's ACL
 * decides (the README says how to restrict it with icacls).
 *
 * @module
 */

import path from "#path";

/** The mode of a private file. */
export const PRIVATE_FILE = 0o600;
/** The mode of a private folder. */
export const PRIVATE_DIR = 0o700;

const isWindows = Deno.build.os === "windows";

/** Makes a file (or, with `dir`, a folder) readable by the agent's user only. */
export async function makePrivate(target: string, dir = false): Promise<void> {
  if (!isWindows) await Deno.chmod(target, dir ? PRIVATE_DIR : PRIVATE_FILE);
}

/**
 * Creates the folder `dir` (and its missing parents, as usual) when it is missing, readable by
 * the agent's user only. A folder that exists is left as it is: an operator may have given a
 * group access on purpose.
 */
export async function makePrivateDir(dir: string): Promise<void> {
  // Made private from the start (a umask only takes bits away); the chmod covers an odd umask.
  try {
    await Deno.mkdir(dir, { mode: PRIVATE_DIR });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return;
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    await Deno.mkdir(path.dirname(dir), { recursive: true }); // parents as usual: not ours alone
    await makePrivateDir(dir);
    return;
  }
  await makePrivate(dir, true);
}

/**
 * The mode of `dir` when every local user may write in it (Unix; null otherwise): anyone could
 * then add entries to the queue, replace control.json or the last good config.
 */
export async function writableByAll(dir: string): Promise<number | null> {
  if (isWindows) return null;
  const mode = (await Deno.stat(dir)).mode;
  return mode !== null && (mode & 0o002) !== 0 ? mode & 0o7777 : null;
}
