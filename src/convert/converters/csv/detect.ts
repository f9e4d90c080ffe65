/**
 * The csv converter's `detect` for `format: "auto"`: how sure it is, from the first bytes and the
 * name, that a file is a generic test report it reads with its defaults.
 *
 * Delimited text alone says little (a Klippel unit's curve files are tab tables too), so the head
 * is read the way a conversion reads it, with the default parameters: the delimiter found on the
 * most of the first lines (`;` `,` tab `|`), the records (its last, perhaps cut, line left out),
 * then the layout. It is a generic report when that finds
 *
 * - a **serial number** under one of the built-in names (SerialNumber, Serial, SN, …): a
 *   `key;value` line or a column of the step table, and
 * - **step rows** under a header row of column names (a step-name column plus a value, limit or
 *   verdict column) with the header's field count (at most a third of them may differ: the DevKit
 *   sample's last row has one field too many; a conversion names such a row), or, in a file of
 *   key/value lines only, at least three `key;value` lines making up three quarters of them.
 *
 * Scores:
 *
 * - 0.7: a Teradyne Nano 51e file name (`A%<PN>%<date>%<SN>_<OK|NG>_<yyyyMMddHHmmss>.csv`);
 * - 0.6: a first line starting with `SerialNumber` and a delimiter (both real samples), or a
 *   generic report named `.csv`, `.tsv` or `.txt`; 0.55: a generic report under another name;
 * - 0.3 (such a name) or 0.1 (another name): other delimited text, which auto (at least 0.5)
 *   leaves alone;
 * - 0: no delimiter.
 *
 * These stay at least 0.2 below the converters for specific testers whose files are delimited
 * text too (SPEA 3030, Spectrum, GR228x, Klippel, SoundCheck, YESTech, WSTF: 0.9 or more on
 * their own files), so auto gives those files to their own converter.
 *
 * @module
 */
import { headText } from "../../text.ts";
import { LayoutError, type LayoutSettings, readLayout } from "./layout.ts";
import { csvSettings } from "./params.ts";
import { detectDelimiter, RecordSyntaxError, splitRecords, type TextRecord } from "./records.ts";

/** The Teradyne Nano 51e file name (`preset: "nano51e"`). */
const NANO51E_NAME = /^A%[^%]*%[^%]*%.+_(OK|NG)_\d{14}\.csv$/i;

/** A first line that starts with the `SerialNumber` key or column (both real samples do). */
const SERIAL_FIRST = /^\uFEFF?"?SerialNumber"?[;,\t]/i;

/** Names of delimited text files. */
const TABLE_NAME = /\.(csv|tsv|txt)$/i;

/** The default layout, with rows of another field count counted instead of failing. */
let defaultLayout: LayoutSettings | undefined;

/** The csv converter's score for a file: see the module comment. */
export function detectCsv(head: Uint8Array, name: string): number {
  if (NANO51E_NAME.test(name)) return 0.7;
  const text = headText(head);
  const delimiter = detectDelimiter(text);
  if (delimiter === null) return 0;
  const tableName = TABLE_NAME.test(name);
  const first = text.split(/\r\n|\n|\r/, 50).find((l) => l.trim() !== "") ?? "";
  if (SERIAL_FIRST.test(first)) return 0.6;
  if (!isGenericReport(completeLines(text), delimiter)) return tableName ? 0.3 : 0.1;
  return tableName ? 0.6 : 0.55;
}

/**
 * Whether the default layout finds a serial in `text` and, after it, step rows of the header's
 * width or (a file of key/value lines only) at least three `key;value` lines.
 */
function isGenericReport(text: string, delimiter: string): boolean {
  defaultLayout ??= { ...csvSettings(undefined).settings.layout, badRows: "skip" };
  let records;
  let unit;
  try {
    records = splitRecords(text, delimiter).filter((r) => r.fields.some((f) => f.trim() !== ""));
    [unit] = readLayout(records, defaultLayout);
  } catch (e) {
    if (e instanceof RecordSyntaxError || e instanceof LayoutError) return false;
    throw e;
  }
  const sn = unit?.header.sn;
  if (sn === undefined || sn.value === "") return false;
  // A key/value serial is on a delimited line (`SerialNumber;…`), not in a `key: value` field.
  const isKeyValue = (r: TextRecord) => r.fields.length >= 2 && r.fields[0].trim() !== "";
  if (sn.source.startsWith("key")) {
    const at = records.find((r) => r.line === sn.line);
    if (at === undefined || !isKeyValue(at)) return false;
  }
  if (unit.steps.length > 0) return unit.skipped.length * 2 <= unit.steps.length;
  if (unit.skipped.length > 0) return false;
  const pairs = records.filter(isKeyValue).length;
  return pairs >= 3 && pairs * 4 >= records.length * 3;
}

/** `text` without its last line when that has no line end: the head may cut a row. */
function completeLines(text: string): string {
  const end = Math.max(text.lastIndexOf("\n"), text.lastIndexOf("\r"));
  return end === -1 ? text : text.slice(0, end + 1);
}
