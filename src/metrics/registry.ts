/**
 * Counters, gauges and histograms, rendered in the Prometheus text format for `GET /metrics`.
 * The agent's registry takes only the names in names.ts.
 *
 * @module
 */
import { METRIC_PREFIX, type MetricName } from "./names.ts";

type Labels = Record<string, string>;

interface Family {
  help: string;
  type: "counter" | "gauge" | "histogram";
  values: Map<string, number>;
  /** Declared without labels but counted with labels: the unlabelled 0 is only a placeholder. */
  placeholder?: boolean;
  buckets?: number[];
  hist?: Map<string, { counts: number[]; sum: number; count: number }>;
}

function labelKey(labels?: Labels): string {
  if (!labels) return "";
  const parts = Object.keys(labels).sort().map((k) =>
    `${k}="${labels[k].replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`
  );
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** Called on every counter increment (e.g. to keep per-minute history). */
export type IncListener<N extends string = MetricName> = (
  name: N,
  by: number,
  labels?: Labels,
) => void;

/** A sample value in the exposition format (NaN and infinities spelled as Prometheus wants). */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/**
 * A registry of metrics. Names get the `wats_agent_` prefix. `N` is the names it takes: the
 * agent's own ({@link MetricName}) unless a test asks for any string.
 */
export class Metrics<N extends string = MetricName> {
  #families = new Map<N, Family>();
  #listeners: IncListener<N>[] = [];

  /** Calls `fn` on every counter increment. */
  onInc(fn: IncListener<N>): void {
    this.#listeners.push(fn);
  }

  #family(name: N, type: Family["type"], help: string, buckets?: number[]): Family {
    let f = this.#families.get(name);
    if (!f) {
      f = { help, type, values: new Map(), buckets, hist: buckets ? new Map() : undefined };
      this.#families.set(name, f);
    }
    return f;
  }

  /**
   * Declares a counter so it shows (as 0) before its first increment; with `labels`, that
   * label set's series (then the unlabelled placeholder goes).
   */
  counter(name: N, help: string, labels?: Labels): void {
    const f = this.#family(name, "counter", help);
    f.help = help;
    const k = labelKey(labels);
    if (k && f.values.get("") === 0) f.placeholder = true;
    if (!f.values.has(k)) f.values.set(k, 0);
  }

  /** Adds to a counter. */
  inc(name: N, labels?: Labels, by = 1): void {
    const f = this.#family(name, "counter", name);
    const k = labelKey(labels);
    if (k && f.values.get("") === 0) f.placeholder = true;
    f.values.set(k, (f.values.get(k) ?? 0) + by);
    for (const fn of this.#listeners) fn(name, by, labels);
  }

  /** The sum of a counter or gauge over all its label sets (0 when unset). */
  sum(name: N): number {
    let total = 0;
    for (const v of this.#families.get(name)?.values.values() ?? []) total += v;
    return total;
  }

  /** The current value of a counter or gauge (0 when unset). */
  get(name: N, labels?: Labels): number {
    return this.#families.get(name)?.values.get(labelKey(labels)) ?? 0;
  }

  /** Sets a gauge. */
  set(name: N, help: string, value: number, labels?: Labels): void {
    this.#family(name, "gauge", help).values.set(labelKey(labels), value);
  }

  /** Declares a histogram with the given upper bounds. */
  histogram(name: N, help: string, buckets: number[]): void {
    this.#family(name, "histogram", help, [...buckets].sort((a, b) => a - b));
  }

  /** Records one observation in a histogram. */
  observe(name: N, value: number, labels?: Labels): void {
    const f = this.#families.get(name);
    if (!f?.hist || !f.buckets) throw new Error(`histogram ${name} is not declared`);
    const k = labelKey(labels);
    let h = f.hist.get(k);
    if (!h) f.hist.set(k, h = { counts: f.buckets.map(() => 0), sum: 0, count: 0 });
    f.buckets.forEach((b, i) => {
      if (value <= b) h!.counts[i]++;
    });
    h.sum += value;
    h.count++;
  }

  /** The Prometheus text exposition. */
  render(): string {
    const lines: string[] = [];
    for (const [short, f] of this.#families) {
      const name = `${METRIC_PREFIX}${short}`;
      lines.push(
        `# HELP ${name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`,
        `# TYPE ${name} ${f.type}`,
      );
      if (f.type === "histogram") {
        for (const [k, h] of f.hist!) {
          const inner = k ? k.slice(1, -1) + "," : "";
          f.buckets!.forEach((b, i) =>
            lines.push(`${name}_bucket{${inner}le="${b}"} ${h.counts[i]}`)
          );
          lines.push(`${name}_bucket{${inner}le="+Inf"} ${h.count}`);
          lines.push(`${name}_sum${k} ${formatValue(h.sum)}`, `${name}_count${k} ${h.count}`);
        }
      } else {
        for (const [k, v] of f.values) {
          // A family counted per label set drops its unlabelled placeholder (a duplicate total).
          if (k === "" && f.placeholder && v === 0) continue;
          lines.push(`${name}${k} ${formatValue(v)}`);
        }
      }
    }
    return lines.join("\n") + "\n";
  }
}

/**
 * A registry seen with its names as plain strings: for code whose names are not yet typed as
 * {@link MetricName} (upload/uploader.ts declares its counters from an untyped list). The
 * agent's registry is one (method parameters are compared loosely).
 */
export interface AnyMetrics {
  counter(name: string, help: string, labels?: Labels): void;
  inc(name: string, labels?: Labels, by?: number): void;
  sum(name: string): number;
  get(name: string, labels?: Labels): number;
  set(name: string, help: string, value: number, labels?: Labels): void;
  histogram(name: string, help: string, buckets: number[]): void;
  observe(name: string, value: number, labels?: Labels): void;
  render(): string;
}
