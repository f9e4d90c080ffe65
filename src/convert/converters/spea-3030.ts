/**
 * `spea-3030`: SPEA 3030 ICT semicolon logs (docs/converters.md, `spea-3030`). A file holds consecutive
 * runs, often of the same serial (retests), each from `FORMAT;` (or `START;`) to `END;`; the
 * tester appends runs, so each run's report id comes from the run's own lines (converting the
 * grown file again keeps the earlier ids). A run without its `END;` line at the end of the file
 * is still being tested and is left for the next conversion.
 *
 * Records: `FORMAT;mmdd|ddmm` (date order of this run), `START;<program>;<sequence>;<version>;
 * <sequence>;<operator>;<date>;<time>`, `LOT;<lot>`, `ANL;<site>;<component>;<group#>;<sub#>;
 * <step name>;;<verdict>;<value>;<low>;<high>;<unit>;<probes>;<id>` (analog), `FUNC;…` (functional
 * rows, same layout), `SN;<serial>` (after the measurements), `BOARDRESULT;PASS|FAIL`,
 * `END;<result>;<date>;<time>`.
 *
 * Mapping: `sn` = `SN;`; `start` = START date + time (station time zone); `uut.execTime` =
 * END − START; `result` = END's (else BOARDRESULT's); operator, sequence name and version from
 * START; `uut.batchSN` = LOT; `pn` = the `partNumber` parameter (not in the file). Steps: a
 * sequence per component class, started whenever the class changes (letter prefix of the
 * component: R/RP/RS → Resistors, C/CP/CS/DSC → Capacitors, L → Inductors, D → Diodes,
 * Q → Transistors, DZ → ZenerDiodes, F → Fuses, J → Jumpers, U → ICs, … else the prefix
 * itself); FUNC rows → a "Functional" sequence (Virinco drops them). Each row: a numeric step
 * (GELE; a limit of exactly 0 counts as "no limit": high 0 → GE low, low 0 → LE high, the
 * SPEA/Virinco convention, switchable with `zeroLimits`), a pass/fail step when value and both
 * limits are 0, a string step when the value is text (`Automatic`). `-NAN` values are left out
 * (noted) and keep the row's verdict. Verdicts `PASS…` → P, `FAIL(+/-)`, `FAIL(+)`… → F. Probe
 * numbers go to the step's report text. Import mode (the file's verdicts are kept).
 *
 * Parameters: the shared ones (params.ts); `processCode` defaults to 30 (ICT);
 * `zeroLimits`: `"absent"` (default) or `"value"` (a 0 limit is a real limit).
 *
 * @module
 */
import { z } from "zod";
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { sha256Hex } from "../ids.ts";
import { isNumberText, parseNumber } from "../number.ts";
import { converterParams, parseParams, processCodeParam } from "../params.ts";
import { clip, decodeText, headText, splitLines } from "../text.ts";
import { type NaiveDateTime, parseDatePattern, zonedToEpoch } from "../time.ts";
import { ReportBuilder } from "../../wsjf/builder.ts";
import { type SequenceBuilder } from "../../wsjf/step_builder.ts";
import { parseStepStatus } from "../../wsjf/status_codes.ts";

const paramsSchema = converterParams({
  processCode: processCodeParam(30),
  zeroLimits: z.enum(["absent", "value"]).default("absent").describe(
    '`"value"`: a limit of 0 is a real limit; `"absent"`: it means no limit.',
  ),
});

type SpeaParams = z.output<typeof paramsSchema>;

const CLASSES: Readonly<Record<string, string>> = {
  R: "Resistors",
  RP: "Resistors",
  RS: "Resistors",
  C: "Capacitors",
  CS: "Capacitors",
  CP: "Capacitors",
  DSC: "Capacitors",
  L: "Inductors",
  D: "Diodes",
  Q: "Transistors",
  CON: "Connectors",
  SHO: "Short",
  TC: "Thermocouple",
  PTC: "PTC",
  DZ: "ZenerDiodes",
  F: "Fuses",
  J: "Jumpers",
  T: "Transformers",
  ISO: "Isolators",
  U: "ICs",
};

/** The record kinds of a run; any other line is skipped with a warning. */
const RUN_RECORDS: ReadonlySet<string> = new Set([
  "START",
  "LOT",
  "ANL",
  "FUNC",
  "SN",
  "BOARDRESULT",
  "END",
]);

/** One run (START … END) as read from the file. */
interface Run {
  firstLine: number;
  lines: { n: number; fields: string[] }[];
  dateOrder: "mdy" | "dmy";
  ended: boolean;
  /** Lines outside any run just before this one (skipped, with a warning). */
  stray: { n: number; text: string }[];
}

/** The SPEA 3030 converter. */
export const converter: Converter = {
  name: "spea-3030",
  params: paramsSchema,
  description: "SPEA 3030 ICT semicolon log (consecutive runs, FORMAT/START … END)",
  pattern: "*.csv",
  detect({ head }) {
    const lines = splitLines(headText(head)).filter((l) => l.trim() !== "").slice(0, 5);
    if (/^FORMAT;(mmdd|ddmm)\s*$/i.test(lines[0] ?? "")) return 0.9;
    if (lines.some((l) => /^START;[^;]*;[^;]*;/.test(l))) return 0.6;
    return 0;
  },
  convert(input: ConvertInput): WsjfReport[] {
    const params = parseParams(input.params, paramsSchema, "spea-3030");
    const { text } = decodeText(input.bytes, { encoding: params.encoding });
    const runs = readRuns(splitLines(text), input.name);
    const seen = new Map<string, number>();
    return runs.filter((r) => r.ended).map((run, i) => {
      const hash = sha256Hex(run.lines.map((l) => l.fields.join(";")).join("\n"));
      const k = seen.get(hash) ?? 0;
      seen.set(hash, k + 1);
      return buildRun(input, params, run, i, `spea:${hash}:${k}`);
    });
  },
};

function readRuns(lines: string[], file: string): Run[] {
  const runs: Run[] = [];
  let run: Run | undefined;
  let order: Run["dateOrder"] = "mdy";
  let sawRecord = false;
  let stray: Run["stray"] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    const fields = line.split(";");
    const kind = fields[0].toUpperCase();
    if (kind === "FORMAT") {
      sawRecord = true;
      const f = (fields[1] ?? "").trim().toLowerCase();
      order = f === "ddmm" ? "dmy" : "mdy";
      return;
    }
    if (kind === "START") {
      sawRecord = true;
      if (run !== undefined && !run.ended) runs.push(run); // unfinished, then a new run
      run = { firstLine: i + 1, lines: [], dateOrder: order, ended: false, stray };
      stray = [];
    }
    if (run === undefined || run.ended) {
      if (["ANL", "FUNC", "SN", "END", "BOARDRESULT", "LOT"].includes(kind)) {
        throw new ConversionError(
          `${file}: line ${i + 1}: a ${kind} record outside a run (no START line before it)`,
          "The file is incomplete at the top, or not a SPEA 3030 log.",
        );
      }
      if (sawRecord) stray.push({ n: i + 1, text: line });
      return;
    }
    run.lines.push({ n: i + 1, fields });
    if (kind === "END") {
      run.ended = true;
      runs.push(run);
    }
  });
  if (!sawRecord) {
    const first = lines.find((l) => l.trim() !== "") ?? "";
    throw new ConversionError(
      `${file} is not a SPEA 3030 log: no FORMAT or START line; first line is ` +
        JSON.stringify(first.slice(0, 80)),
      "Check the converter's format setting for this folder.",
    );
  }
  if (run !== undefined && !run.ended && !runs.includes(run)) runs.push(run);
  // A run cut off by a later START is reported; the open run at the end of the file is not.
  return runs.map((r, k) => (k < runs.length - 1 && !r.ended ? { ...r, ended: true } : r));
}

function dateTime(
  date: string | undefined,
  time: string | undefined,
  order: Run["dateOrder"],
  where: string,
): NaiveDateTime {
  const pattern = order === "dmy" ? "d/M/yyyy H:mm:ss" : "M/d/yyyy H:mm:ss";
  const n = parseDatePattern(`${(date ?? "").trim()} ${(time ?? "").trim()}`, pattern);
  if (n === null) {
    throw new ConversionError(
      `${where}: "${date};${time}" is not a date and time (${
        order === "dmy" ? "dd/MM/yyyy" : "MM/dd/yyyy"
      };HH:mm:ss, from FORMAT)`,
      "Check the FORMAT line (mmdd or ddmm) and that the line is complete.",
    );
  }
  return n;
}

function componentClass(component: string): string {
  const m = /^[A-Za-z]+/.exec(component);
  if (m === null) return component || "Other";
  return CLASSES[m[0].toUpperCase()] ?? m[0];
}

/** PASS, PASS(…) → P; FAIL, FAIL(+/-)… → F; any other word is an error, never a pass. */
function verdict(text: string, where: string): string {
  const t = text.trim().toUpperCase();
  if (/^PASS(ED)?(\(.*\))?$/.test(t)) return "P";
  if (/^FAIL(ED)?(\(.*\))?$/.test(t)) return "F";
  const s = parseStepStatus(t);
  if (s !== undefined) return s;
  throw new ConversionError(
    `${where}: unknown verdict "${text}"`,
    "Expected PASS or FAIL(…); report this file to the agent's maintainers.",
  );
}

function buildRun(
  input: ConvertInput,
  params: SpeaParams,
  run: Run,
  index: number,
  idSeed: string,
): WsjfReport {
  const at = (n: number) => `${input.name}: line ${n}`;
  const start = run.lines[0];
  const startTime = dateTime(start.fields[6], start.fields[7], run.dateOrder, at(start.n));
  const end = run.lines.find((l) => l.fields[0].toUpperCase() === "END");
  const endTime = end && dateTime(end.fields[2], end.fields[3], run.dateOrder, at(end.n));
  const record = (kind: string) => run.lines.find((l) => l.fields[0].toUpperCase() === kind);
  const sn = record("SN")?.fields[1]?.trim() ?? "";
  if (sn === "") {
    throw new ConversionError(
      `${input.name}: the run starting on line ${run.firstLine} has no SN line`,
      "The tester wrote no serial number for this run; check the SPEA program's log settings.",
    );
  }
  const zone = params.timeZone ?? input.station.timeZone;
  const execMs = endTime && zonedToEpoch(endTime, zone) - zonedToEpoch(startTime, zone);
  const resultText = end?.fields[1]?.trim() || record("BOARDRESULT")?.fields[1]?.trim() || "";
  const lot = record("LOT")?.fields[1]?.trim();
  const rb = new ReportBuilder(input, params, {
    sn,
    start: startTime,
    result: resultText === "" ? (end === undefined ? "T" : undefined) : verdict(
      resultText,
      at(end?.n ?? run.firstLine),
    ),
    operator: start.fields[5]?.trim() || undefined,
    execTime: execMs !== undefined && execMs >= 0 ? execMs / 1000 : undefined,
    batchSN: lot || undefined,
    sequence: {
      name: start.fields[2]?.trim() || undefined,
      version: start.fields[3]?.trim() || undefined,
    },
    unitIndex: index,
    idSeed,
  });
  const program = start.fields[1]?.trim();
  if (program) rb.misc("Program", program);
  if (end === undefined) rb.misc("End record", "missing: the next run started first");

  let seq: SequenceBuilder = rb.root;
  let seqName = "";
  for (const s of run.stray) {
    rb.warn(`line ${s.n}: line outside any run skipped: "${clip(s.text)}"`);
  }
  for (const { n, fields } of run.lines) {
    const kind = fields[0].toUpperCase();
    if (!RUN_RECORDS.has(kind)) rb.warn(`line ${n}: unknown record "${clip(fields[0])}" skipped`);
    if (kind !== "ANL" && kind !== "FUNC") continue;
    if (fields.length < 12) {
      throw new ConversionError(
        `${at(n)}: the ${kind} row has ${fields.length} fields, at least 12 expected`,
        "The line is incomplete; check that the tester finished writing the file.",
      );
    }
    const name = kind === "FUNC" ? "Functional" : componentClass(fields[2].trim());
    if (name !== seqName) {
      seq = rb.root.sequence(name);
      seqName = name;
    }
    addRow(seq, fields, params, at(n));
  }
  return rb.build();
}

function addRow(seq: SequenceBuilder, f: string[], params: SpeaParams, where: string) {
  const name = f[5].trim() || f[2].trim() || "Step";
  const status = verdict(f[7], where);
  const probes = (f[12] ?? "").trim();
  const opts = { status, reportText: probes === "" ? undefined : `Probes: ${probes}` };
  const valueText = f[8].trim();
  if (valueText !== "" && !isNumberText(valueText)) {
    seq.string(name, { value: valueText, status }, opts);
    return;
  }
  const value = parseNumber(valueText);
  let low = parseNumber(f[9]);
  let high = parseNumber(f[10]);
  const unit = f[11].trim() || undefined;
  if (value === 0 && (low ?? 0) === 0 && (high ?? 0) === 0) {
    seq.passFail(name, { status }, opts);
    return;
  }
  if (params.zeroLimits === "absent") {
    if (low === 0) low = undefined;
    if (high === 0) high = undefined;
  }
  for (const [what, v, text] of [["low", low, f[9]], ["high", high, f[10]]] as const) {
    if (v !== undefined && Number.isNaN(v) && !isNumberText(text)) {
      throw new ConversionError(`${where}: the ${what} limit "${text.trim()}" is not a number`);
    }
  }
  seq.numeric(name, { value, low, high, unit, status }, opts);
}
