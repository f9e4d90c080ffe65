/**
 * The gauges of `GET /metrics`, refreshed from the running agent's status at each scrape (the
 * counters are counted where things happen: watch/intake.ts, upload/uploader.ts).
 *
 * @module
 */
import type { Metrics } from "../metrics/registry.ts";
import { healthOf } from "../status/snapshot.ts";
import type { StatusSources } from "../status/sources.ts";
import { VERSION } from "../version.ts";

/** Sets every gauge from `s` and returns the Prometheus text. */
export function renderMetrics(m: Metrics, s: StatusSources, now = Date.now()): string {
  const { counts, oldestQueuedAt } = s.queue();
  for (
    const state of ["queued", "processing", "completed", "error", "quarantine", "retrying"] as const
  ) {
    m.set("queue_reports", "Reports in the queue by state", counts[state], { state });
  }
  m.set(
    "queue_oldest_age_seconds",
    "Age of the oldest report still to upload",
    oldestQueuedAt === null ? 0 : (now - oldestQueuedAt) / 1000,
  );
  const up = s.upload();
  m.set(
    "breaker_state",
    "Circuit breaker: 0 closed, 1 half-open, 2 open",
    !up || up.breaker === "closed" ? 0 : up.breaker === "half-open" ? 1 : 2,
  );
  m.set(
    "uploads_paused",
    "1 while uploads are paused by a rejected token or URL",
    up?.authProblem ? 1 : 0,
  );
  m.set(
    "last_upload_timestamp_seconds",
    "When the last report was stored",
    up?.lastSuccessAt ? Date.parse(up.lastSuccessAt) / 1000 : 0,
  );
  const p = s.pool();
  m.set("workers", "Converter workers", p?.workers ?? 0, { state: "total" });
  m.set("workers", "Converter workers", p?.busy ?? 0, { state: "busy" });
  m.set("workers", "Converter workers", p?.lost ?? 0, { state: "lost" });
  m.set("intake_paused", "1 while intake is paused", s.intakePause() !== null ? 1 : 0);
  const mem = Deno.memoryUsage();
  m.set("process_resident_memory_bytes", "Resident memory of the agent process", mem.rss);
  m.set("heap_used_bytes", "JavaScript heap in use (main thread)", mem.heapUsed);
  const health = healthOf(s, now);
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
    station: s.config.station.name,
  });
  return m.render();
}
