/**
 * For the commands (`status`, `stop`, `flush`): the agent that holds a config's drop folders
 * while running on another data directory (its `dataDir` was edited while it ran), found by
 * the claim files it keeps in them (./folder_claim.ts).
 *
 * @module
 */
import path from "#path";
import { escapeControls } from "../log/log.ts";
import { isDataDirLocked } from "../data_dir/lock.ts";
import { type ClaimOwner, hostName, LOCK_FILE, openReadable, readOwner } from "./folder_claim.ts";

/**
 * The process that holds one of `folders` and says (in its owner file) it runs on a data
 * directory other than `dataDir`, or null. For the commands (`status`, `stop`, `flush`): after
 * a `dataDir` edit the config names a folder no agent runs on, while the agent that does still
 * takes its folders. Looks only (the lock file is opened, never created, and a lock got is
 * given back at once). The owner file is the drop-folder writer's to forge: what it says is
 * quoted as its claim, never acted on.
 */
export async function heldElsewhere(
  folders: string[],
  dataDir: string,
): Promise<{ folder: string; owner: ClaimOwner } | null> {
  for (const folder of folders) {
    const lockPath = path.join(folder, LOCK_FILE);
    try {
      if (!(await Deno.lstat(lockPath)).isFile) continue;
      const file = await openReadable(lockPath);
      let free: boolean;
      try {
        free = await file.tryLock(true);
        if (free) await file.unlock();
      } finally {
        file.close();
      }
      if (free) continue;
    } catch {
      continue; // no lock file, or one that can't be looked at: nobody is named
    }
    const owner = await readOwner(folder);
    if (!owner || path.resolve(owner.dataDir) === path.resolve(dataDir)) continue;
    if (owner.host !== hostName()) continue; // another machine's agent (a share) is not ours
    // A running agent holds its data directory's lock as well: a forged owner file naming a
    // folder nobody runs on is no agent.
    try {
      const dirLock = await Deno.lstat(path.join(owner.dataDir, "agent.lock"));
      if (!dirLock.isFile || !(await isDataDirLocked(owner.dataDir))) continue;
    } catch {
      continue;
    }
    return { folder, owner };
  }
  return null;
}

/** What the commands say when {@link heldElsewhere} found a holder. */
export function runsElsewhere(
  held: { folder: string; owner: ClaimOwner },
  dataDir: string,
): string {
  const { folder, owner } = held;
  return `no agent runs on data directory ${dataDir}, but drop folder ${escapeControls(folder)} ` +
    `is held by pid ${owner.pid}, which says it runs on data directory ` +
    `${escapeControls(owner.dataDir)}. If that is this station's agent, its dataDir was edited ` +
    "while it ran: set dataDir back to the folder it started with to reach it (status, flush, " +
    "stop), then change it once the queue is empty";
}
