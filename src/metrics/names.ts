/**
 * Every metric the agent exposes on `GET /metrics`, by its name without the `wats_agent_`
 * prefix, with its Prometheus type and the labels it carries. The registry takes only these
 * names ({@link MetricName}), so a misspelt name does not compile; tests/metrics/names_test.ts
 * holds this list and the public surface snapshot (tests/surface/snapshots/metrics.txt) equal.
 *
 * @module
 */

/** Name → type and label names. */
export const METRICS = {
  // Intake, per converter (watch/intake.ts).
  files_seen_total: { type: "counter", labels: ["converter"] },
  files_converted_total: { type: "counter", labels: ["converter"] },
  files_failed_total: { type: "counter", labels: ["converter"] },
  files_duplicate_total: { type: "counter", labels: ["converter"] },
  reports_queued_total: { type: "counter", labels: ["converter"] },
  conversion_warnings_total: { type: "counter", labels: ["converter"] },
  // Uploads (upload/uploader.ts).
  uploads_total: { type: "counter", labels: ["outcome"] },
  reports_uploaded_total: { type: "counter", labels: [] },
  reports_rejected_total: { type: "counter", labels: [] },
  upload_retries_total: { type: "counter", labels: [] },
  breaker_probes_total: { type: "counter", labels: [] },
  upload_seconds: { type: "histogram", labels: [] },
  // Gauges refreshed at each scrape (agent/gauges.ts).
  queue_reports: { type: "gauge", labels: ["state"] },
  queue_oldest_age_seconds: { type: "gauge", labels: [] },
  breaker_state: { type: "gauge", labels: [] },
  uploads_paused: { type: "gauge", labels: [] },
  last_upload_timestamp_seconds: { type: "gauge", labels: [] },
  workers: { type: "gauge", labels: ["state"] },
  intake_paused: { type: "gauge", labels: [] },
  process_resident_memory_bytes: { type: "gauge", labels: [] },
  heap_used_bytes: { type: "gauge", labels: [] },
  health_state: { type: "gauge", labels: ["state"] },
  health_reasons: { type: "gauge", labels: [] },
  info: { type: "gauge", labels: ["station", "version"] },
} as const satisfies Record<
  string,
  { type: "counter" | "gauge" | "histogram"; labels: readonly string[] }
>;

/** The name of one of the agent's metrics. */
export type MetricName = keyof typeof METRICS;

/** The prefix every exposed name carries. */
export const METRIC_PREFIX = "wats_agent_";
