/**
 * Finishing one described step (a node) into a WSJF step: its measurements with their limits
 * and statuses, its own status from the measurements and children (import mode keeps the
 * file's verdicts and notes where they differ; active mode recomputes), its step type, text,
 * chart and attachment. Children are finished first, depth-first.
 *
 * @module
 */
import { ConversionError } from "../convert/conversion_error.ts";
import {
  evaluateNumeric,
  evaluateString,
  finiteValue,
  isFiniteNumber,
  parseStringCompOp,
  resolveNumericLimits,
  type StringCompOp,
} from "./compop.ts";
import type {
  Attachment,
  BooleanMeasurement,
  Chart,
  NumericMeasurement,
  Step,
  StringMeasurement,
} from "./report.ts";
import { SINGLE_MEAS_STEP_TYPES } from "./rules.ts";
import {
  failsParent,
  type MeasStatus,
  parseGroup,
  parseMeasStatus,
  parseStepStatus,
  type StepStatus,
  worse,
} from "./status_codes.ts";
import type { AttachmentInput, ChartInput } from "./build_input.ts";
import type { Node } from "./step_builder.ts";
import { base64, clean, deepStr, isInt, put, str, toIso, uniqueNames } from "./fields.ts";

/** A difference between the file's verdict and the computed one, for a `Status note`. */
export interface Note {
  node?: Node;
  meas?: string;
  text: string;
}

/** Which verdicts count: the file's (import) or the computed ones (active). */
type Mode = "import" | "active";

/** Finishes `n` and its children (numbered already) into WSJF steps. */
export function finishStep(
  n: Node,
  mode: Mode,
  notes: Note[],
  parentSeq: { path?: string; version?: string },
  tz: string,
): Step {
  const o = n.opts;
  const childSeq = n.kind === "sequence" ? seqOf(n, parentSeq) : parentSeq;
  const children: Step[] = [];
  for (const c of n.children) children.push(finishStep(c, mode, notes, childSeq, tz));
  const multi = n.multi || n.numeric.length + n.boolean.length + n.string.length > 1;

  const { numericMeas, booleanMeas, stringMeas, statuses } = finishMeasurements(
    n,
    multi,
    mode,
    notes,
  );
  const status = stepStatus(n, mode, notes, statuses, children);

  // Step type.
  let stepType = clean(o.stepType);
  if (stepType === undefined || (multi && SINGLE_MEAS_STEP_TYPES.has(stepType))) {
    stepType = defaultStepType(n, multi, o.chart !== undefined);
  }
  let reportText = o.reportText;
  if (n.textNotes !== undefined && n.textNotes.length > 0) {
    reportText = [reportText, ...n.textNotes].filter((t) => t !== undefined && t !== "").join(
      "\n",
    );
  }

  const step: Step = {
    id: n.id,
    group: parseGroup(o.group) ?? "M",
    stepType,
    name: str(n.name),
    status,
  };
  if (o.start !== undefined) step.start = toIso(o.start, tz, `start of step "${n.name}"`);
  if (isFiniteNumber(o.totTime)) step.totTime = o.totTime;
  if (isInt(o.errorCode)) step.errorCode = o.errorCode;
  put(step, "errorMessage", clean(o.errorMessage));
  put(step, "reportText", str(reportText));
  put(step, "causedUUTFailure", o.causedUUTFailure);
  put(step, "causedSeqFailure", o.causedSeqFailure);
  put(step, "tsGuid", str(o.tsGuid));
  put(step, "loop", deepStr(o.loop));
  if (n.kind === "sequence") step.seqCall = seqCallOf(n, parentSeq);
  put(step, "numericMeas", numericMeas);
  put(step, "booleanMeas", booleanMeas);
  put(step, "stringMeas", stringMeas);
  if (o.chart) step.chart = buildChart(o.chart);
  if (o.attachment) step.attachment = buildAttachment(o.attachment);
  put(step, "additionalResults", deepStr(o.additionalResults));
  if (o.extra) {
    const s = step as unknown as Record<string, unknown>;
    for (const k of Object.keys(o.extra)) {
      const v = o.extra[k];
      if (!(k in step) && v !== undefined) s[k] = deepStr(v);
    }
  }
  if (children.length > 0) step.steps = children;
  return step;
}

function seqOf(n: Node, parent: { path?: string; version?: string }) {
  return { path: n.seq?.path ?? parent.path, version: n.seq?.version ?? parent.version };
}

function seqCallOf(n: Node, parent: { path?: string; version?: string }) {
  const s = seqOf(n, parent);
  const name = str(n.seq?.sequenceName ?? n.name);
  return { path: s.path === undefined ? name : str(s.path), name, version: str(s.version ?? "") };
}

function defaultStepType(n: Node, multi: boolean, chart: boolean): string {
  switch (n.kind) {
    case "sequence":
      return "SequenceCall";
    case "numeric":
      return chart ? "WATS_XYGMNLT" : multi ? "ET_MNLT" : "ET_NLT";
    case "boolean":
      return multi ? "ET_MPFT" : "ET_PFT";
    case "string":
      return multi ? "ET_MSVT" : "ET_SVT";
    default:
      return "Action";
  }
}

function buildChart(c: ChartInput): Chart {
  const join = (v: number[] | string) =>
    typeof v === "string" ? str(v) : v.map((x) => String(finiteValue(x) ?? 0)).join(";");
  const chart = { chartType: str(c.chartType ?? "Line") as Chart["chartType"] } as Chart;
  put(chart, "label", str(c.label));
  put(chart, "xLabel", str(c.xLabel));
  put(chart, "xUnit", str(c.xUnit));
  put(chart, "yLabel", str(c.yLabel));
  put(chart, "yUnit", str(c.yUnit));
  chart.series = c.series.map((s) => ({
    dataType: "XYG" as const,
    name: str(s.name),
    xdata: join(s.x),
    ydata: join(s.y),
  }));
  return chart;
}

function buildAttachment(a: AttachmentInput): Attachment {
  return {
    name: str(a.name),
    contentType: str(a.contentType),
    data: typeof a.data === "string" ? str(a.data) : base64(a.data),
  };
}

/** The measurements of `n` with their limits and statuses (`multi`: named, several). */
function finishMeasurements(n: Node, multi: boolean, mode: Mode, notes: Note[]): {
  numericMeas?: NumericMeasurement[];
  booleanMeas?: BooleanMeasurement[];
  stringMeas?: StringMeasurement[];
  statuses: MeasStatus[];
} {
  const statuses: MeasStatus[] = [];
  let numericMeas: NumericMeasurement[] | undefined;
  let booleanMeas: BooleanMeasurement[] | undefined;
  let stringMeas: StringMeasurement[] | undefined;
  const names = multi ? uniqueNames([...n.numeric, ...n.boolean, ...n.string]) : [];
  const pick = (
    given: MeasStatus | undefined,
    computed: MeasStatus | undefined,
    label?: string,
  ) => {
    let s: MeasStatus;
    if (mode === "active") s = computed ?? given!;
    else {
      s = given ?? computed!;
      if (given !== undefined && computed !== undefined && given !== computed && given !== "S") {
        notes.push({ node: n, meas: label, text: `file ${given}, limits ${computed}` });
      }
    }
    statuses.push(s);
    return s;
  };
  if (n.numeric.length > 0) {
    numericMeas = n.numeric.map((m, i) => {
      const lim = resolveNumericLimits({
        compOp: m.compOp,
        low: m.low,
        high: m.high,
        limit: m.limit,
      });
      if (lim === undefined) {
        throw new ConversionError(
          `step "${n.name}": unknown comparison operator "${m.compOp}"`,
          "Use one of LOG, EQ, NE, GT, GE, LT, LE, GTLT, GELE, GELT, GTLE, LTGT, LEGE, LEGT, LTGE.",
        );
      }
      const label = multi ? names[i] : undefined;
      if (typeof m.value === "number" && !Number.isFinite(m.value)) {
        (n.textNotes ??= []).push(`${label ?? "value"}: ${m.value}`);
      }
      const computed = evaluateNumeric(lim.compOp, m.value, lim.lowLimit, lim.highLimit);
      const status = pick(parseMeasStatus(m.status), computed ?? "P", label);
      const nm = {} as NumericMeasurement;
      if (label !== undefined) nm.name = label;
      nm.compOp = lim.compOp;
      nm.status = status;
      put(nm, "value", finiteValue(m.value));
      put(nm, "unit", str(m.unit));
      put(nm, "lowLimit", lim.lowLimit);
      put(nm, "highLimit", lim.highLimit);
      put(nm, "valueFormat", str(m.valueFormat));
      put(nm, "lowLimitFormat", str(m.lowLimitFormat));
      put(nm, "highLimitFormat", str(m.highLimitFormat));
      return nm;
    });
  }
  if (n.boolean.length > 0) {
    booleanMeas = n.boolean.map((m, i) => {
      const label = multi ? names[n.numeric.length + i] : undefined;
      const given = parseMeasStatus(m.status);
      const computed = m.passed === undefined ? undefined : m.passed ? "P" : "F";
      if (given === undefined && computed === undefined) {
        throw new ConversionError(
          `step "${n.name}"${
            label ? ` [${label}]` : ""
          }: a pass/fail measurement without a verdict`,
        );
      }
      const status = pick(given, computed, label);
      return label === undefined ? { status } : { name: label, status };
    });
  }
  if (n.string.length > 0) {
    stringMeas = n.string.map((m, i) => {
      const label = multi ? names[n.numeric.length + n.boolean.length + i] : undefined;
      let op: StringCompOp | undefined = m.compOp === undefined || m.compOp.trim() === ""
        ? (m.limit === undefined ? "LOG" : "EQ")
        : parseStringCompOp(m.compOp);
      if (op === undefined) {
        throw new ConversionError(
          `step "${n.name}": unknown string comparison operator "${m.compOp}"`,
          "Use one of LOG, EQ, NE, CASESENSIT, IGNORECASE.",
        );
      }
      if (op !== "LOG" && m.limit === undefined) op = "LOG";
      // Compared as they will be in the report (without control characters).
      const value = str(m.value);
      const limit = str(m.limit);
      const computed = evaluateString(op, value, limit);
      const status = pick(parseMeasStatus(m.status), computed ?? "P", label);
      const sm = {} as StringMeasurement;
      if (label !== undefined) sm.name = label;
      sm.compOp = op;
      sm.status = status;
      put(sm, "value", value);
      put(sm, "limit", limit);
      return sm;
    });
  }
  return { numericMeas, booleanMeas, stringMeas, statuses };
}

/**
 * The status of `n` from its measurements' and children's: import mode keeps the file's verdict
 * (a note where P and F disagree); active mode recomputes it, keeping an E/T from the file.
 */
function stepStatus(
  n: Node,
  mode: Mode,
  notes: Note[],
  measStatuses: MeasStatus[],
  children: Step[],
): StepStatus {
  const o = n.opts;
  let derived: StepStatus | undefined;
  if (measStatuses.length > 0) {
    derived = measStatuses.includes("F") ? "F" : measStatuses.every((s) => s === "S") ? "S" : "P";
  }
  if (children.length > 0) {
    let fromKids: StepStatus = children.every((c) => c.status === "S") ? "S" : "P";
    for (const c of children) if (failsParent(c.status)) fromKids = worse(fromKids, c.status);
    derived = derived === undefined ? fromKids : worse(derived === "S" ? "P" : derived, fromKids);
  } else if (n.kind === "sequence" && derived === undefined) {
    derived = "P";
  }
  const given = parseStepStatus(o.status);
  let status: StepStatus;
  if (mode === "active") {
    status = derived ?? given ?? "D";
    if (given === "E" || given === "T") status = worse(status, given);
  } else {
    status = given ?? derived ?? "D";
    if (
      given !== undefined && derived !== undefined && given !== derived &&
      (given === "P" || given === "F") && (derived === "P" || derived === "F")
    ) {
      notes.push({
        node: n,
        text: `file ${given}, ${children.length > 0 ? "steps" : "measurements"} ${derived}`,
      });
    }
  }
  return status;
}
