/**
 * WSJF status codes (docs/wsjf.md#status-codes) and how station verdicts map onto them.
 *
 * - Report `result`: P F E T (no D).
 * - Step `status`: P F D S E T U.
 * - Measurement `status`: P F S.
 * - Step `group`: S M C.
 *
 * Severity (C# "Active" propagation): Passed < Done < Skipped < Failed < Error < Terminated.
 * Unknown ranks with Passed (it never fails a parent).
 *
 * @module
 */

/** Report result codes. */
export const REPORT_RESULTS = ["P", "F", "E", "T"] as const;
/** Step status codes. */
export const STEP_STATUSES = ["P", "F", "D", "S", "E", "T", "U"] as const;
/** Measurement status codes. */
export const MEAS_STATUSES = ["P", "F", "S"] as const;
/** Step group codes. */
export const STEP_GROUPS = ["S", "M", "C"] as const;

/** Overall report result. */
export type ReportResult = typeof REPORT_RESULTS[number];
/** Step status. */
export type StepStatus = typeof STEP_STATUSES[number];
/** Measurement status. */
export type MeasStatus = typeof MEAS_STATUSES[number];
/** Step group: Setup, Main, Cleanup. */
export type StepGroup = typeof STEP_GROUPS[number];

const SEVERITY: Readonly<Record<StepStatus, number>> = {
  P: 0,
  U: 0,
  D: 1,
  S: 2,
  F: 3,
  E: 4,
  T: 5,
};

/** Severity rank of a step status (higher is worse). */
export function severity(status: StepStatus): number {
  return SEVERITY[status];
}

/** The more severe of two statuses. */
export function worse(a: StepStatus, b: StepStatus): StepStatus {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

/** Whether a child with this status fails its parent (F, E, T). */
export function failsParent(status: StepStatus): boolean {
  return status === "F" || status === "E" || status === "T";
}

const ALIASES: Readonly<Record<string, StepStatus>> = {
  p: "P",
  pass: "P",
  passed: "P",
  ok: "P",
  good: "P",
  true: "P",
  f: "F",
  fail: "F",
  failed: "F",
  failure: "F",
  nok: "F",
  ng: "F",
  bad: "F",
  false: "F",
  d: "D",
  done: "D",
  s: "S",
  skip: "S",
  skipped: "S",
  e: "E",
  error: "E",
  err: "E",
  t: "T",
  terminated: "T",
  terminate: "T",
  abort: "T",
  aborted: "T",
  u: "U",
  unknown: "U",
};

/**
 * A station's verdict text → step status, case-insensitively: the WSJF letters, the WSXF
 * words (Passed, Failed, Done, Skipped, Error, Terminated, Unknown) and common station
 * words (PASS, OK, GOOD, TRUE / FAIL, NG, NOK, BAD, FALSE / SKIP / ERR / ABORT(ED)).
 * Returns undefined for anything else; the converter decides what that means.
 */
export function parseStepStatus(text: string | undefined | null): StepStatus | undefined {
  if (text === undefined || text === null) return undefined;
  return ALIASES[text.trim().toLowerCase()];
}

/**
 * Step status → measurement status. A measurement is only P, F or S: Error and Terminated
 * count as F, Done and Unknown as P.
 */
export function toMeasStatus(status: StepStatus): MeasStatus {
  if (status === "S") return "S";
  return failsParent(status) ? "F" : "P";
}

/** Verdict text → measurement status (see {@link parseStepStatus}, {@link toMeasStatus}). */
export function parseMeasStatus(text: string | undefined | null): MeasStatus | undefined {
  const s = parseStepStatus(text);
  return s === undefined ? undefined : toMeasStatus(s);
}

/** Step status (of the root) → report result: F, E and T carry over, all else is P. */
export function toReportResult(status: StepStatus): ReportResult {
  return failsParent(status) ? (status as ReportResult) : "P";
}

/**
 * Verdict text → report result. Step-only codes map as {@link toReportResult} does
 * (Done → P, Skipped → P).
 */
export function parseReportResult(text: string | undefined | null): ReportResult | undefined {
  const s = parseStepStatus(text);
  return s === undefined ? undefined : toReportResult(s);
}

/** WSXF words for step/measurement/report statuses, by code. */
export const STATUS_WORDS: Readonly<Record<StepStatus, string>> = {
  P: "Passed",
  F: "Failed",
  D: "Done",
  S: "Skipped",
  E: "Error",
  T: "Terminated",
  U: "Unknown",
};

/** WSXF group words ↔ codes. */
export function parseGroup(text: string | undefined | null): StepGroup | undefined {
  if (!text) return undefined;
  const t = text.trim().toLowerCase();
  if (t === "s" || t === "setup") return "S";
  if (t === "m" || t === "main") return "M";
  if (t === "c" || t === "cleanup") return "C";
  return undefined;
}
