/**
 * Throughput history: per-minute counts for the last hour (reports queued, uploaded, rejected,
 * retried; files failed), kept in memory and fed from the metrics registry's counters. The
 * status page draws its chart from it (`GET /history`).
 *
 * @module
 */
import type { Metrics } from "../metrics/registry.ts";
import type { MetricName } from "../metrics/names.ts";

/** The series the history keeps, and the counter each one follows. */
export const HISTORY_SERIES = {
  queued: "reports_queued_total",
  uploaded: "reports_uploaded_total",
  rejected: "reports_rejected_total",
  retried: "upload_retries_total",
  failed: "files_failed_total",
} as const satisfies Record<string, MetricName>;

/** One series name. */
export type SeriesName = keyof typeof HISTORY_SERIES;

/** Counts of one minute. */
export type MinuteCounts = Record<SeriesName, number>;

/** One minute of history: its start (ISO) and its counts. */
export interface HistoryMinute extends MinuteCounts {
  t: string;
}

/** What `GET /history` answers. */
export interface HistoryAnswer {
  /** Minutes kept, oldest first; the last one is the current (partial) minute. */
  minutes: HistoryMinute[];
  /** Sums over those minutes. */
  totals: MinuteCounts;
}

const MINUTE = 60_000;

function zero(): MinuteCounts {
  return { queued: 0, uploaded: 0, rejected: 0, retried: 0, failed: 0 };
}

/** Per-minute counts for the last `size` minutes. */
export class History {
  #buckets = new Map<number, MinuteCounts>();

  /** @param size how many minutes to keep (the current one included) */
  constructor(readonly size = 60) {}

  /** Follows the counters of `metrics` from now on. */
  follow(metrics: Metrics): this {
    const byCounter = new Map<string, SeriesName>(
      Object.entries(HISTORY_SERIES).map(([series, counter]) => [counter, series as SeriesName]),
    );
    metrics.onInc((name, by) => {
      const series = byCounter.get(name);
      if (series) this.add(series, by);
    });
    return this;
  }

  /** Counts `n` events of `series` at `now`. */
  add(series: SeriesName, n = 1, now = Date.now()): void {
    const minute = Math.floor(now / MINUTE);
    let b = this.#buckets.get(minute);
    if (!b) {
      this.#buckets.set(minute, b = zero());
      for (const m of this.#buckets.keys()) if (m <= minute - this.size) this.#buckets.delete(m);
    }
    b[series] += n;
  }

  /** Adds minutes saved by an earlier run (the ones still inside the window). */
  restore(minutes: readonly HistoryMinute[], now = Date.now()): void {
    const current = Math.floor(now / MINUTE);
    for (const m of minutes) {
      const minute = Math.floor(Date.parse(m.t) / MINUTE);
      if (!(minute > current - this.size && minute <= current)) continue;
      const b = this.#buckets.get(minute) ?? zero();
      for (const k of Object.keys(HISTORY_SERIES) as SeriesName[]) {
        if (Number.isFinite(m[k])) b[k] += m[k];
      }
      this.#buckets.set(minute, b);
    }
  }

  /** The last `size` minutes, oldest first, minutes without events as zeros. */
  series(now = Date.now()): HistoryAnswer {
    const current = Math.floor(now / MINUTE);
    const minutes: HistoryMinute[] = [];
    const totals = zero();
    for (let m = current - this.size + 1; m <= current; m++) {
      const b = this.#buckets.get(m) ?? zero();
      minutes.push({ t: new Date(m * MINUTE).toISOString(), ...b });
      for (const k of Object.keys(totals) as SeriesName[]) totals[k] += b[k];
    }
    return { minutes, totals };
  }
}
