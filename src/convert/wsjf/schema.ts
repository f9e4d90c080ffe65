/**
 * The WSJF report as the agent emits and accepts it (docs/wsjf.md), as a zod
 * schema plus the semantic checks zod can't express, and {@link validateReport}, which the
 * convert pool runs on every converter's output before anything is queued.
 *
 * Decisions:
 * - **Unknown fields are kept** (loose objects), so a WSJF file with server-side fields is not
 *   rejected. Export-only fields are removed by `normalizeWsjf` (wsjf/normalize.ts), not here.
 * - **No nulls**: optional fields are absent, never null (exports are full of nulls;
 *   `normalizeWsjf` drops them).
 * - **Numbers are finite** (JSON cannot carry NaN/Infinity; see compop.ts for what the builder
 *   does with non-finite station values).
 * - `compOp` is compared case-insensitively and normalised to upper case; `id` is normalised to
 *   lower case. Status codes must be the exact letters (station words are mapped before, by
 *   status.ts).
 * - Required (docs/wsjf.md#report-fields): type, id, pn, sn, rev, processCode, result, machineName, location,
 *   purpose, start (with offset, year ≥ 1970); T needs `root` (a sequence call with `seqCall`)
 *   and `uut`; R needs `uur`. Step: id, group, stepType, name, status.
 * - A step carries one kind of measurement. A single-measurement step type (ET_NLT,
 *   NumericLimitTest, ET_PFT, PassFailTest, ET_SVT, StringValueTest) has at most one
 *   measurement and it has no name; a step with several measurements names each one, names
 *   unique (case-insensitive).
 * - Length limits (docs/wsjf.md#limits) are **not enforced**: the server's limits are unknown and cutting a
 *   serial number or step name loses data. Fields longer than pyWATS's limits produce
 *   warnings, as do serial/part numbers with characters that trouble WATS searches.
 *
 * @module
 */
import { z } from "zod";
import { ConversionError } from "../contract.ts";
import { stripControlChars, stripControlCharsDeep } from "../text.ts";
import { isoToEpoch } from "../time.ts";
import {
  NUMERIC_COMP_OPS,
  type NumericCompOp,
  STRING_COMP_OPS,
  type StringCompOp,
} from "./compop.ts";
import {
  MEAS_STATUSES,
  type MeasStatus,
  REPORT_RESULTS,
  type ReportResult,
  STEP_GROUPS,
  STEP_STATUSES,
  type StepGroup,
  type StepStatus,
} from "./status.ts";

export type { MeasStatus, NumericCompOp, ReportResult, StepGroup, StepStatus, StringCompOp };

// ---------------------------------------------------------------------------------------------
// Types (hand-written so converter authors read documented names; the schema below is checked
// against them by the `z.ZodType<…>` annotations).

/** A numeric limit measurement. Single-limit operators keep their limit in `lowLimit`. */
export interface NumericMeasurement {
  /** Required (and unique) when the step has several measurements; absent on a single one. */
  name?: string;
  compOp: NumericCompOp;
  status: MeasStatus;
  value?: number;
  unit?: string;
  lowLimit?: number;
  highLimit?: number;
  valueFormat?: string;
  lowLimitFormat?: string;
  highLimitFormat?: string;
}

/** A pass/fail measurement: the status is the result; there is no value. */
export interface BooleanMeasurement {
  name?: string;
  status: MeasStatus;
}

/** A string value measurement. */
export interface StringMeasurement {
  name?: string;
  compOp: StringCompOp;
  status: MeasStatus;
  value?: string;
  limit?: string;
}

/** Sequence call payload. The server needs path, name and version on the root. */
export interface SequenceCall {
  path: string;
  name: string;
  version: string;
}

/** One chart series: coordinates as `;`-separated numbers. */
export interface ChartSeries {
  dataType: "XYG";
  name: string;
  xdata: string;
  ydata: string;
}

/** Chart types the server knows. */
export const CHART_TYPES = ["Line", "LineLogXY", "LineLogX", "LineLogY"] as const;
/** A chart type. */
export type ChartType = typeof CHART_TYPES[number];

/** A chart on a step (one per step). */
export interface Chart {
  chartType: ChartType;
  label?: string;
  xLabel?: string;
  xUnit?: string;
  yLabel?: string;
  yUnit?: string;
  series: ChartSeries[];
}

/** A file attached to a step (one per step); `data` is base64. */
export interface Attachment {
  name: string;
  contentType: string;
  data: string;
}

/** Loop information: a summary step has num/endingIndex/passed/failed, an iteration idx. */
export interface LoopInfo {
  idx?: number;
  num?: number;
  endingIndex?: number;
  passed?: number;
  failed?: number;
}

/** A TestStand-style typed property (additionalResults / additionalData). */
export interface AdditionalDataProperty {
  name: string;
  type?: string;
  flags?: number;
  value?: string;
  numFormat?: string;
  comment?: string;
  props?: AdditionalDataProperty[];
  array?: unknown;
}

/** A named tree of typed properties. */
export interface AdditionalData {
  name: string;
  props?: AdditionalDataProperty[];
}

/** One step of the step tree. */
export interface Step {
  /** Unique in the report; depth-first pre-order from 1 in reports the agent builds. */
  id: number;
  group: StepGroup;
  /** Open vocabulary (docs/wsjf.md#step-types): SequenceCall, ET_NLT, ET_MNLT, ET_PFT, ET_SVT, Action, … */
  stepType: string;
  name: string;
  status: StepStatus;
  start?: string;
  totTime?: number;
  totTimeFormat?: string;
  errorCode?: number;
  errorCodeFormat?: string;
  errorMessage?: string;
  reportText?: string;
  causedSeqFailure?: boolean;
  causedUUTFailure?: boolean;
  tsGuid?: string;
  interactiveExeNum?: number;
  loop?: LoopInfo;
  steps?: Step[];
  numericMeas?: NumericMeasurement[];
  booleanMeas?: BooleanMeasurement[];
  stringMeas?: StringMeasurement[];
  seqCall?: SequenceCall;
  callExe?: { exitCode?: number; exitCodeFormat?: string };
  messagePopup?: { response?: string; button?: number; buttonFormat?: string };
  chart?: Chart;
  attachment?: Attachment;
  additionalResults?: AdditionalData[];
}

/** UUT header extras (test reports). */
export interface UutInfo {
  /** Operator. */
  user?: string;
  comment?: string;
  execTime?: number;
  fixtureId?: string;
  batchSN?: string;
  testSocketIndex?: number;
  errorCode?: number;
  errorMessage?: string;
  batchFailCount?: number;
  batchLoopIndex?: number;
  stepIdCausedUUTFailure?: number;
}

/** Repair header (repair reports). */
export interface UurInfo {
  user?: string;
  comment?: string;
  /** Test process of the referenced UUT (the report's own processCode is the repair). */
  processCode?: number;
  refUUT?: string;
  confirmDate?: string;
  finalizeDate?: string;
  execTime?: number;
  parent?: string;
  children?: string[];
}

/** A misc info key/value. */
export interface MiscInfo {
  description: string;
  text?: string;
  numeric?: number;
  typedef?: string;
  id?: string;
}

/** A repair failure on a sub unit. */
export interface Failure {
  category: string;
  code: string;
  comment?: string;
  comRef?: string;
  funcBlock?: string;
  refStepId?: number;
  refStepName?: string;
  artNumber?: string;
  artRev?: string;
  artVendor?: string;
  artDescription?: string;
  attachments?: BinaryData[];
}

/** A sub-assembly. */
export interface SubUnit {
  partType?: string;
  pn: string;
  rev?: string;
  sn: string;
  idx?: number;
  parentIdx?: number;
  replacedIdx?: number;
  position?: number;
  failures?: Failure[];
}

/** Test equipment used. */
export interface Asset {
  assetSN: string;
  usageCount?: number;
}

/** A report-level attachment (repairs only). */
export interface BinaryData {
  contentType?: string;
  data?: string;
  name?: string;
  id?: string;
}

/** A WSJF report: type T (UUT, with `root`) or R (UUR, with `uur`). */
export interface WsjfReport {
  type: "T" | "R";
  /** Lower-case GUID. */
  id: string;
  pn: string;
  sn: string;
  rev: string;
  processCode: number;
  result: ReportResult;
  machineName: string;
  location: string;
  purpose: string;
  /** ISO 8601 local time with its UTC offset. */
  start: string;
  root?: Step;
  uut?: UutInfo;
  uur?: UurInfo;
  miscInfos?: MiscInfo[];
  subUnits?: SubUnit[];
  assets?: Asset[];
  binaryData?: BinaryData[];
  additionalData?: AdditionalData[];
}

// ---------------------------------------------------------------------------------------------
// Schema

const str = z.string();
const num = z.number(); // zod 4 rejects NaN and ±Infinity
const i32 = z.int32();
const upperEnum = <T extends readonly [string, ...string[]]>(values: T) =>
  z.string().transform((s) => s.trim().toUpperCase()).pipe(z.enum(values));

const numericMeasSchema: z.ZodType<NumericMeasurement> = z.looseObject({
  name: str.optional(),
  compOp: upperEnum(NUMERIC_COMP_OPS),
  status: z.enum(MEAS_STATUSES),
  value: num.optional(),
  unit: str.optional(),
  lowLimit: num.optional(),
  highLimit: num.optional(),
  valueFormat: str.optional(),
  lowLimitFormat: str.optional(),
  highLimitFormat: str.optional(),
});

const booleanMeasSchema: z.ZodType<BooleanMeasurement> = z.looseObject({
  name: str.optional(),
  status: z.enum(MEAS_STATUSES),
});

const stringMeasSchema: z.ZodType<StringMeasurement> = z.looseObject({
  name: str.optional(),
  compOp: upperEnum(STRING_COMP_OPS),
  status: z.enum(MEAS_STATUSES),
  value: str.optional(),
  limit: str.optional(),
});

const chartSchema: z.ZodType<Chart> = z.looseObject({
  chartType: z.string().transform((s) =>
    CHART_TYPES.find((t) => t.toLowerCase() === s.trim().toLowerCase()) ?? s
  ).pipe(z.enum(CHART_TYPES)),
  label: str.optional(),
  xLabel: str.optional(),
  xUnit: str.optional(),
  yLabel: str.optional(),
  yUnit: str.optional(),
  series: z.array(z.looseObject({
    dataType: z.literal("XYG"),
    name: str,
    xdata: str,
    ydata: str,
  })),
});

const propSchema: z.ZodType<AdditionalDataProperty> = z.looseObject({
  name: str,
  type: str.optional(),
  flags: i32.optional(),
  value: str.optional(),
  numFormat: str.optional(),
  comment: str.optional(),
  get props() {
    return z.array(propSchema).optional();
  },
  array: z.unknown().optional(),
});

const additionalDataSchema: z.ZodType<AdditionalData> = z.looseObject({
  name: str,
  props: z.array(propSchema).optional(),
});

const stepSchema: z.ZodType<Step> = z.looseObject({
  id: i32,
  group: z.enum(STEP_GROUPS),
  stepType: str,
  name: str,
  status: z.enum(STEP_STATUSES),
  start: str.optional(),
  totTime: num.optional(),
  totTimeFormat: str.optional(),
  errorCode: i32.optional(),
  errorCodeFormat: str.optional(),
  errorMessage: str.optional(),
  reportText: str.optional(),
  causedSeqFailure: z.boolean().optional(),
  causedUUTFailure: z.boolean().optional(),
  tsGuid: str.optional(),
  interactiveExeNum: i32.optional(),
  loop: z.looseObject({
    idx: i32.optional(),
    num: i32.optional(),
    endingIndex: i32.optional(),
    passed: i32.optional(),
    failed: i32.optional(),
  }).optional(),
  get steps() {
    return z.array(stepSchema).optional();
  },
  numericMeas: z.array(numericMeasSchema).optional(),
  booleanMeas: z.array(booleanMeasSchema).optional(),
  stringMeas: z.array(stringMeasSchema).optional(),
  seqCall: z.looseObject({ path: str, name: str, version: str }).optional(),
  callExe: z.looseObject({ exitCode: num.optional(), exitCodeFormat: str.optional() }).optional(),
  messagePopup: z.looseObject({
    response: str.optional(),
    button: i32.optional(),
    buttonFormat: str.optional(),
  }).optional(),
  chart: chartSchema.optional(),
  attachment: z.looseObject({ name: str, contentType: str, data: str }).optional(),
  additionalResults: z.array(additionalDataSchema).optional(),
});

const guid = z.string().regex(
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
  "expected a GUID like 5b0c2a8e-3d1f-4c7a-9e62-1f8d4b7a0c31",
);

const binaryDataSchema: z.ZodType<BinaryData> = z.looseObject({
  contentType: str.optional(),
  data: str.optional(),
  name: str.optional(),
  id: guid.optional(),
});

/** The zod schema of a WSJF report (structure and codes; see {@link validateReport}). */
export const wsjfReportSchema: z.ZodType<WsjfReport> = z.looseObject({
  type: z.enum(["T", "R"]),
  id: guid.transform((s) => s.toLowerCase()),
  pn: str,
  sn: str,
  rev: str,
  processCode: i32,
  result: z.enum(REPORT_RESULTS),
  machineName: str,
  location: str,
  purpose: str,
  start: str,
  root: stepSchema.optional(),
  uut: z.looseObject({
    user: str.optional(),
    comment: str.optional(),
    execTime: num.optional(),
    fixtureId: str.optional(),
    batchSN: str.optional(),
    testSocketIndex: i32.optional(),
    errorCode: i32.optional(),
    errorMessage: str.optional(),
    batchFailCount: i32.optional(),
    batchLoopIndex: i32.optional(),
    stepIdCausedUUTFailure: i32.optional(),
  }).optional(),
  uur: z.looseObject({
    user: str.optional(),
    comment: str.optional(),
    processCode: i32.optional(),
    refUUT: guid.optional(),
    confirmDate: str.optional(),
    finalizeDate: str.optional(),
    execTime: num.optional(),
    parent: guid.optional(),
    children: z.array(str).optional(),
  }).optional(),
  miscInfos: z.array(z.looseObject({
    description: str,
    text: str.optional(),
    numeric: i32.optional(),
    typedef: str.optional(),
    id: guid.optional(),
  })).optional(),
  subUnits: z.array(z.looseObject({
    partType: str.optional(),
    pn: str,
    rev: str.optional(),
    sn: str,
    idx: i32.optional(),
    parentIdx: i32.optional(),
    replacedIdx: i32.optional(),
    position: i32.optional(),
    failures: z.array(z.looseObject({
      category: str,
      code: str,
      comment: str.optional(),
      comRef: str.optional(),
      funcBlock: str.optional(),
      refStepId: i32.optional(),
      refStepName: str.optional(),
      artNumber: str.optional(),
      artRev: str.optional(),
      artVendor: str.optional(),
      artDescription: str.optional(),
      attachments: z.array(binaryDataSchema).optional(),
    })).optional(),
  })).optional(),
  assets: z.array(z.looseObject({ assetSN: str, usageCount: i32.optional() })).optional(),
  binaryData: z.array(binaryDataSchema).optional(),
  additionalData: z.array(additionalDataSchema).optional(),
});

// ---------------------------------------------------------------------------------------------
// Semantic checks

/** Deepest step nesting accepted (reports the agent builds and files it reads). */
export const MAX_STEP_DEPTH = 200;

/**
 * Deepest nesting of objects and arrays accepted anywhere in a report, under keys the schema
 * doesn't know too: the deepest allowed step tree takes two levels per step, plus room for what
 * a step holds. Deeper data would overflow the stack of recursive JSON readers and writers on
 * the way (`JSON.stringify` in `agent convert`, the server's parser).
 */
export const MAX_JSON_DEPTH = 2 * MAX_STEP_DEPTH + 112;

/** Step types that hold exactly one unnamed measurement. */
export const SINGLE_MEAS_STEP_TYPES: ReadonlySet<string> = new Set([
  "ET_NLT",
  "NumericLimitTest",
  "ET_PFT",
  "PassFailTest",
  "ET_SVT",
  "StringValueTest",
]);

/** Step types that mark a sequence call (the root must be one). */
export const SEQUENCE_STEP_TYPES: ReadonlySet<string> = new Set([
  "SequenceCall",
  "WATS_SeqCall",
]);

const MEAS_KINDS = ["numericMeas", "booleanMeas", "stringMeas"] as const;

/** Characters that trouble WATS searches in serial and part numbers (docs/wsjf.md#limits). */
const SEARCH_UNSAFE_RE = /[*%?[\]^!/\\]/;

/** The longest other WATS clients accept (docs/wsjf.md#limits): over these, a warning. */
const LENGTH_WARN: ReadonlyArray<[string, number]> = [
  ["pn", 100],
  ["sn", 100],
  ["rev", 100],
  ["machineName", 100],
  ["location", 100],
  ["purpose", 100],
];

function semanticProblems(r: WsjfReport, problems: string[], warnings: string[]): void {
  const t = isoToEpoch(r.start);
  if (Number.isNaN(t)) {
    problems.push(
      `start: expected an ISO 8601 date-time with a UTC offset (e.g. 2026-03-02T09:15:00+01:00), found ${
        describe(r.start)
      }`,
    );
  } else if (t < 0) {
    problems.push(`start: must be 1970-01-01 or later, found ${describe(r.start)}`);
  } else if (t > Date.now() + 86_400_000) {
    warnings.push(`start: ${r.start} is more than a day in the future`);
  }
  for (const key of ["pn", "sn", "rev", "machineName"] as const) {
    if (r[key].trim() === "") problems.push(`${key}: must not be empty`);
  }
  for (const key of ["pn", "sn"] as const) {
    if (SEARCH_UNSAFE_RE.test(r[key])) {
      warnings.push(
        `${key}: ${describe(r[key])} has characters (* % ? [ ] ^ ! / \\) that ` +
          "trouble WATS searches",
      );
    }
  }
  for (const [key, max] of LENGTH_WARN) {
    const v = (r as unknown as Record<string, unknown>)[key];
    if (typeof v === "string" && v.length > max) {
      warnings.push(`${key}: ${v.length} characters, more than ${max}`);
    }
  }
  if (r.type === "T") {
    if (!r.root) problems.push("root: a test report (type T) needs a root step, found nothing");
    if (!r.uut) problems.push("uut: a test report (type T) needs a uut block, found nothing");
    else if (!r.uut.user) warnings.push("uut.user: no operator name");
    if (r.uur) problems.push("uur: only valid in a repair report (type R)");
    if (r.binaryData && r.binaryData.length > 0) {
      problems.push("binaryData: report attachments are only valid in a repair report (type R)");
    }
  } else {
    if (!r.uur) problems.push("uur: a repair report (type R) needs a uur block, found nothing");
    if (r.root) problems.push("root: only valid in a test report (type T)");
  }
  if (r.root) {
    if (!SEQUENCE_STEP_TYPES.has(r.root.stepType)) {
      problems.push(
        `root.stepType: the root must be a sequence call (SequenceCall or WATS_SeqCall), found ${
          describe(r.root.stepType)
        }`,
      );
    }
    if (!r.root.seqCall) {
      problems.push("root.seqCall: the root needs {path, name, version}, found nothing");
    }
    const ids = new Map<number, string>();
    walkSteps(r.root, "root", (step, path) => {
      const seen = ids.get(step.id);
      if (seen !== undefined) {
        problems.push(
          `${path}.id: ${step.id} is already the id of ${seen}; step ids must be unique`,
        );
      } else ids.set(step.id, path);
      stepProblems(step, path, problems, warnings);
    });
    const failId = r.uut?.stepIdCausedUUTFailure;
    if (failId !== undefined && !ids.has(failId)) {
      warnings.push(`uut.stepIdCausedUUTFailure: no step has id ${failId}`);
    }
  }
}

function stepProblems(step: Step, path: string, problems: string[], warnings: string[]): void {
  const kinds = MEAS_KINDS.filter((k) => (step[k]?.length ?? 0) > 0);
  if (kinds.length > 1) {
    problems.push(`${path}: a step carries one kind of measurement, found ${kinds.join(" and ")}`);
    return;
  }
  if (step.name.length > 100) {
    warnings.push(`${path}.name: ${step.name.length} characters, more than 100`);
  }
  if (step.chart && step.attachment) {
    warnings.push(`${path}: has both a chart and an attachment (the C# client refuses that)`);
  }
  if (kinds.length === 0) return;
  const kind = kinds[0];
  const meas = step[kind] as Array<{ name?: string }>;
  if (SINGLE_MEAS_STEP_TYPES.has(step.stepType)) {
    if (meas.length > 1) {
      problems.push(
        `${path}.${kind}: step type ${step.stepType} holds one measurement, found ${meas.length}` +
          " (use the multiple-measurement step type, e.g. ET_MNLT)",
      );
    } else if (meas[0].name !== undefined && meas[0].name !== "") {
      problems.push(
        `${path}.${kind}[0].name: the measurement of a single-measurement step (${step.stepType})` +
          ` has no name, found ${describe(meas[0].name)}`,
      );
    }
    return;
  }
  if (meas.length < 2) return;
  const names = new Map<string, number>();
  meas.forEach((m, i) => {
    if (m.name === undefined || m.name.trim() === "") {
      problems.push(`${path}.${kind}[${i}].name: each of several measurements needs a name`);
      return;
    }
    const key = m.name.toLowerCase();
    const prev = names.get(key);
    if (prev !== undefined) {
      problems.push(
        `${path}.${kind}[${i}].name: ${describe(m.name)} is also the name of ${kind}[${prev}];` +
          " names must be unique within a step",
      );
    } else names.set(key, i);
  });
}

/** Calls `visit` for every step, depth-first pre-order, with its JSON path. */
export function walkSteps(
  root: Step,
  rootPath: string,
  visit: (step: Step, path: string, parent: Step | null) => void,
): void {
  const stack: Array<[Step, string, Step | null]> = [[root, rootPath, null]];
  while (stack.length > 0) {
    const [step, path, parent] = stack.pop()!;
    visit(step, path, parent);
    const kids = step.steps ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], `${path}.steps[${i}]`, step]);
  }
}

// ---------------------------------------------------------------------------------------------
// Validation entry point and messages

/** Outcome of {@link validateReport}. */
export type ValidationResult =
  | { ok: true; report: WsjfReport; warnings: string[] }
  | { ok: false; problems: string[]; warnings: string[] };

/**
 * Reports {@link validateReport} returned, with their warnings. Validating one of them again
 * (a converter validates for its error message, then the pool validates every output) costs
 * nothing instead of a second zod pass (~10 ms per 100 KB of report).
 */
const validated = new WeakMap<object, readonly string[]>();

/**
 * Validates a report (structure, codes, the semantic rules in the module doc). On success
 * returns the normalised report (a copy: compOp upper case, chart type canonical, id lower
 * case, control characters stripped from strings; unknown fields kept); on failure a list of
 * problems, each naming the JSON path, what was expected and what was found, e.g.
 * `root.steps[3].numericMeas[0].compOp: expected one of LOG, EQ, …, found "XX"`.
 *
 * A report this function returned is remembered: validating that same object again returns
 * it as it is, re-checking only the station fields (`fillStationFields` may have filled them
 * in between). Don't change a validated report otherwise and expect it to be checked again;
 * validate a copy.
 */
export function validateReport(value: unknown): ValidationResult {
  const known = value !== null && typeof value === "object" ? validated.get(value) : undefined;
  if (known !== undefined) return revalidate(value as WsjfReport, known);
  const warnings: string[] = [];
  const depth = stepDepth(value);
  if (depth > MAX_STEP_DEPTH) {
    return {
      ok: false,
      problems: [`root: steps are nested ${depth} levels deep, more than ${MAX_STEP_DEPTH}`],
      warnings,
    };
  }
  const deep = tooDeep(value);
  if (deep !== null) {
    return {
      ok: false,
      problems: [
        `${deep}: objects and arrays are nested more than ${MAX_JSON_DEPTH} levels deep ` +
        "(or the value refers to itself)",
      ],
      warnings,
    };
  }
  const parsed = wsjfReportSchema.safeParse(value);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((i) => formatIssue(i, value)),
      warnings,
    };
  }
  // Stripped before the semantic checks, so a serial number of control characters is empty.
  const report = stripControlCharsDeep(parsed.data);
  const problems: string[] = [];
  semanticProblems(report, problems, warnings);
  if (problems.length > 0) return { ok: false, problems, warnings };
  validated.set(report, warnings);
  return { ok: true, report, warnings: [...warnings] };
}

/** A remembered report: only what `fillStationFields` may have set is looked at again. */
function revalidate(r: WsjfReport, warnings: readonly string[]): ValidationResult {
  const problems: string[] = [];
  const fields = r as unknown as Record<string, unknown>;
  for (const key of ["machineName", "location", "purpose"]) {
    const v = fields[key];
    if (typeof v === "string") fields[key] = stripControlChars(v);
    else problems.push(`${key}: expected string, found ${describe(v)}`);
  }
  const block = (r.type === "R" ? r.uur : r.uut) as { user?: unknown } | undefined;
  if (typeof block?.user === "string") block.user = stripControlChars(block.user);
  else if (block?.user !== undefined) {
    problems.push(
      `${r.type === "R" ? "uur" : "uut"}.user: expected string, found ${describe(block.user)}`,
    );
  }
  if (problems.length === 0 && r.machineName.trim() === "") {
    problems.push("machineName: must not be empty");
  }
  return problems.length > 0
    ? { ok: false, problems, warnings: [...warnings] }
    : { ok: true, report: r, warnings: [...warnings] };
}

/**
 * The top-level key under which `value` nests objects and arrays more than `max` levels deep
 * (`(report)` when the value itself is an array), or null when it doesn't. Iterative, so a
 * hostile depth can't overflow the check itself; a cycle counts as too deep.
 */
export function tooDeep(value: unknown, max = MAX_JSON_DEPTH): string | null {
  if (value === null || typeof value !== "object") return null;
  // Parallel stacks: no tuple per node (reports can have millions of values).
  const values: object[] = [];
  const depths: number[] = [];
  const tops: string[] = [];
  if (Array.isArray(value)) {
    values.push(value);
    depths.push(1);
    tops.push("(report)");
  } else {
    for (const [k, v] of Object.entries(value)) {
      if (v !== null && typeof v === "object") {
        values.push(v);
        depths.push(2);
        tops.push(k);
      }
    }
  }
  while (values.length > 0) {
    const v = values.pop()!;
    const d = depths.pop()!;
    const top = tops.pop()!;
    if (d > max) return top;
    const kids = Array.isArray(v) ? v : Object.values(v);
    for (const k of kids) {
      if (k !== null && typeof k === "object") {
        values.push(k);
        depths.push(d + 1);
        tops.push(top);
      }
    }
  }
  return null;
}

/** Nesting depth of the raw step tree (iterative, so a hostile depth can't overflow). */
function stepDepth(value: unknown): number {
  const root = (value as { root?: unknown } | null)?.root;
  let max = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [s, d] = stack.pop()!;
    if (s === null || typeof s !== "object") continue;
    if (d > max) max = d;
    if (max > MAX_STEP_DEPTH) return max;
    const kids = (s as { steps?: unknown }).steps;
    if (Array.isArray(kids)) { for (const k of kids) stack.push([k, d + 1]); }
  }
  return max;
}

/**
 * Like {@link validateReport}, but throws a {@link ConversionError} listing the first problems
 * (`what` names the report, e.g. "report 2 of 5 (SN 1234)").
 */
export function assertValidReport(value: unknown, what = "report"): WsjfReport {
  const result = validateReport(value);
  if (result.ok) return result.report;
  throw new ConversionError(
    `${what} is not a valid WATS report: ${summarizeProblems(result.problems)}`,
    "Fix these fields in the file (or the converter parameters that fill them).",
  );
}

/** Joins problems into one message, at most `max` of them. */
export function summarizeProblems(problems: string[], max = 10): string {
  const shown = problems.slice(0, max).join("; ");
  return problems.length > max ? `${shown}; and ${problems.length - max} more` : shown;
}

/** A JSON path in the `root.steps[3].numericMeas[0]` style. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out === "" ? "(report)" : out;
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** Short, readable rendering of a found value for messages. */
export function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object") return "an object";
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}..."` : s;
}

function formatIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = formatPath(issue.path);
  const found = valueAt(input, issue.path);
  switch (issue.code) {
    case "invalid_type":
      if (found === undefined) return `${path}: required (${issue.expected}), found nothing`;
      return `${path}: expected ${issue.expected}, found ${describe(found)}`;
    case "invalid_value":
      return `${path}: expected one of ${issue.values.map(String).join(", ")}, found ${
        describe(found)
      }`;
    case "invalid_format":
      return `${path}: ${issue.message}, found ${describe(found)}`;
    default:
      return `${path}: ${issue.message}, found ${describe(found)}`;
  }
}
