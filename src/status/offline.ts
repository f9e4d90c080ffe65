/**
 * The status sources when no agent runs: the queue's folders (read without opening the queue)
 * and the state file the last run left behind.
 *
 * @module
 */
import type { Config } from "../config/load.ts";
import { readSavedState, type SavedState } from "../data_dir/state_file.ts";
import { inspectQueue, type QueueInspection } from "../queue/inspect.ts";
import type { UploaderStatus } from "../upload/uploader.ts";
import { buildSnapshot, type StatusSnapshot } from "./snapshot.ts";
import type { ConverterView, StatusSources } from "./sources.ts";

/** Status from the data directory. */
export class OfflineSources implements StatusSources {
  readonly running = false;

  private constructor(
    readonly config: Config,
    readonly inspection: QueueInspection,
    readonly saved: SavedState | null,
  ) {}

  /** Reads the data directory once; the methods answer from what was read. */
  static async read(config: Config): Promise<OfflineSources> {
    const [inspection, saved] = await Promise.all([
      inspectQueue(config.dataDir),
      readSavedState(config.dataDir),
    ]);
    return new OfflineSources(config, inspection, saved);
  }

  process(): null {
    return null;
  }

  queue(): QueueInspection {
    return this.inspection;
  }

  queueErrors(): Promise<QueueInspection["errors"]> {
    return Promise.resolve(this.inspection.errors);
  }

  /**
   * What the last run knew of the uploads (last success, last error, server version), with
   * the rest as an uploader stands when none runs: breaker closed, nothing in flight or tried.
   * Null when no run left a state file.
   */
  upload(): UploaderStatus | null {
    const s = this.saved;
    if (!s) return null;
    return {
      breaker: "closed",
      consecutiveFailures: 0,
      breakerOpenedAt: null,
      authProblem: null,
      throttledUntil: null,
      lastSuccessAt: s.lastSuccessAt,
      lastAttemptAt: null,
      lastError: s.lastError,
      inFlight: 0,
      errorRate5m: null,
      attempts5m: 0,
      retryBudget: 0,
      serverVersion: s.serverVersion,
      clockSkewSeconds: null,
    };
  }

  intakePause(): null {
    return null;
  }

  converters(): ConverterView[] {
    return this.config.converters.map((c) => ({
      name: c.name,
      folder: c.watch,
      format: c.format ?? "custom",
    }));
  }

  converterProblems(): string[] {
    return [];
  }

  postActionProblems(): string[] {
    return [];
  }

  conversionFailures(): SavedState["recentFailures"] {
    return this.saved?.recentFailures ?? [];
  }

  pool(): null {
    return null;
  }

  totals(): Record<string, number> {
    return {};
  }

  reload(): undefined {
    return undefined;
  }

  stopReason(): string | null {
    return this.saved?.stopReason ?? null;
  }
}

/** The snapshot when no agent runs, from the data directory. */
export async function offlineSnapshot(config: Config): Promise<StatusSnapshot> {
  return buildSnapshot(await OfflineSources.read(config));
}
