/**
 * The status sources of the running agent: its queue, uploader, intake and pool, read live.
 *
 * @module
 */
import type { Config } from "../config/load.ts";
import type { ConverterPool } from "../convert/pool.ts";
import type { PoolStats } from "../convert/pool_types.ts";
import type { Metrics } from "../metrics/registry.ts";
import type { Queue } from "../queue/queue.ts";
import type { ErrorEntry } from "../queue/error_info.ts";
import type { ConverterView, ReloadStatus, StatusSources } from "../status/sources.ts";
import type { Uploader, UploaderStatus } from "../upload/uploader.ts";
import type { Intake, IntakeFailure } from "../watch/intake.ts";

/** The parts of a running agent that status reads. */
export interface LiveParts {
  /** The config in force (it changes with each accepted edit). */
  config(): Config;
  startedAt: Date;
  queue: Queue;
  uploader: Uploader;
  intake: Intake;
  pool: ConverterPool;
  metrics: Metrics;
  /** The last config reload, null before the first edit. */
  reload(): ReloadStatus | null;
}

/** Status from the running agent. */
export class LiveSources implements StatusSources {
  readonly running = true;

  constructor(readonly parts: LiveParts) {}

  get config(): Config {
    return this.parts.config();
  }

  process(): { pid: number; startedAt: Date } {
    return { pid: Deno.pid, startedAt: this.parts.startedAt };
  }

  queue(): { counts: ReturnType<Queue["counts"]>; oldestQueuedAt: number | null } {
    return { counts: this.parts.queue.counts(), oldestQueuedAt: this.parts.queue.oldestQueuedAt() };
  }

  queueErrors(): Promise<ErrorEntry[]> {
    return this.parts.queue.recentErrors();
  }

  upload(): UploaderStatus {
    return this.parts.uploader.status();
  }

  intakePause(): string | null {
    return this.parts.intake.pauseReason();
  }

  converters(): ConverterView[] {
    return this.parts.intake.status();
  }

  converterProblems(): string[] {
    return this.parts.intake.converterProblems();
  }

  postActionProblems(): string[] {
    return this.parts.intake.postActionProblems();
  }

  conversionFailures(): IntakeFailure[] {
    return this.parts.intake.recentFailures();
  }

  pool(): PoolStats {
    return this.parts.pool.stats();
  }

  totals(): Record<string, number> {
    const m = this.parts.metrics;
    return {
      filesSeen: m.sum("files_seen_total"),
      filesConverted: m.sum("files_converted_total"),
      filesFailed: m.sum("files_failed_total"),
      reportsQueued: m.sum("reports_queued_total"),
      reportsUploaded: m.get("reports_uploaded_total"),
      reportsRejected: m.get("reports_rejected_total"),
      uploadRetries: m.get("upload_retries_total"),
    };
  }

  reload(): ReloadStatus | null {
    return this.parts.reload();
  }

  stopReason(): null {
    return null;
  }
}
