/**
 * `klippel-qc`: Klippel QC (loudspeaker end-of-line) logs. One unit = a header `.txt`
 * (`//comment` lines and `Key=Value` lines) **and** the sibling folder of the same name with
 * one tab-separated file per result group (`<Group>-<name>.txt`).
 *
 * The header is the trigger: the folder's pattern takes `*.txt` and is not recursive, so the
 * curve files are never offered on their own. When the header is converted, its folder is read
 * once it has settled (see `klippel/curve_folder.ts`: no links, only that folder, bounded). The
 * agent's post-action then moves or deletes the header only; the folder stays (Klippel keeps
 * its log folders; clean them up with the station's own retention).
 *
 * Header: `sn` = `Cfg_SerialNumber`; `start` = `Cfg_DutStartTime`
 * (`year-month-week-julianDay-weekDay-day-hour-min-sec-ms-utcOffsetMinutes-epoch`, the offset
 * kept); operator = `Cfg_UserName`; `machineName` = `Cfg_PCName` when set; `result` =
 * `Ctrl_OverallVerdict` (1 pass, 0 fail, 2 warning → fail unless `warningAs: "pass"`, −1 void
 * → Terminated, 3 noise / 4 invalid → Error); `uut.errorMessage` = `Ctrl_ErrorGeneral`; root
 * sequence = the database (`Cfg_DatabasePath`); login mode, speaker, verdict, header file →
 * misc infos. No part number in the file: `partNumber` is required.
 *
 * Folder: each group (text before the first `-`) → a sequence call. A values file (`name value
 * max min`) → one numeric step per row (GELE min/max, GE or LE with one limit, logged without;
 * `-` = no value). A curve file (`frq <result> max [min]`) → a numeric step named after the
 * result with Average/Min/Max (logged) and "Points out of limits" (≤ 0) and the curve with its
 * limit curves as a chart (log X, Hz; the Y unit from `units`). Verdicts come from the header's
 * `Results_Pass/Fail/Warning/Void/Noise/Invalid` lists (where a result is not listed, from its
 * limits); a listed result without data → a pass/fail step with its verdict.
 *
 * @module
 */
import { z } from "zod";
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { parseNumber } from "../number.ts";
import { converterParams, parseParams } from "../params.ts";
import {
  clip,
  cutShortError,
  decodeText,
  headText,
  splitKeyValue,
  splitLines,
  unterminatedLastLine,
} from "../text.ts";
import { type NumericInput } from "../../wsjf/build_input.ts";
import { ReportBuilder } from "../../wsjf/builder.ts";
import { type SequenceBuilder } from "../../wsjf/step_builder.ts";
import { type CurveFile, curveFolderOf, readCurveFolder } from "./klippel/curve_folder.ts";

const paramsSchema = converterParams({
  curveFolder: z.enum(["required", "optional"]).default("required").describe(
    '`"optional"`: a header whose folder never appears is reported alone (with a warning); ' +
      '`"required"`: that is an error.',
  ),
  settleSeconds: z.number().min(0).max(30).default(2).describe(
    "The folder is read when nothing in it changed for this long.",
  ),
  waitSeconds: z.number().min(0).max(50).default(10).describe(
    "Longest wait for the folder to appear and settle (keep it below `pool.timeoutSeconds`).",
  ),
  maxCurveFiles: z.number().int().min(1).max(100_000).default(1000).describe(
    "Most files in one curve folder.",
  ),
  maxCurveFileMB: z.number().positive().max(1024).default(16).describe("Largest curve file."),
  maxCurveFolderMB: z.number().positive().max(4096).default(64).describe(
    "Most bytes in one curve folder.",
  ),
  warningAs: z.enum(["fail", "pass"]).default("fail").describe(
    "What Klippel's Warning verdict (unit or result) counts as.",
  ),
  units: z.record(z.string(), z.string()).default({}).describe(
    'Y unit per result name, e.g. `{"imp": "Ohm", "resp": "dB", "thd": "%"}` (Klippel writes ' +
      "none).",
  ),
});

type Params = z.output<typeof paramsSchema>;

const KEY_LINE = /^(Cfg|Ctrl|Results)_\w+=/m;

/** The Klippel QC converter. */
export const converter: Converter = {
  name: "klippel-qc",
  params: paramsSchema,
  description: "Klippel QC log: header .txt (Key=Value) plus its curve folder; one unit",
  pattern: "*.txt",
  detect({ head }) {
    const text = headText(head);
    const keys = text.match(/^(Cfg|Ctrl|Results)_\w+=/gm)?.length ?? 0;
    if (keys === 0) return 0;
    if (/^Cfg_(SerialNumber|DutStartTime)=/m.test(text) || keys >= 3) return 0.95;
    return KEY_LINE.test(text) ? 0.6 : 0;
  },
  async convert(input: ConvertInput): Promise<WsjfReport[]> {
    const params = parseParams(input.params, paramsSchema, "klippel-qc");
    const { text } = decodeText(input.bytes, { encoding: params.encoding });
    const header = readHeader(text, input.name);
    const rb = startReport(input, params, header);
    const dir = curveFolderOf(input.path, input.name);
    const folder = await readCurveFolder(dir, input.name, {
      maxFiles: params.maxCurveFiles,
      maxFileBytes: Math.floor(params.maxCurveFileMB * 1024 * 1024),
      maxTotalBytes: Math.floor(params.maxCurveFolderMB * 1024 * 1024),
      settleMs: params.settleSeconds * 1000,
      waitMs: params.waitSeconds * 1000,
    });
    const verdicts = resultVerdicts(header, params);
    const seen = new Set<string>();
    if (!folder.found) {
      if (params.curveFolder === "required") {
        throw new ConversionError(
          `${input.name}: its curve folder ${dir} is not there (waited ${params.waitSeconds} s)`,
          "Klippel QC writes the results into that folder: check that it saves them beside the " +
            'header, or set "curveFolder": "optional" to report the header\'s verdicts alone.',
        );
      }
      rb.warn(`curve folder ${dir} not found: only the header's verdicts are reported`);
    } else {
      for (const s of folder.skipped) rb.warn(`skipped ${s} in the curve folder (not a .txt file)`);
      const groups = new Map<string, SequenceBuilder>();
      for (const f of folder.files) {
        addFile(rb, groups, f, params, verdicts, seen, input.name);
      }
    }
    // Results the header lists that have no data (Klippel lists e.g. polarity as a verdict).
    for (const [name, v] of verdicts) {
      if (!seen.has(name.toLowerCase())) {
        rb.root.passFail(name, { status: v.status }, {
          status: v.status,
          reportText: `Klippel verdict ${v.list}; no data for this result in the curve folder`,
        });
      }
    }
    return [rb.build()];
  },
};

interface Header {
  values: Map<string, string>;
  get(key: string): string;
}

/** Keys Klippel QC writes into every header; one missing means the header was cut short. */
const ALWAYS_WRITTEN = ["Ctrl_OverallVerdict", "Results_Pass", "Results_Fail"];

function readHeader(text: string, file: string): Header {
  const values = new Map<string, string>();
  const lines = splitLines(text);
  let lastLine = 0;
  let lastIsComment = false;
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    lastLine = i + 1;
    lastIsComment = line.trimStart().startsWith("//");
    if (lastIsComment) return;
    const kv = splitKeyValue(line, "=");
    if (kv !== null && !values.has(kv[0])) values.set(kv[0], kv[1]);
  });
  if (!values.has("Cfg_SerialNumber") && !values.has("Cfg_DutStartTime")) {
    throw new ConversionError(
      `${file} is not a Klippel QC header: no Cfg_SerialNumber or Cfg_DutStartTime line`,
      "Check the converter's format setting for this folder (curve files are read with their " +
        "header, not on their own).",
    );
  }
  // Klippel ends every line, and writes each //comment line above its Key=Value line.
  const open = unterminatedLastLine(text);
  if (open !== undefined) {
    throw cutShortError(file, `line ${open}`, "the last line has no line end");
  }
  if (lastIsComment) {
    throw cutShortError(
      file,
      `line ${lastLine}`,
      "the header ends with a comment, without its Key=Value line",
    );
  }
  const missing = ALWAYS_WRITTEN.filter((k) => !values.has(k));
  if (missing.length > 0) {
    throw cutShortError(
      file,
      `line ${lastLine}`,
      `the header ends without ${missing.join(", ")} (Klippel QC writes ${
        missing.length === 1 ? "it" : "them"
      } into every header)`,
    );
  }
  return { values, get: (k) => values.get(k) ?? "" };
}

/** `2020-5-20-135-5-14-10-1-37-563-120-1.589E+09` → `2020-05-14T10:01:37.563+02:00`. */
export function parseDutStartTime(text: string): string | null {
  const m =
    /^\s*(\d{4})-(\d{1,2})-\d{1,2}-\d{1,3}-\d-(\d{1,2})-(\d{1,2})-(\d{1,2})-(\d{1,2})-(\d{1,3})-(-?\d{1,4})(?:-.*)?$/
      .exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const offset = Number(m[8]);
  const d = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day ||
    hour > 23 || minute > 59 || second > 59 || Math.abs(offset) > 14 * 60
  ) return null;
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const off = `${offset < 0 ? "-" : "+"}${p(Math.floor(Math.abs(offset) / 60))}:${
    p(Math.abs(offset) % 60)
  }`;
  return `${year}-${p(month)}-${p(day)}T${p(hour)}:${p(minute)}:${p(second)}.${
    p(Number(m[7]), 3)
  }${off}`;
}

const VERDICTS: Readonly<Record<string, string>> = {
  "1": "Pass",
  "0": "Fail",
  "2": "Warning",
  "-1": "Void",
  "3": "Noise",
  "4": "Invalid",
};

function startReport(input: ConvertInput, params: Params, h: Header): ReportBuilder {
  const file = input.name;
  const startText = h.get("Cfg_DutStartTime");
  const start = parseDutStartTime(startText);
  if (start === null) {
    throw new ConversionError(
      `${file}: Cfg_DutStartTime "${clip(startText)}" is not a Klippel date ` +
        "(year-month-week-julianDay-weekDay-day-hour-min-sec-ms-utcOffsetMinutes-epoch)",
      "Check that the header file is complete.",
    );
  }
  const code = h.get("Ctrl_OverallVerdict").trim();
  const word = VERDICTS[code];
  if (word === undefined) {
    throw new ConversionError(
      `${file}: unknown Ctrl_OverallVerdict "${clip(code)}"`,
      "Expected -1 (void), 0 (fail), 1 (pass), 2 (warning), 3 (noise) or 4 (invalid); report " +
        "this file to the agent's maintainers.",
    );
  }
  const db = h.get("Cfg_DatabasePath");
  const dbName = db.split(/[\\/]/).pop()?.replace(/\.[^.]*$/, "") || undefined;
  const rb = new ReportBuilder(input, params, {
    sn: h.get("Cfg_SerialNumber"),
    start,
    result: listStatus(word, params),
    operator: h.get("Cfg_UserName") || undefined,
    machineName: h.get("Cfg_PCName") || undefined,
    errorMessage: h.get("Ctrl_ErrorGeneral") || undefined,
    sequence: dbName ? { name: dbName, path: db } : undefined,
  });
  rb.misc("Klippel verdict", `${code} (${word})`);
  for (const [key, label] of [["Cfg_LoginMode", "Login mode"], ["Cfg_Speaker", "Speaker"]]) {
    if (h.get(key)) rb.misc(label, h.get(key));
  }
  if (/^t/i.test(h.get("Ctrl_Repeat"))) rb.misc("Repeat", "the test is going to be repeated");
  rb.misc("Header file", file);
  return rb;
}

/** A verdict list's word → status letter. */
function listStatus(word: string, p: Params): string {
  switch (word) {
    case "Pass":
      return "P";
    case "Warning":
      return p.warningAs === "pass" ? "P" : "F";
    case "Void":
      return "T";
    case "Noise":
    case "Invalid":
      return "E";
    default:
      return "F";
  }
}

/** Result name → its verdict, from the header's `Results_*` lists (first list wins). */
function resultVerdicts(h: Header, p: Params): Map<string, { status: string; list: string }> {
  const out = new Map<string, { status: string; list: string }>();
  const lower = new Set<string>();
  for (const word of ["Fail", "Invalid", "Noise", "Void", "Warning", "Pass"]) {
    for (const name of h.get(`Results_${word}`).split("\t").map((s) => s.trim())) {
      if (name === "" || lower.has(name.toLowerCase())) continue;
      lower.add(name.toLowerCase());
      out.set(name, { status: listStatus(word, p), list: word });
    }
  }
  return out;
}

function verdictOf(
  verdicts: Map<string, { status: string; list: string }>,
  name: string,
): string | undefined {
  for (const [k, v] of verdicts) if (k.toLowerCase() === name.toLowerCase()) return v.status;
  return undefined;
}

function addFile(
  rb: ReportBuilder,
  groups: Map<string, SequenceBuilder>,
  f: CurveFile,
  p: Params,
  verdicts: Map<string, { status: string; list: string }>,
  seen: Set<string>,
  header: string,
) {
  const where = `${header}: curve file ${f.name}`;
  const stem = f.name.replace(/\.txt$/i, "");
  const dash = stem.indexOf("-");
  const group = dash > 0 ? stem.slice(0, dash).trim() : stem;
  const rows = splitLines(decodeText(f.bytes, { encoding: p.encoding }).text)
    .filter((l) => l.trim() !== "")
    .map((l) => l.split("\t").map((c) => c.trim()));
  if (rows.length === 0) {
    rb.warn(`${f.name} in the curve folder is empty`);
    return;
  }
  const head = rows[0].map((c) => c.toLowerCase());
  let seq = groups.get(group);
  const sequence = () => {
    if (seq === undefined) {
      seq = rb.root.sequence(group);
      groups.set(group, seq);
    }
    return seq;
  };
  const col = (name: string) => head.indexOf(name);
  const num = (cells: string[], i: number, line: number, what: string) => {
    if (i < 0) return undefined;
    const t = cells[i] ?? "";
    const v = parseNumber(t, p.decimalSeparator);
    if (v !== undefined && Number.isNaN(v)) {
      throw new ConversionError(`${where}, line ${line}: ${what} "${clip(t)}" is not a number`);
    }
    return v;
  };
  if (head[0] === "name") {
    const [vi, hi, li] = [col("value"), col("max"), col("min")];
    for (let r = 1; r < rows.length; r++) {
      const cells = rows[r];
      const name = cells[0] || `Value (line ${r + 1})`;
      const status = verdictOf(verdicts, name);
      seen.add(name.toLowerCase());
      sequence().numeric(name, {
        value: num(cells, vi, r + 1, "value"),
        high: num(cells, hi, r + 1, "max"),
        low: num(cells, li, r + 1, "min"),
        unit: p.units[name],
        status,
      }, { status });
    }
    return;
  }
  if (head.length >= 2 && /^(frq|freq|frequency|f|time|t)$/.test(head[0])) {
    addCurve(sequence(), rows, p, verdicts, seen, where, num);
    return;
  }
  rb.warn(`skipped ${f.name} in the curve folder: its first row is neither "name …" nor "frq …"`);
}

function addCurve(
  seq: SequenceBuilder,
  rows: string[][],
  p: Params,
  verdicts: Map<string, { status: string; list: string }>,
  seen: Set<string>,
  where: string,
  num: (cells: string[], i: number, line: number, what: string) => number | undefined,
) {
  const head = rows[0].map((c) => c.toLowerCase());
  const name = rows[0][1];
  const [hi, li] = [head.indexOf("max", 2), head.indexOf("min", 2)];
  const series = { y: [[], []], max: [[], []], min: [[], []] } as Record<
    string,
    [number[], number[]]
  >;
  let outside = 0;
  for (let r = 1; r < rows.length; r++) {
    const x = num(rows[r], 0, r + 1, rows[0][0]);
    if (x === undefined) continue;
    const y = num(rows[r], 1, r + 1, name);
    const max = num(rows[r], hi, r + 1, "max");
    const min = num(rows[r], li, r + 1, "min");
    for (const [k, v] of [["y", y], ["max", max], ["min", min]] as const) {
      if (v !== undefined && Number.isFinite(v)) {
        series[k][0].push(x);
        series[k][1].push(v);
      }
    }
    if (y !== undefined && ((max !== undefined && y > max) || (min !== undefined && y < min))) {
      outside++;
    }
  }
  const ys = series.y[1];
  if (ys.length === 0) {
    throw new ConversionError(`${where}: the curve "${name}" has no values`);
  }
  const status = verdictOf(verdicts, name);
  seen.add(name.toLowerCase());
  const unit = p.units[name];
  let [sum, lo, hiY] = [0, ys[0], ys[0]];
  for (const v of ys) {
    sum += v;
    if (v < lo) lo = v;
    if (v > hiY) hiY = v;
  }
  const ms: NumericInput[] = [
    { name: "Average", value: sum / ys.length, compOp: "LOG", unit },
    { name: "Min", value: lo, compOp: "LOG", unit },
    { name: "Max", value: hiY, compOp: "LOG", unit },
  ];
  if (hi >= 0 || li >= 0) {
    ms.push({ name: "Points out of limits", value: outside, compOp: "LE", limit: 0 });
  }
  const isFrequency = /^f/.test(head[0]);
  seq.multiNumeric(name, ms, { status }).chart({
    chartType: isFrequency ? "LineLogX" : "Line",
    label: name,
    xLabel: rows[0][0],
    xUnit: isFrequency ? "Hz" : undefined,
    yLabel: name,
    yUnit: unit,
    series: [
      { name, x: series.y[0], y: series.y[1] },
      ...(series.max[1].length > 0 ? [{ name: "max", x: series.max[0], y: series.max[1] }] : []),
      ...(series.min[1].length > 0 ? [{ name: "min", x: series.min[0], y: series.min[1] }] : []),
    ],
  });
}
