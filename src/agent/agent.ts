/**
 * The agent: wires watch → convert → queue → upload → control together, runs until a signal
 * (or an unrecoverable converter pool, or a lost data directory) stops it, and shuts down in
 * order. Wiring and lifecycle only: what status reads of it is live_status.ts, its gauges are
 * gauges.ts, config edits are reload.ts, and the files it keeps in the data directory beside
 * the queue (the lock, state.json, the last good config) are in data_dir/.
 *
 * @module
 */
import path from "#path";
import { readCaCerts } from "../config/ca_certs.ts";
import { type Config, configWarnings } from "../config/load.ts";
import { ConverterPool } from "../convert/pool.ts";
import { Queue } from "../queue/queue.ts";
import { KeyedLog } from "../watch/keyed_log.ts";
import { Limits } from "../watch/intake_limits.ts";
import { type DataDirLock, lockDataDir } from "../data_dir/lock.ts";
import {
  readSavedState,
  type SavedState,
  stateFile,
  writeSavedState,
} from "../data_dir/state_file.ts";
import { Uploader } from "../upload/uploader.ts";
import { Intake } from "../watch/intake.ts";
import { Metrics } from "../metrics/registry.ts";
import { History, HISTORY_SERIES, type SeriesName } from "../control/history.ts";
import { type ControlServer, startControlServer } from "../control/server.ts";
import { buildSnapshot, type StatusSnapshot } from "../status/snapshot.ts";
import { logger, logOptionsFor, setupLogging } from "../log/log.ts";
import { ExitCode } from "../exit_code.ts";
import { VERSION } from "../version.ts";
import { lowerPriority } from "../service/priority.ts";
import { trimMalloc } from "../service/malloc.ts";
import { renderMetrics } from "./gauges.ts";
import { LiveSources } from "./live_status.ts";
import { ConfigReloader } from "./reload.ts";

const log = logger("agent");

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
  /** What state.json holds now (as saved by {@link #saveState}, without its time). */
  #savedState = "";
  #stopping: Promise<number> | null = null;
  #done!: (code: number) => void;
  /** Resolves with the exit code once the agent has stopped. */
  readonly finished: Promise<number>;
  /** The config file's watch and hot reload. */
  readonly reloader: ConfigReloader;
  /** What status and the gauges read. */
  readonly status: LiveSources;
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
    this.reloader = new ConfigReloader({
      config: () => this.config,
      apply: (next, old) => this.#apply(next, old),
    });
    this.status = new LiveSources({
      config: () => this.config,
      startedAt: this.startedAt,
      queue: this.queue,
      uploader: this.uploader,
      intake: this.intake,
      pool: this.pool,
      metrics: this.metrics,
      reload: () => this.reloader.last,
    });
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
        onRemoved: (key, state) =>
          log.warn(
            "Queue entry {key} was removed from queue/{state} by someone while the agent used it; " +
              "it is no longer in the queue",
            { key, state },
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
    // Before the control endpoint answers: whoever sees the agent up may edit its config, and
    // may read the last good copy.
    this.reloader.watch();
    await this.reloader.saveStarted().catch((e) =>
      log.warn("Can't save the last good copy of the config: {error}", {
        error: (e as Error).message,
      })
    );
    this.#control = await startControlServer(c.dataDir, c.control.port, {
      snapshot: () => this.snapshot(),
      metrics: () => Promise.resolve(renderMetrics(this.metrics, this.status)),
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
    // Once quiet for 30 s after work, the C allocator hands back what the burst freed.
    let seen = "", trimmed = "";
    this.#timers.push(setInterval(() => {
      const now = JSON.stringify(this.history.series().totals);
      if (now === seen && now !== trimmed) {
        trimMalloc();
        trimmed = now;
      }
      seen = now;
    }, 30_000));
    let recountError = "";
    this.#timers.push(setInterval(
      () =>
        this.queue.recount().then(() => recountError = "", (e) => {
          if ((e as Error).message === recountError) return; // said once
          log.warn("Can't count {dir}: {error}; the queued count may be too high", {
            dir: path.join(this.queue.dir, "queued"),
            error: recountError = (e as Error).message,
          });
        }),
      2000,
    ));
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

  /** The live status snapshot. */
  snapshot(): Promise<StatusSnapshot> {
    return buildSnapshot(this.status);
  }

  /**
   * Saves state.json (what `agent status` shows while the agent is stopped, and restarts), when
   * what it holds changed since the last save: an idle agent writes nothing (a station's disk is
   * not rewritten and fsynced every 5 s for years). The chart keeps its minutes with events.
   */
  async #saveState(stoppedAt: string | null = null): Promise<void> {
    const up = this.uploader.status();
    const state: Omit<SavedState, "savedAt"> = {
      pid: Deno.pid,
      startedAt: this.startedAt.toISOString(),
      stoppedAt,
      lastSuccessAt: up.lastSuccessAt,
      lastError: up.lastError,
      serverVersion: up.serverVersion,
      recentFailures: this.intake.recentFailures().reverse(),
      history: this.history.series().minutes.filter((m) =>
        Object.keys(HISTORY_SERIES).some((k) => m[k as SeriesName] > 0)
      ),
      stopReason: stoppedAt ? this.#stopReason : null,
    };
    const key = JSON.stringify(state);
    if (key === this.#savedState) return;
    await writeSavedState(this.config.dataDir, { ...state, savedAt: new Date().toISOString() });
    this.#savedState = key;
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

  /** Re-reads the config file and applies a valid edit (see {@link ConfigReloader.reload}). */
  reload(): Promise<boolean> {
    return this.reloader.reload();
  }

  /** Puts an accepted config edit in force. */
  async #apply(next: Config, old: Config): Promise<void> {
    this.config = next;
    await this.intake.reconfigure(next);
    if (JSON.stringify(next.server) !== JSON.stringify(old.server)) {
      this.uploader.reconfigure(next.server, await readCaCerts(next));
    }
    if (next.log.level !== old.log.level) await setupLogging(logOptionsFor(next));
    if (next.priority.nice !== old.priority.nice) await lowerPriority(next.priority.nice);
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
      this.reloader.close();
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
