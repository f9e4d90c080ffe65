/**
 * Writing report fields: strings without control characters (`clean`, `str`, `deepStr`), only
 * defined keys (`put`, `dropUndefined`), ISO times, int32 checks, base64, unique measurement
 * names, and the station fields a report lacks. Shared by the builder and the WSJF normaliser.
 *
 * @module
 */
import type { StationContext } from "../convert/contract.ts";
import { ConversionError } from "../convert/conversion_error.ts";
import { stripControlChars, stripControlCharsDeep } from "../convert/text.ts";
import { formatInZone, parseIsoDateTime, zonedToIso } from "../convert/time.ts";
import type { TimeInput } from "./build_input.ts";

/**
 * Names for the measurements of a multi-measurement step: blank names become
 * "Measurement n" and repeated names (case-insensitive) get " (2)", " (3)".
 */
export function uniqueNames(ms: ReadonlyArray<{ name?: string }>): string[] {
  const used = new Set<string>();
  return ms.map((m, i) => {
    const base = clean(m.name) ?? `Measurement ${i + 1}`;
    let name = base;
    for (let k = 2; used.has(name.toLowerCase()); k++) name = `${base} (${k})`;
    used.add(name.toLowerCase());
    return name;
  });
}

/** Base64 of bytes (chunked, so large attachments don't overflow the call stack). */
export function base64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/** A time input as ISO 8601 with its offset (naive → in zone `tz`); `what` names it in errors. */
export function toIso(input: TimeInput, tz: string, what: string): string {
  if (input instanceof Date) {
    if (Number.isNaN(input.getTime())) throw new ConversionError(`${what}: not a valid date`);
    return formatInZone(input, tz);
  }
  if (typeof input === "string") {
    const iso = parseIsoDateTime(input, tz);
    if (iso === null) {
      throw new ConversionError(
        `${what}: "${input}" is not an ISO 8601 date-time`,
        "Check the date format in the file (and the converter's date settings).",
      );
    }
    return iso;
  }
  return zonedToIso(input, tz);
}

/**
 * Text without control characters, trimmed; undefined when nothing is left. Stripping comes
 * first, so a serial number made only of control characters counts as absent.
 */
export function clean(s: string | undefined | null): string | undefined {
  if (s === undefined || s === null) return undefined;
  const t = stripControlChars(String(s)).trim();
  return t === "" ? undefined : t;
}

/** A string without control characters; anything else (undefined included) unchanged. */
export function str<T>(s: T): T {
  return (typeof s === "string" ? stripControlChars(s) : s) as T;
}

/** {@link str} for values copied as they are: nested strings are stripped in place. */
export function deepStr<T>(v: T): T {
  if (typeof v === "string") return stripControlChars(v) as T;
  return v !== null && typeof v === "object" ? stripControlCharsDeep(v) : v;
}

/** Sets `o[k] = v` unless `v` is undefined (objects keep one shape; no `delete`). */
export function put<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v !== undefined) o[k] = v;
}

/** A copy of `o` with its defined values only, strings without control characters. */
export function definedStrings<T extends object>(o: T): T {
  const out = {} as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const v = (o as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = deepStr(v);
  }
  return out as T;
}

/** True for a number that fits a WSJF int32 field. */
export function isInt(x: unknown): x is number {
  return typeof x === "number" && Number.isInteger(x) && x >= -2147483648 && x <= 2147483647;
}

/**
 * The object without its undefined values: `o` itself when it has none, else a copy with the
 * other keys in the same order. (A copy, not `delete`, which makes objects slow dictionaries.)
 */
export function dropUndefined<T extends object>(o: T): T {
  const keys = Object.keys(o) as Array<keyof T>;
  if (!keys.some((k) => o[k] === undefined)) return o;
  const out = {} as T;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * Fills the station fields a report lacks, in place: `machineName`, `location`, `purpose`
 * from the station, and the operator (`uut.user`, or `uur.user` for a repair) from
 * `station.operator`. Values the report has are never changed. The convert pool calls this on
 * every converter's output before {@link validateReport}.
 */
export function fillStationFields(report: object, station: StationContext): void {
  const r = report as Record<string, unknown>;
  const blank = (v: unknown) =>
    v === undefined || v === null || (typeof v === "string" && v.trim() === "");
  if (blank(r.machineName)) r.machineName = station.name;
  if (r.location === undefined || r.location === null) r.location = station.location;
  if (r.purpose === undefined || r.purpose === null) r.purpose = station.purpose;
  const block = r.type === "R" ? "uur" : "uut";
  if (r.type === "T" && (r[block] === undefined || r[block] === null)) r[block] = {};
  const b = r[block];
  if (b !== null && typeof b === "object" && !Array.isArray(b)) {
    const user = (b as Record<string, unknown>).user;
    if (blank(user) && station.operator) (b as Record<string, unknown>).user = station.operator;
  }
}
