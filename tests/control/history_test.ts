/** Per-minute history: buckets by minute, keeps one hour, follows the metrics counters. */
import assert from "#assert";
import { History } from "../../src/control/history.ts";
import { Metrics } from "../../src/metrics/registry.ts";

const T0 = Date.parse("2026-01-01T10:00:30Z");

Deno.test("history: counts land in their minute; the last hour is kept, older minutes drop", () => {
  const h = new History(60);
  h.add("uploaded", 2, T0);
  h.add("uploaded", 1, T0 + 20_000);
  h.add("failed", 1, T0 + 60_000);
  const now = T0 + 60_000;
  const s = h.series(now);
  assert.equal(s.minutes.length, 60);
  assert.equal(s.minutes.at(-1)!.t, "2026-01-01T10:01:00.000Z");
  assert.equal(s.minutes.at(-1)!.failed, 1);
  assert.equal(s.minutes.at(-2)!.uploaded, 3);
  assert.deepEqual(s.totals, { queued: 0, uploaded: 3, rejected: 0, retried: 0, failed: 1 });
  // 59 minutes later the 10:00 minute is still the oldest kept; one more and it is gone.
  assert.equal(h.series(T0 + 59 * 60_000).totals.uploaded, 3);
  assert.equal(h.series(T0 + 60 * 60_000).totals.uploaded, 0);
  h.add("queued", 1, T0 + 61 * 60_000);
  assert.equal(h.series(T0 + 61 * 60_000).totals.failed, 0);
});

Deno.test("history: follows the counters it maps (and only those)", () => {
  const m = new Metrics();
  const h = new History().follow(m);
  m.inc("reports_uploaded_total");
  m.inc("reports_queued_total", { converter: "a" }, 4);
  m.inc("files_failed_total", { converter: "a" });
  m.inc("reports_rejected_total");
  m.inc("upload_retries_total", undefined, 2);
  m.inc("files_seen_total", { converter: "a" }, 9);
  assert.deepEqual(h.series().totals, {
    queued: 4,
    uploaded: 1,
    rejected: 1,
    retried: 2,
    failed: 1,
  });
});

Deno.test("history: restore adds an earlier run's minutes that are still inside the hour", () => {
  const earlier = new History(60);
  earlier.add("uploaded", 4, T0);
  earlier.add("failed", 1, T0 - 30 * 60_000);
  const saved = earlier.series(T0).minutes;
  const h = new History(60);
  h.add("uploaded", 1, T0); // this run's first upload, same minute
  h.restore(saved, T0 + 10 * 60_000);
  const s = h.series(T0 + 10 * 60_000);
  assert.equal(s.totals.uploaded, 5);
  assert.equal(s.totals.failed, 1);
  // 40 minutes on, the failure from 30 minutes before T0 has left the hour; restoring again
  // later only takes what is still inside it.
  const late = new History(60);
  late.restore(saved, T0 + 40 * 60_000);
  assert.deepEqual(late.series(T0 + 40 * 60_000).totals, {
    queued: 0,
    uploaded: 4,
    rejected: 0,
    retried: 0,
    failed: 0,
  });
  late.restore([{ ...saved.at(-1)!, uploaded: Number.NaN }], T0);
  assert.equal(late.series(T0).totals.uploaded, 4, "a damaged value is skipped");
});
