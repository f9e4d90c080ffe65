/**
 * STDF V4 test records of a part as results (the "STDF V4" section of docs/converters.md): PTR
 * (parametric) → one numeric measurement, MPR (multiple-result parametric) → one measurement per
 * pin, FTR (functional) → pass/fail, named `<TEST_NUM> - <TEST_TXT>`. Values and limits are
 * 4-byte floats shown as the decimals they stand for. A test number's first PTR/MPR sets its
 * text, units and limits ({@link TestDefaults}), and later records that leave them out (as
 * OPT_FLAG allows) take them from there. Status from TEST_FLG; comparison from the limits and
 * PARM_FLG.
 *
 * @module
 */
import { type NumericInput } from "../../../wsjf/build_input.ts";
import { type Fields, float32Value } from "./records.ts";

/** One test result of a part, as read (limits already resolved from the defaults). */
export type Result =
  | { kind: "numeric"; name: string; meas: NumericInput[]; status?: string }
  | { kind: "passFail"; name: string; status: string; text?: string }
  | { kind: "text"; text: string };

/** What the first PTR/MPR of a test number says, for later ones that leave it out. */
export interface TestDefaults {
  text: string;
  units: string;
  low?: number;
  high?: number;
  noLow: boolean;
  noHigh: boolean;
}

/** A test's status from TEST_FLG: not executed S, aborted T, no pass/fail indication none. */
function testStatus(flags: number | undefined): string | undefined {
  if (flags === undefined) return undefined;
  if (flags & 0x10) return "S";
  if (flags & 0x20) return "T";
  if (flags & 0x40) return undefined; // the tester says nothing: limits decide
  return flags & 0x80 ? "F" : "P";
}

/** Low/high limits of a PTR or MPR: its own, else the test number's first ones. */
function limits(
  f: Fields,
  num: number,
  text: string | undefined,
  readRest: () => { units?: string },
  defaults: Map<number, TestDefaults>,
): TestDefaults {
  const opt = f.u1();
  f.i1(); // RES_SCAL (display scaling only: values and limits are in base units)
  f.i1(); // LLM_SCAL
  f.i1(); // HLM_SCAL
  const lo = f.r4();
  const hi = f.r4();
  const { units } = readRest();
  const first = defaults.get(num);
  // Without OPT_FLAG, everything not given is the first record's.
  const own: TestDefaults = {
    text: text || first?.text || "",
    units: units !== undefined && units.trim() !== "" ? units.trim() : first?.units ?? "",
    noLow: opt === undefined ? first?.noLow ?? true : (opt & 0x40) !== 0,
    noHigh: opt === undefined ? first?.noHigh ?? true : (opt & 0x80) !== 0,
    low: opt === undefined || (opt & 0x10) ? first?.low : lo,
    high: opt === undefined || (opt & 0x20) ? first?.high : hi,
  };
  if (opt !== undefined && (opt & 0x40) === 0 && (opt & 0x10)) own.noLow = first?.noLow ?? false;
  if (opt !== undefined && (opt & 0x80) === 0 && (opt & 0x20)) own.noHigh = first?.noHigh ?? false;
  if (first === undefined) defaults.set(num, own);
  return own;
}

/** Limits as decimals: the same few limits come back on every part, so each is worked out once. */
const limitDecimals = new Map<number, number>();

function limitValue(v: number): number {
  let d = limitDecimals.get(v);
  if (d === undefined) {
    if (limitDecimals.size >= 65536) limitDecimals.clear();
    d = float32Value(v);
    limitDecimals.set(v, d);
  }
  return d;
}

/** The comparison the limits and PARM_FLG (bit 6 low ≥, bit 7 high ≤) give. */
function compOp(lim: TestDefaults, parm: number | undefined): Partial<NumericInput> {
  const low = lim.noLow || lim.low === undefined ? undefined : limitValue(lim.low);
  const high = lim.noHigh || lim.high === undefined ? undefined : limitValue(lim.high);
  const geLow = parm === undefined || (parm & 0x40) !== 0;
  const leHigh = parm === undefined || (parm & 0x80) !== 0;
  if (low !== undefined && high !== undefined) {
    return { low, high, compOp: `${geLow ? "GE" : "GT"}${leHigh ? "LE" : "LT"}` };
  }
  if (low !== undefined) return { low, compOp: geLow ? "GE" : "GT" };
  if (high !== undefined) return { high, compOp: leHigh ? "LE" : "LT" };
  return { compOp: "LOG" };
}

/** A PTR (parametric test) as one numeric result. */
export function readPtr(f: Fields, num: number, defaults: Map<number, TestDefaults>): Result {
  const flags = f.u1();
  const parm = f.u1();
  const raw = f.r4();
  const text = f.cn()?.trim();
  f.cn(); // ALARM_ID
  const lim = limits(f, num, text, () => ({ units: f.cn() }), defaults);
  const value = raw === undefined || (flags !== undefined && flags & 0x02)
    ? NaN // RESULT missing or flagged invalid
    : float32Value(raw);
  const status = testStatus(flags);
  return {
    kind: "numeric",
    name: stepName(num, lim.text),
    meas: [{
      value,
      unit: lim.units || undefined,
      status: status === "T" ? "F" : status,
      ...compOp(lim, parm),
    }],
    status,
  };
}

/** An MPR (multiple-result parametric test) as one numeric result per pin. */
export function readMpr(f: Fields, num: number, defaults: Map<number, TestDefaults>): Result {
  const flags = f.u1();
  const parm = f.u1();
  const j = f.u2() ?? 0;
  const k = f.u2() ?? 0;
  f.n1Array(j); // RTN_STAT
  const values = f.r4Array(k);
  const text = f.cn()?.trim();
  f.cn(); // ALARM_ID
  let pins: number[] = [];
  const lim = limits(f, num, text, () => {
    f.r4(); // START_IN
    f.r4(); // INCR_IN
    pins = f.u2Array(j);
    return { units: f.cn() };
  }, defaults);
  const status = testStatus(flags);
  const cmp = compOp(lim, parm);
  return {
    kind: "numeric",
    name: stepName(num, lim.text),
    meas: values.map((v, i) => ({
      name: pins[i] !== undefined ? `Pin ${pins[i]}` : `Result ${i + 1}`,
      value: float32Value(v),
      unit: lim.units || undefined,
      ...cmp,
    })),
    status,
  };
}

/** An FTR (functional test) as a pass/fail result. */
export function readFtr(f: Fields, num: number): Result {
  const flags = f.u1();
  f.u1(); // OPT_FLAG
  f.skip(4, 4); // CYCL_CNT, REL_VADR, REPT_CNT, NUM_FAIL
  f.skip(2, 4); // XFAIL_AD, YFAIL_AD
  f.i2(); // VECT_OFF
  const j = f.u2() ?? 0;
  const k = f.u2() ?? 0;
  f.skip(j, 2); // RTN_INDX
  f.n1Array(j); // RTN_STAT
  f.skip(k, 2); // PGM_INDX
  f.n1Array(k); // PGM_STAT
  f.dn(); // FAIL_PIN
  const vector = f.cn()?.trim();
  f.cn(); // TIME_SET
  f.cn(); // OP_CODE
  const text = f.cn()?.trim() ?? "";
  // A functional test without a pass/fail indication is an error, never a pass.
  const status = testStatus(flags) ?? "E";
  return {
    kind: "passFail",
    name: stepName(num, text),
    status,
    text: vector ? `Vector ${vector}` : undefined,
  };
}

function stepName(num: number, text: string): string {
  return text === "" ? String(num) : `${num} - ${text}`;
}
