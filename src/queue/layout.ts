/**
 * The queue's folders and names on disk: one folder per state, an entry file `<key>.json`
 * where the key `<queued ms>-<seq>-<report id>` makes a folder listing FIFO order, and the
 * sidecars beside entries (`<key>.error.json` in error/ and quarantine/, `<key>.reason.txt` in
 * quarantine/). Shared by the queue and by {@link ./inspect.ts} (status without an agent).
 *
 * @module
 */
import path from "#path";

/** The states an entry can be in; each is a folder. */
export const STATES = ["queued", "processing", "completed", "error"] as const;
/** One of {@link STATES}. */
export type State = typeof STATES[number];

/** Beside an entry in error/ (and quarantine/): why it failed (see error_info.ts). */
export const ERROR_SUFFIX = ".error.json";
/** Beside an entry in quarantine/: why it could not be read. */
export const REASON_SUFFIX = ".reason.txt";

/** The queue folder inside a data directory. */
export function queueDir(dataDir: string): string {
  return path.join(dataDir, "queue");
}

/** Milliseconds since the epoch at which an entry was queued, from its key. */
export function keyTime(key: string): number {
  return Number(key.slice(0, 13));
}

/** The report id in an entry key. */
export function keyId(key: string): string {
  return key.slice(19);
}

/** Whether anything (a file, folder or link) is at `p`. */
export async function pathExists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Names in a folder (empty when it does not exist). */
export async function listNames(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}

/** Entry keys among folder names (`<key>.json`, not sidecars). */
export function entryKeys(names: string[]): string[] {
  return names.filter((n) => n.endsWith(".json") && !n.endsWith(ERROR_SUFFIX)).map((n) =>
    n.slice(0, -5)
  );
}
