/**
 * One agent per drop folder. Two agents with different data folders watching the same folder
 * would each take every file: every report sent twice, Done holding two names per file. So
 * each agent claims every folder it watches with an exclusive lock on {@link LOCK_FILE} in it,
 * held while it runs (the OS drops it when the process dies, even on kill -9), and writes who
 * it is into {@link OWNER_FILE} (a separate file: on Windows a locked file can't be read).
 * Both are dot files, which the default ignore patterns (./glob.ts, not removable by config)
 * never take, move or count. The lock lives in the folder itself, so every path that leads
 * there (a link, a share, another spelling) meets the same lock.
 *
 * A converter whose folder is claimed by another process takes no files from it (intake asks
 * {@link FolderClaims.holds}); it says so in the log and as a health reason, and tries again
 * every poll, so it takes the folder over when the other agent stops. A folder the agent may
 * not create the lock file in (read-only for it) is watched anyway, with a warning.
 *
 * The drop-folder writer can hold the lock itself and so block the folder: that shows as the
 * health reason ("held by a process that did not say who it is"), and is no worse than what
 * that writer can do anyway (delete the files). Deno has no O_NOFOLLOW: the claim files are
 * created with O_EXCL (never through a link) or, when they exist, lstat'ed and the opened
 * handle checked to be that plain file (same dev/ino, one link); between the lstat and the
 * open a swapped-in link or device is opened (not written), which is the residual window.
 * A claim is only ever made where the folder resolved when first claimed, and on Linux in the
 * folder opened by a walk that follows no link (./no_links.ts): a folder above it swapped for
 * a link to a private folder can't have the claim files made there.
 *
 * @module
 */
import path from "#path";
import type { FileHandle } from "#fs/promises";
import { logger } from "../log/log.ts";
import { handlesWork, inFolder, openNoLinks } from "./no_links.ts";
import { samePath } from "./safe_name.ts";

const log = logger("intake");

/** The file locked in each claimed drop folder. */
export const LOCK_FILE = ".wats-agent.lock";
/** Who holds the lock: the agent's data folder, pid, host and since when (JSON). */
export const OWNER_FILE = ".wats-agent.owner";

/** How long to wait for an open that may have met a FIFO swapped in (it would block). */
const OPEN_TIMEOUT_MS = 2000;
const MAX_OWNER_BYTES = 4096;

/** Who claims: written into the owner file. */
export interface ClaimOwner {
  dataDir: string;
  pid: number;
  host: string;
  since: string;
}

type State = "held" | "refused" | "unclaimable" | "missing";

interface Entry {
  folder: string;
  /** Where the folder resolved when first claimed: a claim is only ever made there. */
  pinned?: string;
  state: State;
  /** The key of the lock it shares while held. */
  key?: string;
  /** The health reason while refused; the warning while unclaimable (to say it once). */
  said?: string;
  onClaimed: () => void;
}

interface Held {
  file: Deno.FsFile;
  lockPath: string;
  /** The folder held open (Linux): the lock is checked through it, whatever its name leads to. */
  dir: FileHandle | null;
  dev: number | null;
  ino: number | null;
  /** The folder's inode when claimed (a folder deleted and made again is a new claim). */
  folderIno: number | null;
  users: Set<string>;
}

type Attempt =
  | {
    kind: "held";
    file: Deno.FsFile;
    dev: number | null;
    ino: number | null;
    dir: FileHandle | null;
  }
  | { kind: "refused"; owner: ClaimOwner | null }
  | { kind: "unclaimable"; error: string };

/** The drop folders this agent claims, one entry per converter. */
export class FolderClaims {
  #owner: ClaimOwner;
  #pollMs: () => number;
  #entries = new Map<string, Entry>();
  /** Locks held, by the folder's real path: converters sharing a folder share its lock. */
  #held = new Map<string, Held>();
  /** Claims run one at a time (a lock taken twice in one process would refuse itself). */
  #chain: Promise<unknown> = Promise.resolve();
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;

  /** @param dataDir this agent's data folder; @param pollMs how often refused folders are tried again */
  constructor(dataDir: string, pollMs: () => number) {
    this.#owner = { dataDir, pid: Deno.pid, host: hostName(), since: new Date().toISOString() };
    this.#pollMs = pollMs;
  }

  /**
   * Claims `folder` for `converter` (replacing the converter's earlier claim); `onClaimed` runs
   * when a folder that was not held becomes held later (the converter should look again).
   */
  claim(converter: string, folder: string, onClaimed: () => void): Promise<void> {
    return this.#serial(async () => {
      const old = this.#entries.get(converter);
      const entry: Entry = { folder: path.resolve(folder), state: "missing", onClaimed };
      this.#entries.set(converter, entry);
      await this.#try(converter, entry, false);
      // Released after the new claim: a converter restarted on the same folder keeps its lock.
      if (old) this.#unuse(converter, old);
      this.#arm();
    });
  }

  /** Whether `converter` may take files: its folder is claimed, or can't be claimed at all. */
  holds(converter: string): boolean {
    const s = this.#entries.get(converter)?.state;
    return s === "held" || s === "unclaimable";
  }

  /** Health reasons: folders another process holds. */
  problems(): string[] {
    return [...this.#entries.values()].filter((e) => e.state === "refused").map((e) => e.said!);
  }

  /** Gives up the claims of converters not in `keep` (removed, disabled). */
  retain(keep: Iterable<string>): void {
    const k = new Set(keep);
    for (const [name, e] of [...this.#entries]) {
      if (k.has(name)) continue;
      this.#entries.delete(name);
      this.#unuse(name, e);
    }
  }

  /** Gives up every claim (the agent stops, after its files in flight are done). */
  releaseAll(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.retain([]);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn);
    this.#chain = run.catch(() => {});
    return run;
  }

  #arm(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#serial(() => this.#poll()).catch((e) =>
        log.error("Checking the drop folders' claims failed: {error}", {
          error: (e as Error).message,
        })
      ).finally(() => this.#arm());
    }, this.#pollMs());
  }

  /** Tries refused folders again; checks that held lock files are still the ones locked. */
  async #poll(): Promise<void> {
    for (const [key, h] of [...this.#held]) {
      const lost = await lostLock(h);
      if (!lost) continue;
      const folder = await Deno.lstat(key).catch(() => null);
      const folderGone = !folder || folder.ino !== h.folderIno;
      // A folder deleted (and maybe made again) is the source's to report; it is claimed anew.
      log[folderGone ? "debug" : "warn"](
        "{lock} {lost} while this agent held it; claiming the folder again (another agent " +
          "could have taken a new lock there). Leave the agent's dot files in drop folders alone.",
        { lock: h.lockPath, lost },
      );
      this.#held.delete(key);
      closeHeld(h);
      for (const name of h.users) {
        const e = this.#entries.get(name);
        if (e) e.state = "missing";
      }
    }
    for (const [name, e] of this.#entries) {
      if (e.state !== "held") await this.#try(name, e, true);
    }
  }

  async #try(converter: string, e: Entry, later: boolean): Promise<void> {
    if (this.#closed) return;
    let key: string;
    try {
      key = await Deno.realPath(e.folder);
    } catch {
      e.state = "missing"; // the source says the folder is missing; claimed once it is back
      return;
    }
    // A folder on the way replaced by a link leads elsewhere: no claim file is made there (the
    // source refuses the folder and says why).
    e.pinned ??= key;
    if (!samePath(key, e.pinned, Deno.build.os)) {
      e.state = "missing";
      return;
    }
    const shared = this.#held.get(key);
    if (shared) {
      shared.users.add(converter);
      return this.#now(converter, e, "held", key, later);
    }
    const a = await attempt(key, this.#owner);
    if (a.kind === "held") {
      this.#held.set(key, {
        file: a.file,
        lockPath: path.join(key, LOCK_FILE),
        dir: a.dir,
        dev: a.dev,
        ino: a.ino,
        folderIno: (await Deno.lstat(key).catch(() => null))?.ino ?? null,
        users: new Set([converter]),
      });
      await writeOwner(key, a.dir, this.#owner);
      return this.#now(converter, e, "held", key, later);
    }
    if (a.kind === "refused") {
      const said = `converter ${converter}: drop folder ${e.folder} is claimed by ${
        describeOwner(a.owner, key)
      }; this agent takes no files from it`;
      if (e.state !== "refused" || e.said !== said) {
        log.error(
          "Drop folder {folder} (converter {converter}) is claimed by {owner}, so this agent " +
            "(data dir {dataDir}) takes no files from it: two agents on one folder would send " +
            "every report twice. Give each agent its own drop folders, or stop the other one; " +
            "this agent takes the folder over when it is free (checked every {s} s).",
          {
            folder: e.folder,
            converter,
            owner: describeOwner(a.owner, key),
            dataDir: this.#owner.dataDir,
            s: this.#pollMs() / 1000,
          },
        );
      }
      e.state = "refused";
      e.said = said;
      return;
    }
    if (e.state !== "unclaimable" || e.said !== a.error) {
      log.warn(
        "Can't claim drop folder {folder} (converter {converter}): {error}. It is watched " +
          "anyway, but another agent (with another data dir) could take the same files and " +
          "every report would be sent twice: make sure only this agent watches it, or let " +
          "the agent's account create {lock} there.",
        { folder: e.folder, converter, error: a.error, lock: LOCK_FILE },
      );
    }
    e.state = "unclaimable";
    e.said = a.error;
  }

  #now(converter: string, e: Entry, state: "held", key: string, later: boolean): void {
    const was = e.state;
    e.state = state;
    e.key = key;
    e.said = undefined;
    if (was === "refused") {
      log.info("Drop folder {folder} is free now: converter {converter} takes its files", {
        folder: e.folder,
        converter,
      });
    }
    if (later) e.onClaimed();
  }

  #unuse(converter: string, e: Entry): void {
    if (e.state !== "held" || !e.key) return;
    const h = this.#held.get(e.key);
    if (!h) return;
    // The converter restarted on the same folder: its new claim goes on with this lock.
    const now = this.#entries.get(converter);
    if (now && now !== e && now.state === "held" && now.key === e.key) return;
    h.users.delete(converter);
    if (h.users.size === 0) {
      this.#held.delete(e.key);
      closeHeld(h);
    }
  }
}

/**
 * Takes the lock in `folder` (a real path), or says who holds it or why it can't be taken. On
 * Linux the folder is opened by a walk that follows no link and the claim files are made in
 * that handle (./no_links.ts): a link swapped in above it can't have them made elsewhere.
 */
async function attempt(folder: string, self: ClaimOwner): Promise<Attempt> {
  const lockPath = path.join(folder, LOCK_FILE);
  let dir: FileHandle | null = null;
  if (await handlesWork()) {
    try {
      dir = await openNoLinks(folder);
    } catch (e) {
      return {
        kind: "unclaimable",
        error: `${folder} can't be opened without following a symbolic link (${
          (e as Error).message
        })`,
      };
    }
  }
  let opened: Opened;
  try {
    opened = await openPlain(dir ? inFolder(dir, LOCK_FILE) : lockPath, lockPath);
  } catch (e) {
    await dir?.close().catch(() => {});
    return { kind: "unclaimable", error: (e as Error).message };
  }
  const { file, info } = opened;
  let got: boolean;
  try {
    got = await file.tryLock(true);
  } catch (e) {
    file.close();
    await dir?.close().catch(() => {});
    return {
      kind: "unclaimable",
      error: `locking ${lockPath} failed (${(e as Error).message}; a share without locks?)`,
    };
  }
  if (!got) {
    file.close();
    const owner = await readOwner(dir ? inFolder(dir, "") : folder);
    await dir?.close().catch(() => {});
    // The owner file names this very agent: a stale one (a pid reused), so the holder is unknown.
    const known = owner && !(owner.pid === self.pid && owner.dataDir === self.dataDir);
    return { kind: "refused", owner: known ? owner : null };
  }
  return { kind: "held", file, dev: info.dev, ino: info.ino, dir };
}

/** Gives a held lock back (the OS releases the lock with the file). */
function closeHeld(h: Held): void {
  h.file.close();
  h.dir?.close().catch(() => {});
}

/** Why a held lock no longer guards the folder, or null. */
async function lostLock(h: Held): Promise<string | null> {
  let now: Deno.FileInfo;
  try {
    now = await Deno.lstat(h.dir ? inFolder(h.dir, LOCK_FILE) : h.lockPath);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "was deleted";
    return `can't be checked (${(e as Error).message})`;
  }
  // Windows has no inode numbers; there the locked, open file can't be deleted anyway.
  if (h.ino !== null && (now.ino !== h.ino || now.dev !== h.dev)) return "was replaced";
  return null;
}

interface Opened {
  file: Deno.FsFile;
  info: Deno.FileInfo;
}

/**
 * Opens a claim file: created new (O_EXCL: never through a link), or the plain file already
 * there: not a link, a hard link (it could be any file of the volume), a FIFO or a device.
 */
async function openPlain(p: string, shown = p): Promise<Opened> {
  try {
    const file = await Deno.open(p, { read: true, write: true, createNew: true, mode: 0o644 });
    return { file, info: await file.stat() };
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) {
      throw new Error(`can't create ${shown} (${errorText(e, p, shown)})`);
    }
  }
  const seen = await Deno.lstat(p);
  if (!seen.isFile || (seen.nlink ?? 1) > 1) {
    throw new Error(
      `${shown} is not a plain file of its own (${
        seen.isSymlink ? "a symbolic link" : seen.isFile ? "a hard link" : "not a file"
      }); remove it, the agent creates it again`,
    );
  }
  const file = await openReadable(p);
  const info = await file.stat();
  const same = info.isFile && (info.nlink ?? 1) <= 1 &&
    (info.ino === null || (info.ino === seen.ino && info.dev === seen.dev));
  if (!same) {
    file.close();
    throw new Error(`${shown} was replaced while it was opened; someone tampers with the folder`);
  }
  return { file, info };
}

/**
 * Opens for reading, as read-write when allowed: an O_RDWR open does not block on a FIFO
 * swapped in after the lstat. Read-only (another account's file, for an agent not run as
 * root) such an open would block: it gives up after {@link OPEN_TIMEOUT_MS}, leaving one I/O
 * thread waiting (the residual cost of each such swap).
 */
export async function openReadable(p: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(p, { read: true, write: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.PermissionDenied)) throw e;
    return await openWithin(p, { read: true });
  }
}

/** An open that gives up after {@link OPEN_TIMEOUT_MS} (a FIFO swapped in would block it). */
function openWithin(p: string, o: Deno.OpenOptions): Promise<Deno.FsFile> {
  const open = Deno.open(p, o);
  let timer: ReturnType<typeof setTimeout>;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      open.then((f) => f.close(), () => {});
      reject(new Error(`opening ${p} did not finish (not a plain file?)`));
    }, OPEN_TIMEOUT_MS);
  });
  return Promise.race([open, late]).finally(() => clearTimeout(timer));
}

/** This machine's name as owner files give it ("?" without --allow-sys). */
export function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "?"; // no --allow-sys: the data dir and pid still tell
  }
}

async function writeOwner(
  folder: string,
  dir: FileHandle | null,
  owner: ClaimOwner,
): Promise<void> {
  const p = path.join(folder, OWNER_FILE);
  try {
    const { file } = await openPlain(dir ? inFolder(dir, OWNER_FILE) : p, p);
    try {
      await file.truncate(0);
      await file.write(new TextEncoder().encode(JSON.stringify(owner) + "\n"));
    } finally {
      file.close();
    }
  } catch (e) {
    log.warn(
      "Claimed {folder}, but can't write who holds it into {file} ({error}); another agent " +
        "refused there can't name this one.",
      { folder, file: p, error: (e as Error).message },
    );
  }
}

export async function readOwner(folder: string): Promise<ClaimOwner | null> {
  const p = path.join(folder, OWNER_FILE);
  try {
    const seen = await Deno.lstat(p);
    if (!seen.isFile || seen.size > MAX_OWNER_BYTES) return null;
    const file = await openReadable(p);
    try {
      const info = await file.stat();
      if (info.ino !== seen.ino || info.dev !== seen.dev) return null;
      const buf = new Uint8Array(MAX_OWNER_BYTES);
      const n = (await file.read(buf)) ?? 0;
      const o = JSON.parse(new TextDecoder().decode(buf.subarray(0, n)));
      if (typeof o?.dataDir !== "string" || typeof o?.pid !== "number") return null;
      return {
        dataDir: o.dataDir,
        pid: o.pid,
        host: String(o.host ?? "?"),
        since: String(o.since ?? "?"),
      };
    } finally {
      file.close();
    }
  } catch {
    return null; // unreadable: the holder is named as unknown
  }
}

function describeOwner(o: ClaimOwner | null, folder: string): string {
  if (!o) {
    return `a process that did not say who it is (it holds ${path.join(folder, LOCK_FILE)} ` +
      "open and locked; if no other agent runs, find it with lsof or Resource Monitor)";
  }
  return `another agent (data dir ${o.dataDir}, pid ${o.pid} on ${o.host}, since ${o.since})`;
}

/** An error's message with the handle path it may hold (`p`) named as `shown`. */
function errorText(e: unknown, p: string, shown: string): string {
  return (e as Error).message.split(p).join(shown);
}
