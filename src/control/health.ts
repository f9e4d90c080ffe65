/**
 * Health from real signals, never from "the process is up". Each rule gives a reason a person
 * can act on. unhealthy: reports are not reaching the server (token or URL rejected, server
 * unreachable, stalled uploads, queue I/O failing, converters stuck, agent not running).
 * degraded: they flow, but something needs attention (intake paused, folder missing, many
 * failures, reports waiting for a person, an old backlog, a wrong clock).
 *
 * @module
 */

/** One of the three states; the order is severity. */
export type HealthState = "healthy" | "degraded" | "unhealthy";

/** The answer of `GET /health` and the `health` of `agent status --json`. */
export interface Health {
  state: HealthState;
  reasons: string[];
}

/** Everything health is computed from (a snapshot, so the rules are a pure function). */
export interface HealthInputs {
  now: number;
  running: boolean;
  dataDir: string;
  queue: {
    queued: number;
    processing: number;
    error: number;
    retrying: number;
    quarantine: number;
  };
  maxReports: number;
  oldestQueuedAt: number | null;
  upload: {
    authProblem: string | null;
    breaker: string;
    breakerOpenedAt: string | null;
    lastSuccessAt: string | null;
    lastError: { message: string } | null;
    errorRate5m: number | null;
    attempts5m: number;
    clockSkewSeconds: number | null;
    /** Why the last connection check failed; null once the server answers. */
    serverProblem?: string | null;
  } | null;
  startedAt: number | null;
  intakePause: string | null;
  missingFolders: string[];
  poolProblem: string | null;
  /** Converters that can't run at all (module not loadable). */
  converterProblems?: string[];
  /** Done/Error folders refused (a symbolic link where a folder should be), files long in use. */
  postActionProblems?: string[];
  conversionFailuresLastHour: number;
  /** The last edit of the config file was rejected (the previous config runs): why. */
  configProblem?: string | null;
  /** When not running: why the agent stopped itself last time (e.g. the pool gave up). */
  stopReason?: string | null;
  thresholds: {
    stallMinutes: number;
    oldestQueuedMinutes: number;
    maxErrorRate: number;
    clockSkewWarnSeconds: number;
  };
}

/** Computes health. */
export function computeHealth(h: HealthInputs): Health {
  const unhealthy: string[] = [];
  const degraded: string[] = [];
  const minutes = (ms: number) => Math.round(ms / 6000) / 10;
  const backlog = h.queue.queued + h.queue.processing + h.queue.retrying;

  if (!h.running) {
    unhealthy.push(
      `the agent is not running (nothing holds ${h.dataDir}); ${backlog} report(s) wait to be ` +
        "uploaded. Start it (`agent run`, or its service)",
    );
    if (h.stopReason) unhealthy.push(`it stopped itself last time: ${h.stopReason}`);
  }
  const u = h.upload;
  if (u?.authProblem) unhealthy.push(`uploads paused: ${u.authProblem}`);
  if (u && u.breaker !== "closed") {
    const since = u.breakerOpenedAt
      ? ` for ${minutes(h.now - Date.parse(u.breakerOpenedAt))} min`
      : "";
    unhealthy.push(
      `server unreachable${since} (circuit breaker open; last error: ${
        u.lastError?.message ?? "?"
      }); ` +
        "reports stay queued and are sent when it answers again",
    );
  }
  if (u?.serverProblem && !u.authProblem && u.breaker === "closed") {
    // No upload failed (yet): the connection check says it. Nothing is lost; reports queue.
    degraded.push(
      `can't reach the WATS server: ${u.serverProblem}; reports are queued and sent when it ` +
        "answers (check server.url and the network)",
    );
  }
  if (h.running && backlog > 0) {
    // The stall starts at the latest of: the last upload, when the oldest waiting report was
    // queued, the agent's start. (An idle station's first new report is no stall.)
    const last = u?.lastSuccessAt ? Date.parse(u.lastSuccessAt) : 0;
    const since = Math.max(last, h.oldestQueuedAt ?? h.now, h.startedAt ?? 0);
    if (h.now - since > h.thresholds.stallMinutes * 60_000) {
      unhealthy.push(
        `nothing uploaded for ${minutes(h.now - since)} min while ${backlog} report(s) wait` +
          (u?.lastError ? ` (last error: ${u.lastError.message})` : ""),
      );
    }
  }
  if (h.poolProblem) unhealthy.push(`converters can't run: ${h.poolProblem}`);
  for (const p of h.converterProblems ?? []) {
    unhealthy.push(`${p}; its files wait in the drop folder`);
  }
  if (h.intakePause) {
    (/write failed|I\/O/i.test(h.intakePause) ? unhealthy : degraded).push(
      `intake paused: ${h.intakePause}`,
    );
  }
  for (const f of h.missingFolders) degraded.push(`watch folder missing: ${f}`);
  // Reports still reach the server; source files pile up in the drop folder until a person looks.
  for (const p of h.postActionProblems ?? []) degraded.push(p);
  if (
    u && u.errorRate5m !== null && u.attempts5m >= 5 && u.errorRate5m > h.thresholds.maxErrorRate
  ) {
    degraded.push(
      `${Math.round(u.errorRate5m * 100)}% of ${u.attempts5m} uploads failed in the last 5 min` +
        (u.lastError ? ` (last: ${u.lastError.message})` : ""),
    );
  }
  const permanent = h.queue.error - h.queue.retrying;
  if (permanent > 0) {
    degraded.push(
      `${permanent} report(s) rejected by the server wait for a person ` +
        "(see `agent status`; fix, then `agent flush --errors`)",
    );
  }
  if (h.queue.quarantine > 0) {
    degraded.push(
      `${h.queue.quarantine} unreadable queue entr(ies) in quarantine (see ${h.dataDir}/queue/quarantine)`,
    );
  }
  if (
    h.oldestQueuedAt !== null &&
    h.now - h.oldestQueuedAt > h.thresholds.oldestQueuedMinutes * 60_000
  ) {
    degraded.push(
      `the oldest report waiting to upload was queued ${minutes(h.now - h.oldestQueuedAt)} min ago`,
    );
  }
  if (backlog >= 0.8 * h.maxReports && !h.intakePause) {
    degraded.push(
      `queue ${Math.round((backlog / h.maxReports) * 100)}% full (${backlog} of ${h.maxReports})`,
    );
  }
  if (h.conversionFailuresLastHour > 0) {
    degraded.push(
      `${h.conversionFailuresLastHour} file(s) failed to convert in the last hour (see their Error folders)`,
    );
  }
  if (
    u?.clockSkewSeconds != null && Math.abs(u.clockSkewSeconds) > h.thresholds.clockSkewWarnSeconds
  ) {
    degraded.push(
      `station clock differs from the server's by ${u.clockSkewSeconds} s; fix the time (NTP)`,
    );
  }
  if (h.configProblem) {
    degraded.push(`config edit rejected, the last good config keeps running: ${h.configProblem}`);
  }
  const state: HealthState = unhealthy.length
    ? "unhealthy"
    : degraded.length
    ? "degraded"
    : "healthy";
  return { state, reasons: [...unhealthy, ...degraded] };
}
