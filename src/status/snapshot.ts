/**
 * The status snapshot: one JSON object that `agent status --json`, `GET /status` and the status
 * page all show, and the health in it. Built here, once, from {@link StatusSources}: a running
 * agent's (agent/live_status.ts) or the data directory's when none runs (status/offline.ts).
 *
 * @module
 */
import type { Counts as QueueCounts } from "../queue/queue.ts";
import type { ErrorEntry } from "../queue/error_info.ts";
import { computeHealth, type Health } from "../control/health.ts";
import type { PoolStats } from "../convert/pool_types.ts";
import type { UploaderStatus } from "../upload/uploader.ts";
import type { IntakeFailure } from "../watch/intake.ts";
import { VERSION } from "../version.ts";
import type { ConverterView, ReloadStatus, StatusSources } from "./sources.ts";

/** A recent problem with one file or report. */
export interface RecentError {
  at: string;
  kind: "conversion" | "upload";
  /** The source file. */
  file: string;
  reason: string;
  correlationId: string;
  /** For upload errors: the report, whether it retries by itself, the HTTP status. */
  reportId?: string;
  key?: string;
  permanent?: boolean;
  status?: number | null;
  attempts?: number;
  retryAt?: string | null;
  /** For conversion errors: where the file went. */
  movedTo?: string | null;
}

/** Everything `agent status` shows. */
export interface StatusSnapshot {
  running: boolean;
  pid: number | null;
  version: string;
  startedAt: string | null;
  config: string;
  dataDir: string;
  server: { url: string; version: string | null; clockSkewSeconds: number | null };
  health: Health;
  queue: QueueCounts & { oldestQueuedAgeSeconds: number | null };
  upload: UploaderStatus | null;
  intake: { paused: boolean; reason: string | null };
  converters: ConverterView[];
  pool: PoolStats | null;
  recentErrors: RecentError[];
  /** Counters since start (live only). */
  totals: Record<string, number>;
  /** The last hot reload of the config file (live only; null before the first edit). */
  reload?: ReloadStatus | null;
}

/** The health the sources tell of now (GET /health, the status, the health metrics). */
export function healthOf(s: StatusSources, now = Date.now()): Health {
  const { config } = s;
  const { counts, oldestQueuedAt } = s.queue();
  const reload = s.reload();
  return computeHealth({
    now,
    running: s.running,
    dataDir: config.dataDir,
    queue: counts,
    maxReports: config.queue.maxReports,
    oldestQueuedAt,
    upload: s.upload(),
    startedAt: s.process()?.startedAt.getTime() ?? null,
    intakePause: s.intakePause(),
    missingFolders: s.converters().filter((c) => "missing" in c && c.missing).map((c) => c.folder),
    poolProblem: s.pool()?.unrecoverable ?? null,
    converterProblems: s.converterProblems(),
    postActionProblems: s.postActionProblems(),
    conversionFailuresLastHour: s.conversionFailures().filter((f) =>
      now - Date.parse(f.at) < 3600_000
    ).length,
    configProblem: reload?.ok === false ? reload.error : null,
    stopReason: s.stopReason(),
    thresholds: { ...config.health, clockSkewWarnSeconds: config.server.clockSkewWarnSeconds },
  });
}

/** The snapshot the sources tell of now. */
export async function buildSnapshot(s: StatusSources, now = Date.now()): Promise<StatusSnapshot> {
  const { config } = s;
  const { counts, oldestQueuedAt } = s.queue();
  const upload = s.upload();
  const pause = s.intakePause();
  const proc = s.process();
  const reload = s.reload();
  const snapshot: StatusSnapshot = {
    running: s.running,
    pid: proc?.pid ?? null,
    version: VERSION,
    startedAt: proc?.startedAt.toISOString() ?? null,
    config: config.file,
    dataDir: config.dataDir,
    server: {
      url: config.server.url,
      version: upload?.serverVersion ?? null,
      clockSkewSeconds: upload?.clockSkewSeconds ?? null,
    },
    health: healthOf(s, now),
    queue: {
      ...counts,
      oldestQueuedAgeSeconds: oldestQueuedAt === null
        ? null
        : Math.round((now - oldestQueuedAt) / 1000),
    },
    upload,
    intake: { paused: pause !== null, reason: pause },
    converters: s.converters(),
    pool: s.pool(),
    recentErrors: recentErrors(await s.queueErrors(), s.conversionFailures()),
    totals: s.totals(),
  };
  // No agent, no reload: the key is left out rather than set to a null that means "no edit yet".
  if (reload !== undefined) snapshot.reload = reload;
  return snapshot;
}

/**
 * The recent errors `agent status` lists, newest first (at most 20): reports in error (from
 * the queue's sidecars) and files that failed to convert.
 */
export function recentErrors(
  errors: readonly ErrorEntry[],
  failures: readonly Omit<IntakeFailure, "converter">[],
): RecentError[] {
  const uploads = errors.map((e): RecentError => ({
    at: e.failedAt,
    kind: "upload",
    file: e.source,
    reason: e.reason,
    correlationId: e.correlationId,
    reportId: e.id,
    key: e.key,
    permanent: e.permanent,
    status: e.lastStatus,
    attempts: e.attempts,
    retryAt: e.retryAt,
  }));
  const conversions = failures.map((f): RecentError => ({
    at: f.at,
    kind: "conversion",
    file: f.file,
    reason: f.reason,
    correlationId: f.correlationId,
    movedTo: f.movedTo,
  }));
  return [...uploads, ...conversions].sort((a, b) => b.at.localeCompare(a.at)).slice(0, 20);
}
