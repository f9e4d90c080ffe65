/**
 * Counters, gauges and histograms, rendered in the Prometheus text format for `GET /metrics`.
 *
 * @module
 */

type Labels = Record<string, string>;

interface Family {
  help: string;
  type: "counter" | "gauge" | "histogram";
  values: Map<string, number>;
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

/** A registry of metrics. Names get the `wats_agent_` prefix. */
export class Metrics {
  #families = new Map<string, Family>();

  #family(name: string, type: Family["type"], help: string, buckets?: number[]): Family {
    let f = this.#families.get(name);
    if (!f) {
      f = { help, type, values: new Map(), buckets, hist: buckets ? new Map() : undefined };
      this.#families.set(name, f);
    }
    return f;
  }

  /** Declares a counter so it shows (as 0) before its first increment. */
  counter(name: string, help: string, labels?: Labels): void {
    const f = this.#family(name, "counter", help);
    const k = labelKey(labels);
    if (!f.values.has(k)) f.values.set(k, 0);
  }

  /** Adds to a counter. */
  inc(name: string, labels?: Labels, by = 1): void {
    const f = this.#family(name, "counter", name);
    const k = labelKey(labels);
    f.values.set(k, (f.values.get(k) ?? 0) + by);
  }

  /** The current value of a counter or gauge (0 when unset). */
  get(name: string, labels?: Labels): number {
    return this.#families.get(name)?.values.get(labelKey(labels)) ?? 0;
  }

  /** Sets a gauge. */
  set(name: string, help: string, value: number, labels?: Labels): void {
    this.#family(name, "gauge", help).values.set(labelKey(labels), value);
  }

  /** Declares a histogram with the given upper bounds. */
  histogram(name: string, help: string, buckets: number[]): void {
    this.#family(name, "histogram", help, [...buckets].sort((a, b) => a - b));
  }

  /** Records one observation in a histogram. */
  observe(name: string, value: number, labels?: Labels): void {
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
      const name = `wats_agent_${short}`;
      lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      if (f.type === "histogram") {
        for (const [k, h] of f.hist!) {
          const inner = k ? k.slice(1, -1) + "," : "";
          f.buckets!.forEach((b, i) => lines.push(`${name}_bucket{${inner}le="${b}"} ${h.counts[i]}`));
          lines.push(`${name}_bucket{${inner}le="+Inf"} ${h.count}`);
          lines.push(`${name}_sum${k} ${h.sum}`, `${name}_count${k} ${h.count}`);
        }
      } else {
        for (const [k, v] of f.values) lines.push(`${name}${k} ${v}`);
      }
    }
    return lines.join("\n") + "\n";
  }
}
