/**
 * The zod schema of the WSJF report as the agent emits and accepts it (docs/wsjf.md): the
 * structure and the codes. The rules zod can't express are in rules.ts; validate.ts runs both
 * on every converter's output before anything is queued.
 *
 * Decisions:
 * - **Unknown fields are kept** (loose objects), so a WSJF file with server-side fields is not
 *   rejected. Export-only fields are removed by `normalizeWsjf` (normalize.ts), not here.
 * - **No nulls**: optional fields are absent, never null (exports are full of nulls;
 *   `normalizeWsjf` drops them).
 * - **Numbers are finite** (JSON cannot carry NaN/Infinity; see compop.ts for what the builder
 *   does with non-finite station values).
 * - `compOp` is compared case-insensitively and normalised to upper case; `id` is normalised to
 *   lower case. Status codes must be the exact letters (station words are mapped before, by
 *   status_codes.ts).
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
import { NUMERIC_COMP_OPS, STRING_COMP_OPS } from "./compop.ts";
import { MEAS_STATUSES, REPORT_RESULTS, STEP_GROUPS, STEP_STATUSES } from "./status_codes.ts";
import {
  type AdditionalData,
  type AdditionalDataProperty,
  type BinaryData,
  type BooleanMeasurement,
  type Chart,
  CHART_TYPES,
  type NumericMeasurement,
  type Step,
  type StringMeasurement,
  type WsjfReport,
} from "./report.ts";

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
