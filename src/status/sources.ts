/**
 * Where a status is read from: the running agent (agent/live_status.ts) or, when none runs,
 * the data directory it left behind (status/offline.ts). The snapshot and the health are built
 * from these sources by one builder (status/snapshot.ts), whichever they are.
 *
 * @module
 */
import type { Config } from "../config/load.ts";
import type { PoolStats } from "../convert/pool_types.ts";
import type { Counts } from "../queue/queue.ts";
import type { ErrorEntry } from "../queue/error_info.ts";
import type { UploaderStatus } from "../upload/uploader.ts";
import type { ConverterStatus, IntakeFailure } from "../watch/intake.ts";

/** The outcome of the last config reload. */
export interface ReloadStatus {
  at: string;
  ok: boolean;
  /** Why the edit was rejected. */
  error: string | null;
  /** The copy of the last config that was valid. */
  lastGood: string;
}

/** A converter as status shows it: live numbers, or (no agent runs) what the config names. */
export type ConverterView = ConverterStatus | { name: string; folder: string; format: string };

/** What a status is made of. */
export interface StatusSources {
  /** True when an agent runs and these are its own. */
  readonly running: boolean;
  /** The config in force: the running agent's, or the file's. */
  readonly config: Config;
  /** The agent's process, when one runs. */
  process(): { pid: number; startedAt: Date } | null;
  /** The queue's counts, and when the oldest report still to upload was queued. */
  queue(): { counts: Counts; oldestQueuedAt: number | null };
  /** Reports in error, newest first (from their sidecars). */
  queueErrors(): Promise<ErrorEntry[]>;
  /** The uploader's status; null when nothing is known of it. */
  upload(): UploaderStatus | null;
  /** Why intake is paused, or null while it takes files. */
  intakePause(): string | null;
  converters(): ConverterView[];
  /** Converters that can't run at all (module not loadable). */
  converterProblems(): string[];
  /** Done/Error folders refused, files long in use. */
  postActionProblems(): string[];
  /** Files that failed to convert (the ones intake keeps, or the last run saved). */
  conversionFailures(): readonly IntakeFailure[];
  /** The converter pool; null when none runs. */
  pool(): PoolStats | null;
  /** Counters since the start (empty when no agent runs). */
  totals(): Record<string, number>;
  /** The last config reload (null before the first edit); undefined when no agent runs. */
  reload(): ReloadStatus | null | undefined;
  /** Why the agent stopped itself last time (only known when it does not run). */
  stopReason(): string | null;
}
