/**
 * The TestStand step tree, shared by the `teststand-xml` and `atml` converters.
 *
 * Both formats are serialisations of the same TestStand result list, so both parsers turn their
 * file into the plain {@link TsUnit} / {@link TsStep} structure below, and {@link buildUnit}
 * alone maps it onto the shared WSJF builder:
 *
 * - a step with a sequence call → nested SequenceCall (children in file order);
 * - numeric limit steps (single or multiple) → `numericMeas`; TestStand comparison names go
 *   through {@link numericComparison}: the WSJF tokens as they are, `EQT` (equal with threshold)
 *   and ATML `Expected` + `ThresholdType` turned into absolute GELE limits (percentage, ppm,
 *   delta; the nominal is kept in the report text), unknown names logged only (LOG, noted);
 * - pass/fail → `booleanMeas`; string value → `stringMeas` ({@link stringComparison}:
 *   CaseSensitive/EQ/Equal → CASESENSIT, IgnoreCase/CIEQ → IGNORECASE, …);
 * - everything else → a generic step whose `stepType` is TestStand's when it is one WATS knows
 *   (Action, Statement, Label, Goto, MessagePopup, CallExecutable, NI_*, …), else "Action";
 * - a single-measurement step's measurement carries the step's verdict (TestStand stores one);
 *   skipped steps carry no measurements (their values are stale);
 * - loops (`loop.idx` per iteration, `num/passed/failed/endingIndex` on the summary), message
 *   popups, call-executable exit codes, charts, attachments, additional results, error code and
 *   message, report text, step group, total time, TestStand step id (`tsGuid`);
 * - steps on TestStand's critical failure stack get `causedUUTFailure`, and the deepest of them
 *   becomes `uut.stepIdCausedUUTFailure`.
 *
 * Step start times are rendered by the parsers, through a StepClock (step_clock.ts).
 *
 * @module
 */
import type { ConvertInput, WsjfReport } from "../../contract.ts";
import type { CommonParams } from "../../params.ts";
import {
  type AttachmentInput,
  type ChartInput,
  type NumericInput,
  type ReportHeader,
  type StepOptions,
  type StringInput,
} from "../../../wsjf/build_input.ts";
import { dropUndefined } from "../../../wsjf/fields.ts";
import { ReportBuilder } from "../../../wsjf/builder.ts";
import { type SequenceBuilder } from "../../../wsjf/step_builder.ts";
import { parseNumericCompOp } from "../../../wsjf/compop.ts";
import { type AdditionalData, type LoopInfo } from "../../../wsjf/report.ts";
import { walkSteps } from "../../../wsjf/rules.ts";
import { parseStepStatus } from "../../../wsjf/status_codes.ts";

/** A threshold limit (TestStand "equal with threshold"): nominal ± low/high. */
export interface TsThreshold {
  /** "percentage", "ppm" or "delta" (any case). */
  type: string;
  nominal?: number;
  low?: number;
  high?: number;
}

/** A numeric measurement as TestStand wrote it. */
export interface TsNumeric {
  /** Measurement name (multiple numeric limit steps). */
  name?: string;
  value?: number;
  /** TestStand comparison: GELE, GT, LOG, EQT, … (case-insensitive). */
  comp?: string;
  /** Low limit; for single-limit comparisons TestStand keeps the limit here. */
  low?: number;
  high?: number;
  unit?: string;
  /** The measurement's own verdict word, when the file has one. */
  status?: string;
  /** For EQT / Expected-with-threshold limits. */
  threshold?: TsThreshold;
}

/** A string measurement as TestStand wrote it. */
export interface TsString {
  name?: string;
  value?: string;
  limit?: string;
  /** TestStand comparison: CaseSensitive, IgnoreCase, CIEQ, EQ, LOG, … */
  comp?: string;
  status?: string;
}

/** A pass/fail measurement. */
export interface TsPassFail {
  name?: string;
  passed?: boolean;
  status?: string;
}

/** One TestStand step result. */
export interface TsStep {
  name: string;
  /** TestStand's step type name (NumericLimitTest, ET_NLT, Action, NI_Wait, …). */
  stepType?: string;
  /** The file's verdict word (Passed, Failed, Done, Skipped, Error, Terminated, …). */
  status?: string;
  /** Setup, Main or Cleanup. */
  group?: string;
  /** ISO 8601 with offset (see StepClock in step_clock.ts). */
  start?: string;
  /** Seconds. */
  totTime?: number;
  tsGuid?: string;
  errorCode?: number;
  errorMessage?: string;
  reportText?: string;
  causedSeqFailure?: boolean;
  causedUUTFailure?: boolean;
  loop?: LoopInfo;
  /** Present when the step called a sequence. */
  sequence?: { name?: string; path?: string; version?: string; steps: TsStep[] };
  numeric?: TsNumeric[];
  passFail?: TsPassFail[];
  strings?: TsString[];
  /** The step type is a multiple-measurement type (ET_MNLT, NI_MultipleNumericLimitTest, …). */
  multi?: boolean;
  messagePopup?: { button?: number; response?: string };
  callExe?: { exitCode?: number };
  chart?: ChartInput;
  attachment?: AttachmentInput;
  additionalResults?: AdditionalData[];
  /** Lines the converter adds to the report text (what it could not map). */
  notes?: string[];
}

/** One unit (one WATS report) as a TestStand file describes it. */
export interface TsUnit {
  header: ReportHeader;
  misc: Array<{ description: string; text: string }>;
  subUnits: Array<{ partType?: string; pn: string; sn: string; rev?: string }>;
  additionalData?: AdditionalData[];
  steps: TsStep[];
}

/** Builds the WSJF report of one unit through the shared builder. */
export function buildUnit(
  input: ConvertInput,
  params: CommonParams,
  unit: TsUnit,
): WsjfReport {
  const rb = new ReportBuilder(input, params, unit.header);
  for (const m of unit.misc) rb.misc(m.description, m.text);
  for (const s of unit.subUnits) rb.subUnit(s);
  if (unit.additionalData && unit.additionalData.length > 0) {
    rb.setExtra({ additionalData: unit.additionalData });
  }
  addSteps(rb.root, unit.steps);
  const report = rb.build();
  if (report.uut && report.uut.stepIdCausedUUTFailure === undefined) {
    let failed: number | undefined;
    walkSteps(report.root!, "root", (step) => {
      if (step.causedUUTFailure) failed = step.id;
    });
    if (failed !== undefined) report.uut.stepIdCausedUUTFailure = failed;
  }
  return report;
}

/** Adds TestStand step results to a sequence, in order. */
export function addSteps(seq: SequenceBuilder, steps: readonly TsStep[]): void {
  for (const s of steps) addStep(seq, s);
}

/** Step types WATS knows for generic (measurement-less) steps. */
const GENERIC_TYPES = new Set([
  "Action",
  "ET_A",
  "Statement",
  "Label",
  "Goto",
  "MessagePopup",
  "CallExecutable",
  "DoWhile",
  "SequenceCall",
  "WATS_SeqCall",
]);

/** TestStand measurement step types → the WATS type of a step that carries no measurement. */
const MEASUREMENT_TYPES: Readonly<Record<string, string>> = {
  numericlimittest: "ET_NLT",
  et_nlt: "ET_NLT",
  ni_multiplenumericlimittest: "ET_MNLT",
  et_mnlt: "ET_MNLT",
  passfailtest: "ET_PFT",
  et_pft: "ET_PFT",
  et_mpft: "ET_MPFT",
  stringvaluetest: "ET_SVT",
  et_svt: "ET_SVT",
  et_msvt: "ET_MSVT",
};

/** The WSJF type label of a step without measurements. */
export function genericStepType(stepType: string | undefined): string {
  const t = stepType?.trim() ?? "";
  if (t === "") return "Action";
  const meas = MEASUREMENT_TYPES[t.toLowerCase()];
  if (meas !== undefined) return meas;
  if (GENERIC_TYPES.has(t) || /^NI_[A-Za-z0-9_]+$/.test(t)) return t;
  return "Action";
}

function addStep(seq: SequenceBuilder, s: TsStep): void {
  const notes = [...(s.notes ?? [])];
  const opts: StepOptions = {
    status: s.status,
    group: s.group,
    start: s.start,
    totTime: s.totTime,
    errorCode: s.errorCode,
    errorMessage: s.errorMessage,
    causedSeqFailure: s.causedSeqFailure,
    causedUUTFailure: s.causedUUTFailure,
    tsGuid: s.tsGuid,
    loop: s.loop,
    additionalResults: s.additionalResults && s.additionalResults.length > 0
      ? s.additionalResults
      : undefined,
    chart: s.chart,
    attachment: s.chart ? undefined : s.attachment,
  };
  const extra: Record<string, unknown> = {};
  if (s.messagePopup) extra.messagePopup = dropUndefined({ ...s.messagePopup });
  if (s.callExe) extra.callExe = dropUndefined({ ...s.callExe });
  if (Object.keys(extra).length > 0) opts.extra = extra;

  if (s.sequence) {
    const t = s.stepType?.trim();
    const child = seq.sequence(s.name, {
      ...opts,
      reportText: joinText(s.reportText, notes),
      stepType: t === "WATS_SeqCall" || (t !== undefined && /^NI_/.test(t)) ? t : "SequenceCall",
      path: s.sequence.path,
      version: s.sequence.version,
      sequenceName: s.sequence.name,
    });
    addSteps(child, s.sequence.steps);
    return;
  }

  // Skipped steps keep no measurements: TestStand leaves stale values in them.
  const skipped = parseStepStatus(s.status) === "S";
  // A pass/fail measurement needs a verdict: its own, or the single step's.
  const passFail = (s.passFail ?? []).filter((m) =>
    m.passed !== undefined ||
    parseStepStatus(m.status ?? (s.passFail!.length === 1 ? s.status : undefined)) !== undefined
  );
  const kinds = skipped ? [] : ([
    ["numeric", s.numeric?.length ?? 0],
    ["passFail", passFail.length],
    ["string", s.strings?.length ?? 0],
  ] as const).filter(([, n]) => n > 0);
  if (kinds.length === 0) {
    seq.action(s.name, {
      ...opts,
      reportText: joinText(s.reportText, notes),
      stepType: genericStepType(s.stepType),
    });
    return;
  }
  // A WATS step holds one kind of measurement; others (never seen in practice) become notes.
  for (const [kind, n] of kinds.slice(1)) {
    notes.push(`${n} ${kind} measurement(s) not reported (a step holds one kind)`);
  }
  const kind = kinds[0][0];
  const total = kinds[0][1];
  const multi = s.multi === true || total > 1;
  // TestStand stores one verdict for a single-measurement step: the step's.
  const single = multi ? undefined : s.status;
  if (kind === "numeric") {
    const ms = s.numeric!.map((m) => numericInput(m, m.status ?? single, notes));
    opts.reportText = joinText(s.reportText, notes);
    if (multi) seq.multiNumeric(s.name, ms, opts);
    else seq.numeric(s.name, ms[0], opts);
  } else if (kind === "passFail") {
    const ms = passFail.map((m) => ({
      name: m.name,
      passed: m.passed,
      status: m.status ?? single,
    }));
    opts.reportText = joinText(s.reportText, notes);
    if (multi) seq.multiPassFail(s.name, ms, opts);
    else seq.passFail(s.name, ms[0], opts);
  } else {
    const ms = s.strings!.map((m) => stringInput(m, m.status ?? single, notes));
    opts.reportText = joinText(s.reportText, notes);
    if (multi) seq.multiString(s.name, ms, opts);
    else seq.string(s.name, ms[0], opts);
  }
}

/** Resolved TestStand numeric comparison: a WSJF operator and semantic limits. */
export interface NumericComparison {
  compOp: string;
  low?: number;
  high?: number;
  limit?: number;
  /** What the conversion did, for the report text. */
  note?: string;
}

const SINGLE_LIMIT = new Set(["EQ", "NE", "GT", "GE", "LT", "LE"]);

/**
 * A TestStand comparison and its limits → WSJF operator and semantic limits. TestStand keeps
 * the limit of single-limit comparisons in `Limits.Low`; EQT (equal with threshold) becomes
 * GELE around the nominal.
 */
export function numericComparison(m: TsNumeric): NumericComparison {
  const comp = (m.comp ?? "").trim().toUpperCase();
  if (m.threshold !== undefined || comp === "EQT") return thresholdComparison(m);
  if (comp === "") return { compOp: "", low: m.low, high: m.high };
  const op = parseNumericCompOp(comp);
  if (op === undefined) {
    return {
      compOp: "LOG",
      note: `${m.name ? `${m.name}: ` : ""}comparison "${m.comp}" is not a WATS operator; ` +
        "the value is logged without limits",
    };
  }
  if (SINGLE_LIMIT.has(op)) return { compOp: op, limit: m.low ?? m.high };
  if (op === "LOG") return { compOp: op };
  return { compOp: op, low: m.low, high: m.high };
}

function thresholdComparison(m: TsNumeric): NumericComparison {
  const t = m.threshold;
  const nominal = t?.nominal;
  const label = m.name ? `${m.name}: ` : "";
  if (t !== undefined && nominal !== undefined && Number.isFinite(nominal)) {
    const type = t.type.trim().toLowerCase();
    const scale = type === "percentage" || type === "percent"
      ? Math.abs(nominal) / 100
      : type === "ppm"
      ? Math.abs(nominal) / 1e6
      : type === "delta"
      ? 1
      : undefined;
    if (scale !== undefined) {
      const low = t.low !== undefined && Number.isFinite(t.low)
        ? nominal - scale * t.low
        : undefined;
      const high = t.high !== undefined && Number.isFinite(t.high)
        ? nominal + scale * t.high
        : undefined;
      return {
        compOp: "GELE",
        low,
        high,
        note: `${label}nominal ${nominal}, threshold -${t.low ?? "?"}/+${t.high ?? "?"} ${type}`,
      };
    }
  }
  if (m.low !== undefined || m.high !== undefined) {
    return {
      compOp: "GELE",
      low: m.low,
      high: m.high,
      note: nominal !== undefined ? `${label}nominal ${nominal}` : undefined,
    };
  }
  if (nominal !== undefined) return { compOp: "EQ", limit: nominal };
  return { compOp: "LOG", note: `${label}equal-with-threshold comparison without limits` };
}

function numericInput(m: TsNumeric, status: string | undefined, notes: string[]): NumericInput {
  const c = numericComparison(m);
  if (c.note) notes.push(c.note);
  return {
    name: m.name,
    value: m.value,
    compOp: c.compOp === "" ? undefined : c.compOp,
    low: c.low,
    high: c.high,
    limit: c.limit,
    unit: m.unit || undefined,
    status,
  };
}

/**
 * A TestStand/ATML string comparison name → WSJF string operator, or undefined when it is not
 * one. Accepts CaseSensitive, Case Sensitive, EQ, Equal, CASESENSIT → CASESENSIT; IgnoreCase,
 * CIEQ, Case Insensitive → IGNORECASE; NE, CINE, NotEqual → NE; LOG, No Comparison → LOG.
 */
export function stringComparison(comp: string | undefined): string | undefined {
  const c = (comp ?? "").replace(/[\s_-]/g, "").toUpperCase();
  switch (c) {
    case "":
      return "";
    case "LOG":
    case "NOCOMPARISON":
    case "NOCOMPARE":
    case "NONE":
      return "LOG";
    case "EQ":
    case "EQUAL":
    case "CASESENSIT":
    case "CASESENSITIVE":
      return "CASESENSIT";
    case "CIEQ":
    case "IGNORECASE":
    case "CASEINSENSITIVE":
    case "EQUALIGNORECASE":
      return "IGNORECASE";
    case "NE":
    case "CINE":
    case "NOTEQUAL":
      return "NE";
    default:
      return undefined;
  }
}

function stringInput(m: TsString, status: string | undefined, notes: string[]): StringInput {
  let op = stringComparison(m.comp);
  if (op === undefined) {
    notes.push(
      `${m.name ? `${m.name}: ` : ""}string comparison "${m.comp}" is not a WATS operator; ` +
        "the value is logged without a limit",
    );
    op = "LOG";
  }
  return {
    name: m.name,
    value: m.value,
    limit: op === "LOG" ? undefined : m.limit,
    compOp: op === "" ? undefined : op,
    status,
  };
}

function joinText(text: string | undefined, notes: readonly string[]): string | undefined {
  const parts = [text, ...notes].filter((t): t is string => t !== undefined && t !== "");
  return parts.length > 0 ? parts.join("\n") : undefined;
}

/** Trimmed text, or undefined when absent or blank. */
export function nonEmpty(s: string | undefined): string | undefined {
  const t = s?.trim();
  return t === undefined || t === "" ? undefined : t;
}
