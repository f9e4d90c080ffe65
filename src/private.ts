/**
 * Files that can hold a server's words (error sidecars, state.json, quarantine notes, logs) or a
 * secret are for the agent's user only: 0600, folders 0700. Texts are redacted before they are
 * written; this is the second wall. The mode given when a file is created is masked by the
 * umask, so it is set explicitly. On Windows a file's mode means nothing: the data folder's ACL
 * decides (the README says how to restrict it with icacls).
 *
 * @module
 */

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
 * Writes a new private file at `file` (replacing one that is there): created with the private
 * mode, so its content is never readable by others, then set exactly (the umask can't widen a
 * mode, but it can take the owner's bits away).
 */
export async function writePrivateText(file: string, text: string): Promise<void> {
  await Deno.remove(file).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await Deno.writeTextFile(file, "", { createNew: true, mode: PRIVATE_FILE });
  await makePrivate(file);
  await Deno.writeTextFile(file, text);
}
