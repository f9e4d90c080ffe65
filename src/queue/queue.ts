/**
 * The crash-safe report queue: one file per report, moved between state folders by atomic
 * rename.
 *
 * ```
 * <dataDir>/queue/
 *   tmp/          entries being written (removed at start-up: never renamed, never acknowledged)
 *   queued/       durable, waiting for upload (file written, fsynced, renamed, folder fsynced)
 *   processing/   being uploaded now (back to queued at start-up: it was in flight)
 *   completed/    uploaded; kept for the audit window, then deleted
 *   error/        failed; <key>.error.json beside it says why, how often, and when to retry
 *   quarantine/   entries that could not be read, with <key>.reason.txt (and the entry's
 *                 <key>.error.json when it had failed before)
 * ```
 *
 * Sidecars and reason files can quote a server's message: their texts are redacted and they are
 * private to the agent's user (written in tmp/, a private folder, then renamed into place).
 *
 * The only ways out of `queued` are an acknowledged upload, a server rejection (→ error), or a
 * person. An entry's key is `<queued ms>-<seq>-<report id>` so a folder listing is FIFO order.
 *
 * The queue alone writes queue files. {@link Queue.enqueue} writes and fsyncs each entry in
 * tmp/, renames it into queued/ and fsyncs that folder, and only then are the reports
 * acknowledged; concurrent enqueues share the folder fsyncs (group commit). Bodies just
 * committed stay in memory (bounded) for the uploader; the files stay the truth. The names on
 * disk are in layout.ts, the entry format in entry.ts, the error sidecar in error_info.ts.
 *
 * Long because: every state change moves a file and the in-memory index (FIFO, retry times,
 * attempts, recent errors) together; split in two, each half would reach into the other's state.
 *
 * @module
 */
import path from "#path";
import { DirSyncer, type FsOps, realFsOps } from "./fs_ops.ts";
import {
  CorruptEntryError,
  decodeEntry,
  encodeEntry,
  type Envelope,
  envelopeLine,
  makeEnvelope,
  type NewEntry,
  readEnvelope,
} from "./entry.ts";
import {
  entryKeys,
  ERROR_SUFFIX,
  keyTime,
  listNames,
  pathExists,
  queueDir,
  REASON_SUFFIX,
  type State,
  STATES,
} from "./layout.ts";
import {
  type ErrorEntry,
  type ErrorInfo,
  readErrorInfo,
  RECENT_ERRORS,
  retryTime,
} from "./error_info.ts";
import { BodyCache } from "./body_cache.ts";
import { KeyFifo } from "./key_fifo.ts";
import { redact, redactDeep } from "../log/redact.ts";
import { makePrivate, makePrivateDir } from "../private.ts";

/** An entry taken for upload. */
export interface Claimed {
  key: string;
  envelope: Envelope;
  /** The entry file, now in processing/. */
  file: string;
  /** Byte offset of the body in the file, and its length. */
  bodyOffset: number;
  /** Upload attempts before this one. */
  attempts: number;
  /** The whole entry file when it was small enough to read at once (else null). */
  whole?: Uint8Array | null;
  /** The body, when the queue still held it from the enqueue (not read again from disk). */
  body?: Uint8Array;
}

/**
 * A report written to the queue's tmp/ folder and fsynced, but not yet queued: nothing in tmp/
 * is ever acknowledged, and start-up removes it.
 */
interface StagedEntry {
  /** Its file name in tmp/. */
  tmp: string;
  envelope: Envelope;
}

/** Counts by state, plus quarantine. */
export type Counts = Record<State, number> & { quarantine: number; retrying: number };

/** Options for {@link Queue.open}. */
export interface QueueOptions {
  /** The file operations (tests inject failures here). */
  ops?: FsOps;
  /** Completed entries kept: at most this many ... */
  keepCompletedCount?: number;
  /** ... and none older than this many hours. */
  keepCompletedHours?: number;
  /** Called for every entry moved to quarantine (logging). */
  onQuarantine?: (key: string, reason: string) => void;
  /** Called for every entry a person removed while the agent was using it (logging). */
  onRemoved?: (key: string, state: State) => void;
  /** Called when a background folder fsync fails (logging). */
  onSyncError?: (error: Error) => void;
  /** Body bytes of just-committed entries kept in memory for the uploader (default 4 MiB). */
  cacheBytes?: number;
}

/** The crash-safe queue. Open one per data directory (the agent lock guarantees that). */
export class Queue {
  readonly dir: string;
  #ops: FsOps;
  #syncer: DirSyncer;
  #opts: QueueOptions;
  #seq = 0;
  /** Queued keys in FIFO order. */
  #queued = new KeyFifo();
  /**
   * While queued/ is being listed at start-up: the keys queued meanwhile by other means (in
   * flight at the stop, enqueued, retried, released), which the listing must not add twice.
   */
  #pushedWhileLoading: Set<string> | null = new Set();
  #processing = new Set<string>();
  /** Error entries: key → retry time (ms), or null when permanent. */
  #errors = new Map<string, number | null>();
  /** Attempts of entries that went back to queued after a failure. */
  #attempts = new Map<string, number>();
  #completed: string[] = [];
  #quarantine = 0;
  #loading: Promise<void> | null = null;
  #loadError: Error | null = null;
  #waiters: (() => void)[] = [];
  #cache: BodyCache;
  /**
   * The newest {@link RECENT_ERRORS} error entries with their (redacted) sidecars, so status
   * needn't read error/ at each poll. `#recentStale`: one left error/ while older ones wait
   * there unlisted; the next {@link recentErrors} reads those few sidecars.
   */
  #recent = new Map<string, ErrorEntry>();
  #recentStale = false;
  /** Keys taken from or put into the FIFO: a recount that saw this change is not comparable. */
  #moves = 0;
  /** Queued keys whose files a person removed, as the last {@link recount} found. */
  #missing = new Set<string>();
  /** A recount is listing queued/ (a slow disk must not start a second one). */
  #recounting = false;
  /** No recount before this time (ms): a recount of a big queued/ is not free. */
  #recountAt = 0;

  private constructor(dir: string, opts: QueueOptions) {
    this.dir = dir;
    this.#opts = opts;
    this.#ops = opts.ops ?? realFsOps;
    this.#syncer = new DirSyncer(this.#ops);
    this.#cache = new BodyCache(opts.cacheBytes);
  }

  /** Opens the queue in `dataDir`, creating its folders and recovering what a crash left. */
  static async open(dataDir: string, opts: QueueOptions = {}): Promise<Queue> {
    const q = new Queue(queueDir(dataDir), opts);
    await makePrivateDir(q.dir); // report bodies and the server's answers
    for (const d of ["tmp", ...STATES, "quarantine"]) {
      await makePrivateDir(path.join(q.dir, d));
    }
    await makePrivate(path.join(q.dir, "tmp"), true);
    await q.#recover();
    return q;
  }

  #path(state: State | "tmp" | "quarantine", name: string): string {
    return path.join(this.dir, state, name);
  }

  async #recover(): Promise<void> {
    // tmp/: written but never renamed, so never acknowledged to anyone: remove.
    for (const name of await listNames(path.join(this.dir, "tmp"))) {
      await this.#ops.remove(this.#path("tmp", name));
    }
    // processing/: was in flight when the agent stopped: back to queued.
    const processing = entryKeys(await listNames(path.join(this.dir, "processing")));
    for (const key of processing) {
      await this.#ops.rename(
        this.#path("processing", key + ".json"),
        this.#path("queued", key + ".json"),
      );
    }
    if (processing.length) await this.#syncer.sync(path.join(this.dir, "queued"));

    // In-flight entries go first; the rest of queued/ is read in the background (below).
    for (const key of processing.sort().reverse()) this.#unshift(key);

    const errorNames = await listNames(path.join(this.dir, "error"));
    const errorKeys = new Set(entryKeys(errorNames));
    for (const name of errorNames) {
      if (!name.endsWith(ERROR_SUFFIX)) continue;
      const key = name.slice(0, -ERROR_SUFFIX.length);
      const info = await this.#readErrorInfo(key);
      const keep = errorKeys.has(key) ||
        (info !== null && await pathExists(this.#path("queued", key + ".json")));
      if (!keep) {
        await this.#ops.remove(this.#path("error", name)); // its entry is gone
        continue;
      }
      if (errorKeys.has(key)) {
        this.#errors.set(key, info ? retryTime(info) : Date.now());
        if (info) this.#noteError(key, info);
      } else this.#attempts.set(key, info!.attempts); // failed before, retrying now
      // One written by an older version may quote a secret, readable by all: rewrite it.
      if (info && JSON.stringify(redactDeep(info)) !== JSON.stringify(info)) {
        await this.#writeErrorInfo(key, info);
      } else await makePrivate(this.#path("error", name));
    }
    for (const key of errorKeys) {
      if (!this.#errors.has(key)) this.#errors.set(key, Date.now()); // sidecar lost: retry now
    }
    this.#completed = entryKeys(await listNames(path.join(this.dir, "completed"))).sort();
    const quarantineNames = await listNames(path.join(this.dir, "quarantine"));
    const quarantined = new Set(entryKeys(quarantineNames));
    for (const name of quarantineNames) {
      // A note whose entry a person removed (or a crash left half-moved) says nothing any more.
      const suffix = [ERROR_SUFFIX, REASON_SUFFIX].find((s) => name.endsWith(s));
      if (suffix && !quarantined.has(name.slice(0, -suffix.length))) {
        await this.#ops.remove(this.#path("quarantine", name));
      } else if (suffix) await makePrivate(this.#path("quarantine", name));
    }
    this.#quarantine = quarantined.size;
    await this.pruneCompleted();
    this.#loading = this.#loadQueued();
  }

  /**
   * Reads queued/ in batches, so uploads start with the first batch instead of waiting for a
   * listing of a million files. Each batch is a sorted run; the FIFO merges the runs as keys are
   * taken, so once the listing ends the oldest entry always goes next.
   */
  async #loadQueued(): Promise<void> {
    const batch: string[] = [];
    const flush = () => {
      this.#queued.addRun(
        batch.filter((k) => !this.#pushedWhileLoading?.has(k) && !this.#processing.has(k)),
      );
      batch.length = 0;
      for (const w of this.#waiters.splice(0)) w();
    };
    let skipped: Error | null = null;
    try {
      let size = 64;
      for await (const e of Deno.readDir(path.join(this.dir, "queued"))) {
        if (!e.name.endsWith(".json")) continue;
        if (!e.isFile) {
          // Only the queue writes here, and only files: a link could point anywhere.
          const what = e.isSymlink ? "a symbolic link" : e.isDirectory ? "a folder" : "not a file";
          await this.#quarantineFrom("queued", e.name.slice(0, -5), `the entry is ${what}`)
            .catch((err) =>
              skipped ??= new Error(
                `${e.name} is ${what}, not an entry, and can't be moved to quarantine ` +
                  `(${(err as Error).message}); it is skipped: remove it by hand`,
              )
            );
          continue;
        }
        batch.push(e.name.slice(0, -5));
        if (batch.length >= size) {
          flush();
          size = 4096;
        }
      }
      flush();
      this.#loadError = skipped; // said once by the next claim; the rest is listed
    } catch (e) {
      this.#loadError = e as Error;
    } finally {
      this.#loading = null;
      this.#pushedWhileLoading = null;
      for (const w of this.#waiters.splice(0)) w();
    }
  }

  /** Resolves when the start-up listing of queued/ is complete. */
  async loaded(): Promise<void> {
    await this.#loading;
  }

  /** True while the start-up listing of queued/ is still running (counts are partial). */
  get loading(): boolean {
    return this.#loading !== null;
  }

  /**
   * Counts the entries in queued/ again, so entries a person removed stop being counted (and
   * stop counting against the queue's limit) before the uploader reaches them, which it may not
   * for hours while the server is down. Called every few seconds; it lists queued/ at most once
   * per fifty times as long as the last recount took. A count that differs from the FIFO's is
   * followed by a listing by name, which finds the missing keys. Above {@link RECOUNT_MAX}
   * queued it doesn't recount: the names would cost more memory than the count is worth, and
   * removed entries are counted until the uploader reaches them. A listing during which a key
   * moved is discarded; every other race leaves a file listed that the FIFO doesn't hold yet
   * (queued/ gets the file before the FIFO gets the key, and the FIFO loses the key before
   * queued/ loses the file), so a key is never taken for missing while its file is there.
   */
  async recount(): Promise<void> {
    if (this.#loading || Date.now() < this.#recountAt) return;
    if (this.#queued.length === 0) {
      this.#missing.clear();
      return;
    }
    if (this.#queued.length > RECOUNT_MAX || this.#recounting) return;
    this.#recounting = true;
    const moves = this.#moves;
    const t0 = Date.now();
    const dir = path.join(this.dir, "queued");
    try {
      let n = 0;
      for await (const e of Deno.readDir(dir)) if (isEntry(e)) n++;
      const expected = this.#queued.length - this.#missing.size;
      if (this.#moves !== moves || n === expected) return;
      const listed = new Set<string>();
      for await (const e of Deno.readDir(dir)) if (isEntry(e)) listed.add(e.name.slice(0, -5));
      if (this.#moves !== moves) return;
      const missing = new Set<string>();
      for (const key of this.#queued.keys()) if (!listed.has(key)) missing.add(key);
      this.#missing = missing;
    } finally {
      this.#recounting = false;
      this.#recountAt = Date.now() + (Date.now() - t0) * 50;
    }
  }

  /** Counts by state. */
  counts(): Counts {
    let retrying = 0;
    for (const t of this.#errors.values()) if (t !== null) retrying++;
    return {
      queued: this.#queued.length - this.#missing.size,
      processing: this.#processing.size,
      completed: this.#completed.length,
      error: this.#errors.size,
      quarantine: this.#quarantine,
      retrying,
    };
  }

  /** Reports that still have to reach the server: queued, in flight, or waiting to retry. */
  backlog(): number {
    const c = this.counts();
    return c.queued + c.processing + c.retrying;
  }

  /** When the oldest report still to be uploaded was queued (ms), or null. */
  oldestQueuedAt(): number | null {
    let oldest: number | null = null;
    const consider = (key: string) => considerTime(keyTime(key));
    const considerTime = (t: number) => {
      if (oldest === null || t < oldest) oldest = t;
    };
    const head = this.#queued.minTime();
    if (head !== null) considerTime(head);
    for (const k of this.#processing) consider(k);
    for (const [k, t] of this.#errors) if (t !== null) consider(k);
    return oldest;
  }

  /**
   * Makes reports durable: each is written to tmp/ (a new file: write, fsync, close), renamed
   * into queued/ under its key, then queued/ is fsynced (shared with concurrent enqueues).
   * Resolves only when all of them survive a crash or power loss, in the order given; throws on
   * any I/O error, and then queues nothing it can't vouch for: entries already renamed stay
   * queued (a restart would find them anyway), the rest are removed from tmp/.
   */
  async enqueue(entries: NewEntry[]): Promise<string[]> {
    if (entries.length === 0) return [];
    const staged = await this.#stage(entries);
    const keys = staged.map((e) => this.#newKey(Date.now(), e.envelope.id));
    let renamed = 0;
    try {
      for (; renamed < keys.length; renamed++) {
        await this.#renameInto(
          this.#path("tmp", staged[renamed].tmp),
          this.#path("queued", keys[renamed] + ".json"),
        );
      }
      await this.#syncer.sync(path.join(this.dir, "queued"));
    } catch (e) {
      // A tmp file left behind is removed at the next start-up; the first error is what counts.
      for (const s of staged.slice(renamed)) {
        await this.#ops.remove(this.#path("tmp", s.tmp)).catch(() => {});
      }
      this.#push(keys.slice(0, renamed));
      throw e;
    }
    for (let i = 0; i < keys.length; i++) {
      this.#cache.add(keys[i], { envelope: staged[i].envelope, body: entries[i].body });
    }
    this.#push(keys);
    return keys;
  }

  /**
   * Writes each entry to tmp/ under a name no other writer uses. On an error, what was written
   * is removed and the error thrown.
   */
  async #stage(entries: NewEntry[]): Promise<StagedEntry[]> {
    const now = new Date();
    const staged: StagedEntry[] = [];
    try {
      for (const entry of entries) {
        const e: StagedEntry = {
          tmp: `${crypto.randomUUID()}.json`,
          envelope: makeEnvelope(entry, now),
        };
        staged.push(e); // before the write: a torn write is removed too
        await this.#writeTmp(
          this.#path("tmp", e.tmp),
          oneChunk(encodeEntry(e.envelope, entry.body)),
        );
      }
    } catch (e) {
      for (const s of staged) await this.#ops.remove(this.#path("tmp", s.tmp)).catch(() => {});
      throw e;
    }
    return staged;
  }

  #push(keys: string[]): void {
    this.#moves++;
    for (const key of keys) {
      this.#queued.push(key);
      this.#pushedWhileLoading?.add(key);
    }
  }

  /** Puts a key back at the front of the queue. */
  #unshift(key: string): void {
    this.#moves++;
    this.#queued.unshift(key);
    this.#pushedWhileLoading?.add(key);
  }

  #newKey(ms: number, id: string): string {
    this.#seq = (this.#seq + 1) % 10000;
    return `${String(ms).padStart(13, "0")}-${String(this.#seq).padStart(4, "0")}-${id}`;
  }

  /**
   * Takes the next queued entry for upload (queued → processing). Entries that can't be read
   * go to quarantine and the next one is taken. Null when nothing is queued.
   */
  async claim(): Promise<Claimed | null> {
    while (true) {
      const c = await this.#claimKnown();
      if (c) return c;
      if (this.#loadError) {
        const e = this.#loadError;
        this.#loadError = null;
        throw new Error(`reading ${path.join(this.dir, "queued")} failed: ${e.message}`);
      }
      if (!this.#loading) return null;
      await new Promise<void>((r) => this.#waiters.push(r)); // the next batch of the listing
    }
  }

  async #claimKnown(): Promise<Claimed | null> {
    let key: string | undefined;
    while ((key = this.#queued.shift()) !== undefined) {
      this.#moves++;
      const file = this.#path("processing", key + ".json");
      this.#missing.delete(key);
      // Counted in flight from now: while the rename runs it is neither queued nor processing,
      // and a flush polling the counts would take that for an empty queue.
      this.#processing.add(key);
      try {
        if (!await this.#move(key, "queued", "processing")) {
          this.#processing.delete(key);
          this.#cache.take(key);
          continue; // taken out by a person
        }
      } catch (e) {
        this.#processing.delete(key);
        this.#unshift(key); // put it back: the error is the disk's
        throw e;
      }
      const cached = this.#cache.take(key);
      if (cached) {
        const attempts = this.#attempts.get(key) ?? 0;
        return { key, ...cached, file, bodyOffset: envelopeLine(cached.envelope).length, attempts };
      }
      try {
        const { envelope, bodyOffset, whole } = await readEnvelope(file);
        return { key, envelope, file, bodyOffset, attempts: this.#attempts.get(key) ?? 0, whole };
      } catch (e) {
        if (!(e instanceof CorruptEntryError)) throw e;
        await this.#quarantineFrom("processing", key, e.message);
      }
    }
    return null;
  }

  /** Reads and checks a claimed entry's body. A corrupt entry is quarantined and null returned. */
  async readBody(c: Claimed): Promise<Uint8Array | null> {
    if (c.body) return c.body;
    try {
      return decodeEntry(c.whole ?? await Deno.readFile(c.file)).body;
    } catch (e) {
      if (!(e instanceof CorruptEntryError)) throw e;
      await this.#quarantineFrom("processing", c.key, e.message);
      return null;
    }
  }

  async #quarantineFrom(state: State, key: string, reason: string): Promise<void> {
    const name = key + ".json";
    await this.#writePrivate(
      this.#path("quarantine", key + REASON_SUFFIX),
      `${new Date().toISOString()} ${redact(reason)}\n`,
    );
    // The sidecar of an entry that failed before goes with it: its history is the person's
    // clue, and left in error/ it would describe an entry that is not there.
    try {
      await this.#ops.rename(
        this.#path("error", key + ERROR_SUFFIX),
        this.#path("quarantine", key + ERROR_SUFFIX),
      );
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await this.#ops.rename(this.#path(state, name), this.#path("quarantine", name));
    await this.#syncer.sync(path.join(this.dir, "quarantine"));
    if (state === "processing") this.#processing.delete(key);
    this.#attempts.delete(key);
    this.#quarantine++;
    this.#opts.onQuarantine?.(key, reason);
  }

  /** The upload was acknowledged: processing → completed. */
  async complete(key: string): Promise<void> {
    const moved = await this.#move(key, "processing", "completed");
    this.#processing.delete(key);
    if (this.#attempts.delete(key)) await this.#ops.remove(this.#path("error", key + ERROR_SUFFIX));
    if (!moved) return; // on the server; only its record in completed/ is missing
    this.#completed.push(key);
    // The report is on the server: the next upload needn't wait for this folder's fsync. It
    // still happens (shared by concurrent completions); if a power cut beats it, the entry comes
    // back as in flight and is sent again under the same id (an upsert).
    this.#syncer.sync(path.join(this.dir, "completed")).catch((e) =>
      this.#opts.onSyncError?.(e as Error)
    );
    if (this.#completed.length > (this.#opts.keepCompletedCount ?? 1000) + 64) {
      await this.pruneCompleted();
    }
  }

  /** The upload failed: processing → error, with `info` written durably beside it first. */
  async fail(key: string, info: Omit<ErrorInfo, "attempts" | "failedAt">): Promise<ErrorInfo> {
    const full: ErrorInfo = {
      ...info,
      attempts: (this.#attempts.get(key) ?? 0) + 1,
      failedAt: new Date().toISOString(),
    };
    await this.#writeErrorInfo(key, full);
    const moved = await this.#move(key, "processing", "error");
    // Memory follows the disk at once: a failed fsync below must not leave it in processing.
    this.#processing.delete(key);
    this.#attempts.delete(key);
    if (!moved) {
      await this.#ops.remove(this.#path("error", key + ERROR_SUFFIX)); // it describes nothing
      return full;
    }
    this.#errors.set(key, retryTime(full));
    this.#noteError(key, full);
    await this.#syncer.sync(path.join(this.dir, "error"));
    return full;
  }

  /** Puts an in-flight entry back at the front of the queue (shutdown, or a paused uploader). */
  async release(key: string): Promise<void> {
    if (!this.#processing.has(key)) return; // it had moved on: its outcome was recorded
    const moved = await this.#move(key, "processing", "queued");
    this.#processing.delete(key);
    if (moved) this.#unshift(key);
    else this.#attempts.delete(key);
  }

  /**
   * Moves an entry between state folders. False when its file is gone (a person removed it;
   * said through `onRemoved` unless it was queued).
   */
  async #move(key: string, from: State, to: State): Promise<boolean> {
    try {
      await this.#renameInto(this.#path(from, key + ".json"), this.#path(to, key + ".json"));
      return true;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      if (await pathExists(this.#path(from, key + ".json"))) throw e; // not gone: a real error
      // From queued/ that is said by the counts (see recount), not by a line per entry.
      if (from !== "queued") this.#opts.onRemoved?.(key, from);
      return false;
    }
  }

  /** Writes a new file in tmp/, making tmp/ again if a person removed it. */
  #writeTmp(file: string, chunks: Uint8Array[]): Promise<void> {
    return this.#inFolder(path.dirname(file), () => this.#ops.writeNew(file, chunks));
  }

  /**
   * Renames a file into a state folder, making the folder again if a person removed it: a
   * missing destination must not pass for a missing entry (the report would be forgotten), nor
   * stop the queue until a restart. NotFound: the file itself is gone.
   */
  #renameInto(src: string, dst: string): Promise<void> {
    return this.#inFolder(path.dirname(dst), () => this.#ops.rename(src, dst), src);
  }

  /**
   * Runs `op`, which puts a file in `folder`; when it fails with NotFound because a person
   * removed the folder (not the queue, nor `src`, the file being moved), makes the folder again
   * (private, its name fsynced before anything goes in) and runs `op` once more.
   */
  async #inFolder(folder: string, op: () => Promise<void>, src?: string): Promise<void> {
    try {
      await op();
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      if (src !== undefined && !await pathExists(src)) throw e;
      if (!await pathExists(this.dir)) throw e; // the whole queue is gone: not ours to rebuild
      await makePrivateDir(folder);
      await this.#ops.syncDir(this.dir);
      await op();
    }
  }

  /**
   * Moves error entries whose retry time has come back to queued, earliest first, at most
   * `max` of them (the retry budget). Returns how many moved.
   */
  async requeueDue(now = Date.now(), max = Infinity): Promise<number> {
    const due = [...this.#errors].filter(([, at]) => at !== null && at <= now)
      .sort((a, b) => a[1]! - b[1]!).slice(0, max);
    let n = 0;
    for (const [key] of due) if (await this.#requeue(key, true)) n++;
    return n;
  }

  /** How many error entries are due for a retry now. */
  dueCount(now = Date.now()): number {
    let n = 0;
    for (const at of this.#errors.values()) if (at !== null && at <= now) n++;
    return n;
  }

  /** The error entries that will retry by themselves: key → retry time (ms). */
  retrying(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, t] of this.#errors) if (t !== null) out.set(k, t);
    return out;
  }

  /**
   * A person asked: error entries back to queued now (all of them, or those with the given keys
   * or report ids). Their attempt history is cleared. Returns how many moved.
   */
  async requeueErrors(which?: (key: string) => boolean): Promise<number> {
    let n = 0;
    for (const key of [...this.#errors.keys()]) {
      if (which && !which(key)) continue;
      if (await this.#requeue(key, false)) n++;
    }
    return n;
  }

  /** Retrying error entries become due now (a flush ignores backoff). */
  expediteRetries(): void {
    for (const [k, t] of this.#errors) if (t !== null) this.#errors.set(k, 0);
  }

  /** Error → queued. False when a person removed the entry (then it is forgotten). */
  async #requeue(key: string, keepHistory: boolean): Promise<boolean> {
    if (!await this.#move(key, "error", "queued")) {
      await this.#ops.remove(this.#path("error", key + ERROR_SUFFIX));
      this.#attempts.delete(key);
      this.#forgetError(key);
      return false;
    }
    await this.#syncer.sync(path.join(this.dir, "queued"));
    if (keepHistory) {
      const info = await this.#readErrorInfo(key);
      this.#attempts.set(key, info?.attempts ?? 0);
    } else {
      await this.#ops.remove(this.#path("error", key + ERROR_SUFFIX));
    }
    this.#forgetError(key);
    this.#push([key]);
    return true;
  }

  /** The key is no longer in error/ (requeued, or removed by a person). */
  #forgetError(key: string): void {
    this.#errors.delete(key);
    if (this.#recent.delete(key) && this.#errors.size > this.#recent.size) {
      this.#recentStale = true;
    }
  }

  /** Keeps an error entry among the newest ones status lists. */
  #noteError(key: string, info: ErrorInfo): void {
    this.#recent.set(key, redactDeep({ key, ...info }));
    if (this.#recent.size <= RECENT_ERRORS) return;
    let oldest: string | null = null;
    for (const k of this.#recent.keys()) if (oldest === null || k < oldest) oldest = k;
    this.#recent.delete(oldest!);
  }

  /**
   * The newest `max` (at most {@link RECENT_ERRORS}) entries in error with their sidecars,
   * newest first, from memory (read from error/ only after a listed one left it).
   */
  async recentErrors(max = RECENT_ERRORS): Promise<ErrorEntry[]> {
    if (this.#recentStale) {
      this.#recentStale = false;
      const unlisted = [...this.#errors.keys()].filter((k) => !this.#recent.has(k)).sort()
        .reverse().slice(0, RECENT_ERRORS - this.#recent.size);
      for (const key of unlisted) {
        const info = await this.#readErrorInfo(key);
        if (info && this.#errors.has(key)) this.#noteError(key, info);
      }
    }
    return [...this.#recent.values()].sort((a, b) => b.key.localeCompare(a.key)).slice(0, max);
  }

  async #writeErrorInfo(key: string, info: ErrorInfo): Promise<void> {
    await this.#writePrivate(
      this.#path("error", key + ERROR_SUFFIX),
      JSON.stringify(redactDeep(info), null, 2) + "\n",
    );
  }

  /** Writes a private file: in tmp/ (a private folder) first, then renamed to `dest`. */
  async #writePrivate(dest: string, text: string): Promise<void> {
    const tmp = this.#path("tmp", path.basename(dest));
    await this.#ops.remove(tmp);
    await this.#writeTmp(tmp, [new TextEncoder().encode(text)]);
    await makePrivate(tmp);
    await this.#renameInto(tmp, dest);
  }

  async #readErrorInfo(key: string): Promise<ErrorInfo | null> {
    return await readErrorInfo(this.dir, key);
  }

  /** Deletes completed entries beyond the configured count or age. */
  async pruneCompleted(now = Date.now()): Promise<number> {
    const maxCount = this.#opts.keepCompletedCount ?? 1000;
    const maxAgeMs = (this.#opts.keepCompletedHours ?? 168) * 3600_000;
    let drop = Math.max(0, this.#completed.length - maxCount);
    while (drop < this.#completed.length && now - keyTime(this.#completed[drop]) > maxAgeMs) drop++;
    for (const key of this.#completed.slice(0, drop)) {
      await this.#ops.remove(this.#path("completed", key + ".json"));
    }
    this.#completed = this.#completed.slice(drop);
    return drop;
  }
}

/** Entries up to this size are written in one write call (a copy costs less than an op). */
const ONE_WRITE_BYTES = 256 * 1024;

/** The chunks joined into one when they are small, else as they are. */
function oneChunk(chunks: Uint8Array[]): Uint8Array[] {
  const size = chunks.reduce((n, c) => n + c.length, 0);
  if (chunks.length < 2 || size > ONE_WRITE_BYTES) return chunks;
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return [out];
}

/** Above this many queued, {@link Queue.recount} does nothing (see there). */
export const RECOUNT_MAX = 200_000;

/** Whether a queued/ listing entry is a queue entry: a regular file named `<key>.json`. */
function isEntry(e: Deno.DirEntry): boolean {
  return e.isFile && e.name.endsWith(".json");
}
