/**
 * One agent per data directory: an exclusive lock on `<dataDir>/agent.lock`, held for the
 * process's life (the OS releases it when the process dies, even on kill -9).
 *
 * @module
 */
import path from "#path";
import { makePrivateDir } from "../private.ts";

/** Another agent holds the data directory. */
export class LockedError extends Error {
  /** @param dataDir the directory; @param pid the holder's pid when known */
  constructor(readonly dataDir: string, readonly pid: number | null) {
    super(
      `Another agent${
        pid ? ` (pid ${pid})` : ""
      } is already running on data directory ${dataDir}. ` +
        "Stop it first (or use `agent status` / `agent flush`, which talk to it), " +
        "or give this one its own dataDir.",
    );
    this.name = "LockedError";
  }
}

/** A held lock; `release()` gives it up. */
export interface DataDirLock {
  release(): void;
  /**
   * Why the lock no longer guards the data directory (the folder or its lock file was deleted,
   * moved or replaced while the agent ran: a second agent could then take a new lock), or null
   * while it still does.
   */
  lost(): Promise<string | null>;
}

/** Takes the data directory's lock, or throws {@link LockedError} naming the holder's pid. */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await makePrivateDir(dataDir); // report bodies, names of seen files, the state: not for others
  const lockFile = path.join(dataDir, "agent.lock");
  const pidFile = path.join(dataDir, "agent.pid");
  const f = await Deno.open(lockFile, { read: true, write: true, create: true });
  if (!(await f.tryLock(true))) {
    f.close();
    throw new LockedError(dataDir, await readPid(pidFile));
  }
  // The pid goes in its own file: on Windows a locked file can't be read by the second agent.
  await Deno.writeTextFile(pidFile, `${Deno.pid}\n`);
  const held = await f.stat();
  return {
    async lost() {
      let now: Deno.FileInfo;
      try {
        now = await Deno.lstat(lockFile);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return `${lockFile} was deleted`;
        throw e;
      }
      // Windows reports no inode: there an open file (the lock) can't be deleted anyway.
      if (held.ino !== null && (now.ino !== held.ino || now.dev !== held.dev)) {
        return `${lockFile} was replaced by another file`;
      }
      return null;
    },
    release() {
      try {
        // Only our own: after the folder was replaced, the pid file may be another agent's.
        if (Deno.readTextFileSync(pidFile).trim() === String(Deno.pid)) Deno.removeSync(pidFile);
      } catch { /* already gone */ }
      f.close();
    },
  };
}

/** True when an agent holds the data directory's lock right now. */
export async function isDataDirLocked(dataDir: string): Promise<boolean> {
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path.join(dataDir, "agent.lock"), { read: true, write: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  try {
    const got = await f.tryLock(true);
    if (got) await f.unlock();
    return !got;
  } finally {
    f.close();
  }
}

async function readPid(pidFile: string): Promise<number | null> {
  try {
    const n = Number((await Deno.readTextFile(pidFile)).trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}
