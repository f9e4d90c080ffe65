/**
 * ISO 8601 date-times as WSJF carries them: local time with a UTC offset and up to 7 fractional
 * digits (.NET ticks). JavaScript's Date keeps milliseconds only, so the fraction is carried as
 * text to derive `startUTC` without losing digits.
 *
 * @module
 */

/** A parsed WSJF date-time. */
export interface OffsetDateTime {
  /** Milliseconds since the epoch (UTC), fraction below 1 ms dropped. */
  epochMs: number;
  /** The fractional-second digits as written, without the dot ("" when none). */
  fraction: string;
  /** Offset from UTC in minutes; null when the text has none. */
  offsetMinutes: number | null;
}

const pattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * Parses `YYYY-MM-DDTHH:mm:ss[.f…][Z|±hh:mm]`. Returns null when the text is not such a
 * date-time or names an impossible date (month 13, 31 February, offset beyond ±14:00).
 */
export function parseDateTime(text: string): OffsetDateTime | null {
  const m = pattern.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const fraction = m[7] ?? "";
  let offsetMinutes: number | null = null;
  if (m[8] === "Z") offsetMinutes = 0;
  else if (m[8] !== undefined) {
    const sign = m[8].startsWith("-") ? -1 : 1;
    const [oh, om] = m[8].slice(1).split(":").map(Number);
    if (oh > 14 || om > 59 || (oh === 14 && om > 0)) return null;
    offsetMinutes = sign * (oh * 60 + om);
  }
  if (hour > 23 || minute > 59 || second > 59) return null;
  const local = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(local);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return null;
  const ms = fraction === "" ? 0 : Math.floor(Number(`0.${fraction}`) * 1000);
  return { epochMs: local - (offsetMinutes ?? 0) * 60_000 + ms, fraction, offsetMinutes };
}

/** Formats as the server's `startUTC`: `YYYY-MM-DDTHH:mm:ss[.fraction]Z`, keeping every digit. */
export function toUtcText(value: OffsetDateTime): string {
  const wholeSeconds = new Date(Math.floor(value.epochMs / 1000) * 1000).toISOString();
  const base = wholeSeconds.slice(0, 19);
  return value.fraction === "" ? `${base}Z` : `${base}.${value.fraction}Z`;
}
