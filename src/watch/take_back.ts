/**
 * Taking back a name the agent created (a hard link, a copy, a note) when the write into a
 * Done or Error folder turned out wrong. Deno has no openat: a writer who swapped a folder for
 * a symbolic link for an instant (renameat2 RENAME_EXCHANGE) had the name created wherever the
 * link led, and the path may lead back to the pinned folder by the time it is checked. So what
 * was created is found by its identity (dev/ino, kind, size), not by its path: in the pinned
 * folder, where its path leads now, and behind the symbolic links beside each folder of the
 * chain (an exchanged-back swap leaves its link there). Residual: a link the writer removed
 * before this runs can't be followed; then the error says what to look for.
 *
 * @module
 */
import type { FolderChain } from "./pinned_folder.ts";
import type { PostEnv } from "./post_action.ts";
import { samePath } from "./safe_name.ts";

/** What became of a created name: removed where it was expected or elsewhere, or not found. */
export type TakenBack =
  | { kind: "removed"; at: string; elsewhere: boolean }
  | { kind: "left"; at: string; problem: string }
  | { kind: "missing" };

/** How many entries beside a folder are looked through for symbolic links (a drop folder). */
const MAX_SIBLINGS = 10_000;

/** Where `chain.dir` may have led while the name was created (the expected place first). */
async function places(env: PostEnv, chain: FolderChain): Promise<string[]> {
  const { fs, path, os } = env;
  const found = [chain.dir];
  const add = (p: string) => {
    if (!found.some((f) => samePath(f, p, os))) found.push(p);
  };
  const resolved = await fs.realPath(chain.dir).catch(() => null);
  if (resolved) add(resolved);
  for (const s of chain.seen) {
    const parent = path.dirname(s.path);
    const rest = path.relative(s.path, chain.dir);
    const entries = await fs.list(parent).catch(() => []);
    for (const e of entries.slice(0, MAX_SIBLINGS)) {
      if (!e.isSymlink) continue;
      const to = await fs.realPath(path.join(parent, e.name)).catch(() => null);
      if (to) add(path.join(to, rest));
    }
  }
  return found;
}

/**
 * Removes the entry `name` that `isOurs` recognises (by identity) from the first place of
 * {@link places} holding one.
 */
export async function takeBack(
  env: PostEnv,
  chain: FolderChain,
  name: string,
  isOurs: (st: Deno.FileInfo) => boolean,
): Promise<TakenBack> {
  const { fs, path } = env;
  for (const dir of await places(env, chain)) {
    const at = path.join(dir, name);
    const st = await fs.lstat(at).catch(() => null);
    if (!st || !isOurs(st)) continue;
    try {
      await fs.remove(at);
      return { kind: "removed", at, elsewhere: dir !== chain.dir };
    } catch (e) {
      return { kind: "left", at, problem: (e as Error).message };
    }
  }
  return { kind: "missing" };
}

/** One sentence about `t` for an error (null: nothing to say, it went from where expected). */
export function takenBackText(t: TakenBack, expected: string, what: string): string | null {
  if (t.kind === "removed") {
    return t.elsewhere
      ? `${what} had been created at ${t.at} through a swapped folder and was removed from there`
      : null;
  }
  if (t.kind === "left") {
    return `${what} is at ${t.at} and could not be removed (${t.problem}): remove it by hand`;
  }
  return `${what} (${expected}) could not be found to take it back: a folder swapped for an ` +
    "instant may have put it elsewhere; look for a symbolic link beside the folder";
}
