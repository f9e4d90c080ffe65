/**
 * One drop folder: finds files (watch events as hints, periodic rescans as the truth) and hands
 * each one on exactly once, when it is complete (the stability gate).
 *
 * Every look is an `lstat` (a symbolic link is followed only with `followSymlinks`), so a file
 * swapped for a link is not taken; the gate's verdict carries the file's identity, which the
 * reader checks again on the opened handle (./source_file.ts). The watch folder is pinned when
 * the source starts, and every look at a file checks each folder on its way down from there
 * (./watch_root.ts): a subfolder, or the watch folder itself, replaced by a link is not
 * followed. A watch folder that leads elsewhere now is not scanned at all (a health reason).
 *
 * What a scan can't see is said, never silent: a subfolder that can't be listed is skipped
 * with a warning, a name that is not valid UTF-8 (the agent can't open such a file) too; both
 * are health reasons ({@link FolderSource.problems}; ./scan_problems.ts).
 *
 * Deno's watcher drops events under load, misses files in just-created subfolders and goes
 * silent when the folder is deleted (docs/runtime.md#watching-folders), so: every event only
 * makes us look at a path (we `lstat` and decide from the file system), a full rescan runs every
 * `rescanMs` and whenever the watcher reports an overflow or an error, and the watcher is
 * re-armed when the folder disappears and comes back.
 *
 * @module
 */
import path from "#path";
import { compileGlob, compileGlobs, DEFAULT_IGNORES } from "./glob.ts";
import { type Found, scanFolder, type ScanProblem } from "./scan.ts";
import { newCorrelationId } from "../log/correlation.ts";
import { logger } from "../log/log.ts";
import { type FileIdentity, identityChange, identityOf, isHung, lookAt } from "./source_file.ts";
import { OutsideWatch, WatchRoot } from "./watch_root.ts";
import { ScanProblems } from "./scan_problems.ts";
import { FolderWatcher } from "./folder_watcher.ts";
import type { ReadyFile, SourceOptions, SourceStatus } from "./source_types.ts";

const IS_WINDOWS = Deno.build.os === "windows";

/** What stays with a file while the agent runs: its correlation id and when it was first seen. */
interface Identity {
  correlationId: string;
  firstSeen: Date;
}

interface Candidate extends FileIdentity {
  rel: string;
  changedAt: number;
  firstSeen: Date;
  correlationId: string;
  timer?: ReturnType<typeof setTimeout>;
}

/** Files looked at (stat) at once during a scan: a burst of thousands is seen in seconds. */
const OBSERVE_CONCURRENCY = 32;

/** Runs `fn` on every item, at most `limit` at a time. */
async function eachLimited<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Watches one folder. */
export class FolderSource {
  #o: SourceOptions;
  #log;
  #include;
  #ignore;
  #candidates = new Map<string, Candidate>();
  /** Files handed on and not yet released, with the identity they were handed on with. */
  #taken = new Map<string, Identity>();
  /** Files released without being done with (to retry): they keep their correlation id. */
  #released = new Map<string, Identity>();
  /** Deno's folder watcher: its events are hints of paths to look at. */
  #watch: FolderWatcher;
  #missing = false;
  #rescanTimer?: ReturnType<typeof setInterval>;
  #hints = new Set<string>();
  #hintTimer?: ReturnType<typeof setTimeout>;
  #scanning: Promise<void> | null = null;
  #rescanAgain = false;
  #stopped = false;
  #seen = 0;
  #lastScanAt: Date | null = null;
  #lastScanError: string | null = null;
  /** The watch folder as pinned at start. */
  #root: WatchRoot | null = null;
  /** Why the watch folder is refused now (it leads elsewhere), or null. */
  #rootProblem: string | null = null;
  /** What the scans had to leave out (a full rescan renews it). */
  #scanProblems: ScanProblems;

  /** @param opts the folder and what to do with its files */
  constructor(opts: SourceOptions) {
    this.#o = opts;
    this.#log = logger("watch").with({ converter: opts.name });
    this.#scanProblems = new ScanProblems(this.#log, opts.name, opts.root);
    this.#watch = new FolderWatcher({
      root: opts.root,
      recursive: opts.recursive,
      rescanMs: opts.rescanMs,
      log: this.#log,
      onPath: (p) => this.#hint(p),
      onRescan: () => this.rescan(),
      stopped: () => this.#stopped,
    });
    this.#include = compileGlob(opts.pattern);
    this.#ignore = compileGlobs([...DEFAULT_IGNORES, ...opts.ignore]);
  }

  /** Starts watching: pins the watch folder, a first full scan, the watcher, the rescan timer. */
  async start(): Promise<void> {
    this.#root = await WatchRoot.pin(this.#o.root, this.#o.followSymlinks);
    this.#rescanTimer = setInterval(() => this.rescan(), this.#o.rescanMs);
    return this.rescan();
  }

  /** Health reasons: the watch folder refused, subfolders skipped, names that can't be opened. */
  problems(): string[] {
    const out: string[] = [];
    const { name, root } = this.#o;
    if (this.#rootProblem) {
      out.push(
        `watch folder ${root} (converter ${name}) refused: ${this.#rootProblem}. No file is ` +
          "taken from it. Put the folder back; if the change is intended, restart the agent",
      );
    }
    out.push(...this.#scanProblems.reasons());
    return out;
  }

  /** Stops watching. Files already handed on are not affected. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#rescanTimer);
    clearTimeout(this.#hintTimer);
    for (const c of this.#candidates.values()) clearTimeout(c.timer);
    this.#watch.close();
    // A gate check in flight must not hand a file on after this (with the old config).
    this.#candidates.clear();
    this.#root?.retire();
  }

  /** The file was dealt with (or put back): it may be offered again if it is still there. */
  release(p: string): void {
    const id = this.#taken.get(p);
    this.#taken.delete(p);
    if (id) this.#released.set(p, id);
  }

  /** `p` is handed on (its watch folder stays held for it, see WatchRoot.handedOut). */
  #take(p: string, c: Candidate): void {
    this.#taken.set(p, c);
    this.#root?.handedOut(p);
  }

  /** Looks at a path now, as if a watch event named it (a released file that changed). */
  lookAgain(p: string): void {
    this.#hint(p);
  }

  /** Re-checks waiting files now (intake resumed). */
  poke(): void {
    for (const [p, c] of this.#candidates) this.#schedule(p, c, 0);
  }

  /** Numbers for status. */
  status(): SourceStatus {
    return {
      name: this.#o.name,
      folder: this.#o.root,
      missing: this.#missing,
      watching: this.#watch.watching,
      waiting: this.#candidates.size,
      taken: this.#taken.size,
      seen: this.#seen,
      lastScanAt: this.#lastScanAt?.toISOString() ?? null,
      lastScanError: this.#lastScanError,
    };
  }

  /** A full rescan (coalesced: a rescan asked for during one runs once after it). */
  rescan(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#scanning) {
      this.#rescanAgain = true;
      return this.#scanning;
    }
    this.#scanning = this.#doRescan().finally(() => {
      this.#scanning = null;
      if (this.#rescanAgain && !this.#stopped) {
        this.#rescanAgain = false;
        this.rescan();
      }
    });
    return this.#scanning;
  }

  async #doRescan(): Promise<void> {
    let rootInfo: Deno.FileInfo;
    try {
      rootInfo = await Deno.stat(this.#o.root);
      if (!rootInfo.isDirectory) throw new Error(`${this.#o.root} is not a folder`);
    } catch (e) {
      if (!this.#missing) {
        this.#log.error(
          "Watch folder {folder} is missing or not a folder ({error}); files can't be taken " +
            "until it exists again. Create it, or fix `watch` in the config.",
          { folder: this.#o.root, error: (e as Error).message },
        );
      }
      this.#missing = true;
      this.#watch.close();
      // Files seen in it are not taken from where it went (Linux holds it open: let go).
      this.#root?.letGo();
      for (const c of this.#candidates.values()) clearTimeout(c.timer);
      this.#candidates.clear();
      return;
    }
    if (this.#missing) {
      this.#log.info("Watch folder {folder} is back", { folder: this.#o.root });
      this.#missing = false;
    }
    const refused = await this.#root!.check();
    if (refused) {
      if (refused !== this.#rootProblem) {
        this.#log.error(
          "Watch folder {folder} refused: {problem}. No file is taken from it until it is the " +
            "pinned folder again; if the change is intended, restart the agent.",
          { folder: this.#o.root, problem: refused },
        );
      }
      this.#rootProblem = refused;
      this.#watch.close();
      for (const c of this.#candidates.values()) clearTimeout(c.timer);
      this.#candidates.clear();
      return;
    }
    if (this.#rootProblem) {
      this.#log.info("Watch folder {folder} is the pinned folder again", { folder: this.#o.root });
      this.#rootProblem = null;
    }
    this.#watch.ensure(rootInfo.ino);
    let found: Found[];
    const listedAt = Date.now();
    const problems = new Map<string, ScanProblem>();
    try {
      found = await scanFolder({
        ...this.#scanOptions(this.#o.root),
        onProblem: (p) => problems.set(p.path, p),
      });
      this.#lastScanError = null;
    } catch (e) {
      this.#lastScanError = (e as Error).message;
      this.#log.warn("Scanning {folder} failed: {error}; trying again at the next rescan", {
        folder: this.#o.root,
        error: this.#lastScanError,
      });
      return;
    }
    this.#lastScanAt = new Date();
    this.#scanProblems.renew(problems.values());
    const present = new Set(found.map((f) => f.path));
    await eachLimited(found, OBSERVE_CONCURRENCY, (f) => this.#observe(f.path, f.rel));
    // Forget files that are gone; one first seen (by an event) after the listing was made may
    // simply be newer than the listing.
    for (const [p, c] of this.#candidates) {
      if (!present.has(p) && c.firstSeen.getTime() < listedAt) {
        clearTimeout(c.timer);
        this.#candidates.delete(p);
      }
    }
    for (const p of this.#released.keys()) if (!present.has(p)) this.#released.delete(p);
  }

  #scanOptions(root: string) {
    return {
      root,
      recursive: this.#o.recursive,
      followSymlinks: this.#o.followSymlinks,
      include: this.#include,
      ignore: this.#ignore,
      exclude: this.#o.exclude,
    };
  }

  #hint(p: string): void {
    this.#hints.add(p);
    if (!this.#hintTimer) {
      this.#hintTimer = setTimeout(() => this.#drainHints(), 25);
    }
  }

  async #drainHints(): Promise<void> {
    this.#hintTimer = undefined;
    const paths = [...this.#hints];
    this.#hints.clear();
    await eachLimited(paths, OBSERVE_CONCURRENCY, (p) => this.#hinted(p));
  }

  /** Looks at one path a watch event named. */
  async #hinted(p: string): Promise<void> {
    const rel = path.relative(this.#o.root, p).replaceAll("\\", "/");
    if (rel.startsWith("..") || path.isAbsolute(rel) || this.#excluded(p)) return;
    if (rel === "") {
      this.rescan(); // the folder itself changed (removed, replaced): look now
      return;
    }
    if (this.#ignoredPath(rel)) return;
    let st: Deno.FileInfo;
    try {
      st = await Deno.lstat(p);
    } catch {
      const c = this.#candidates.get(p);
      if (c) clearTimeout(c.timer);
      this.#candidates.delete(p);
      return;
    }
    if (st.isDirectory) {
      // Events for files in a new subfolder are often lost: scan it now.
      if (!this.#o.recursive) return;
      try {
        const found = await scanFolder({
          ...this.#scanOptions(p),
          prefix: rel,
          onProblem: (q) => this.#scanProblems.add(q),
        });
        await eachLimited(found, OBSERVE_CONCURRENCY, (f) => this.#observe(f.path, f.rel));
      } catch { /* gone again; the rescan will tell */ }
    } else if (st.isFile || (st.isSymlink && this.#o.followSymlinks)) {
      if (!this.#o.recursive && rel.includes("/")) return;
      if (this.#include(rel)) await this.#observe(p, rel);
    }
  }

  /** Whether the path, or a folder on the way to it, is ignored (as a scan would skip it). */
  #ignoredPath(rel: string): boolean {
    const parts = rel.split("/");
    for (let i = 1; i <= parts.length; i++) {
      if (this.#ignore(parts.slice(0, i).join("/"))) return true;
    }
    return false;
  }

  #excluded(p: string): boolean {
    return this.#o.exclude.some((d) => p === d || p.startsWith(d + path.sep));
  }

  async #observe(p: string, rel: string): Promise<void> {
    if (this.#taken.has(p) || this.#stopped || !this.#root || this.#rootProblem) return;
    let st: Deno.FileInfo;
    try {
      st = await lookAt(p, this.#o.followSymlinks, { root: this.#root, rel });
    } catch (e) {
      if (e instanceof OutsideWatch) this.#refused(p, e.problem);
      return; // gone
    }
    // Taken while we looked (a scan and an event can observe the same file at once).
    if (this.#taken.has(p) || this.#stopped) return;
    if (!st.isFile) return this.#notAFile(p);
    const id = identityOf(st);
    const mtimeMs = id.mtimeMs;
    if (this.#o.isDone?.(p, st.size, mtimeMs)) return;
    const now = Date.now();
    let c = this.#candidates.get(p);
    if (!c) {
      const again = this.#released.get(p);
      this.#released.delete(p);
      c = {
        rel,
        ...id,
        changedAt: now,
        firstSeen: again?.firstSeen ?? new Date(),
        correlationId: again?.correlationId ?? newCorrelationId(),
      };
      this.#candidates.set(p, c);
      if (!again) this.#seen++;
      this.#log.with({ correlationId: c.correlationId }).debug(
        again ? "Seen {file} again" : "Seen {file}",
        { file: p },
      );
      this.#schedule(p, c, this.#o.stableMs);
    } else if (identityChange(c, id)) {
      Object.assign(c, id, { changedAt: now });
      this.#schedule(p, c, this.#o.stableMs);
    }
  }

  /**
   * A path that names no regular file now: a link (not followed) or a folder put in the place
   * of a waiting file. It is forgotten, and never read.
   */
  #notAFile(p: string): void {
    const c = this.#candidates.get(p);
    if (!c) return;
    clearTimeout(c.timer);
    this.#candidates.delete(p);
    this.#log.with({ correlationId: c.correlationId }).warn(
      "{file} was replaced by something that is not a regular file (a symbolic link, with " +
        "followSymlinks off, or a folder); it is not taken",
      { file: p },
    );
  }

  /** A path whose folders are not the pinned ones now (a link on the way): never read. */
  #refused(p: string, problem: string): void {
    const c = this.#candidates.get(p);
    if (c) {
      clearTimeout(c.timer);
      this.#candidates.delete(p);
    }
    const msg = "{file} is not taken: {problem}";
    if (c) this.#log.with({ correlationId: c.correlationId }).warn(msg, { file: p, problem });
    else this.#log.debug(msg, { file: p, problem });
  }

  #schedule(p: string, c: Candidate, delayMs: number): void {
    clearTimeout(c.timer);
    c.timer = setTimeout(() => this.#check(p), delayMs);
  }

  /** The gate: unchanged for stableMs, not empty (or empty for too long), readable. */
  async #check(p: string): Promise<void> {
    const c = this.#candidates.get(p);
    if (!c || this.#stopped || !this.#root) return;
    // A read of this path hangs (./source_file.ts): not offered again until it returns.
    if (isHung(p)) return this.#schedule(p, c, this.#o.rescanMs);
    const where = { root: this.#root, rel: c.rel };
    let st: Deno.FileInfo;
    try {
      st = await lookAt(p, this.#o.followSymlinks, where);
    } catch (e) {
      if (e instanceof OutsideWatch) return this.#refused(p, e.problem);
      this.#candidates.delete(p);
      return;
    }
    if (this.#candidates.get(p) !== c || this.#stopped) return;
    if (!st.isFile) return this.#notAFile(p);
    const id = identityOf(st);
    const now = Date.now();
    if (identityChange(c, id)) {
      Object.assign(c, id, { changedAt: now });
      return this.#schedule(p, c, this.#o.stableMs);
    }
    const quietFor = now - c.changedAt;
    if (quietFor < this.#o.stableMs) return this.#schedule(p, c, this.#o.stableMs - quietFor);
    // Paused: poke() re-checks when intake resumes; the timer too, in case a short pause ended
    // unnoticed between two limit checks.
    if (!this.#o.accepting()) return this.#schedule(p, c, this.#o.rescanMs);
    const file: ReadyFile = {
      path: p,
      rel: c.rel,
      ...id,
      correlationId: c.correlationId,
      firstSeen: c.firstSeen,
      where,
    };
    if (st.size === 0) {
      const emptyFor = now - c.firstSeen.getTime();
      if (emptyFor < this.#o.emptyFileMs) {
        return this.#schedule(p, c, Math.min(this.#o.emptyFileMs - emptyFor, this.#o.rescanMs));
      }
      this.#candidates.delete(p);
      this.#take(p, c);
      return this.#o.onEmpty(file);
    }
    const { maxFileBytes, onTooLarge } = this.#o;
    if (maxFileBytes && onTooLarge && st.size > maxFileBytes()) {
      this.#candidates.delete(p);
      this.#take(p, c);
      return onTooLarge(file);
    }
    // Readable? On Windows a writer's share mode refuses readers while it still writes; on
    // Linux and macOS an open always succeeds, so the check would only cost a syscall pair.
    if (IS_WINDOWS) {
      try {
        (await Deno.open(p, { read: true })).close();
      } catch {
        return this.#schedule(p, c, Math.max(this.#o.stableMs, 200));
      }
    }
    // Another check took or dropped it meanwhile, or the source stopped.
    if (this.#candidates.get(p) !== c || this.#stopped) return;
    this.#candidates.delete(p);
    this.#take(p, c);
    this.#o.onReady(file);
  }
}
