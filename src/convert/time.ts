/**
 * Timestamps: station files mostly write naive local times; WSJF `start` needs an ISO 8601
 * string **with** a UTC offset. The station's IANA time zone (`StationContext.timeZone`)
 * turns one into the other (docs/converters.md#reading-station-files).
 *
 * DST rules (deterministic, the same as Temporal's "compatible" disambiguation):
 * - a local time that does not exist (spring-forward gap, e.g. 02:30 on the night clocks jump
 *   from 02:00 to 03:00) is moved **forward** by the length of the gap (→ 03:30, new offset);
 * - a local time that exists twice (fall-back overlap) is the **earlier** instant (the
 *   offset before the change, i.e. summer time).
 *
 * Two-digit years are 2000 + yy (the formats in question are all from this century).
 * Output offsets are always `±HH:MM` (never `Z`), fractions keep the file's digits (max 7).
 *
 * @module
 */
import { ConversionError } from "./conversion_error.ts";

/** A wall-clock date and time without a zone, as written in a station file. */
export interface NaiveDateTime {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
  /** 0–23 */
  hour: number;
  minute: number;
  second: number;
  /** Fraction-of-second digits as written ("452", "4707353"); empty or absent for none. */
  fraction?: string;
}

/** Order of day, month and year in a numeric date such as `04/05/23`. */
export type DateOrder = "dmy" | "mdy" | "ymd";

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether `timeZone` is an IANA zone name this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Throws a {@link ConversionError} naming `what` when `timeZone` is not a known IANA zone. */
export function assertTimeZone(timeZone: string, what = "station time zone"): void {
  if (!isValidTimeZone(timeZone)) {
    throw new ConversionError(
      `${what}: unknown IANA time zone "${timeZone}"`,
      'Set an IANA zone name such as "Europe/Oslo", "America/Chicago" or "UTC".',
    );
  }
}

function utcMs(n: NaiveDateTime): number {
  const d = new Date(0);
  d.setUTCFullYear(n.year, n.month - 1, n.day);
  d.setUTCHours(n.hour, n.minute, n.second, 0);
  return d.getTime();
}

const HOUR_MS = 3_600_000;
/** Per zone: hour (epoch ms / 1 h) → the offset all through that hour, or NaN when it changes. */
const hourOffsets = new Map<string, Map<number, number>>();

/**
 * The zone's UTC offset in minutes at an instant (epoch milliseconds). An `Intl` lookup costs
 * ~17 µs, and reports look up thousands of times in the same few hours: the offset is cached
 * per hour, when it is the same at the first and the last second of that hour (an hour with a
 * change is looked up exactly, every time).
 */
export function offsetMinutesAt(epochMs: number, timeZone: string): number {
  let zone = hourOffsets.get(timeZone);
  if (zone === undefined) {
    assertTimeZone(timeZone);
    zone = new Map();
    hourOffsets.set(timeZone, zone);
  }
  const hour = Math.floor(epochMs / HOUR_MS);
  let offset = zone.get(hour);
  if (offset === undefined) {
    const first = exactOffsetMinutes(hour * HOUR_MS, timeZone);
    const last = exactOffsetMinutes(hour * HOUR_MS + HOUR_MS - 1000, timeZone);
    offset = first === last ? first : NaN;
    if (zone.size >= 10_000) zone.clear();
    zone.set(hour, offset);
  }
  return Number.isNaN(offset) ? exactOffsetMinutes(epochMs, timeZone) : offset;
}

function exactOffsetMinutes(epochMs: number, timeZone: string): number {
  const parts = formatter(timeZone).formatToParts(new Date(epochMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = utcMs({
    year: get("year"),
    month: get("month"),
    day: get("day"),
    hour: get("hour"),
    minute: get("minute"),
    second: get("second"),
  });
  return Math.round((wall - Math.floor(epochMs / 1000) * 1000) / 60000);
}

/**
 * The instant (epoch ms, whole seconds) a naive local time means in `timeZone`, with the DST
 * rules of the module doc.
 */
export function zonedToEpoch(naive: NaiveDateTime, timeZone: string): number {
  const local = utcMs(naive);
  const day = 86_400_000;
  const before = offsetMinutesAt(local - day, timeZone);
  const after = offsetMinutesAt(local + day, timeZone);
  const valid = [before, after].map((o) => local - o * 60000).filter((t, i) =>
    offsetMinutesAt(t, timeZone) === [before, after][i]
  );
  if (valid.length > 0) return Math.min(...valid); // overlap → earlier instant
  return local - before * 60000; // gap → shift forward by the gap
}

function pad(n: number, width = 2): string {
  return String(Math.abs(n)).padStart(width, "0");
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  return `${sign}${pad(Math.trunc(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
}

function formatFraction(fraction: string | undefined): string {
  const digits = (fraction ?? "").replace(/\D/g, "").slice(0, 7);
  return digits === "" ? "" : `.${digits}`;
}

/**
 * Renders an instant as local time in `timeZone` with its offset:
 * `2024-03-31T03:30:00.452+02:00`. `fraction` (digits) overrides the instant's milliseconds.
 */
export function formatInZone(epochMs: number | Date, timeZone: string, fraction?: string): string {
  const ms = typeof epochMs === "number" ? epochMs : epochMs.getTime();
  const offset = offsetMinutesAt(ms, timeZone);
  const wall = new Date(Math.floor(ms / 1000) * 1000 + offset * 60000);
  const frac = fraction !== undefined
    ? formatFraction(fraction)
    : ms % 1000 === 0
    ? ""
    : `.${pad(((ms % 1000) + 1000) % 1000, 3)}`;
  return `${pad(wall.getUTCFullYear(), 4)}-${pad(wall.getUTCMonth() + 1)}-${
    pad(wall.getUTCDate())
  }T${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}:${pad(wall.getUTCSeconds())}${frac}${
    formatOffset(offset)
  }`;
}

/** A naive local time in `timeZone` → ISO 8601 with offset (DST rules in the module doc). */
export function zonedToIso(naive: NaiveDateTime, timeZone: string): string {
  if (!isValidNaive(naive)) {
    throw new ConversionError(`not a valid date/time: ${JSON.stringify(naive)}`);
  }
  return formatInZone(zonedToEpoch(naive, timeZone), timeZone, naive.fraction ?? "");
}

/** Whether the fields of a naive date/time form a real calendar date and time. */
export function isValidNaive(n: NaiveDateTime): boolean {
  const int = Number.isInteger;
  if (!int(n.year) || !int(n.month) || !int(n.day)) return false;
  if (!int(n.hour) || !int(n.minute) || !int(n.second)) return false;
  if (n.year < 1 || n.year > 9999 || n.month < 1 || n.month > 12) return false;
  const days = n.month === 2 ? (isLeap(n.year) ? 29 : 28) : DAYS_IN_MONTH[n.month - 1];
  return n.day >= 1 && n.day <= days && n.hour >= 0 && n.hour <= 23 && n.minute >= 0 &&
    n.minute <= 59 && n.second >= 0 && n.second <= 59;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** 2000 + yy for two-digit years; other years unchanged. */
export function fullYear(year: number, digits: number): number {
  return digits <= 2 ? 2000 + year : year;
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/** The date and time an {@link ISO_RE} match holds (not checked: see isValidNaive). */
function isoNaive(m: RegExpExecArray): NaiveDateTime {
  return {
    year: +m[1],
    month: +m[2],
    day: +m[3],
    hour: +m[4],
    minute: +m[5],
    second: m[6] ? +m[6] : 0,
    fraction: m[7] ?? "",
  };
}

/** The offset part of an ISO string (`+01:00`, `Z`), or null when the string has none. */
export function isoOffset(text: string): string | null {
  const m = ISO_RE.exec(text.trim());
  return m?.[8] ?? null;
}

/**
 * Parses an ISO 8601 date-time. With an explicit `±hh:mm` offset the time is kept as written
 * (normalised to `±HH:MM`); with `Z` it is re-rendered as local time in `timeZone`; without
 * any offset it is a naive local time in `timeZone`. Returns null when `text` is not ISO.
 */
export function parseIsoDateTime(text: string, timeZone: string): string | null {
  const m = ISO_RE.exec(text.trim());
  if (!m) return null;
  const naive = isoNaive(m);
  if (!isValidNaive(naive)) return null;
  const zone = m[8];
  if (zone === undefined) return zonedToIso(naive, timeZone);
  if (zone.toUpperCase() === "Z") {
    const ms = utcMs(naive);
    return formatInZone(ms, timeZone, naive.fraction);
  }
  const off = zone.replace(":", "");
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? "00"}${formatFraction(naive.fraction)}${
    off.slice(0, 3)
  }:${off.slice(3)}`;
}

const MONTHS = [
  "jan",
  "feb",
  "mar",
  "apr",
  "may",
  "jun",
  "jul",
  "aug",
  "sep",
  "oct",
  "nov",
  "dec",
];

/** Month number (1–12) of an English month name or abbreviation ("JUL", "July"), or NaN. */
export function monthFromName(name: string): number {
  const i = MONTHS.indexOf(name.slice(0, 3).toLowerCase());
  return i < 0 ? NaN : i + 1;
}

const TOKEN_RE = /yyyy|yy|MMMM|MMM|MM|M|dd|d|HH|H|hh|h|mm|m|ss|s|f+|F+|tt|\s+|./g;

/**
 * Parses `text` with a .NET-style pattern. Tokens: `yyyy yy MMM(M) MM M dd d HH H hh h mm m
 * ss s f… (exact digits) F… (up to n digits) tt (AM/PM)`; whitespace in the pattern matches
 * any run of whitespace; other characters match themselves. Two-digit years are 2000 + yy.
 * Returns null when the text does not match or is not a real date/time.
 *
 * Examples: `"yyMMddHHmmss"` (i3070), `"dd-MMM-yy HH:mm:ss"` (GR228x), `"MM/dd/yyyy HH:mm:ss"`.
 */
export function parseDatePattern(text: string, pattern: string): NaiveDateTime | null {
  const fields: string[] = [];
  let re = "^\\s*";
  for (const tok of pattern.match(TOKEN_RE) ?? []) {
    const field = /^(yyyy|yy|MMMM|MMM|MM|M|dd|d|HH|H|hh|h|mm|m|ss|s|f+|F+|tt)$/.test(tok);
    if (field) fields.push(tok);
    if (tok === "yyyy") re += "(\\d{4})";
    else if (tok === "MMMM" || tok === "MMM") re += "([A-Za-z]{3,9})";
    else if (/^(yy|MM|dd|HH|hh|mm|ss)$/.test(tok)) re += "(\\d{2})";
    else if (/^(M|d|H|h|m|s)$/.test(tok)) re += "(\\d{1,2})";
    else if (tok[0] === "f") re += `(\\d{${tok.length}})`;
    else if (tok[0] === "F") re += `(\\d{0,${tok.length}})`;
    else if (tok === "tt") re += "([AaPp][Mm])";
    else if (/^\s+$/.test(tok)) re += "\\s+";
    else re += tok.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  const m = new RegExp(re + "\\s*$").exec(text);
  if (!m) return null;
  const n: NaiveDateTime = { year: NaN, month: NaN, day: NaN, hour: 0, minute: 0, second: 0 };
  let pm: boolean | null = null;
  fields.forEach((f, i) => {
    const v = m[i + 1];
    if (f === "yyyy") n.year = +v;
    else if (f === "yy") n.year = 2000 + +v;
    else if (f === "MMMM" || f === "MMM") n.month = monthFromName(v);
    else if (f === "MM" || f === "M") n.month = +v;
    else if (f === "dd" || f === "d") n.day = +v;
    else if (/^[Hh]{1,2}$/.test(f)) n.hour = +v;
    else if (f === "mm" || f === "m") n.minute = +v;
    else if (f === "ss" || f === "s") n.second = +v;
    else if (f[0] === "f" || f[0] === "F") n.fraction = v;
    else if (f === "tt") pm = v.toLowerCase() === "pm";
  });
  if (pm !== null) n.hour = twelveHour(n.hour, pm);
  return isValidNaive(n) ? n : null;
}

function twelveHour(hour: number, pm: boolean): number {
  if (hour < 1 || hour > 12) return NaN;
  return (hour % 12) + (pm ? 12 : 0);
}

// The space before AM/PM belongs to the optional AM/PM group: two `\s*` next to each other
// (one inside an optional group) backtrack quadratically on a long run of spaces.
const LOOSE_RE =
  /^\s*(\d{1,4}|[A-Za-z]{3,9})[./\- ](\d{1,2}|[A-Za-z]{3,9})[./\- ](\d{1,4})\.?(?:[T\s]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,:](\d+))?)?(?:\s*([AaPp][Mm]))?)?\s*$/;

/**
 * Parses a date with any of `/ - . space` as separator and an optional time
 * (`H:mm[:ss[.fff]] [AM|PM]`), e.g. `25/05/2025 12:26:55`, `7/22/2020 10:22:14 AM`,
 * `31-JUL-12 14:17:35`, `2024.11.29. 15:29`. `order` says how to read three numbers; a
 * four-digit first number is always a year (y/m/d), and a month name is always the month.
 * Returns null when the text is not such a date or not a real date.
 */
export function parseLooseDateTime(text: string, order: DateOrder): NaiveDateTime | null {
  const m = LOOSE_RE.exec(text);
  if (!m) return null;
  const [a, b, c] = [m[1], m[2], m[3]];
  let y: string, mo: string, d: string;
  if (/^\d{4}$/.test(a)) [y, mo, d] = [a, b, c];
  else if (/^[A-Za-z]/.test(a)) [mo, d, y] = [a, b, c];
  else if (/^[A-Za-z]/.test(b)) [d, mo, y] = [a, b, c];
  else if (order === "dmy") [d, mo, y] = [a, b, c];
  else if (order === "mdy") [mo, d, y] = [a, b, c];
  else [y, mo, d] = [a, b, c];
  if (y.length === 3 || /[A-Za-z]/.test(y) || /[A-Za-z]/.test(d)) return null;
  const n: NaiveDateTime = {
    year: fullYear(+y, y.length),
    month: /^\d+$/.test(mo) ? +mo : monthFromName(mo),
    day: +d,
    hour: m[4] ? +m[4] : 0,
    minute: m[5] ? +m[5] : 0,
    second: m[6] ? +m[6] : 0,
    fraction: m[7] ?? "",
  };
  if (m[8]) n.hour = twelveHour(n.hour, m[8].toLowerCase() === "pm");
  return isValidNaive(n) ? n : null;
}

/**
 * Epoch milliseconds of an ISO date-time **with** an offset (or `Z`), whole seconds: the
 * fraction is ignored (the report schema uses it as a validity check). NaN when `text` has no
 * offset or is not a real date-time. See {@link isoToEpochMs} for instants with fractions.
 */
export function isoToEpoch(text: string): number {
  return isoInstant(text, false);
}

/**
 * Epoch milliseconds of an ISO date-time with an offset (or `Z`), the fraction of a second
 * included (rounded to the millisecond): for step start times and end − start durations.
 * NaN when `text` has no offset or is not a real date-time.
 */
export function isoToEpochMs(text: string): number {
  return isoInstant(text, true);
}

function isoInstant(text: string, withFraction: boolean): number {
  const m = ISO_RE.exec(text.trim());
  if (!m || !m[8]) return NaN;
  const n = isoNaive(m);
  if (!isValidNaive(n)) return NaN;
  const z = m[8].toUpperCase();
  const off = z === "Z" ? 0 : (z[0] === "-" ? -1 : 1) *
    (Number(z.slice(1, 3)) * 60 + Number(z.replace(":", "").slice(3, 5)));
  const ms = withFraction && m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
  return utcMs(n) - off * 60000 + ms;
}
