/**
 * What the WATS server changes between a submitted report and its read-back
 * (docs/wsjf.md#what-the-server-changes-on-read-back): unknown fields dropped, trailing whitespace trimmed in `rev`/`partType`, ids
 * lower-cased, `startUTC`, `processName`, `productName`, `origin` and `assetStats` filled in.
 *
 * @module
 */
import { parseDateTime, toUtcText } from "./datetime.ts";
import type { WatsProcess } from "./processes.ts";
import { knownFields } from "./wsjf_model.ts";

type Json = Record<string, unknown>;

/** Inputs the server adds to a report on store. */
export interface NormaliseSettings {
  /** Known processes, for `processName`. */
  processes: readonly WatsProcess[];
  /** `origin` for reports that carry none: the token user's GUID on a real server. */
  origin: string;
}

/**
 * Returns the report as the server would serve it back. `report` must have passed
 * validation; it is not modified, but the result shares nested values it does not change
 * (a freshly parsed request body is expected).
 */
export function normaliseReport(report: Json, settings: NormaliseSettings): Json {
  const out = pick(report, "report");
  out.id = String(report.id).toLowerCase();
  out.rev = String(report.rev).trimEnd();
  const start = parseDateTime(String(report.start));
  if (start !== null) out.startUTC = toUtcText(start);
  out.processName = processName(settings.processes, report.processCode);
  out.productName = null;
  out.origin = typeof report.origin === "string" && report.origin !== ""
    ? report.origin
    : settings.origin;
  out.assetStats = [];
  if (isObject(report.uut)) out.uut = pick(report.uut, "uut");
  if (isObject(report.uur)) {
    const uur = pick(report.uur, "uur");
    if (typeof uur.refUUT === "string") uur.refUUT = uur.refUUT.toLowerCase();
    if (uur.processCode !== undefined) {
      uur.processName = processName(settings.processes, uur.processCode);
    }
    out.uur = uur;
  }
  if (isObject(report.root)) out.root = step(report.root);
  mapList(out, "miscInfos", (m) => pick(m, "miscInfo"));
  mapList(out, "assets", (a) => pick(a, "asset"));
  mapList(out, "subUnits", (s) => {
    const unit = pick(s, "subUnit");
    if (typeof unit.rev === "string") unit.rev = unit.rev.trimEnd();
    if (typeof unit.partType === "string") unit.partType = unit.partType.trimEnd();
    return unit;
  });
  return out;
}

function step(source: Json): Json {
  const out = pick(source, "step");
  for (const kind of ["seqCall", "loop", "attachment"]) {
    if (isObject(out[kind])) out[kind] = pick(out[kind] as Json, kind);
  }
  if (isObject(out.chart)) {
    const chart = pick(out.chart, "chart");
    mapList(chart, "series", (s) => pick(s, "chartSeries"));
    out.chart = chart;
  }
  for (const kind of ["numericMeas", "booleanMeas", "stringMeas"]) {
    mapList(out, kind, (m) => pick(m, kind));
  }
  mapList(out, "steps", step);
  return out;
}

function processName(processes: readonly WatsProcess[], code: unknown): string | null {
  return processes.find((p) => p.code === code)?.name ?? null;
}

/** A shallow copy with only the fields the server knows for this kind of object. */
function pick(source: Json, kind: string): Json {
  const known = knownFields[kind];
  const out: Json = {};
  for (const [key, value] of Object.entries(source)) {
    if (known.includes(key)) out[key] = value;
  }
  return out;
}

function mapList(parent: Json, field: string, map: (item: Json) => Json): void {
  const list = parent[field];
  if (Array.isArray(list)) parent[field] = list.map((item) => isObject(item) ? map(item) : item);
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
