/**
 * The WSJF report as TypeScript types: what every converter builds, the pool validates, the
 * queue stores and the uploader sends (docs/wsjf.md). They are written by hand, so converter
 * authors read documented names; the zod schema (schema.ts) is checked against them.
 *
 * @module
 */
import type { NumericCompOp, StringCompOp } from "./compop.ts";
import type { MeasStatus, ReportResult, StepGroup, StepStatus } from "./status_codes.ts";

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
