/**
 * Reading numbers the way station files write them (docs/converters.md#reading-station-files).
 *
 * - Decimal point or decimal comma (a per-converter setting; never guessed from one value).
 * - E-notation, a leading `+`, surrounding spaces, hex `0x1F`.
 * - `NaN`, `-NAN`, `nan(ind)`, `1.#QNAN` → `NaN`; `Inf`, `+INF`, `Infinity`, `1.#INF` → ±Infinity.
 * - Blank text and placeholders made only of dashes/dots/asterisks (`----------`, `......`)
 *   mean "no value" → `undefined`.
 *
 * JSON has no NaN/Infinity; the WSJF builder decides what a non-finite value becomes
 * (see `wsjf/compop.ts`).
 *
 * @module
 */

/** Decimal separator of a file's numbers. */
export type DecimalSeparator = "." | ",";

const NAN_RE = /^[+-]?(nan(\(\w*\))?|1\.#(q|s)?nan|1\.#ind)$/i;
const INF_RE = /^([+-]?)(inf|infinity|1\.#inf)$/i;
const PLACEHOLDER_RE = /^[-.*_\s]+$/;
const DEC_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i; // unambiguous: linear time
const HEX_RE = /^[+-]?0x[0-9a-f]+$/i;

/**
 * Parses one number. Returns `undefined` for blank text or a placeholder, `NaN` for a NaN
 * literal **and for text that is not a number** (use {@link isNumberText} to tell the two
 * apart), ±Infinity for infinity literals.
 */
export function parseNumber(text: string, decimal: DecimalSeparator = "."): number | undefined {
  const t = text.trim();
  if (t === "" || PLACEHOLDER_RE.test(t)) return undefined;
  if (NAN_RE.test(t)) return NaN;
  const inf = INF_RE.exec(t);
  if (inf) return inf[1] === "-" ? -Infinity : Infinity;
  const s = decimal === "," ? t.replace(",", ".") : t;
  if (DEC_RE.test(s)) return Number(s);
  if (HEX_RE.test(s)) {
    const neg = s.startsWith("-");
    const v = parseInt(s.replace(/^[+-]?0x/i, ""), 16);
    return neg ? -v : v;
  }
  return NaN;
}

/** Whether `text` is a number literal {@link parseNumber} understands (NaN/Inf included). */
export function isNumberText(text: string, decimal: DecimalSeparator = "."): boolean {
  const t = text.trim();
  if (t === "" || PLACEHOLDER_RE.test(t)) return false;
  if (NAN_RE.test(t) || INF_RE.test(t)) return true;
  const s = decimal === "," ? t.replace(",", ".") : t;
  return DEC_RE.test(s) || HEX_RE.test(s);
}

/**
 * Parses an integer field (process code, error code, socket index). Accepts `02` and `+3`;
 * returns `undefined` for blank text and `NaN` for anything that is not a whole number.
 */
export function parseInteger(text: string): number | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  return /^[+-]?\d+$/.test(t) ? Number(t) : NaN;
}

/**
 * A decimal number text times 10^`exponent`, computed by shifting the decimal exponent so no
 * binary rounding is added (`"100.20007"`, 3 → 100200.07, where 100.20007 * 1000 gives
 * 100200.07000000001). For SI prefixes (`K` → 3, `n` → -9). Returns `undefined` for blank or
 * placeholder text and NaN for text that is not a decimal number.
 */
export function parseScaled(
  text: string,
  exponent: number,
  decimal: DecimalSeparator = ".",
): number | undefined {
  const t = text.trim();
  if (t === "" || PLACEHOLDER_RE.test(t)) return undefined;
  const s = decimal === "," ? t.replace(",", ".") : t;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:e([+-]?\d+))?$/i.exec(s);
  if (m === null) return exponent === 0 ? parseNumber(t, decimal) : NaN;
  return Number(`${m[1]}e${Number(m[2] ?? 0) + exponent}`);
}
