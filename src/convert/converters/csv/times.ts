/**
 * The csv header's times: the start (a date field, plus a separate time field when the date has
 * none) read with `datePattern`, ISO 8601, `yyyyMMddHHmmss` or a loose y/m/d date with
 * `dateOrder`; and the exec time, a number in `execTimeUnit` or `[h:]mm:ss`.
 *
 * @module
 */
import { ConversionError } from "../../conversion_error.ts";
import { parseNumber } from "../../number.ts";
import {
  type NaiveDateTime,
  parseDatePattern,
  parseIsoDateTime,
  parseLooseDateTime,
} from "../../time.ts";
import type { TimeInput } from "../../../wsjf/build_input.ts";
import type { Settings } from "./params.ts";
import { decimalHint } from "./steps.ts";

/** A header field's text and where it came from (for messages). */
export type HeaderValue = { value: string; where: string };

/**
 * Reads the start field (plus a separate time field) with the configured date rules; a year
 * before 1970 or after 9999 (what a report can hold) is refused.
 */
export function parseStart(
  date: HeaderValue,
  time: HeaderValue | undefined,
  s: Settings,
  file: string,
): TimeInput {
  const start = readStart(date, time, s, file);
  const year = typeof start === "string"
    ? Number(start.trim().slice(0, 4))
    : start instanceof Date
    ? start.getUTCFullYear()
    : start.year;
  if (!(year >= 1970 && year <= 9999)) {
    throw new ConversionError(
      `${file}: ${date.where}: the start date "${date.value}" is in the year ${year}, before ` +
        "1970 or after 9999",
      "Check the date the tester wrote (and the converter parameters datePattern/dateOrder).",
    );
  }
  return start;
}

function readStart(
  date: HeaderValue,
  time: HeaderValue | undefined,
  s: Settings,
  file: string,
): TimeInput {
  const text = time !== undefined && !/\d:\d/.test(date.value)
    ? `${date.value} ${time.value}`
    : date.value;
  for (const pattern of s.datePatterns) {
    const n = parseDatePattern(text, pattern);
    if (n !== null) return n;
  }
  if (s.datePatterns.length > 0) {
    throw new ConversionError(
      `${file}: ${date.where}: "${text}" does not match datePattern ${
        s.datePatterns.map((p) => `"${p}"`).join(" or ")
      }`,
      "Check the converter parameter datePattern (.NET style: yyyy MM dd HH mm ss, hh + tt " +
        "for AM/PM, MMM for month names).",
    );
  }
  // ISO 8601: naive = station zone, an explicit offset or Z is kept (the builder does both).
  if (
    /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text.trim()) && parseIsoDateTime(text, "UTC") !== null
  ) {
    return text.trim();
  }
  if (/^\d{14}$/.test(text.trim())) {
    const n = parseDatePattern(text, "yyyyMMddHHmmss");
    if (n !== null) return n;
  }
  if (s.dateOrder !== undefined) {
    const n = parseLooseDateTime(text, s.dateOrder);
    if (n !== null) return n;
  } else {
    const ymd = parseLooseDateTime(text, "ymd");
    if (ymd !== null && /^\s*\d{4}/.test(text)) return ymd;
    const dmy = parseLooseDateTime(text, "dmy");
    const mdy = parseLooseDateTime(text, "mdy");
    if (dmy !== null && mdy !== null && !sameNaive(dmy, mdy)) {
      throw new ConversionError(
        `${file}: ${date.where}: the date "${text}" could be day/month or month/day`,
        'Set the converter parameter dateOrder ("dmy" or "mdy") or datePattern.',
      );
    }
    const n = dmy ?? mdy;
    if (n !== null) return n;
  }
  throw new ConversionError(
    `${file}: ${date.where}: "${text}" is not a date/time this converter can read`,
    'Set the converter parameter datePattern, e.g. "yyyy.MM.dd. HH:mm" or "MM/dd/yyyy hh:mm:ss ' +
      'tt".',
  );
}

function sameNaive(a: NaiveDateTime, b: NaiveDateTime): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day;
}

/** Exec time in seconds: a number in `execTimeUnit`, or `[h:]mm:ss`. */
export function parseDuration(v: HeaderValue, s: Settings, file: string): number | undefined {
  const t = v.value.trim();
  const hms = /^(?:(\d+):)?(\d{1,2}):(\d{2}(?:[.,]\d+)?)$/.exec(t);
  if (hms !== null) {
    return (+(hms[1] ?? 0)) * 3600 + +hms[2] * 60 + Number(hms[3].replace(",", "."));
  }
  const n = parseNumber(t.replace(/(?:s|sec|seconds?|ms|min)$/i, ""), s.decimal);
  if (n === undefined) return undefined;
  if (!Number.isFinite(n) || n < 0) {
    throw new ConversionError(
      `${file}: ${v.where}: the test time "${t}" is not a number of seconds`,
      decimalHint(t, s) ?? "Check the header map (header.execTime) and execTimeUnit.",
    );
  }
  return n * s.execTimeFactor;
}
