/**
 * `sigmaquest`: SigmaQuest / SigmaSure `UnitReport` XML (the export customers migrating to WATS
 * bring; with or without the `urn:unitreport-schema` namespace). One file = one unit.
 *
 * Header: the first `Category//Product` gives `pn` (`part-no`), `sn` (`serial-no`), `rev`
 * (`version`); further Products → sub units. `Operator@name` → operator; `Station@name` →
 * `machineName` unless it is a placeholder such as `<No Station>`; station properties
 * "Test Software" → sequence version (else `UnitReport@software-version`) and "Location" →
 * location; `start` = the earlier of `UnitReport@start-time` and the root TestRun's (the
 * report's own start is often later); `execTime` = end − start; root `TestRun@name` →
 * sequence name; `result` = root `TestRun@grade`; `UnitReport@mode` → misc info.
 *
 * Steps: a TestRun with TestRuns inside → sequence call (its own values, if any, first as a
 * step of the same name); a TestRun without → one step: its `Result`/`SetUp` values
 * (`ValueDouble`/`ValueInteger` → numeric with `lsl`/`usl`/`uom`, `ValueString` → string,
 * `ValueBoolean` → pass/fail; several → a multi-measurement step; mixed kinds → a sequence of
 * one step per value; SetUp → setup group), or a pass/fail step with the grade when it has
 * none. Grades PASS/FAIL/… (and a value's own `grade`) are kept; `PENDING` → Terminated (not
 * graded). A limit of 0 means "not set" (`lsl="0" usl="-2.4"` is graded PASS at −3.4), unless
 * `zeroLimits` is "value". A `Comparison`/`COMP` property sets the operator; "Fail Notes" and
 * other properties → report text; `ValueAttachment` → its `fqn` in the report text (the path
 * is on the originating PC); `Error/Message` → step error message; times from
 * `start-time`/`end-time`.
 *
 * Refused: an unknown grade or comparison (named in the message; never read as a pass), no
 * Product, no TestRun.
 *
 * @module
 */
import { z } from "zod";
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { parseNumber } from "../number.ts";
import { converterParams, parseParams } from "../params.ts";
import { clip, headText } from "../text.ts";
import { isoToEpochMs } from "../time.ts";
import {
  type NumericInput,
  type PassFailInput,
  type StepOptions,
  type StringInput,
} from "../../wsjf/build_input.ts";
import { ReportBuilder } from "../../wsjf/builder.ts";
import { type SequenceBuilder } from "../../wsjf/step_builder.ts";
import { parseStepStatus, STEP_STATUSES } from "../../wsjf/status_codes.ts";
import {
  attr,
  child,
  childrenNamed,
  parseXmlBytes,
  textOf,
  type XmlElement,
  xmlRoot,
} from "../xml.ts";

const paramsSchema = converterParams({
  zeroLimits: z.enum(["absent", "value"]).default("absent").describe(
    '`"absent"`: a limit of 0 is "not set"; `"value"`: 0 is a real limit.',
  ),
  grades: z.record(z.string(), z.enum(STEP_STATUSES)).default({}).describe(
    'Extra grade words → status letters (`P F D S E T U`), e.g. `{"RETEST": "F"}`.',
  ),
});

type Params = z.output<typeof paramsSchema>;

const NUMERIC = new Set(["ValueDouble", "ValueInteger"]);
const VALUE_KINDS = new Set(["ValueDouble", "ValueInteger", "ValueString", "ValueBoolean"]);
const PLACEHOLDER_STATION = /^\s*(<\s*no station\s*>|none|n\/a|)\s*$/i;
const COMPARISONS = new Set([
  "EQ",
  "NE",
  "LT",
  "LE",
  "GT",
  "GE",
  "GELE",
  "GELT",
  "GTLE",
  "GTLT",
  "LEGE",
  "LEGT",
  "LTGE",
  "LTGT",
  "LOG",
]);

/** The SigmaQuest converter. */
export const converter: Converter = {
  name: "sigmaquest",
  params: paramsSchema,
  description: "SigmaQuest / SigmaSure UnitReport XML (nested TestRun tree); one unit",
  pattern: "*.xml",
  detect({ head }) {
    const text = headText(head);
    const root = xmlRoot(text);
    if (root?.local !== "UnitReport") return 0;
    return /<(TestRun|Product|Station)\b/.test(text) ? 0.95 : 0.6;
  },
  convert(input: ConvertInput): WsjfReport[] {
    const params = parseParams(input.params, paramsSchema, "sigmaquest");
    const root = parseXmlBytes(input.bytes, { name: input.name, encoding: params.encoding });
    if (root.local !== "UnitReport") {
      throw new ConversionError(
        `${input.name} is not a SigmaQuest UnitReport: the XML root is <${root.name}>`,
        "Check the converter's format setting for this folder.",
      );
    }
    return [buildUnit(input, params, root)];
  },
};

function buildUnit(input: ConvertInput, params: Params, root: XmlElement): WsjfReport {
  const file = input.name;
  const products = descendantsNamed(root, "Product");
  if (products.length === 0) {
    throw new ConversionError(
      `${file}: no <Product> (part and serial number) in the UnitReport`,
      "Export the unit report with its Category/Product.",
    );
  }
  const run = child(root, "TestRun");
  if (run === undefined) {
    throw new ConversionError(`${file}: the UnitReport has no <TestRun>`);
  }
  const station = child(root, "Station");
  const stationProps = station === undefined ? [] : properties(station);
  const prop = (name: string) =>
    stationProps.find((p) => (attr(p, "name") ?? "").toLowerCase() === name.toLowerCase());
  const stationName = station === undefined ? "" : attr(station, "name") ?? "";
  const starts = [attr(root, "start-time"), attr(run, "start-time")].filter((s) => s?.trim());
  if (starts.length === 0) {
    throw new ConversionError(`${file}: neither the UnitReport nor its TestRun has a start-time`);
  }
  const ms = (s: string) => isoToEpochMs(s.trim());
  const start = starts.reduce((a, b) => (ms(b!) < ms(a!) ? b : a))!.trim();
  const product = products[0];
  const rb = new ReportBuilder(input, params, {
    sn: attr(product, "serial-no") ?? "",
    pn: attr(product, "part-no"),
    rev: attr(product, "version"),
    start,
    result: grade(attr(run, "grade"), params, `${file}: line ${run.line}`),
    operator: attr(child(root, "Operator") ?? root, "name"),
    machineName: PLACEHOLDER_STATION.test(stationName) ? undefined : stationName,
    location: prop("Location") ? textOf(prop("Location")) : undefined,
    sequence: {
      name: attr(run, "name"),
      version: (prop("Test Software") ? textOf(prop("Test Software")) : undefined) ??
        attr(root, "software-version"),
    },
  });
  const end = attr(root, "end-time") ?? attr(run, "end-time");
  if (end !== undefined && Number.isFinite(ms(end)) && ms(end) >= ms(start)) {
    rb.header.execTime = (ms(end) - ms(start)) / 1000;
  }
  const mode = attr(root, "mode");
  if (mode) rb.misc("Mode", mode);
  if (stationName && PLACEHOLDER_STATION.test(stationName)) rb.misc("Station name", stationName);
  for (const p of stationProps) {
    const n = attr(p, "name") ?? p.local;
    if (!/^(location|test software)$/i.test(n) && textOf(p) !== "") rb.misc(n, textOf(p));
  }
  for (const p of products.slice(1)) {
    rb.subUnit({
      partType: attr(p, "name") ?? "Product",
      pn: attr(p, "part-no") ?? "",
      sn: attr(p, "serial-no") ?? "",
      rev: attr(p, "version"),
    });
  }
  addRunContents(rb.root, run, params, file);
  return rb.build();
}

/** The TestRun's values, properties and sub runs, added to `seq` (the root run's contents). */
function addRunContents(seq: SequenceBuilder, run: XmlElement, p: Params, file: string) {
  const subRuns = childrenNamed(run, "TestRun");
  if (values(run).length > 0) addLeaf(seq, run, p, file);
  for (const sub of subRuns) addRun(seq, sub, p, file);
}

function addRun(seq: SequenceBuilder, run: XmlElement, p: Params, file: string) {
  const name = attr(run, "name") || `TestRun (line ${run.line})`;
  if (childrenNamed(run, "TestRun").length > 0) {
    const sub = seq.sequence(name, stepOptions(run, p, file));
    addRunContents(sub, run, p, file);
    return;
  }
  addLeaf(seq, run, p, file);
}

/** One step for a TestRun without sub runs: its values, or its grade alone. */
function addLeaf(seq: SequenceBuilder, run: XmlElement, p: Params, file: string) {
  const name = attr(run, "name") || `TestRun (line ${run.line})`;
  const opts = stepOptions(run, p, file);
  const vals = values(run);
  if (vals.length === 0) {
    // Only a grade: a pass/fail step for PASS/FAIL, else an action with that status.
    if (opts.status === undefined || opts.status === "P" || opts.status === "F") {
      seq.passFail(name, { status: opts.status ?? "P" }, opts);
    } else seq.action(name, opts);
    return;
  }
  if (vals.some((v) => v.setup)) opts.group = "S";
  const comp = comparison(run, file);
  const kinds = new Set(vals.map((v) => kindOf(v.el)));
  const one = vals.length === 1;
  if (kinds.size === 1) {
    const kind = [...kinds][0];
    if (kind === "numeric") {
      const ms = vals.map((v) => numeric(v.el, p, comp, file));
      if (one) seq.numeric(name, ms[0], opts);
      else seq.multiNumeric(name, ms, opts);
    } else if (kind === "string") {
      const ms = vals.map((v) => stringValue(v.el, p, file));
      if (one) seq.string(name, ms[0], opts);
      else seq.multiString(name, ms, opts);
    } else {
      const ms = vals.map((v) => boolValue(v.el, p, file));
      if (one) seq.passFail(name, ms[0], opts);
      else seq.multiPassFail(name, ms, opts);
    }
    return;
  }
  // Mixed kinds can't share a step: one step per value inside a sequence of the run's name.
  const sub = seq.sequence(name, opts);
  for (const v of vals) {
    const label = attr(v.el, "name") || v.el.local;
    const kind = kindOf(v.el);
    if (kind === "numeric") sub.numeric(label, numeric(v.el, p, comp, file));
    else if (kind === "string") sub.string(label, stringValue(v.el, p, file));
    else sub.passFail(label, boolValue(v.el, p, file));
  }
}

function stepOptions(run: XmlElement, p: Params, file: string): StepOptions {
  const where = `${file}: line ${run.line}`;
  const opts: StepOptions = { status: grade(attr(run, "grade"), p, where) };
  const start = attr(run, "start-time");
  const end = attr(run, "end-time");
  if (start && Number.isFinite(isoToEpochMs(start))) {
    opts.start = start.trim();
    if (end && isoToEpochMs(end) >= isoToEpochMs(start)) {
      opts.totTime = (isoToEpochMs(end) - isoToEpochMs(start)) / 1000;
    }
  }
  const text: string[] = [];
  for (const prop of properties(run)) {
    const n = attr(prop, "name") ?? prop.local;
    if (/^(comparison|comp)$/i.test(n)) continue;
    if (prop.local === "ValueAttachment") {
      text.push(`Attachment ${n}: ${attr(prop, "fqn") ?? ""}`);
    } else if (/^fail notes$/i.test(n)) text.push(textOf(prop));
    else text.push(`${n}=${textOf(prop)}`);
  }
  if (text.length > 0) opts.reportText = text.join("\n");
  const errors = childrenNamed(run, "Error").flatMap((e) => [
    ...childrenNamed(e, "Message").map((m) => `${attr(m, "name") ?? "Error"}: ${textOf(m)}`),
    ...(textOf(e) ? [textOf(e)] : []),
  ]);
  if (errors.length > 0) opts.errorMessage = errors.join("\n");
  return opts;
}

/** The value elements of a TestRun's Result and SetUp blocks (directly or in their Property). */
function values(run: XmlElement): Array<{ el: XmlElement; setup: boolean }> {
  const out: Array<{ el: XmlElement; setup: boolean }> = [];
  for (const block of run.children) {
    if (block.local !== "Result" && block.local !== "SetUp") continue;
    const setup = block.local === "SetUp";
    for (const c of block.children) {
      if (VALUE_KINDS.has(c.local)) out.push({ el: c, setup });
      else if (c.local === "Property") {
        for (const v of c.children) if (VALUE_KINDS.has(v.local)) out.push({ el: v, setup });
      }
    }
  }
  return out;
}

/** The values of the element's own `Property` blocks. */
function properties(el: XmlElement): XmlElement[] {
  return childrenNamed(el, "Property").flatMap((p) => p.children);
}

function kindOf(el: XmlElement): "numeric" | "string" | "boolean" {
  return NUMERIC.has(el.local) ? "numeric" : el.local === "ValueString" ? "string" : "boolean";
}

function numeric(el: XmlElement, p: Params, comp: string | undefined, file: string): NumericInput {
  const where = `${file}: line ${el.line}`;
  const num = (s: string | undefined, what: string) => {
    if (s === undefined || s.trim() === "" || s.trim().toLowerCase() === "null") return undefined;
    const v = parseNumber(s, p.decimalSeparator);
    if (v !== undefined && Number.isNaN(v) && !/nan/i.test(s)) {
      throw new ConversionError(`${where}: ${what} "${s}" is not a number`);
    }
    return v;
  };
  const limit = (s: string | undefined, what: string) => {
    const v = num(s, what);
    return v === 0 && p.zeroLimits === "absent" ? undefined : v;
  };
  const low = limit(attr(el, "lsl"), "lsl");
  const high = limit(attr(el, "usl"), "usl");
  const m: NumericInput = {
    name: attr(el, "name"),
    value: num(textOf(el), "value"),
    unit: attr(el, "uom") || undefined,
    status: valueGrade(el, p, where),
  };
  if (comp === undefined) [m.low, m.high] = [low, high];
  else {
    m.compOp = comp;
    if (/^G[TE]$/.test(comp)) m.limit = low ?? high;
    else if (/^L[TE]$/.test(comp)) m.limit = high ?? low;
    else if (comp === "EQ" || comp === "NE") m.limit = low ?? high;
    else if (comp !== "LOG") [m.low, m.high] = [low, high];
    // An operator whose limits are not set only logs the value.
    const missing = comp.length === 2
      ? m.limit === undefined
      : low === undefined || high === undefined;
    if (comp !== "LOG" && missing) {
      [m.compOp, m.limit, m.low, m.high] = ["LOG", undefined, undefined, undefined];
    }
  }
  return m;
}

function stringValue(el: XmlElement, p: Params, file: string): StringInput {
  return {
    name: attr(el, "name"),
    value: el.text.trim(),
    status: valueGrade(el, p, `${file}: line ${el.line}`),
  };
}

function boolValue(el: XmlElement, p: Params, file: string): PassFailInput {
  const where = `${file}: line ${el.line}`;
  const t = textOf(el).toLowerCase();
  const passed = t === "true" || t === "1" ? true : t === "false" || t === "0" ? false : undefined;
  const status = valueGrade(el, p, where);
  if (passed === undefined && status === undefined) {
    throw new ConversionError(`${where}: ValueBoolean "${clip(textOf(el))}" is not true or false`);
  }
  return { name: attr(el, "name"), passed, status };
}

function valueGrade(el: XmlElement, p: Params, where: string): string | undefined {
  const g = attr(el, "grade");
  return g === undefined ? undefined : grade(g, p, where);
}

/** A TestRun's `Comparison`/`COMP` property ("GELE", "LT (less than)") → operator. */
function comparison(run: XmlElement, file: string): string | undefined {
  const prop = properties(run).find((c) => /^(comparison|comp)$/i.test(attr(c, "name") ?? ""));
  if (prop === undefined) return undefined;
  const raw = textOf(prop).split("(")[0].trim().toUpperCase();
  const op = raw === "E" ? "EQ" : raw;
  if (!COMPARISONS.has(op)) {
    throw new ConversionError(
      `${file}: line ${prop.line}: unknown comparison "${clip(textOf(prop))}"`,
      "Expected EQ, NE, LT, LE, GT, GE, GELE, GELT, GTLE, GTLT, LEGE, LEGT, LTGE, LTGT or LOG.",
    );
  }
  return op;
}

/** PASS/FAIL/… → a status letter; PENDING → T; anything else is refused. */
function grade(text: string | undefined, p: Params, where: string): string | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const t = text.trim();
  const own = Object.keys(p.grades).find((k) => k.toLowerCase() === t.toLowerCase());
  if (own !== undefined) return p.grades[own];
  const s = parseStepStatus(t);
  if (s !== undefined) return s;
  if (/^(pending|incomplete|aborted)$/i.test(t)) return "T";
  throw new ConversionError(
    `${where}: unknown grade "${clip(t)}"`,
    'Expected PASS, FAIL, ERROR, SKIPPED or PENDING; map other grades with the "grades" ' +
      'parameter (e.g. {"RETEST": "F"}).',
  );
}

function descendantsNamed(el: XmlElement, local: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    for (const c of e.children) {
      if (c.local === "TestRun") continue; // products are in Category blocks, not in the steps
      if (c.local === local) out.push(c);
      walk(c);
    }
  };
  walk(el);
  return out;
}
