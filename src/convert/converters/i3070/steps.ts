/**
 * The tests of an i3070 board as steps (docs/converters.md, `i3070`): a BLOCK of analog tests
 * → a numeric step (several named sub-measurements → a multi-numeric step), a block that mixes
 * analog and digital tests → a sequence of steps, a stand-alone test record → its own step.
 * Analog values take the base unit of their record type and their `{@LIM2}`/`{@LIM3}` limits
 * (GELE, the nominal in the report text; a number cut off at the end of its line is left out,
 * with a warning); pass/fail records (D-T, TJET, TS, PF, …) carry their counts and detail
 * records in the report text. Failure-report lines (`{@RPT}`) are collected for the board.
 *
 * @module
 */
import { ConversionError } from "../../conversion_error.ts";
import { parseInteger, parseNumber } from "../../number.ts";
import { type NumericInput } from "../../../wsjf/build_input.ts";
import { type SequenceBuilder, type StepBuilder } from "../../../wsjf/step_builder.ts";
import { type I3070Record } from "./records.ts";

/** Longest report text kept per step (the printed report can be long). */
const MAX_TEXT = 5000;

/** Analog record types and the base unit of their values. */
export const ANALOG_UNITS: Readonly<Record<string, string>> = {
  "A-RES": "Ω",
  "A-JUM": "Ω",
  "A-FUS": "Ω",
  "A-POT": "Ω",
  "A-SWI": "Ω",
  "A-CAP": "F",
  "A-IND": "H",
  "A-DIO": "V",
  "A-ZEN": "V",
  "A-NPN": "V",
  "A-PNP": "V",
  "A-NFE": "",
  "A-PFE": "",
  "A-MEA": "",
};

/** Pass/fail record types: where their status and designator are, and their counts. */
const PASS_FAIL: Readonly<
  Record<string, { status: number; designator: number; info: ReadonlyArray<[string, number]> }>
> = {
  "D-T": {
    status: 0,
    designator: 4,
    info: [["substatus", 1], ["failing vector", 2], ["pin count", 3]],
  },
  "TJET": { status: 0, designator: 2, info: [["pin count", 1]] },
  "TS": { status: 0, designator: 4, info: [["shorts", 1], ["opens", 2], ["phantoms", 3]] },
  "PF": { status: 1, designator: 0, info: [["pins", 2]] },
  "BS-CON": { status: 1, designator: 0, info: [["shorts", 2], ["opens", 3]] },
  "CCHK": { status: 0, designator: 2, info: [["pin count", 1]] },
  "PCHK": { status: 0, designator: 1, info: [] },
  "PRB": { status: 0, designator: 2, info: [["pin count", 1]] },
  "ARRAY": { status: 1, designator: 0, info: [["failures", 2], ["samples", 3]] },
  "D-PLD": { status: 2, designator: 0, info: [["action", 1], ["message", 3]] },
};

/** A number the tester writes in full (`+1.482000E+00`): a cut one lacks its exponent. */
const WHOLE_NUMBER_RE = /^[+-]?\d+(?:\.\d+)?E[+-]\d{2,}$/i;

/** What the step builders need besides the records: the file name and the board's warnings. */
export interface Cx {
  file: string;
  warn(line: number, message: string): void;
}

/** Whether a record is a test (analog or pass/fail). */
export function isTest(name: string): boolean {
  return name in ANALOG_UNITS || name in PASS_FAIL;
}

/** A designator without the board prefix (`3%`), `%` shown as `/`. */
function cleanDesignator(d: string): string {
  return d.replace(/^\d+%/, "").replaceAll("%", "/");
}

/** The step name of a test record: its designator, else `fallback`. */
export function designatorName(r: I3070Record, fallback: string): string {
  const spec = PASS_FAIL[r.name];
  const d = spec ? r.fields[spec.designator] ?? "" : "";
  return d === "" ? fallback : cleanDesignator(d);
}

/** A BLOCK record as a step of `seq`; its `{@RPT}` lines go to `report`. */
export function addBlock(seq: SequenceBuilder, block: I3070Record, report: string[], cx: Cx) {
  const name = cleanDesignator(block.fields[0] ?? "") || "BLOCK";
  const status = statusOf(block.fields[1]);
  if (status === undefined && (block.fields[1] ?? "") !== "") {
    // Read as "no status", the measurements could make it a pass.
    throw new ConversionError(
      `${cx.file}: line ${block.line}: {@BLOCK status "${block.fields[1]}" is not a number`,
      "Check that the file is an unmodified i3070 log.",
    );
  }
  const tests = block.children.filter((c) => isTest(c.name));
  const text: string[] = [];
  for (const c of block.children) {
    if (c.name === "RPT") report.push(c.fields.join("|"));
    else if (!isTest(c.name) && c.name !== "") text.push(render(c));
  }
  let step: StepBuilder;
  if (tests.length > 0 && tests.every((c) => c.name in ANALOG_UNITS)) {
    const ms = tests.map((c) => analog(c, text, tests.length > 1, cx));
    step = ms.length === 1
      ? seq.numeric(name, ms[0], { status })
      : seq.multiNumeric(name, ms, { status });
  } else if (tests.length > 0) {
    const sub = seq.sequence(name, { status });
    tests.forEach((c) => {
      if (c.name in ANALOG_UNITS) {
        const t: string[] = [];
        const m = analog(c, t, false, cx);
        sub.numeric(m.name ?? c.name, m, t.length > 0 ? { reportText: t.join("\n") } : {});
      } else addTest(sub, c, designatorName(c, c.name), report, cx);
    });
    step = sub;
  } else {
    step = seq.action(name, { status: status ?? "D" });
  }
  if (text.length > 0) step.set({ reportText: cap(text.join("\n")) });
}

/**
 * An analog record (with its LIM2/LIM3) as a numeric measurement; nominal goes to `text`.
 * A record cut short at the end of its line keeps what is whole: a number cut off (no
 * exponent left) is dropped, never guessed, with a warning.
 */
function analog(r: I3070Record, text: string[], named: boolean, cx: Cx): NumericInput {
  const lim = r.children.find((c) => c.name === "LIM2" || c.name === "LIM3");
  if (r.unclosed || lim?.unclosed) {
    cx.warn(
      r.line,
      `{@${r.name} record not closed on its line (the line was cut short); read to the end of the line`,
    );
  }
  /** The number in field `i` of `rec`, or undefined when the line cut it. */
  const num = (rec: I3070Record, i: number, what: string): number | undefined => {
    const f = rec.fields[i] ?? "";
    if (rec.cutField && i === rec.fields.length - 1 && !WHOLE_NUMBER_RE.test(f)) {
      if (f !== "") cx.warn(rec.line, `{@${rec.name} ${what} "${f}" is cut off; left out`);
      return undefined;
    }
    return parseNumber(f);
  };
  const [statusField, , subName] = r.fields;
  if (r.cutField && r.fields.length < 2) {
    throw new ConversionError(
      `${cx.file}: line ${r.line}: {@${r.name} record is cut off before its value`,
      "The log writer cut this line short; check the tester's log settings.",
    );
  }
  const value = num(r, 1, "value");
  const m: NumericInput = {
    name: subName || (named ? r.name : undefined),
    value: value === undefined ? NaN : value,
    unit: ANALOG_UNITS[r.name] || undefined,
    status: statusOf(statusField),
  };
  if (m.status === undefined) {
    throw new ConversionError(
      `${cx.file}: line ${r.line}: {@${r.name} test status "${statusField ?? ""}" is not a number`,
      "Check that the file is an unmodified i3070 log.",
    );
  }
  if (lim !== undefined) {
    const at = lim.name === "LIM3" ? 1 : 0;
    m.high = num(lim, at, "high limit");
    m.low = num(lim, at + 1, "low limit");
    // Both limits → GELE; one left (the other cut off) → inferred from the one present.
    if (m.high !== undefined && m.low !== undefined) m.compOp = "GELE";
    else if (m.high === undefined && m.low === undefined) m.compOp = "LOG";
    if (lim.name === "LIM3") {
      const nominal = num(lim, 0, "nominal");
      const shown = nominal === undefined || Number.isNaN(nominal)
        ? lim.fields[0] ?? ""
        : `${nominal}${m.unit ? ` ${m.unit}` : ""}`;
      text.push(`${m.name ? `${m.name}: ` : ""}nominal ${shown}`);
    }
  }
  return m;
}

/** A stand-alone test record as a step of `seq`; its `{@RPT}` lines go to `report`. */
export function addTest(
  seq: SequenceBuilder,
  r: I3070Record,
  name: string,
  report: string[],
  cx: Cx,
): void {
  if (r.name in ANALOG_UNITS) {
    const text: string[] = [];
    const m = analog(r, text, false, cx);
    seq.numeric(m.name ?? name, m, text.length > 0 ? { reportText: text.join("\n") } : {});
    return;
  }
  const spec = PASS_FAIL[r.name];
  const raw = r.fields[spec.status];
  let status = statusOf(raw);
  if (r.name === "D-PLD" && status === undefined && (raw ?? "") !== "") status = "F";
  if (status === undefined) {
    throw new ConversionError(
      `${cx.file}: line ${r.line}: {@${r.name} test status "${raw ?? ""}" is not a number`,
      "Check that the file is an unmodified i3070 log.",
    );
  }
  const text: string[] = [];
  const info = spec.info
    .map(([label, i]) => [label, r.fields[i] ?? ""])
    .filter(([, v]) => v !== "")
    .map(([label, v]) => `${label} ${v}`);
  if (info.length > 0) text.push(info.join(", "));
  for (const c of r.children) {
    if (c.name === "RPT") report.push(c.fields.join("|"));
    else if (c.name !== "") text.push(render(c));
  }
  seq.passFail(name, { status }, text.length > 0 ? { reportText: cap(text.join("\n")) } : {});
}

/** `0`/`00` → P, any other number → F, anything else → undefined. */
function statusOf(field: string | undefined): "P" | "F" | undefined {
  const n = parseInteger(field ?? "");
  if (n === undefined || Number.isNaN(n)) return undefined;
  return n === 0 ? "P" : "F";
}

/** A detail record (and its children) as one text line each, as written. */
function render(r: I3070Record): string {
  return [`${r.name}${r.raw}`, ...r.children.map(render)].join("\n");
}

/** A report text cut to the longest kept. */
export function cap(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}
