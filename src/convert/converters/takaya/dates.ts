/**
 * TAKAYA dates: the order of day, month and year differs by variant and firmware
 * (`20/4/2023` d/M/yyyy, `25/05/2025` dd/MM/yyyy, `01/01/24` dd/MM/yy, `14/12/27` yy/MM/dd),
 * so it is a converter parameter, with an `auto` mode that uses the timestamp many TAKAYA
 * file names carry (`…-20230420130239.ATD`, `…_20141227_152724.ATD`) to pick the order.
 *
 * @module
 */
import { type DateOrder, type NaiveDateTime, parseLooseDateTime } from "../../time.ts";

/** The `dateOrder` parameter: a fixed order, or `auto`. */
export type DateOrderSetting = DateOrder | "auto";

/**
 * The date and time in a file name: `yyyyMMdd` then `HHmmss`, joined directly or by `_`/`-`
 * (the last such group in the name wins). Null when the name has none or it is not a date.
 */
export function fileNameDate(name: string): NaiveDateTime | null {
  const all = [
    ...name.matchAll(/(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})[_-]?(\d{2})(\d{2})(\d{2})(?!\d)/g),
  ];
  for (let k = all.length - 1; k >= 0; k--) {
    const m = all[k];
    const n: NaiveDateTime = {
      year: +m[1],
      month: +m[2],
      day: +m[3],
      hour: +m[4],
      minute: +m[5],
      second: +m[6],
    };
    if (n.month >= 1 && n.month <= 12 && n.day >= 1 && n.day <= 31 && n.hour < 24) return n;
  }
  return null;
}

/** How a date was read. */
export interface ReadDate {
  naive: NaiveDateTime;
  order: DateOrder;
  /** True when `auto` chose the order from the file name's date. */
  fromFileName: boolean;
}

/**
 * Reads a TAKAYA date text with a fixed order, or with `auto`: the order whose date equals the
 * file name's date; else, for a four-digit year, year-first or day-first (month-first only when
 * day-first is impossible); for a two-digit year day-first, then year-first, then month-first,
 * whichever gives a real date. Returns null when no allowed order gives a real date.
 */
export function readTakayaDate(
  text: string,
  setting: DateOrderSetting,
  fileName: string,
): ReadDate | null {
  if (setting !== "auto") {
    const naive = parseLooseDateTime(text, setting);
    return naive === null ? null : { naive, order: setting, fromFileName: false };
  }
  const orders: DateOrder[] = ["dmy", "ymd", "mdy"];
  const candidates = orders
    .map((order) => ({ order, naive: parseLooseDateTime(text, order) }))
    .filter((c): c is { order: DateOrder; naive: NaiveDateTime } => c.naive !== null);
  if (candidates.length === 0) return null;
  const named = fileNameDate(fileName);
  if (named !== null) {
    const same = candidates.find((c) =>
      c.naive.year === named.year && c.naive.month === named.month && c.naive.day === named.day
    );
    if (same) return { ...same, fromFileName: true };
  }
  return { ...candidates[0], fromFileName: false };
}
