/**
 * The status snapshot: one JSON object that `agent status --json`, `GET /status` and the status
 * page all show. A running agent builds it live; when none runs, it is read from the data
 * directory (the queue folders and the state file the agent leaves behind).
 *
 * @module
 */
import path from "#path";
import type { Config } from "../config/load.ts";
import { inspectQueue } from "../queue/inspect.ts";
import type { Counts } from "../queue/queue.ts";
import { computeHealth, type Health } from "./health.ts";
import type { HistoryMinute } from "./history.ts";
import type { UploaderStatus } from "../upload/uploader.ts";
import type { ConverterStatus, IntakeFailure } from "../watch/intake.ts";
import type { PoolStats } from "../convert/pool.ts";
import { VERSION } from "../version.ts";

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
  queue: Counts & { oldestQueuedAgeSeconds: number | null };
  upload: UploaderStatus | null;
  intake: { paused: boolean; reason: string | null };
  converters: (ConverterStatus | { name: string; folder: string; format: string })[];
  pool: PoolStats | null;
  recentErrors: RecentError[];
  /** Counters since start (live only). */
  totals: Record<string, number>;
  /** The last hot reload of the config file (live only; null before the first edit). */
  reload?: ReloadStatus | null;
}

/** The outcome of the last config reload. */
export interface ReloadStatus {
  at: string;
  ok: boolean;
  /** Why the edit was rejected. */
  error: string | null;
  /** The copy of the last config that was valid. */
  lastGood: string;
}

/** What the agent leaves in `<dataDir>/state.json` for status when it is not running. */
export interface SavedState {
  pid: number;
  startedAt: string;
  savedAt: string;
  stoppedAt: string | null;
  lastSuccessAt: string | null;
  lastError: UploaderStatus["lastError"];
  serverVersion: string | null;
  recentFailures: IntakeFailure[];
  /** The throughput history's minutes (restored at the next start, so the chart goes on). */
  history?: HistoryMinute[];
  /** Why the agent stopped itself (not set for a normal stop by a signal). */
  stopReason?: string | null;
}

/** The state file's path. */
export function stateFile(dataDir: string): string {
  return path.join(dataDir, "state.json");
}

/**
 * Reads the saved state, or null when there is none or it can't be read. The state only informs
 * (status, and what a restart takes over), so a damaged or hand-edited file must stop nothing:
 * list entries that are not well formed are left out.
 */
export async function readSavedState(dataDir: string): Promise<SavedState | null> {
  let state: SavedState;
  try {
    state = JSON.parse(await Deno.readTextFile(stateFile(dataDir)));
  } catch {
    return null;
  }
  if (state === null || typeof state !== "object") return null;
  const list = <T>(v: unknown, ok: (x: Record<string, unknown>) => boolean): T[] =>
    Array.isArray(v) ? v.filter((x) => x !== null && typeof x === "object" && ok(x)) : [];
  state.recentFailures = list(
    state.recentFailures,
    (f) => typeof f.at === "string" && typeof f.file === "string" && typeof f.reason === "string",
  );
  state.history = list(state.history, (m) => typeof m.t === "string");
  return state;
}

/**
 * The recent errors `agent status` lists, newest first (at most 20): reports in error (from
 * the queue's sidecars) and files that failed to convert.
 */
export function recentErrors(
  errors: {
    key: string;
    failedAt: string;
    source: string;
    reason: string;
    correlationId: string;
    id: string;
    permanent: boolean;
    lastStatus: number | null;
    attempts: number;
    retryAt: string | null;
  }[],
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

/** Builds the snapshot from the data directory, for when no agent runs. */
export async function offlineSnapshot(config: Config, running = false): Promise<StatusSnapshot> {
  const q = await inspectQueue(config.dataDir);
  const saved = await readSavedState(config.dataDir);
  const now = Date.now();
  const failures = saved?.recentFailures ?? [];
  const health = computeHealth({
    now,
    running,
    dataDir: config.dataDir,
    queue: q.counts,
    maxReports: config.queue.maxReports,
    oldestQueuedAt: q.oldestQueuedAt,
    upload: null,
    startedAt: null,
    intakePause: null,
    missingFolders: [],
    poolProblem: null,
    stopReason: running ? null : saved?.stopReason ?? null,
    conversionFailuresLastHour: failures.filter((f) => now - Date.parse(f.at) < 3600_000).length,
    thresholds: { ...config.health, clockSkewWarnSeconds: config.server.clockSkewWarnSeconds },
  });
  return {
    running,
    pid: null,
    version: VERSION,
    startedAt: null,
    config: config.file,
    dataDir: config.dataDir,
    server: {
      url: config.server.url,
      version: saved?.serverVersion ?? null,
      clockSkewSeconds: null,
    },
    health,
    queue: {
      ...q.counts,
      oldestQueuedAgeSeconds: q.oldestQueuedAt === null
        ? null
        : Math.round((now - q.oldestQueuedAt) / 1000),
    },
    upload: saved
      ? {
        breaker: "closed",
        consecutiveFailures: 0,
        breakerOpenedAt: null,
        authProblem: null,
        throttledUntil: null,
        lastSuccessAt: saved.lastSuccessAt,
        lastAttemptAt: null,
        lastError: saved.lastError,
        inFlight: 0,
        errorRate5m: null,
        attempts5m: 0,
        retryBudget: 0,
        serverVersion: saved.serverVersion,
        clockSkewSeconds: null,
      }
      : null,
    intake: { paused: false, reason: null },
    converters: config.converters.map((c) => ({
      name: c.name,
      folder: c.watch,
      format: c.format ?? "custom",
    })),
    pool: null,
    recentErrors: recentErrors(q.errors, failures),
    totals: {},
  };
}
