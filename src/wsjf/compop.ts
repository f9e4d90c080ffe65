/**
 * Comparison operators (docs/wsjf.md#comparison-operators): parsing, limit placement and evaluation.
 *
 * WSJF stores single-limit operators' limit in `lowLimit` **even for LT/LE**; two-limit
 * operators use `lowLimit` and `highLimit`. Converters pass *semantic* limits (`low` = lower
 * bound, `high` = upper bound, or `limit` for a single-limit operator) and
 * {@link resolveNumericLimits} places them.
 *
 * Non-finite numbers never reach the report (JSON has no NaN/Infinity, and how the server reads
 * a "NaN" string is not known):
 * - a NaN or infinite **limit** counts as "no limit" and the operator is narrowed
 *   (GELE without a high limit → GE, without a low limit → LE, without both → LOG);
 * - an infinite **value** is clamped to ±1.7976931348623157e308 (the .NET double range), so
 *   it still compares the same way; a NaN value is left out (the builder notes it in the step's
 *   reportText, and a NaN value fails every operator except LOG).
 *
 * @module
 */
import type { MeasStatus } from "./status_codes.ts";

/** Numeric comparison operators. */
export const NUMERIC_COMP_OPS = [
  "LOG",
  "EQ",
  "NE",
  "GT",
  "GE",
  "LT",
  "LE",
  "GTLT",
  "GELE",
  "GELT",
  "GTLE",
  "LTGT",
  "LEGE",
  "LEGT",
  "LTGE",
] as const;

/** String comparison operators (the server's "IGNORECAS, CASESENIT" are typos of these). */
export const STRING_COMP_OPS = [
  "LOG",
  "EQ",
  "NE",
  "CASESENSIT",
  "IGNORECASE",
  "GT",
  "GE",
  "LT",
  "LE",
] as const;

/** A numeric comparison operator. */
export type NumericCompOp = typeof NUMERIC_COMP_OPS[number];
/** A string comparison operator. */
export type StringCompOp = typeof STRING_COMP_OPS[number];

const SYMBOLS: Readonly<Record<string, string>> = {
  "==": "EQ",
  "=": "EQ",
  "!=": "NE",
  "<>": "NE",
  ">": "GT",
  ">=": "GE",
  "=>": "GE",
  "<": "LT",
  "<=": "LE",
  "=<": "LE",
  "NONE": "LOG",
  "NOCOMPARE": "LOG",
  "NO COMPARE": "LOG",
};

function canonical(text: string): string {
  const t = text.trim().toUpperCase();
  return SYMBOLS[t] ?? t;
}

/** Operator text (any case, `>=`-style symbols allowed) → numeric operator, or undefined. */
export function parseNumericCompOp(text: string | undefined | null): NumericCompOp | undefined {
  if (text === undefined || text === null) return undefined;
  const t = canonical(text);
  return (NUMERIC_COMP_OPS as readonly string[]).includes(t) ? t as NumericCompOp : undefined;
}

/** Operator text (any case) → string operator, or undefined. */
export function parseStringCompOp(text: string | undefined | null): StringCompOp | undefined {
  if (text === undefined || text === null) return undefined;
  const t = canonical(text);
  return (STRING_COMP_OPS as readonly string[]).includes(t) ? t as StringCompOp : undefined;
}

/** Whether the operator uses both `lowLimit` and `highLimit`. */
export function isTwoLimit(op: NumericCompOp): boolean {
  return op.length === 4;
}

/** The largest finite double; infinite values are clamped to ± this. */
export const MAX_DOUBLE = 1.7976931348623157e308;

/** Whether `x` is a finite number. */
export function isFiniteNumber(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x);
}

/** Semantic limits as a converter has them. */
export interface LimitInput {
  /** Operator text or code; inferred from the limits when absent. */
  compOp?: string;
  /** Lower bound (GE/GT side). */
  low?: number;
  /** Upper bound (LE/LT side). */
  high?: number;
  /** The one limit of a single-limit operator (EQ, NE, GT, GE, LT, LE). */
  limit?: number;
}

/** Limits placed the WSJF way. */
export interface ResolvedLimits {
  compOp: NumericCompOp;
  lowLimit?: number;
  highLimit?: number;
  /** Set when the operator was narrowed because a limit was missing or not finite. */
  narrowed?: string;
}

const NARROW_LOW_ONLY: Partial<Record<NumericCompOp, NumericCompOp>> = {
  GELE: "GE",
  GELT: "GE",
  GTLT: "GT",
  GTLE: "GT",
  LTGT: "LT",
  LTGE: "LT",
  LEGE: "LE",
  LEGT: "LE",
};
const NARROW_HIGH_ONLY: Partial<Record<NumericCompOp, NumericCompOp>> = {
  GELE: "LE",
  GTLE: "LE",
  GTLT: "LT",
  GELT: "LT",
  LTGT: "GT",
  LEGT: "GT",
  LEGE: "GE",
  LTGE: "GE",
};

/**
 * Places semantic limits into WSJF `lowLimit`/`highLimit` and settles the operator:
 * inferred when absent (both limits → GELE, low only → GE, high only → LE, none → LOG),
 * narrowed when a limit it needs is missing or not finite (see module doc).
 * Returns undefined for an operator text that is not a numeric operator.
 */
export function resolveNumericLimits(input: LimitInput): ResolvedLimits | undefined {
  const lo = isFiniteNumber(input.low) ? input.low : undefined;
  const hi = isFiniteNumber(input.high) ? input.high : undefined;
  const lim = isFiniteNumber(input.limit) ? input.limit : undefined;
  const gaveNonFinite = [input.low, input.high, input.limit].some((x) =>
    typeof x === "number" && !Number.isFinite(x)
  );
  let op: NumericCompOp | undefined;
  if (input.compOp !== undefined && input.compOp.trim() !== "") {
    op = parseNumericCompOp(input.compOp);
    if (op === undefined) return undefined;
  }
  if (op === undefined) {
    if (lo !== undefined && hi !== undefined) {
      return { compOp: "GELE", lowLimit: lo, highLimit: hi };
    }
    if (lo !== undefined) return { compOp: "GE", lowLimit: lo };
    if (hi !== undefined) return { compOp: "LE", lowLimit: hi };
    if (lim !== undefined) return { compOp: "EQ", lowLimit: lim };
    return gaveNonFinite ? { compOp: "LOG", narrowed: "no finite limit" } : { compOp: "LOG" };
  }
  if (op === "LOG") {
    return { compOp: "LOG", lowLimit: lo ?? lim, highLimit: hi };
  }
  if (!isTwoLimit(op)) {
    const l = op === "LT" || op === "LE" ? lim ?? hi ?? lo : lim ?? lo ?? hi;
    return l === undefined
      ? { compOp: "LOG", narrowed: `${op} without a finite limit` }
      : { compOp: op, lowLimit: l };
  }
  if (lo !== undefined && hi !== undefined) return { compOp: op, lowLimit: lo, highLimit: hi };
  if (lo !== undefined) {
    return { compOp: NARROW_LOW_ONLY[op]!, lowLimit: lo, narrowed: `${op} without a high limit` };
  }
  if (hi !== undefined) {
    return { compOp: NARROW_HIGH_ONLY[op]!, lowLimit: hi, narrowed: `${op} without a low limit` };
  }
  return { compOp: "LOG", narrowed: `${op} without finite limits` };
}

/**
 * Evaluates a numeric measurement (docs/wsjf.md#comparison-operators; v = value, L = lowLimit, H = highLimit).
 * Returns undefined when it cannot be decided (a limit the operator needs is missing).
 * A missing value fails every operator except LOG.
 */
export function evaluateNumeric(
  op: NumericCompOp,
  value: number | undefined,
  low: number | undefined,
  high: number | undefined,
): MeasStatus | undefined {
  if (op === "LOG") return "P";
  const L = low;
  const H = high;
  if (L === undefined || (isTwoLimit(op) && H === undefined)) return undefined;
  if (value === undefined || Number.isNaN(value)) return "F";
  const v = value;
  const h = H as number;
  let ok: boolean;
  switch (op) {
    case "EQ":
      ok = v === L;
      break;
    case "NE":
      ok = v !== L;
      break;
    case "GT":
      ok = v > L;
      break;
    case "GE":
      ok = v >= L;
      break;
    case "LT":
      ok = v < L;
      break;
    case "LE":
      ok = v <= L;
      break;
    case "GTLT":
      ok = L < v && v < h;
      break;
    case "GELE":
      ok = L <= v && v <= h;
      break;
    case "GELT":
      ok = L <= v && v < h;
      break;
    case "GTLE":
      ok = L < v && v <= h;
      break;
    case "LTGT":
      ok = v < L || v > h;
      break;
    case "LEGE":
      ok = v <= L || v >= h;
      break;
    case "LEGT":
      ok = v <= L || v > h;
      break;
    case "LTGE":
      ok = v < L || v >= h;
      break;
  }
  return ok ? "P" : "F";
}

/**
 * Evaluates a string measurement. GT/GE/LT/LE use a plain ordinal compare (C# uses a
 * culture-aware one; these operators are rare). Returns undefined when a limit is needed
 * and missing.
 */
export function evaluateString(
  op: StringCompOp,
  value: string | undefined,
  limit: string | undefined,
): MeasStatus | undefined {
  if (op === "LOG") return "P";
  if (limit === undefined) return undefined;
  const v = value ?? "";
  let ok: boolean;
  switch (op) {
    case "EQ":
    case "CASESENSIT":
      ok = v === limit;
      break;
    case "IGNORECASE":
      ok = v.toLowerCase() === limit.toLowerCase();
      break;
    case "NE":
      ok = v !== limit;
      break;
    case "GT":
      ok = v > limit;
      break;
    case "GE":
      ok = v >= limit;
      break;
    case "LT":
      ok = v < limit;
      break;
    case "LE":
      ok = v <= limit;
      break;
  }
  return ok ? "P" : "F";
}

/** Clamps ±Infinity to ±{@link MAX_DOUBLE}; NaN becomes undefined; finite values pass. */
export function finiteValue(value: number | undefined): number | undefined {
  if (value === undefined || Number.isNaN(value)) return undefined;
  if (value === Infinity) return MAX_DOUBLE;
  if (value === -Infinity) return -MAX_DOUBLE;
  return value;
}
