/**
 * TAKAYA value vocabulary: numbers with unit prefixes (`KO`, `UF`, `mV`), verdicts, function
 * codes and percentage tolerances, shared by the ATD, APT94xx ATD and ATDX readers.
 *
 * @module
 */
import { isNumberText, parseNumber } from "../../number.ts";
import { parseReportResult, type ReportResult } from "../../../wsjf/status_codes.ts";

/** A number in a TAKAYA unit, with the factor to the base unit. */
export interface Quantity {
  /** The number as written (in `unit`). */
  value: number;
  /** The unit as displayed in the report (`kΩ`, `µF`, `V`…); "" when the file gives none. */
  unit: string;
  /** Base unit (`Ω`, `F`, `H`, `V`, `A`, `Hz`) or "" when unknown. */
  base: string;
  /** Multiply `value` by this to get the base unit. */
  scale: number;
}

/**
 * A finite number from a TAKAYA field, or undefined for placeholders (`........`,
 * `----------`), words (`No Test`) and blank fields.
 */
export function numberIn(text: string): number | undefined {
  if (!isNumberText(text)) return undefined;
  const n = parseNumber(text);
  return n !== undefined && Number.isFinite(n) ? n : undefined;
}

const BASES: Readonly<Record<string, string>> = {
  O: "Ω",
  Ω: "Ω",
  OHM: "Ω",
  V: "V",
  A: "A",
  F: "F",
  H: "H",
  HZ: "Hz",
};

/**
 * Prefix factors. TAKAYA writes prefixes in upper case (`KO`, `UF`, `UH`, `MO`) but also in
 * their SI case (`mV`, `nF`, `mH`, `pF`), so `M` is ambiguous: it is mega for ohms and hertz
 * (`MO` = MΩ), and milli for volts, amperes, farads and henries, where mega is physically
 * implausible on a flying-probe tester.
 */
function prefixFactor(prefix: string, base: string): [number, string] | undefined {
  switch (prefix) {
    case "":
      return [1, ""];
    case "p":
    case "P":
      return [1e-12, "p"];
    case "n":
    case "N":
      return [1e-9, "n"];
    case "u":
    case "U":
    case "µ":
    case "μ":
      return [1e-6, "µ"];
    case "m":
      return [1e-3, "m"];
    case "M":
      return base === "Ω" || base === "Hz" ? [1e6, "M"] : [1e-3, "m"];
    case "k":
    case "K":
      return [1e3, "k"];
    case "G":
      return [1e9, "G"];
  }
  return undefined;
}

/**
 * Reads a TAKAYA unit (`O`, `KO`, `MO`, `UF`, `nF`, `mV`, `UH`…). Unknown units are kept as
 * written with scale 1 and no base, so they are never silently rescaled.
 */
export function parseUnit(text: string): { unit: string; base: string; scale: number } {
  const t = text.trim();
  if (t === "") return { unit: "", base: "", scale: 1 };
  const whole = BASES[t.toUpperCase()];
  if (whole !== undefined) {
    return { unit: whole, base: whole, scale: 1 };
  }
  const base = BASES[t.slice(1).toUpperCase()];
  if (base !== undefined) {
    const p = prefixFactor(t[0], base);
    if (p !== undefined) return { unit: p[1] + base, base, scale: p[0] };
  }
  return { unit: t, base: "", scale: 1 };
}

/** A number and a unit from two fields, or undefined when the number is absent (`........`). */
export function quantity(valueText: string, unitText: string): Quantity | undefined {
  const value = numberIn(valueText);
  if (value === undefined) return undefined;
  return { value, ...parseUnit(unitText) };
}

/**
 * Splits a combined field such as `"400.0 O  "` (APT94xx) or `3.000[O]|-3.5` (ATDX impedance:
 * magnitude, unit, phase) into number text, unit text and any rest.
 */
export function splitValueUnit(text: string): { number: string; unit: string; rest: string } {
  const t = text.trim();
  const bracket = /^([+-]?[\d.]+(?:[eE][+-]?\d+)?)\[([^\]]*)\](.*)$/.exec(t);
  if (bracket) return { number: bracket[1], unit: bracket[2], rest: bracket[3].trim() };
  const spaced = /^([+-]?[\d.]+(?:[eE][+-]?\d+)?)\s*([A-Za-zµμΩ]*)\s*(.*)$/.exec(t);
  if (spaced && numberIn(spaced[1]) !== undefined) {
    return { number: spaced[1], unit: spaced[2], rest: spaced[3].trim() };
  }
  return { number: t, unit: "", rest: "" };
}

/** Converts a quantity to another quantity's unit (same base), or undefined when bases differ. */
export function inUnitOf(q: Quantity, target: Quantity): number | undefined {
  if (q.unit === target.unit) return q.value;
  if (q.base === "" || q.base !== target.base) return undefined;
  return tidy(q.value * q.scale / target.scale);
}

/** Removes binary floating-point noise (`0.30000000000000004` → `0.3`). */
export function tidy(n: number): number {
  return Number(n.toPrecision(12));
}

/** Parses a tolerance (`+10%`, `-10%`, `20.0`) as a magnitude in percent; undefined if absent. */
export function parseTolerance(text: string): number | undefined {
  const t = text.trim().replace(/%$/, "");
  const n = numberIn(t);
  return n === undefined ? undefined : Math.abs(n);
}

/** How a row's verdict (Judgement/Judge column) reads. */
export type RowVerdict = "P" | "F" | "S";

const SKIP_VERDICTS = new Set([
  "......",
  "JUMP",
  "JP",
  "SKIP",
  "UNTESTED",
  "NOTEST",
  "NO TEST",
  "",
]);

/**
 * Reads a row verdict: `PASS` passes; `......`, `JUMP`, `SKIP`, `UnTested` mean not tested; any
 * other word (`FAIL`, `UP-NG`, `LO-NG`, `UPPER`, `LOWER`, `OPEN`, `SHORT`, `UNMEASURED`…) is a
 * failure, so an unknown failure word never turns into a pass.
 */
export function rowVerdict(text: string): RowVerdict {
  const t = text.trim().toUpperCase();
  if (t === "PASS" || t === "OK") return "P";
  if (SKIP_VERDICTS.has(t) || /^\.+$/.test(t)) return "S";
  return "F";
}

/** Reads a unit/group verdict (`* PASS *`, `FAIL`); undefined when it is not a verdict word. */
export function unitVerdict(text: string): ReportResult | undefined {
  return parseReportResult(text.replace(/\*/g, "").trim());
}

/** The comparison a function code asks for. */
export type FunctionKind = "range" | "below" | "above" | "short" | "open" | "skip" | "log";

/**
 * Reads a TAKAYA function code: `**`/`EQ` in range; `E`/`LE` at or below; `F`/`GE` at or
 * above; `SH` short test and `OP` open test (see the converter for their limits);
 * `JP`/`JUMP`/`SKIP` jumped; anything else (`D`…, whose meaning the files don't show) only
 * logged.
 */
export function functionKind(code: string): FunctionKind {
  switch (code.trim().toUpperCase()) {
    case "**":
    case "*":
    case "EQ":
    case "":
      return "range";
    case "E":
    case "LE":
      return "below";
    case "F":
    case "GE":
      return "above";
    case "SH":
      return "short";
    case "OP":
      return "open";
    case "JP":
    case "JUMP":
    case "SKIP":
      return "skip";
  }
  return "log";
}
