/**
 * A strict checker of the Prometheus text exposition format (version 0.0.4), written from the
 * format's description, for tests: it returns every problem it finds (empty when the text is
 * valid) and the parsed samples.
 *
 * @module
 */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The outcome of checking an exposition. */
export interface Exposition {
  problems: string[];
  samples: Sample[];
  types: Map<string, string>;
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(v: string): number | null {
  if (v === "NaN") return NaN;
  if (v === "+Inf" || v === "Inf") return Infinity;
  if (v === "-Inf") return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) return null;
  return Number(v);
}

/** Parses `{a="x",b="y"}` starting at `text[0] === "{"`; returns labels and the rest. */
function parseLabels(text: string): { labels: Record<string, string>; rest: string } | string {
  const labels: Record<string, string> = {};
  let i = 1;
  while (true) {
    if (text[i] === "}") return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf("=", i);
    if (eq === -1) return "label without '='";
    const name = text.slice(i, eq);
    if (!LABEL.test(name)) return `bad label name ${JSON.stringify(name)}`;
    if (name in labels) return `label ${name} given twice`;
    if (text[eq + 1] !== '"') return `label ${name}: value not quoted`;
    let j = eq + 2;
    let value = "";
    while (j < text.length && text[j] !== '"') {
      if (text[j] === "\\") {
        const next = text[j + 1];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else return `label ${name}: bad escape \\${next}`;
        j += 2;
      } else {
        if (text[j] === "\n") return `label ${name}: raw newline`;
        value += text[j++];
      }
    }
    if (text[j] !== '"') return `label ${name}: unterminated value`;
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") return `expected ',' or '}' after label ${name}`;
  }
}

/** The family a sample name belongs to, given the declared types. */
function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (types.get(base) === "histogram" || types.get(base) === "summary") return base;
    }
  }
  return name;
}

/** Checks an exposition; `problems` lists every violation with its line number. */
export function checkExposition(text: string): Exposition {
  const problems: string[] = [];
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const seenSeries = new Set<string>();
  const finished = new Set<string>();
  let current: string | null = null;
  if (!text.endsWith("\n")) problems.push("the exposition must end with a newline");
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((line, n) => {
    const at = `line ${n + 1}`;
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m;
      if (!METRIC.test(name)) problems.push(`${at}: bad metric name ${name}`);
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) problems.push(`${at}: unknown type ${rest}`);
        if (types.has(name)) problems.push(`${at}: second TYPE for ${name}`);
        if (finished.has(name) || current === name) {
          problems.push(`${at}: TYPE for ${name} after its samples`);
        }
        types.set(name, rest);
      } else {
        if (helps.has(name)) problems.push(`${at}: second HELP for ${name}`);
        helps.add(name);
        if (/\\[^n\\]/.test(rest)) problems.push(`${at}: bad escape in HELP`);
      }
      return;
    }
    const nameMatch = /^[^\s{]+/.exec(line);
    if (!nameMatch) return void problems.push(`${at}: no metric name`);
    const name = nameMatch[0];
    if (!METRIC.test(name)) problems.push(`${at}: bad metric name ${name}`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) {
      const parsed = parseLabels(rest);
      if (typeof parsed === "string") return void problems.push(`${at}: ${parsed}`);
      labels = parsed.labels;
      rest = parsed.rest;
    }
    const parts = rest.trim().split(/\s+/);
    if (!rest.startsWith(" ") || parts.length < 1 || parts.length > 2) {
      return void problems.push(`${at}: expected "<name>{labels} <value> [timestamp]"`);
    }
    const value = parseValue(parts[0]);
    if (value === null) return void problems.push(`${at}: bad value ${parts[0]}`);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) {
      problems.push(`${at}: bad timestamp ${parts[1]}`);
    }
    const family = familyOf(name, types);
    if (current !== family) {
      if (finished.has(family)) problems.push(`${at}: samples of ${family} are not together`);
      if (current) finished.add(current);
      current = family;
    }
    const type = types.get(family);
    if (type === undefined) problems.push(`${at}: ${name} has no TYPE line before it`);
    if (type === "counter" && !(value >= 0)) problems.push(`${at}: counter ${name} is ${value}`);
    if (type === "histogram" && name === family) {
      problems.push(`${at}: histogram ${family} sample without suffix`);
    }
    if (type === "histogram" && name.endsWith("_bucket") && !("le" in labels)) {
      problems.push(`${at}: ${name} without an le label`);
    }
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (seenSeries.has(key)) problems.push(`${at}: series ${key} given twice`);
    seenSeries.add(key);
    samples.push({ name, labels, value });
  });
  checkHistograms(samples, types, problems);
  return { problems, samples, types };
}

function checkHistograms(samples: Sample[], types: Map<string, string>, problems: string[]): void {
  for (const [family, type] of types) {
    if (type !== "histogram") continue;
    const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
    for (const s of samples) {
      if (familyOf(s.name, types) !== family) continue;
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      const g = groups.get(key) ?? { buckets: [] };
      groups.set(key, g);
      if (s.name.endsWith("_bucket")) g.buckets.push([parseValue(le) ?? NaN, s.value]);
      else if (s.name.endsWith("_sum")) g.sum = s.value;
      else if (s.name.endsWith("_count")) g.count = s.value;
    }
    for (const [key, g] of groups) {
      const where = `histogram ${family}${key === "[]" ? "" : key}`;
      if (g.sum === undefined) problems.push(`${where}: no _sum`);
      if (g.count === undefined) problems.push(`${where}: no _count`);
      const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
      if (sorted.at(-1)?.[0] !== Infinity) problems.push(`${where}: no le="+Inf" bucket`);
      for (let i = 1; i < sorted.length; i++) {
        if (sorted[i][1] < sorted[i - 1][1]) problems.push(`${where}: buckets are not cumulative`);
      }
      if (sorted.at(-1) && g.count !== undefined && sorted.at(-1)![1] !== g.count) {
        problems.push(`${where}: +Inf bucket ${sorted.at(-1)![1]} != _count ${g.count}`);
      }
    }
  }
}

/** The value of one sample, or undefined. */
export function sampleValue(
  e: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return e.samples.find((s) =>
    s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want
  )?.value;
}
