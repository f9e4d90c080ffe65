/**
 * Intake: takes complete files from the drop folders and owns each file's way to the queue, one
 * transaction read top to bottom in {@link Intake#process}:
 *
 * 1. take: read the version of the file the stability gate approved (on this thread, async);
 * 2. identify: hash the source bytes; a file already queued is a duplicate, skipped unconverted;
 * 3. convert: the bytes go to the converter pool (a sandbox: bytes in, report bodies out);
 * 4. commit: the queue writes the entries durably (group commit of the folder fsync); a file of
 *    many reports is committed a batch at a time while it converts (back-pressure: the worker
 *    goes on once the batch is queued), so memory stays bounded however many it holds;
 * 5. post-action: only then (every report of the file queued) delete, move or keep the source.
 *
 * A file that can't be converted goes to the Error folder with a reason beside it.
 *
 * Long because: the transaction is read top to bottom here, and each step's way out (a
 * duplicate, a file changed since it was read, a failed commit given back, a poison file
 * held, an Error-folder move refused) changes the same per-file state (the sources' claims,
 * held files, the poison breaker, recent failures, metrics); the pieces that stand alone are
 * already beside it (source, post_action, pinned_folder, held_files, poison, folder_claim).
 *
 * @module
 */
import path from "#path";
import { createHash } from "#crypto";
import type { Config, Converter as ConverterConfig } from "../config/load.ts";
import type { ConverterPool } from "../convert/pool.ts";
import type { ConvertedReport, ConvertOutcome } from "../convert/conversion.ts";
import type { Queue } from "../queue/queue.ts";
import type { KeyedLog } from "./keyed_log.ts";
import type { Limits } from "./intake_limits.ts";
import type { Metrics } from "../metrics/registry.ts";
import { logger } from "../log/log.ts";
import { FolderSource } from "./source.ts";
import type { ReadyFile, SourceStatus } from "./source_types.ts";
import {
  FileBusy,
  FolderRefused,
  moveNoOverwrite,
  moveToError,
  NotDurable,
  removeSource,
} from "./post_action.ts";
import { PinnedFolders } from "./pinned_folder.ts";
import { type Held, HeldFiles } from "./held_files.ts";
import { PoisonBreaker } from "./poison.ts";
import { FolderClaims } from "./folder_claim.ts";
import {
  hungReads,
  identityChange,
  identityOf,
  lookAt,
  readApproved,
  tooLarge,
} from "./source_file.ts";
import { OutsideWatch } from "./watch_root.ts";

/** Runs a post-action on a source file where it is: through its held watch folder (watch_root.ts). */
function atSource<T>(file: ReadyFile, op: (at: string) => Promise<T>): Promise<T> {
  return file.where.root.use(file.where.rel, op);
}

/** What intake works with. */
export interface IntakeDeps {
  queue: Queue;
  pool: ConverterPool;
  limits: Limits;
  /** Content hash → report ids, for re-dropped identical files. */
  seen: KeyedLog;
  /** Kept source files: path → size:mtime. */
  kept: KeyedLog;
  metrics: Metrics;
  /** Called after reports were committed (wakes the uploader). */
  onQueued?: () => void;
}

/** A recent failure, for status. */
export interface IntakeFailure {
  at: string;
  converter: string;
  file: string;
  movedTo: string | null;
  reason: string;
  correlationId: string;
}

/** Per converter numbers. */
export interface ConverterStatus extends SourceStatus {
  format: string;
  converted: number;
  failed: number;
  reports: number;
}

const log = logger("intake");
/** Bytes of source files being converted at once (one larger file is still taken alone). */
const MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
/** Report ids of a file kept in its content-hash record (the first ones; then the count). */
const SEEN_IDS = 20;
/** One file's reports being committed: how many so far, and the first ids. */
interface Commit {
  file: ReadyFile;
  conf: ConverterConfig;
  sha256: string;
  queued: number;
  ids: string[];
  flog: typeof log;
}
/** Conversion failures remembered for status (and saved across restarts). */
const MAX_FAILURES = 50;

/** Counters labelled by converter (`{converter="<name>"}`). */
const CONVERTER_COUNTERS = [
  ["files_seen_total", "Source files that passed the stability gate"],
  ["files_converted_total", "Source files converted and queued"],
  ["files_failed_total", "Source files moved to the Error folder"],
  ["files_duplicate_total", "Source files skipped as identical to one already queued"],
  ["reports_queued_total", "Reports committed to the queue"],
  ["conversion_warnings_total", "Problems converters recovered from (file still converted)"],
] as const;

/** The intake stage for all configured drop folders. */
export class Intake {
  #config: Config;
  #deps: IntakeDeps;
  #sources = new Map<string, { conf: ConverterConfig; source: FolderSource }>();
  #ready: { file: ReadyFile; conf: ConverterConfig }[] = [];
  #inFlight = 0;
  #inFlightBytes = 0;
  /** Paths being taken now, and the same paths offered again meanwhile (see {@link #pump}). */
  #inFlightPaths = new Set<string>();
  #waitingPaths = new Map<string, { file: ReadyFile; conf: ConverterConfig }>();
  #maxInFlight: number;
  #idle: (() => void)[] = [];
  #ioError: string | null = null;
  /** Set while a person paused intake (POST /pause). */
  #manualPause: string | null = null;
  #ioRetry?: ReturnType<typeof setTimeout>;
  #limitTimer?: ReturnType<typeof setInterval>;
  #wasPaused = false;
  #stopped = false;
  #counts = new Map<string, { converted: number; failed: number; reports: number }>();
  #failures: IntakeFailure[] = [];
  /** Converters whose module can't be loaded: their files stay in the drop folder. */
  #broken = new Map<string, string>();
  /** Done and Error folders, pinned when their converter starts (nothing written elsewhere). */
  #pins = new PinnedFolders();
  /** Drop folders claimed against other agents (one agent takes a folder's files). */
  #claims: FolderClaims;
  /** Files whose delete or move waits (a refused folder, a file in use). */
  #held = new HeldFiles(
    () => this.#config.intake.rescanSeconds * 1000,
    () => this.#stopped,
  );
  /** The record of files being converted (null: it can't be kept; logged). */
  #poison: PoisonBreaker | null = null;
  /** Set while a suspect of the poison-file breaker converts: nothing else runs beside it. */
  #alone = false;

  /** @param config the agent config; @param deps the stages intake feeds */
  constructor(config: Config, deps: IntakeDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#claims = new FolderClaims(config.dataDir, () => this.#config.intake.rescanSeconds * 1000);
    // Many files in flight let their fsyncs overlap (group commit); the byte cap keeps a burst
    // of large station files from filling memory.
    this.#maxInFlight = 32;
    for (const [name, help] of CONVERTER_COUNTERS) deps.metrics.counter(name, help);
  }

  /** Starts watching every enabled converter's folder. */
  async start(): Promise<void> {
    // Paused from the start (a full queue, low disk): say so now, and remember it, so that the
    // end of the pause is noticed and waiting files are re-checked (poke) even if it ends soon.
    await this.#checkLimits();
    this.#poison = await PoisonBreaker.open(
      path.join(this.#config.dataDir, "index", "converting.log"),
    );
    this.#limitTimer = setInterval(() => this.#checkLimits(), 1000);
    await Promise.all(
      this.#config.converters.filter((c) => c.enabled).map((c) => this.#startSource(c)),
    );
  }

  async #startSource(conf: ConverterConfig): Promise<void> {
    await this.#pins.pinAll(
      conf.afterSuccess === "move" ? [conf.errorFolder, conf.doneFolder] : [conf.errorFolder],
    );
    const source = new FolderSource({
      name: conf.name,
      root: conf.watch,
      pattern: conf.pattern,
      recursive: conf.recursive,
      ignore: conf.ignore,
      followSymlinks: conf.followSymlinks,
      exclude: [conf.doneFolder, conf.errorFolder],
      rescanMs: this.#config.intake.rescanSeconds * 1000,
      stableMs: this.#config.intake.stableSeconds * 1000,
      emptyFileMs: this.#config.intake.emptyFileSeconds * 1000,
      maxFileBytes: () => this.#maxFileBytes(), // as the config says now (a reload changes it)
      onTooLarge: (file) => {
        const { reason, hint } = tooLarge(file.size, this.#maxFileBytes());
        this.#fail(file, conf, reason, hint, conf.format ?? "custom");
      },
      onReady: (file) => this.#enqueueReady(file, conf),
      onEmpty: (file) =>
        this.#fail(
          file,
          conf,
          "empty file: it stayed 0 bytes for " +
            `${this.#config.intake.emptyFileSeconds} s`,
          "Check that the tester writes its results; " +
            "move the file back into the drop folder when it has content.",
          "-",
        ),
      accepting: () => !this.paused() && !this.#stopped && this.#claims.holds(conf.name),
      // Kept files, and files whose delete/move (or move to Error) failed: not again until changed.
      isDone: (p, size, mtimeMs) => this.#deps.kept.get(p) === `${size}:${mtimeMs}`,
    });
    this.#sources.set(conf.name, { conf, source });
    if (!this.#counts.has(conf.name)) {
      this.#counts.set(conf.name, { converted: 0, failed: 0, reports: 0 });
    }
    // Its counters exist at 0 from its start: Prometheus sees no increase in a series that is
    // born at 1, so a converter's first failure would never alert (increase(), rate()).
    for (const [name, help] of CONVERTER_COUNTERS) {
      this.#deps.metrics.counter(name, help, { converter: conf.name });
    }
    await this.#claims.claim(conf.name, conf.watch, () => source.poke());
    await source.start();
  }

  /** Applies a new config: converters added, removed or changed start and stop. */
  async reconfigure(config: Config): Promise<void> {
    const next = new Map(config.converters.filter((c) => c.enabled).map((c) => [c.name, c]));
    this.#config = config;
    this.#broken.clear();
    for (const [name, { conf, source }] of this.#sources) {
      const n = next.get(name);
      if (!n || JSON.stringify(n) !== JSON.stringify(conf)) {
        source.stop();
        this.#sources.delete(name);
        this.#held.giveBackAll(name);
        log.info("Converter {name} stopped (config changed)", { name });
      }
    }
    for (const [name, conf] of next) {
      if (!this.#sources.has(name)) {
        await this.#startSource(conf);
        log.info("Converter {name} started, watching {folder}", { name, folder: conf.watch });
      }
    }
    this.#claims.retain(next.keys());
    this.#pins.retain([...next.values()].flatMap((c) => [c.errorFolder, c.doneFolder]));
    this.#deps.limits.maxReports = config.queue.maxReports;
    this.#deps.limits.minFreeMb = config.queue.minFreeDiskMb;
  }

  /** Why intake is paused (a disk error, a person, or the limits), or null. */
  pauseReason(): string | null {
    return this.#ioError ?? this.#manualPause ?? this.#deps.limits.state.reason;
  }

  /** Pauses intake on a person's request (`reason`), or resumes it (`null`). */
  setManualPause(reason: string | null): void {
    this.#manualPause = reason;
    if (reason === null) { for (const { source } of this.#sources.values()) source.poke(); }
  }

  /** True while intake takes no files. */
  paused(): boolean {
    return this.pauseReason() !== null;
  }

  /**
   * Every second: notices a pause and its end. Free space is asked for every 10 s unless paused
   * (each file taken asks too, at most every 200 ms), so an idle agent seldom touches the disk.
   */
  async #checkLimits(): Promise<void> {
    const state = await this.#deps.limits.check(false, this.paused() ? 1000 : 10_000);
    const paused = this.paused();
    if (paused && !this.#wasPaused) {
      // A person's pause is logged (as a warning) by whoever paused; limits need a person: error.
      const msg = "Intake paused: {reason}. Source files stay in their drop folders.";
      if (this.#manualPause) log.debug(msg, { reason: this.pauseReason() });
      else log.error(msg, { reason: this.pauseReason() });
    } else if (!paused && this.#wasPaused) {
      log.info("Intake resumed ({free} MB free)", { free: state.freeMb?.toFixed(0) ?? "?" });
      for (const { source } of this.#sources.values()) source.poke();
    }
    this.#wasPaused = paused;
  }

  /** Status per converter. */
  status(): ConverterStatus[] {
    return [...this.#sources.values()].map(({ conf, source }) => ({
      ...source.status(),
      format: conf.module ? `custom (${path.basename(conf.module)})` : conf.format ?? "",
      ...(this.#counts.get(conf.name) ?? { converted: 0, failed: 0, reports: 0 }),
    }));
  }

  /** Converters that can't be loaded, with the reason. */
  converterProblems(): string[] {
    return [...this.#broken].map(([name, why]) => `converter ${name} can't be loaded: ${why}`);
  }

  /**
   * Done or Error folders refused (a link where a folder should be), files in use for long,
   * drop folders another agent holds; watch folders refused (they lead elsewhere now),
   * subfolders a scan can't read, names that can't be opened, reads that hang.
   */
  postActionProblems(): string[] {
    return [
      ...this.#held.problems(),
      ...this.#claims.problems(),
      ...[...this.#sources.values()].flatMap(({ source }) => source.problems()),
      ...hungReads(),
    ];
  }

  /** The most recent failures, newest first. */
  recentFailures(): IntakeFailure[] {
    return [...this.#failures].reverse();
  }

  /** Takes over the failures an earlier run saved (oldest first), so status still lists them. */
  restoreFailures(failures: readonly IntakeFailure[]): void {
    this.#failures = [...failures, ...this.#failures].slice(-MAX_FAILURES);
  }

  /** Stops taking files and waits for files in flight to be committed or put back. */
  async stop(): Promise<void> {
    this.#stopped = true;
    // A clean stop: files converting now are not to blame if the exit cuts them short.
    const stopMark = this.#poison?.stopping();
    clearInterval(this.#limitTimer);
    clearTimeout(this.#ioRetry);
    for (const { source } of this.#sources.values()) source.stop();
    this.#ready = [];
    if (this.#inFlight > 0) await new Promise<void>((r) => this.#idle.push(r));
    await stopMark;
    this.#claims.releaseAll(); // only now: another agent must not take a file still in flight
    await this.#poison?.close();
  }

  /** Resolves when no file is being processed and none is waiting (for tests and flush). */
  idle(): Promise<void> {
    if (this.#inFlight === 0 && this.#ready.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  #enqueueReady(file: ReadyFile, conf: ConverterConfig): void {
    this.#deps.metrics.inc("files_seen_total", { converter: conf.name });
    this.#ready.push({ file, conf });
    this.#pump();
  }

  #pump(): void {
    while (
      !this.#stopped && !this.#alone && this.#inFlight < this.#maxInFlight &&
      this.#ready.length > 0
    ) {
      if (this.#inFlightPaths.has(this.#ready[0].file.path)) {
        // A converter restarted by a reload offers a file its old self is still taking: it
        // waits, and is looked at again once that one is done (gone, kept, or changed).
        const waiting = this.#ready.shift()!;
        this.#waitingPaths.set(waiting.file.path, waiting);
        continue;
      }
      const size = this.#ready[0].file.size;
      if (this.#inFlight > 0 && this.#inFlightBytes + size > MAX_IN_FLIGHT_BYTES) break;
      // A file that was converting when the agent died converts alone: if the agent dies
      // again, the record names this file and no other.
      const suspect = this.#poison?.suspect(this.#ready[0].file) ?? false;
      if (suspect && this.#inFlight > 0) break;
      const { file, conf } = this.#ready.shift()!;
      this.#alone = suspect;
      this.#inFlight++;
      this.#inFlightBytes += size;
      this.#inFlightPaths.add(file.path);
      this.#process(file, conf).catch((e) => {
        log.with({ correlationId: file.correlationId }).error(
          "Unexpected error while taking {file}: {error}; the file stays and is tried again",
          { file: file.path, error: (e as Error).stack ?? String(e) },
        );
        this.#release(file, conf);
      }).finally(async () => {
        if (suspect) {
          await this.#poison?.settle(file);
          this.#alone = false;
        }
        this.#inFlight--;
        this.#inFlightBytes -= size;
        this.#inFlightPaths.delete(file.path);
        const waiting = this.#waitingPaths.get(file.path);
        if (waiting) {
          this.#waitingPaths.delete(file.path);
          this.#releaseToLookAgain(waiting.file, waiting.conf);
        }
        this.#pump();
        if (this.#inFlight === 0 && this.#ready.length === 0) {
          for (const r of this.#idle.splice(0)) r();
        }
      });
    }
  }

  #release(file: ReadyFile, conf: ConverterConfig): void {
    this.#sources.get(conf.name)?.source.release(file.path);
    // Its own watch folder (after a restart of the converter, not the new source's).
    file.where.root.handedBack(file.path);
  }

  async #process(file: ReadyFile, conf: ConverterConfig): Promise<void> {
    const flog = log.with({ correlationId: file.correlationId, converter: conf.name });
    const poison = this.#poison;
    if (poison?.condemned(file)) {
      return this.#fail(
        file,
        conf,
        `the agent stopped while converting this file ${poison.deaths(file)} times (it ` +
          "was killed: out of memory, or a converter that ends the process); it is not " +
          "converted again",
        "Check the file: it may unpack to far more than its size, or be malformed in a way " +
          "that crashes the converter. Other files were converted meanwhile. To try it again " +
          "(fixed, or with more memory), move it back into the drop folder.",
        conf.format ?? "custom",
      );
    }
    await this.#deps.limits.check();
    if (this.paused()) return this.#release(file, conf);

    // 1. Take: read exactly the version the gate approved (async: never block this thread).
    const read = await this.#read(file, conf, flog);
    if (!read) return;

    // 2. Identify: a file already queued costs a read and a hash, not a conversion.
    const sha256 = createHash("sha256").update(read).digest("hex");
    const previous = this.#deps.seen.get(sha256);
    if (previous && this.#config.queue.duplicates === "skip") {
      this.#deps.metrics.inc("files_duplicate_total", { converter: conf.name });
      flog.warn(
        "{file} is identical to a file already queued ({previous}); skipped " +
          '(set queue.duplicates to "send" to upload such files again)',
        { file: file.path, previous },
      );
      if (await this.#changedSinceRead(file, conf, flog)) return;
      return await this.#afterSuccess(file, conf, flog);
    }

    // 3. Convert in the sandbox: the bytes go to a worker once, the report bodies come back,
    // 4. committed durably as they come: a file of many reports is handed on in batches, each
    // queued (group commit) before the worker goes on, so neither thread holds them all. The
    // post-action waits for the last one; a crash before it leaves the file in the drop folder,
    // converted and queued again at the restart (the reports queued before then are queued a
    // second time under the same ids, which the server upserts).
    // The poison-file record covers the conversion (written down before, crossed off after).
    const commit: Commit = { file, conf, sha256, queued: 0, ids: [], flog };
    let sinkError: Error | null = null;
    await poison?.begin(file);
    let outcome: ConvertOutcome;
    try {
      outcome = await this.#deps.pool.convert({
        converter: conf.name,
        format: conf.module ? undefined : conf.format,
        module: conf.module,
        bytes: read,
        sha256,
        name: path.basename(file.path),
        path: file.path,
        station: this.#config.station,
        params: conf.params,
      }, {
        onBatch: async (reports) => {
          try {
            await this.#commit(commit, reports, 0);
          } catch (e) {
            sinkError = e as Error;
            throw e;
          }
        },
      });
    } finally {
      poison?.end(file);
    }
    if (sinkError !== null) {
      const e: Error = sinkError;
      this.#onIoError(e.message, (e as { code?: string }).code, file);
      return this.#release(file, conf);
    }
    if (!outcome.ok) return this.#notConverted(file, conf, outcome, flog, commit.queued);
    this.#broken.delete(conf.name);
    if (this.#stopped && outcome.reports.length > 0) {
      // Converted after stop was asked: still commit, so the work is not lost.
      flog.debug("Committing {file} while stopping", { file: file.path });
    }
    try {
      await this.#commit(commit, outcome.reports, commit.queued + outcome.reports.length);
    } catch (e) {
      this.#onIoError((e as Error).message, (e as { code?: string }).code, file);
      return this.#release(file, conf);
    }
    const n = commit.queued;
    const ids = commit.ids.join(",") + (n > commit.ids.length ? `,… (${n} reports)` : "");
    await this.#deps.seen.set(
      sha256,
      `${new Date().toISOString()} ${path.basename(file.path)} ${ids}`,
    );
    this.#converted(file, conf, outcome, n, flog);

    // 5. The post-action, unless the file changed since it was read (then it is taken again).
    if (await this.#changedSinceRead(file, conf, flog)) return;
    await this.#afterSuccess(file, conf, flog);
  }

  /**
   * Commits reports of a file durably (acknowledged only once every one survives a power cut),
   * numbered on from those committed before. `units`: their number in all, or 0 while the file
   * is still being converted (a batch: the total is not known yet).
   */
  async #commit(c: Commit, reports: ConvertedReport[], units: number): Promise<void> {
    if (reports.length === 0) return;
    const firstSeen = c.file.firstSeen.toISOString();
    await this.#deps.queue.enqueue(reports.map((r, i) => ({
      id: r.id,
      correlationId: c.file.correlationId,
      source: c.file.path,
      converter: c.conf.name,
      sourceSha256: c.sha256,
      unit: c.queued + i,
      units,
      firstSeen,
      sn: r.sn,
      pn: r.pn,
      result: r.result,
      body: r.body,
    })));
    c.queued += reports.length;
    for (const r of reports) {
      if (c.ids.length < SEEN_IDS) c.ids.push(r.id);
      c.flog.info("Queued report {id} (sn {sn}, pn {pn}, result {result}) from {file}", {
        id: r.id,
        sn: r.sn,
        pn: r.pn,
        result: r.result,
        file: c.file.path,
      });
    }
    this.#deps.onQueued?.();
  }

  /**
   * Reads the approved version of the file, at most `intake.maxFileMb` (+1 byte to see growth).
   * Null when it was not read; then the file is released, looked at again or failed here.
   */
  async #read(
    file: ReadyFile,
    conf: ConverterConfig,
    flog: typeof log,
  ): Promise<Uint8Array | null> {
    try {
      const read = await readApproved(file.path, file, this.#maxFileBytes());
      if (read.ok) return read.bytes;
      if (read.kind === "too-large") {
        await this.#fail(file, conf, read.message, read.hint, conf.format ?? "custom");
      } else {
        flog.warn("{reason}. If this happens often, raise intake.stableSeconds.", {
          reason: read.message,
        });
        this.#releaseToLookAgain(file, conf);
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        flog.debug("{file} disappeared before it was read", { file: file.path });
      } else {
        flog.warn("Can't read {file} ({error}); trying again later", {
          file: file.path,
          error: (e as Error).message,
        });
      }
      this.#release(file, conf);
    }
    return null;
  }

  /** A conversion that failed: the file's fault (to Error), or not (kept, tried again). */
  async #notConverted(
    file: ReadyFile,
    conf: ConverterConfig,
    outcome: Extract<ConvertOutcome, { ok: false }>,
    flog: typeof log,
    queued = 0,
  ): Promise<void> {
    if (outcome.kind === "load") {
      // Not the file's fault: keep it, say what is wrong with the converter, try again later.
      if (this.#broken.get(conf.name) !== outcome.message) {
        flog.error(
          "Converter {name} can't be loaded: {message}. {hint} Its files stay in {folder}.",
          { name: conf.name, message: outcome.message, hint: outcome.hint, folder: conf.watch },
        );
      }
      this.#broken.set(conf.name, outcome.message);
      return this.#release(file, conf);
    }
    this.#broken.delete(conf.name);
    const before = queued === 0 ? "" : ` (${queued} of its reports were queued before this; ` +
      "they stay queued and are uploaded)";
    if (outcome.kind === "unavailable" || outcome.kind === "read") {
      flog.warn("{file} not converted now: {reason}{before}", {
        file: file.path,
        reason: outcome.message,
        before,
      });
      return this.#release(file, conf);
    }
    const hint = queued === 0 ? outcome.hint : `${outcome.hint} The first ${queued} reports of ` +
      "this file were queued before the failure and are uploaded; the file dropped again " +
      "queues all of its reports again (the same ones under the same ids if its bytes are the " +
      "same; under new ids if it was changed).";
    await this.#fail(file, conf, outcome.message + before, hint, conf.format ?? "custom");
  }

  /** Counts and logs a file whose reports are queued. */
  #converted(
    file: ReadyFile,
    conf: ConverterConfig,
    outcome: Extract<ConvertOutcome, { ok: true }>,
    n: number,
    flog: typeof log,
  ): void {
    // The same file converted now (fixed and dropped again): its failure is dealt with.
    if (this.#failures.some((f) => f.file === file.path)) {
      this.#failures = this.#failures.filter((f) => f.file !== file.path);
    }
    const c = this.#counts.get(conf.name)!;
    c.converted++;
    c.reports += n;
    this.#deps.metrics.inc("files_converted_total", { converter: conf.name });
    this.#deps.metrics.inc("reports_queued_total", { converter: conf.name }, n);
    if (outcome.warningCount) {
      this.#deps.metrics.inc(
        "conversion_warnings_total",
        { converter: conf.name },
        outcome.warningCount,
      );
      flog.warn("{file} converted with {count} warning(s) ({format}): {warnings}", {
        file: file.path,
        count: outcome.warningCount,
        format: outcome.format,
        warnings: (outcome.warnings ?? []).join("; ") +
          (outcome.warningCount > (outcome.warnings?.length ?? 0) ? "; …" : ""),
      });
    }
    if (n === 0) {
      flog.warn("{file} holds no reports ({format}); nothing to upload", {
        file: file.path,
        format: outcome.format,
      });
    }
  }

  /** Bytes a source file may have (`intake.maxFileMb`). */
  #maxFileBytes(): number {
    return this.#config.intake.maxFileMb * 1024 * 1024;
  }

  /**
   * Whether the path no longer names the version that was read (a tester reusing one name
   * rewrote it during the conversion): then the post-action must not touch it, since it would
   * delete or move, or mark as kept, a report that was never read. It is left in place and
   * taken again; the reports of the version read are queued.
   */
  async #changedSinceRead(
    file: ReadyFile,
    conf: ConverterConfig,
    flog: typeof log,
  ): Promise<boolean> {
    let change: string;
    try {
      const st = await lookAt(file.path, conf.followSymlinks, file.where);
      change = st.isFile ? identityChange(file, identityOf(st)) : "it is not a regular file now";
    } catch (e) {
      if (e instanceof OutsideWatch) change = e.problem;
      else if (!(e instanceof Deno.errors.NotFound)) throw e;
      else return false; // gone: the post-action has nothing to touch (and says nothing)
    }
    if (!change) return false;
    flog.warn(
      "{file} changed while it was converted ({change}): the reports of the version read are " +
        "queued; the file is left in place and taken again",
      { file: file.path, change },
    );
    this.#releaseToLookAgain(file, conf);
    return true;
  }

  /** Puts a file back and has its folder look at it again now (it changed while taken). */
  #releaseToLookAgain(file: ReadyFile, conf: ConverterConfig): void {
    this.#release(file, conf);
    this.#sources.get(conf.name)?.source.lookAgain(file.path);
  }

  async #afterSuccess(file: ReadyFile, conf: ConverterConfig, flog: typeof log): Promise<void> {
    try {
      if (conf.afterSuccess === "delete") {
        await atSource(file, (at) => removeSource(at));
      } else if (conf.afterSuccess === "move") {
        const done = await this.#pins.get(conf.doneFolder);
        const to = await atSource(file, (at) => moveNoOverwrite(at, done, file.rel));
        flog.debug("Moved {file} to {to}", { file: file.path, to });
      } else {
        await this.#keep(file, flog);
      }
    } catch (e) {
      if (e instanceof FolderRefused || e instanceof FileBusy) {
        const retry = () => this.#afterSuccess(file, conf, flog);
        return this.#hold(file, conf, conf.afterSuccess === "move" ? "Done" : "delete", e, retry);
      }
      if (e instanceof NotDurable) {
        flog.warn(
          "{file} was {done}, but {error}: after a power cut it may be back in its drop folder " +
            "(then it is taken again, as a duplicate). Check the disk.",
          { file: file.path, done: e.to ? `moved to ${e.to}` : "deleted", error: e.message },
        );
      } else if (!(e instanceof Deno.errors.NotFound)) {
        // The reports are safe in the queue; the file stays, and re-taking it is a no-op.
        flog.error(
          "Reports from {file} are queued, but {action} failed: {error}. Remove the file by hand.",
          {
            file: file.path,
            action: conf.afterSuccess,
            error: (e as Error).message,
          },
        );
        if (conf.afterSuccess !== "keep") await this.#keep(file, flog);
      }
    }
    this.#held.drop(file.path);
    this.#release(file, conf);
  }

  async #fail(
    file: ReadyFile,
    conf: ConverterConfig,
    reason: string,
    hint: string,
    format: string,
  ): Promise<void> {
    const c = this.#counts.get(conf.name);
    if (c) c.failed++;
    this.#deps.metrics.inc("files_failed_total", { converter: conf.name });
    const failure: IntakeFailure = {
      at: new Date().toISOString(),
      converter: conf.name,
      file: file.path,
      movedTo: null,
      reason,
      correlationId: file.correlationId,
    };
    this.#failures.push(failure);
    if (this.#failures.length > MAX_FAILURES) this.#failures.shift();
    await this.#moveFailed(file, conf, failure, hint, format);
  }

  /** Moves a failed file into Error (tried again while the folder is refused or it is busy). */
  async #moveFailed(
    file: ReadyFile,
    conf: ConverterConfig,
    failure: IntakeFailure,
    hint: string,
    format: string,
  ): Promise<void> {
    const flog = log.with({ correlationId: file.correlationId, converter: conf.name });
    const { reason } = failure;
    try {
      const errorDir = await this.#pins.get(conf.errorFolder);
      const r = await atSource(file, (at) =>
        moveToError(at, errorDir, file.rel, {
          reason,
          hint,
          converter: conf.name,
          format,
          correlationId: file.correlationId,
          source: file.path,
        }));
      failure.movedTo = r.moved;
      flog.error("{file} can't be converted: {reason}. Moved to {to} (why: {note})", {
        file: file.path,
        reason,
        to: r.moved,
        note: r.note,
      });
      if (r.unsynced) {
        flog.warn(
          "{file} was moved to {to}, but {error}: after a power cut it may be back in its drop " +
            "folder (then it is taken again). Check the disk.",
          { file: file.path, to: r.moved, error: r.unsynced },
        );
      }
    } catch (e) {
      if (e instanceof FolderRefused || e instanceof FileBusy) {
        const retry = () => this.#moveFailed(file, conf, failure, hint, format);
        return this.#hold(file, conf, "Error", e, retry, reason);
      }
      if (e instanceof Deno.errors.NotFound) {
        flog.error("{file} can't be converted: {reason}. It was gone before it could be moved.", {
          file: file.path,
          reason,
        });
      } else {
        flog.error(
          "{file} can't be converted: {reason}. Moving it to {dir} failed too ({error}); " +
            "it stays where it is and is not taken again until it changes.",
          { file: file.path, reason, dir: conf.errorFolder, error: (e as Error).message },
        );
        await this.#keep(file, flog);
      }
    }
    this.#held.drop(file.path);
    this.#release(file, conf);
  }

  /**
   * Keeps the file taken (not converted again) and retries its post-action later: the folder
   * was refused, or another program has the file open. Said loudly once per reason.
   */
  #hold(
    file: ReadyFile,
    conf: ConverterConfig,
    kind: Held["kind"],
    why: FolderRefused | FileBusy,
    retry: () => Promise<void>,
    failedBecause?: string,
  ): void {
    const flog = log.with({ correlationId: file.correlationId, converter: conf.name });
    const news = this.#held.hold({
      converter: conf.name,
      file: file.path,
      size: file.size,
      mtimeMs: file.mtimeMs,
      kind,
      why,
      // A converter restarted meanwhile (config changed) takes the file anew itself.
      retry: () =>
        this.#sources.get(conf.name)?.conf === conf ? retry() : this.#giveBack(file, conf),
      giveBack: () => this.#release(file, conf),
    });
    const what = failedBecause === undefined
      ? "Reports from {file} are queued, but"
      : "{file} can't be converted: {reason}.";
    const every = this.#config.intake.rescanSeconds;
    const props = { file: file.path, reason: failedBecause, every };
    if (why instanceof FolderRefused) {
      const msg = `${what} the ${kind} folder {folder} was refused: {problem}. The file stays ` +
        "in the drop folder; it is moved once the folder is a plain folder again (checked " +
        "every {every} s).";
      const p = { ...props, folder: why.folder, problem: why.problem };
      if (news) flog.error(msg, p);
      else flog.debug(msg, p);
    } else {
      const msg = `${what} {error}; nothing was changed, trying again every {every} s.`;
      if (news) flog.warn(msg, { ...props, error: why.message });
      else flog.debug(msg, { ...props, error: why.message });
    }
  }

  #giveBack(file: ReadyFile, conf: ConverterConfig): Promise<void> {
    this.#held.drop(file.path);
    this.#release(file, conf);
    return Promise.resolve();
  }

  /** Records a kept file (not taken again until it changes). */
  async #keep(file: ReadyFile, flog: typeof log): Promise<void> {
    try {
      await this.#deps.kept.set(file.path, `${file.size}:${file.mtimeMs}`);
    } catch (e) {
      flog.error(
        "Can't record {file} as done ({error}); it may be taken again after a restart",
        { file: file.path, error: (e as Error).message },
      );
    }
  }

  #onIoError(message: string, code: string | undefined, file: ReadyFile): void {
    const disk = code === "ENOSPC" || /No space left/i.test(message);
    // A full disk usually clears soon (uploads free space); other I/O errors need a person.
    const retryS = disk ? 5 : 30;
    this.#ioError = disk
      ? `disk full while queueing ${file.path}: ${message}; intake paused, retrying every ${retryS} s`
      : `queue write failed (${message}); intake stopped, retrying every ${retryS} s. ` +
        `Check the disk holding ${this.#config.dataDir}`;
    log.with({ correlationId: file.correlationId }).error(
      "{reason}. {file} stays in its drop folder.",
      {
        reason: this.#ioError,
        file: file.path,
      },
    );
    clearTimeout(this.#ioRetry);
    this.#ioRetry = setTimeout(() => {
      this.#ioError = null;
      for (const { source } of this.#sources.values()) source.poke();
    }, retryS * 1000);
  }
}
