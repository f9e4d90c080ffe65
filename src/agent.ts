/**
 * The agent: wires watch → convert → queue → upload → control together, runs until a signal
 * (or an unrecoverable converter pool) stops it, and shuts down in order.
 *
 * @module
 */
import path from "#path";
import { type Config, ConfigError, configWarnings, loadConfig } from "./config/load.ts";
import { ConverterPool } from "./convert/pool.ts";
import { Queue } from "./queue/queue.ts";
import { KeyedLog } from "./watch/keyed_log.ts";
import { Limits } from "./watch/intake_limits.ts";
import { type DataDirLock, lockDataDir } from "./data_dir/lock.ts";
import { replaceDurably } from "./queue/fs_ops.ts";
import { Uploader } from "./upload/uploader.ts";
import { Intake } from "./watch/intake.ts";
import { Metrics } from "./metrics/registry.ts";
import { computeHealth, type Health } from "./control/health.ts";
import { History } from "./control/history.ts";
import { type ControlServer, startControlServer } from "./control/server.ts";
import {
  readSavedState,
  recentErrors,
  type ReloadStatus,
  type SavedState,
  stateFile,
  type StatusSnapshot,
} from "./control/snapshot.ts";
import { addSecrets, logger, logOptionsFor, redactDeep, setupLogging } from "./log/log.ts";
import { PRIVATE_FILE } from "./private.ts";
import { ExitCode } from "./exit_code.ts";
import { VERSION } from "./version.ts";
import { checkSandbox } from "./service/sandbox.ts";
import { applyNice } from "./service/priority.ts";

const log = logger("agent");

/** Lowers the agent to `priority.nice` (logged; a refusal is a warning, the agent runs on). */
export async function lowerPriority(nice: number): Promise<void> {
  try {
    const done = await applyNice(nice);
    if (done) log.info("Running below normal priority: {done}", { done });
  } catch (e) {
    log.warn("{error}", { error: (e as Error).message });
  }
}

/** Reads the CA file named in the config, if any. */
export async function readCaCerts(config: Config): Promise<string[] | undefined> {
  if (!config.server.caFile) return undefined;
  try {
    return [await Deno.readTextFile(config.server.caFile)];
  } catch (e) {
    throw new ConfigError(config.file, [
      `server.caFile: can't read ${config.server.caFile}: ${(e as Error).message}`,
    ]);
  }
}

/** A running agent. */
export class Agent {
  config: Config;
  readonly startedAt = new Date();
  readonly metrics: Metrics;
  /** Per-minute counts for the last hour (the status page's chart). */
  readonly history: History;
  readonly queue: Queue;
  readonly pool: ConverterPool;
  readonly uploader: Uploader;
  readonly intake: Intake;
  #control: ControlServer | null = null;
  #lock: DataDirLock;
  #timers: ReturnType<typeof setInterval>[] = [];
  #stopping: Promise<number> | null = null;
  #done!: (code: number) => void;
  /** Resolves with the exit code once the agent has stopped. */
  readonly finished: Promise<number>;
  #configWatcher: Deno.FsWatcher | null = null;
  #lastReload: ReloadStatus | null = null;
  #stopReason: string | null = null;

  private constructor(config: Config, parts: {
    queue: Queue;
    pool: ConverterPool;
    uploader: Uploader;
    intake: Intake;
    lock: DataDirLock;
    metrics: Metrics;
  }) {
    this.config = config;
    this.metrics = parts.metrics;
    this.history = new History().follow(parts.metrics);
    this.queue = parts.queue;
    this.pool = parts.pool;
    this.uploader = parts.uploader;
    this.intake = parts.intake;
    this.#lock = parts.lock;
    this.finished = new Promise((r) => this.#done = r);
  }

  /** Starts an agent on a validated config. Throws LockedError when the data dir is taken. */
  static async start(config: Config): Promise<Agent> {
    const lock = await lockDataDir(config.dataDir);
    try {
      const caCerts = await readCaCerts(config);
      let agent: Agent | null = null;
      const queue = await Queue.open(config.dataDir, {
        keepCompletedCount: config.queue.keepCompletedCount,
        keepCompletedHours: config.queue.keepCompletedHours,
        onSyncError: (e) =>
          log.error(
            "fsync of the completed folder failed: {error}. Check the disk holding {dir}.",
            {
              error: e.message,
              dir: config.dataDir,
            },
          ),
        onQuarantine: (key, reason) =>
          log.error("Queue entry {key} can't be read ({reason}); moved to quarantine", {
            key,
            reason,
          }),
      });
      const metrics = new Metrics();
      const pool = new ConverterPool({
        min: config.pool.min,
        max: config.pool.max,
        timeoutMs: config.pool.timeoutSeconds * 1000,
        memoryMb: config.pool.memoryMb,
        maxLostWorkers: config.pool.maxLostWorkers,
        onUnrecoverable: (reason) => {
          log.fatal(
            "Converter pool can't recover ({reason}). Draining and exiting with code {code} so " +
              "the service manager restarts the agent; queued reports are safe on disk.",
            { reason, code: ExitCode.RESTART },
          );
          agent?.stop(ExitCode.RESTART, `converters can't run: ${reason}`);
        },
      });
      const uploader = new Uploader(config.server, queue, metrics, caCerts);
      const limits = new Limits(
        config.dataDir,
        () => queue.backlog(),
        config.queue.maxReports,
        config.queue.minFreeDiskMb,
      );
      await limits.check(true);
      const intake = new Intake(config, {
        queue,
        pool,
        limits,
        seen: await KeyedLog.open(path.join(config.dataDir, "index", "seen.log")),
        kept: await KeyedLog.open(path.join(config.dataDir, "index", "kept.log")),
        metrics,
        onQueued: () => uploader.wake(),
      });
      agent = new Agent(config, { queue, pool, uploader, intake, lock, metrics });
      await agent.#begin();
      return agent;
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  async #begin(): Promise<void> {
    const c = this.config;
    // First: a SIGTERM during start-up (a service manager's stop, a quick Ctrl+C) must stop the
    // agent cleanly, not kill it before its handlers exist.
    this.#installSignals();
    log.info(
      "Agent {version} starting: config {config}, data {data}, server {url}, station {station}",
      {
        version: VERSION,
        config: c.file,
        data: c.dataDir,
        url: c.server.url,
        station: c.station.name,
      },
    );
    for (const w of configWarnings(c)) log.warn("Config: {warning}", { warning: w });
    const counts = this.queue.counts();
    if (counts.queued + counts.error > 0) {
      log.info(
        "Queue recovered: {queued} queued, {error} in error, {quarantine} in quarantine",
        counts,
      );
    }
    // What the last run knew (recent failures, last upload, the chart) outlives a restart.
    const saved = await readSavedState(c.dataDir);
    if (saved) {
      this.history.restore(saved.history ?? []);
      this.intake.restoreFailures(saved.recentFailures ?? []);
      this.uploader.restoreLastSuccess(saved.lastSuccessAt);
    }
    this.uploader.start();
    await this.intake.start();
    for (const conv of c.converters.filter((x) => x.enabled)) {
      log.info("Converter {name} ({format}) watching {folder}, pattern {pattern}", {
        name: conv.name,
        format: conv.format ?? conv.module,
        folder: conv.watch,
        pattern: conv.pattern,
      });
    }
    // Before the control endpoint answers: whoever sees the agent up may edit its config.
    this.#watchConfig();
    this.#control = await startControlServer(c.dataDir, c.control.port, {
      snapshot: () => this.snapshot(),
      metrics: () => Promise.resolve(this.renderMetrics()),
      history: () => this.history.series(),
      flush: (o) => this.flush(o),
      requeue: async (o) => {
        const keys = o.keys ? new Set(o.keys) : null;
        const n = await this.queue.requeueErrors(o.all ? undefined : (k) => keys?.has(k) ?? false);
        if (n) log.info("{n} report(s) requeued from error by a person", { n });
        this.uploader.wake();
        return { requeued: n };
      },
      pause: () => {
        this.intake.setManualPause("paused by a person (POST /resume to resume)");
        log.warn("Intake paused by a person (POST /pause)");
      },
      resume: () => {
        this.intake.setManualPause(null);
        log.info("Intake resumed by a person");
      },
      stop: () => {
        // A person's stop, like a signal: not a reason kept for `agent status` (that is for
        // the agent stopping itself).
        log.info(
          "Stop asked through the control endpoint (`agent stop`): stopping (no new files; " +
            "in-flight work finishes or goes back)",
        );
        this.stop(ExitCode.OK);
      },
    }, {
      version: VERSION,
      startedAt: this.startedAt.toISOString(),
      metricsListen: c.control.metricsListen,
    });
    log.info("Control endpoint on http://127.0.0.1:{port}/ (status page, /health, /metrics)", {
      port: this.#control.port,
    });
    await this.#saveLastGood(await Deno.readTextFile(c.file)).catch((e) =>
      log.warn("Can't save the last good copy of the config: {error}", {
        error: (e as Error).message,
      })
    );
    let saveError = "";
    this.#timers.push(setInterval(
      () =>
        this.#saveState().then(() => saveError = "", (e) => {
          // Status when the agent is stopped reads this file; uploads don't need it.
          if ((e as Error).message !== saveError) {
            log.warn("Can't save {file}: {error}; offline `agent status` may be out of date", {
              file: stateFile(c.dataDir),
              error: saveError = (e as Error).message,
            });
          }
        }),
      5000,
    ));
    this.#timers.push(setInterval(() => this.#checkLock(), 2000));
    this.#timers.push(
      setInterval(
        () =>
          this.queue.pruneCompleted().catch((e) =>
            log.warn("Pruning completed reports failed: {error}", { error: (e as Error).message })
          ),
        600_000,
      ),
    );
  }

  /**
   * The data directory deleted or its lock replaced while running: a second agent could now lock
   * a new one and take the same drop folders. Stop (code 75, so the service manager starts a
   * fresh agent, which recreates the folders and takes the lock again or finds it taken).
   */
  async #checkLock(): Promise<void> {
    if (this.#stopping) return;
    let why: string | null;
    try {
      why = await this.#lock.lost();
    } catch (e) {
      why = `its lock can't be checked (${(e as Error).message})`;
    }
    if (why === null) return;
    const reason = `the data directory ${this.config.dataDir} was removed or changed ` +
      `while the agent ran (${why})`;
    log.fatal(
      "Stopping: {reason}. Reports queued in it before that are gone with it; the agent exits " +
        "with code {code} so its service manager starts it again on a fresh data directory " +
        "(run by hand: start it again).",
      { reason, code: ExitCode.RESTART },
    );
    await this.stop(ExitCode.RESTART, reason);
  }

  /** Upload everything now (and requeue errors when asked). */
  async flush(opts: { errors: boolean }): Promise<{ requeued: number }> {
    const requeued = opts.errors ? await this.queue.requeueErrors() : 0;
    log.info("Flush requested{errors}: uploading everything now", {
      errors: opts.errors ? ` (with ${requeued} report(s) requeued from error)` : "",
    });
    this.uploader.flushNow();
    return { requeued };
  }

  /** Health now, from the live state (GET /health, the status and the health metrics). */
  health(now = Date.now()): Health {
    const convs = this.intake.status();
    const failures = this.intake.recentFailures();
    return computeHealth({
      now,
      running: true,
      dataDir: this.config.dataDir,
      queue: this.queue.counts(),
      maxReports: this.config.queue.maxReports,
      oldestQueuedAt: this.queue.oldestQueuedAt(),
      upload: this.uploader.status(),
      startedAt: this.startedAt.getTime(),
      intakePause: this.intake.pauseReason(),
      missingFolders: convs.filter((c) => c.missing).map((c) => c.folder),
      poolProblem: this.pool.stats().unrecoverable,
      converterProblems: this.intake.converterProblems(),
      postActionProblems: this.intake.postActionProblems(),
      conversionFailuresLastHour: failures.filter((f) => now - Date.parse(f.at) < 3600_000).length,
      configProblem: this.#lastReload?.ok === false ? this.#lastReload.error : null,
      thresholds: {
        ...this.config.health,
        clockSkewWarnSeconds: this.config.server.clockSkewWarnSeconds,
      },
    });
  }

  /** The live status snapshot. */
  async snapshot(): Promise<StatusSnapshot> {
    const now = Date.now();
    const counts = this.queue.counts();
    const oldest = this.queue.oldestQueuedAt();
    const up = this.uploader.status();
    const convs = this.intake.status();
    const failures = this.intake.recentFailures();
    const errors = recentErrors(await this.queue.recentErrors(), failures);
    const intakePause = this.intake.pauseReason();
    const pool = this.pool.stats();
    const health = this.health(now);
    return {
      running: true,
      pid: Deno.pid,
      version: VERSION,
      startedAt: this.startedAt.toISOString(),
      config: this.config.file,
      dataDir: this.config.dataDir,
      server: {
        url: this.config.server.url,
        version: up.serverVersion,
        clockSkewSeconds: up.clockSkewSeconds,
      },
      health,
      queue: {
        ...counts,
        oldestQueuedAgeSeconds: oldest === null ? null : Math.round((now - oldest) / 1000),
      },
      upload: up,
      intake: { paused: intakePause !== null, reason: intakePause },
      converters: convs,
      pool,
      recentErrors: errors,
      totals: {
        filesSeen: this.metrics.sum("files_seen_total"),
        filesConverted: this.metrics.sum("files_converted_total"),
        filesFailed: this.metrics.sum("files_failed_total"),
        reportsQueued: this.metrics.sum("reports_queued_total"),
        reportsUploaded: this.metrics.get("reports_uploaded_total"),
        reportsRejected: this.metrics.get("reports_rejected_total"),
        uploadRetries: this.metrics.get("upload_retries_total"),
      },
      reload: this.#lastReload,
    };
  }

  /** Prometheus text with the gauges refreshed. */
  renderMetrics(): string {
    const m = this.metrics;
    const c = this.queue.counts();
    for (
      const s of ["queued", "processing", "completed", "error", "quarantine", "retrying"] as const
    ) {
      m.set("queue_reports", "Reports in the queue by state", c[s], { state: s });
    }
    const oldest = this.queue.oldestQueuedAt();
    m.set(
      "queue_oldest_age_seconds",
      "Age of the oldest report still to upload",
      oldest === null ? 0 : (Date.now() - oldest) / 1000,
    );
    const up = this.uploader.status();
    m.set(
      "breaker_state",
      "Circuit breaker: 0 closed, 1 half-open, 2 open",
      up.breaker === "closed" ? 0 : up.breaker === "half-open" ? 1 : 2,
    );
    m.set(
      "uploads_paused",
      "1 while uploads are paused by a rejected token or URL",
      up.authProblem ? 1 : 0,
    );
    m.set(
      "last_upload_timestamp_seconds",
      "When the last report was stored",
      up.lastSuccessAt ? Date.parse(up.lastSuccessAt) / 1000 : 0,
    );
    const p = this.pool.stats();
    m.set("workers", "Converter workers", p.workers, { state: "total" });
    m.set("workers", "Converter workers", p.busy, { state: "busy" });
    m.set("workers", "Converter workers", p.lost, { state: "lost" });
    m.set("intake_paused", "1 while intake is paused", this.intake.paused() ? 1 : 0);
    const mem = Deno.memoryUsage();
    m.set("process_resident_memory_bytes", "Resident memory of the agent process", mem.rss);
    m.set("heap_used_bytes", "JavaScript heap in use (main thread)", mem.heapUsed);
    const health = this.health();
    for (const state of ["healthy", "degraded", "unhealthy"] as const) {
      m.set(
        "health_state",
        "1 for the agent's health state (as GET /health says), 0 for the other two",
        health.state === state ? 1 : 0,
        { state },
      );
    }
    m.set("health_reasons", "Reasons GET /health gives for the state", health.reasons.length);
    m.set("info", "1, labelled with the agent's version and station name", 1, {
      version: VERSION,
      station: this.config.station.name,
    });
    return m.render();
  }

  async #saveState(stoppedAt: string | null = null): Promise<void> {
    const up = this.uploader.status();
    const state: SavedState = {
      pid: Deno.pid,
      startedAt: this.startedAt.toISOString(),
      savedAt: new Date().toISOString(),
      stoppedAt,
      lastSuccessAt: up.lastSuccessAt,
      lastError: up.lastError,
      serverVersion: up.serverVersion,
      recentFailures: this.intake.recentFailures().reverse(),
      history: this.history.series().minutes,
      stopReason: stoppedAt ? this.#stopReason : null,
    };
    // It holds server messages and converter errors: redacted, and for the agent's user only.
    const file = stateFile(this.config.dataDir);
    await replaceDurably(file, JSON.stringify(redactDeep(state), null, 2), { mode: PRIVATE_FILE });
  }

  #installSignals(): void {
    const signals: Deno.Signal[] = Deno.build.os === "windows"
      ? ["SIGINT", "SIGBREAK", "SIGTERM", "SIGHUP"]
      : ["SIGINT", "SIGTERM", "SIGHUP"];
    for (const sig of signals) {
      try {
        Deno.addSignalListener(sig, () => {
          if (this.#stopping) {
            log.warn("Second {sig} while stopping: exiting now (the queue is safe on disk)", {
              sig,
            });
            Deno.exit(1);
          }
          log.info(
            "{sig} received: stopping (no new files; in-flight work finishes or goes back)",
            { sig },
          );
          this.stop(ExitCode.OK);
        });
      } catch { /* not supported on this OS */ }
    }
  }

  #watchConfig(): void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      this.#configWatcher = Deno.watchFs(path.dirname(this.config.file), { recursive: false });
    } catch (e) {
      log.warn("Can't watch the config file for changes ({error}); restart to apply edits", {
        error: (e as Error).message,
      });
      return;
    }
    const w = this.#configWatcher;
    (async () => {
      try {
        for await (const ev of w) {
          if (!ev.paths.some((p) => path.resolve(p) === this.config.file)) continue;
          clearTimeout(timer);
          timer = setTimeout(() => this.reload(), 300);
        }
      } catch { /* closed */ }
    })();
  }

  /**
   * Re-reads the config file: a valid edit is applied without a restart (converters start and
   * stop, server settings change, limits move) and saved as the last good copy; an invalid one
   * is rejected with the reason and the running config stays.
   */
  async reload(): Promise<boolean> {
    let next: Config;
    let text: string;
    try {
      text = await Deno.readTextFile(this.config.file);
      next = await loadConfig(this.config.file);
      checkSandbox(next);
      await readCaCerts(next);
    } catch (e) {
      const why = e instanceof ConfigError ? e.problems.join("; ") : (e as Error).message;
      const backup = this.#lastGoodFile();
      log.error(
        "Config edit rejected, still running the previous config: {why}. The last good copy is {backup}.",
        { why, backup },
      );
      this.#lastReload = { at: new Date().toISOString(), ok: false, error: why, lastGood: backup };
      return false;
    }
    if (
      next.dataDir !== this.config.dataDir ||
      JSON.stringify(next.control) !== JSON.stringify(this.config.control)
    ) {
      log.warn("dataDir and control changes take effect at the next restart");
      next = { ...next, dataDir: this.config.dataDir, control: this.config.control };
    }
    addSecrets([next.server.token]);
    const serverChanged = JSON.stringify(next.server) !== JSON.stringify(this.config.server);
    const old = this.config;
    this.config = next;
    await this.intake.reconfigure(next);
    if (serverChanged) this.uploader.reconfigure(next.server, await readCaCerts(next));
    if (next.log.level !== old.log.level) {
      await setupLogging(logOptionsFor(next));
    }
    if (next.priority.nice !== old.priority.nice) await lowerPriority(next.priority.nice);
    await this.#saveLastGood(text);
    this.#lastReload = {
      at: new Date().toISOString(),
      ok: true,
      error: null,
      lastGood: this.#lastGoodFile(),
    };
    log.info("Config reloaded from {file}", { file: next.file });
    for (const w of configWarnings(next)) log.warn("Config: {warning}", { warning: w });
    return true;
  }

  #lastGoodFile(): string {
    return path.join(this.config.dataDir, "agent.json.last-good");
  }

  /** Keeps a copy of a config that was valid (it holds the token: only this user may read it). */
  async #saveLastGood(text: string): Promise<void> {
    // Durable: the reload error points a person to this copy after a crash or power cut too.
    await replaceDurably(this.#lastGoodFile(), text, { mode: PRIVATE_FILE });
  }

  /**
   * Stops in order and resolves with the exit code. Safe to call more than once. `reason`, when
   * the agent stops itself, is kept in state.json for `agent status`.
   */
  stop(code: number = ExitCode.OK, reason: string | null = null): Promise<number> {
    if (this.#stopping) return this.#stopping;
    this.#stopReason = reason;
    this.#stopping = (async () => {
      const deadline = setTimeout(() => {
        log.error("Shutdown took more than 25 s; exiting anyway (the queue is safe on disk)");
        Deno.exit(code === ExitCode.OK ? 1 : code);
      }, 25_000);
      try {
        this.#configWatcher?.close();
      } catch { /* closed */ }
      for (const t of this.#timers) clearInterval(t);
      await this.intake.stop();
      await this.pool.close();
      await this.uploader.stop();
      await this.#control?.shutdown();
      await this.#saveState(new Date().toISOString()).catch((e) =>
        log.warn("Can't save {file} at stop: {error}; offline `agent status` may be out of date", {
          file: stateFile(this.config.dataDir),
          error: (e as Error).message,
        })
      );
      log.info("Agent stopped (exit code {code})", { code });
      this.#lock.release();
      clearTimeout(deadline);
      this.#done(code);
      return code;
    })();
    return this.#stopping;
  }
}
