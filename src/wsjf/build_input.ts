/**
 * What a converter hands the report builder: the convert context, the header as the file gives
 * it, and each step's options and measurements, all as the file says them (strings where the
 * file has words, times naive or ISO). The builder (builder.ts) turns them into WSJF.
 *
 * @module
 */
import type { StationContext } from "../convert/contract.ts";
import type { NaiveDateTime } from "../convert/time.ts";
import type { AdditionalData, LoopInfo } from "./report.ts";

/** What the builder needs from the convert input (a `ConvertInput` fits). */
export interface BuildContext {
  station: StationContext;
  /** SHA-256 of the file: the default id seed. */
  sha256: string;
  /** File name, for messages. */
  name?: string;
  /** Where recovered problems go besides the report (see `ConvertInput.warn`). */
  warn?(message: string): void;
}

/** A timestamp: ISO string (with offset, or naive = station zone), instant, or naive fields. */
export type TimeInput = string | Date | NaiveDateTime;

/** The report header as the file gives it. Only `sn` and `start` are required. */
export interface ReportHeader {
  sn: string;
  pn?: string;
  rev?: string;
  processCode?: number;
  /** Process name from the file; resolved through params.processCodes, else kept as misc info. */
  processName?: string;
  start: TimeInput;
  /** The file's overall verdict (code or word: "P", "Passed", "FAIL", …). */
  result?: string;
  operator?: string;
  machineName?: string;
  location?: string;
  purpose?: string;
  /** A GUID the file carries for this report (kept as the report id). */
  id?: string;
  /** Seed for the id instead of (file sha256, unitIndex), e.g. the unit's own bytes' hash. */
  idSeed?: string;
  /** Index of this unit within the file (default 0): part of the default id seed. */
  unitIndex?: number;
  execTime?: number;
  fixtureId?: string;
  batchSN?: string;
  testSocketIndex?: number;
  comment?: string;
  errorCode?: number;
  errorMessage?: string;
  batchFailCount?: number;
  batchLoopIndex?: number;
  stepIdCausedUUTFailure?: number;
  /** Root sequence call (the test program). */
  sequence?: { name?: string; version?: string; path?: string };
  /** Root step name (default "MainSequence Callback"). */
  rootName?: string;
}

/** Options every step kind takes. */
export interface StepOptions {
  /** The file's verdict for the step (code or word). */
  status?: string;
  /** Overrides the default step type label. */
  stepType?: string;
  /** "S"/"M"/"C" or Setup/Main/Cleanup (default Main). */
  group?: string;
  start?: TimeInput;
  /** Seconds. */
  totTime?: number;
  reportText?: string;
  errorCode?: number;
  errorMessage?: string;
  causedUUTFailure?: boolean;
  causedSeqFailure?: boolean;
  tsGuid?: string;
  loop?: LoopInfo;
  chart?: ChartInput;
  attachment?: AttachmentInput;
  additionalResults?: AdditionalData[];
  /** Further WSJF step fields (callExe, messagePopup, …), copied as they are. */
  extra?: Record<string, unknown>;
}

/** Options of a sequence call step. */
export interface SequenceOptions extends StepOptions {
  /** Sequence file path (default: the parent's). */
  path?: string;
  /** Sequence version (default: the parent's). */
  version?: string;
  /** Sequence name in `seqCall` (default: the step name). */
  sequenceName?: string;
}

/**
 * A numeric measurement as the file has it. Limits are semantic: `low` is the lower bound,
 * `high` the upper bound, `limit` the one limit of EQ/NE/GT/GE/LT/LE; the builder places them
 * (LT/LE keep their limit in WSJF `lowLimit`). Without `compOp` it is inferred from the
 * limits present.
 */
export interface NumericInput {
  /** Required on multi-measurement steps (filled with "Measurement n" when missing). */
  name?: string;
  value?: number;
  compOp?: string;
  low?: number;
  high?: number;
  limit?: number;
  unit?: string;
  /** The file's verdict (code or word). */
  status?: string;
  valueFormat?: string;
  lowLimitFormat?: string;
  highLimitFormat?: string;
}

/** A pass/fail measurement: give `passed` (the outcome) and/or `status` (the file's verdict). */
export interface PassFailInput {
  name?: string;
  passed?: boolean;
  status?: string;
}

/** A string measurement. Without `compOp`: EQ when a limit is given, else LOG. */
export interface StringInput {
  name?: string;
  value?: string;
  limit?: string;
  compOp?: string;
  status?: string;
}

/** A chart: series as number arrays (or `;`-joined strings). */
export interface ChartInput {
  chartType?: string;
  label?: string;
  xLabel?: string;
  xUnit?: string;
  yLabel?: string;
  yUnit?: string;
  series: Array<{ name: string; x: number[] | string; y: number[] | string }>;
}

/** An attachment: bytes (base64-encoded by the builder) or base64 text. */
export interface AttachmentInput {
  name: string;
  contentType: string;
  data: Uint8Array | string;
}
