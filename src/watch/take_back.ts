/**
 * Taking back a name the agent created (a hard link, a copy, a note) when the write into a
 * Done or Error folder turned out wrong. Deno has no openat: a writer who swapped a folder for
 * a symbolic link for an instant (renameat2 RENAME_EXCHANGE) had the name created wherever the
 * link led, and the path may lead back to the pinned folder by the time it is checked. So what
 * was created is found by its identity (dev/ino, kind, size), not by its path: in the pinned
 * folder, where its path leads now, and behind the symbolic links beside each folder of the
 * chain (an exchanged-back swap leaves its link there). Residual: a link the writer removed
 * before this runs can't be followed; then the error says what to look for. A folder held open
 * (Linux: pinned_folder.ts) had the name created in it and nowhere else.
 *
 * @module
 */
import type { FolderChain } from "./pinned_folder.ts";
import type { PostEnv } from "./fs_env.ts";
import { samePath } from "./safe_name.ts";

/** What became of a created name: removed where it was expected or elsewhere, or not found. */
export type TakenBack =
  | { kind: "removed"; at: string; elsewhere: boolean }
  | { kind: "left"; at: string; problem: string }
  | { kind: "missing" };

/** How many entries beside a folder are looked at (a drop folder can hold many). */
const MAX_SIBLINGS = 10_000;
/** Rounds of looks: a swap loop makes each look by path a coin flip. */
const ROUNDS = 10;

interface Place {
  dir: string;
  /** Reached through a link's target: not where the name belonged. */
  stray: boolean;
}

/**
 * Where `chain.dir` may have led while the name was created (the expected place first): where
 * it resolves now, the targets of links at or beside each folder of the chain (a link's target,
 * once read, does not move with the swaps), and the folders beside it (an exchanged folder sits
 * under the link's name).
 */
async function places(env: PostEnv, chain: FolderChain): Promise<Place[]> {
  const { fs, path, os } = env;
  const found: Place[] = [{ dir: chain.dir, stray: false }];
  if (chain.held) return found; // written through the open folder: nowhere else

  const add = (dir: string, stray: boolean) => {
    if (!found.some((f) => samePath(f.dir, dir, os))) found.push({ dir, stray });
  };
  const resolved = await fs.realPath(chain.dir).catch(() => null);
  if (resolved) add(resolved, !samePath(resolved, chain.dir, os));
  for (const s of chain.seen) {
    const parent = path.dirname(s.path);
    const rest = path.relative(s.path, chain.dir);
    const entries = await fs.list(parent).catch(() => []);
    // An exchanged pair is a folder and a link; plain files can't be either.
    const names = new Set([path.basename(s.path)]);
    for (const e of entries.slice(0, MAX_SIBLINGS)) if (!e.isFile) names.add(e.name);
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of names) {
        const to = await fs.readLink(path.join(parent, name)).catch(() => null);
        if (to !== null) add(path.join(path.resolve(parent, to), rest), true);
      }
    }
    for (const name of names) add(path.join(parent, name, rest), false);
  }
  return found;
}

/**
 * Removes the entry `name` that `isOurs` recognises (by identity) from the first place of
 * {@link places} holding one, links' targets first (they stay put while a swap loop runs); a
 * look that a swap made wrong is tried again.
 */
export async function takeBack(
  env: PostEnv,
  chain: FolderChain,
  name: string,
  isOurs: (st: Deno.FileInfo) => boolean,
): Promise<TakenBack> {
  const { fs, path } = env;
  const all = await places(env, chain);
  /** Where `name` in `dir` is, as messages say (a held folder's real path, not its handle's). */
  const shown = (dir: string) => path.join(dir === chain.dir ? chain.shown : dir, name);
  const order = [...all.filter((p) => p.stray), ...all.filter((p) => !p.stray)];
  for (let round = 0; round < ROUNDS; round++) {
    for (const { dir, stray } of order) {
      const at = path.join(dir, name);
      const st = await fs.lstat(at).catch(() => null);
      if (!st || !isOurs(st)) continue;
      try {
        await fs.remove(at);
        return { kind: "removed", at: shown(dir), elsewhere: stray };
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) continue; // its path led elsewhere meanwhile
        return { kind: "left", at: shown(dir), problem: (e as Error).message };
      }
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
