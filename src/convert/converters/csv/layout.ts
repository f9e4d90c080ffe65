/**
 * Reads the layout of a configurable delimited-text file into plain units: key/value header
 * lines and/or a step table whose header row names the columns, with header fields taken from
 * key/value lines or from columns repeated on every row. No WSJF here: see converter.ts.
 *
 * @module
 */
import type { TextRecord } from "./records.ts";

/** Header fields the converter understands (the WSJF names they end up in). */
export const HEADER_FIELDS = [
  "sn",
  "pn",
  "rev",
  "start",
  "startTime",
  "operator",
  "result",
  "processCode",
  "machineName",
  "location",
  "purpose",
  "execTime",
  "comment",
  "batchSN",
  "fixtureId",
  "testSocketIndex",
  "errorCode",
  "errorMessage",
  "sequenceName",
  "sequenceVersion",
] as const;

/** One header field name. */
export type HeaderField = typeof HEADER_FIELDS[number];

/** Step-table columns the converter understands. */
export const STEP_COLUMNS = [
  "name",
  "value",
  "low",
  "high",
  "unit",
  "status",
  "compOp",
  "group",
  "stepType",
  "reportText",
  "time",
] as const;

/** One step column name. */
export type StepColumn = typeof STEP_COLUMNS[number];

/** How a field or column is found: names (compared loosely) or a 1-based column number. */
export type Locator = readonly string[] | number | null;

/** The resolved layout settings (from params and defaults). */
export interface LayoutSettings {
  /** Records to drop at the start (title lines). */
  skipLines: number;
  /** Where the step table's header row is: found by column names, absent, or a line number. */
  tableHeader: "auto" | "none" | number;
  /** Step columns. With `tableHeader: "none"` they must be numbers. */
  columns: Readonly<Record<StepColumn, Locator>>;
  /** Header fields, found as key/value keys or as table columns. */
  header: Readonly<Record<HeaderField, Locator>>;
  /** When a new unit starts inside the step table. */
  splitBy: "file" | "serial";
  /** What to do with a row whose field count doesn't match the table header. */
  badRows: "fail" | "skip";
}

/** A header value with the line it came from. */
export interface Located {
  value: string;
  line: number;
  /** Where it came from, for messages: e.g. `key "Start Time"` or `column "TestDate"`. */
  source: string;
}

/** One step row, cells by step column ("" when absent). */
export interface StepRow {
  line: number;
  cells: Record<StepColumn, string>;
  /** Non-empty cells of columns that are neither step columns nor header fields. */
  extra: { key: string; value: string }[];
}

/** One unit (report to be) read from the file. */
export interface LayoutUnit {
  /** Header fields found in the file. */
  header: Partial<Record<HeaderField, Located>>;
  /** Key/value lines that map to no header field, in file order. */
  misc: { key: string; value: string }[];
  /** Step rows in file order. */
  steps: StepRow[];
  /** Rows left out (badRows: "skip"), one sentence each. */
  skipped: string[];
}

/** A problem in the file's layout; the converter turns it into a ConversionError. */
export class LayoutError extends Error {
  /** @param message what and where; @param hint what to do */
  constructor(message: string, readonly hint: string) {
    super(message);
    this.name = "LayoutError";
  }
}

/** Lower-case letters and digits only: `"Testing time(sec)"` → `"testingtimesec"`. */
export function looseName(s: string): string {
  return s.normalize("NFKD").toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** Reads `records` (already split) into units according to `settings`. */
export function readLayout(records: readonly TextRecord[], settings: LayoutSettings): LayoutUnit[] {
  const recs = records.slice(settings.skipLines).filter((r) => !isBlank(r));
  const tableAt = findTableHeader(recs, settings);
  if (tableAt === -1) {
    // Key/value lines only: one unit, no steps (the converter decides if that is an error).
    const unit = newUnit();
    for (const r of recs) addKeyValue(unit, r, settings);
    return [unit];
  }
  const units: LayoutUnit[] = [];
  let unit = newUnit();
  for (let i = 0; i < tableAt; i++) addKeyValue(unit, recs[i], settings);
  const firstKey = tableAt > 0 ? looseName(recs[0].fields[0] ?? "") : "";

  const table = settings.tableHeader === "none" ? null : recs[tableAt];
  const map = mapColumns(table, settings);
  let i = settings.tableHeader === "none" ? 0 : tableAt + 1;
  let lastSerial: string | undefined;
  let rowsInUnit = 0;
  for (; i < recs.length; i++) {
    const r = recs[i];
    // A repeated key/value block (append-mode files): a line with the file's first key.
    if (firstKey !== "" && rowsInUnit > 0 && isKeyValueLine(r, firstKey)) {
      units.push(unit);
      unit = newUnit();
      rowsInUnit = 0;
      lastSerial = undefined;
      for (; i < recs.length && !sameHeaderRow(recs[i], table); i++) {
        addKeyValue(unit, recs[i], settings);
      }
      continue; // recs[i] is the table header again (or the end)
    }
    if (table !== null && sameHeaderRow(r, table)) continue; // header row repeated mid-table
    const width = table?.fields.length ?? map.width;
    const fields = trimTrailingEmpty(r.fields, width);
    if (table !== null ? fields.length !== width : fields.length < width) {
      const msg = table !== null
        ? `line ${r.line}: the row has ${r.fields.length} fields but the table header ` +
          `(line ${table.line}) has ${width}`
        : `line ${r.line}: the row has ${r.fields.length} fields but the configured columns ` +
          `need ${width}`;
      if (settings.badRows === "skip") {
        unit.skipped.push(
          `line ${r.line}: ${r.fields.length} fields, ${width} expected; row left out`,
        );
        continue;
      }
      throw new LayoutError(
        msg,
        'Fix the row in the tester\'s output, or set the converter parameter badRows: "skip" ' +
          "to leave such rows out (each one is noted in the report's misc info).",
      );
    }
    const cells = {} as Record<StepColumn, string>;
    for (const c of STEP_COLUMNS) {
      const at = map.steps[c];
      cells[c] = at === undefined ? "" : (fields[at] ?? "").trim();
    }
    if (settings.splitBy === "serial" && map.header.sn !== undefined) {
      const serial = (fields[map.header.sn] ?? "").trim();
      if (lastSerial !== undefined && serial !== lastSerial && rowsInUnit > 0) {
        const next = newUnit();
        // Key/value lines at the top belong to every unit of the file.
        for (const [k, v] of Object.entries(unit.header)) {
          if (v !== undefined && v.source.startsWith("key")) next.header[k as HeaderField] = v;
        }
        next.misc = [...unit.misc];
        units.push(unit);
        unit = next;
        rowsInUnit = 0;
      }
      lastSerial = serial;
    }
    if (rowsInUnit === 0) {
      // Header columns: taken from the unit's first row.
      for (const [f, at] of Object.entries(map.header)) {
        const value = (fields[at] ?? "").trim();
        unit.header[f as HeaderField] ??= {
          value,
          line: r.line,
          source: `column ${columnLabel(table, at)}`,
        };
      }
    }
    if (STEP_COLUMNS.every((c) => cells[c] === "")) continue;
    const extra = map.extraColumns
      .map(([at, key]) => ({ key, value: (fields[at] ?? "").trim() }))
      .filter((x) => x.value !== "");
    unit.steps.push({ line: r.line, cells, extra });
    rowsInUnit++;
  }
  units.push(unit);
  return units;
}

/**
 * Whether a record inside the table is the first key of a new key/value block: the file's first
 * key, then at most one non-empty field right after it (a step row named like the key has its
 * value further right).
 */
function isKeyValueLine(r: TextRecord, firstKey: string): boolean {
  if (looseName(r.fields[0] ?? "") !== firstKey) return false;
  return r.fields.slice(2).every((f) => f.trim() === "");
}

function newUnit(): LayoutUnit {
  return { header: {}, misc: [], steps: [], skipped: [] };
}

function isBlank(r: TextRecord): boolean {
  return r.fields.every((f) => f.trim() === "");
}

/** Drops empty fields past `width` (a trailing delimiter is not an extra column). */
function trimTrailingEmpty(fields: string[], width: number): string[] {
  let n = fields.length;
  while (n > width && fields[n - 1].trim() === "") n--;
  return n === fields.length ? fields : fields.slice(0, n);
}

const looseHeaders = new WeakMap<TextRecord, string[]>();

function sameHeaderRow(r: TextRecord, table: TextRecord | null): boolean {
  if (table === null || r.fields.length < table.fields.length) return false;
  let names = looseHeaders.get(table);
  if (names === undefined) {
    names = table.fields.map(looseName);
    looseHeaders.set(table, names);
  }
  // Cheap test first: most rows differ from the header in their first field.
  if (looseName(r.fields[0] ?? "") !== names[0]) return false;
  return names.every((n, k) => n === looseName(r.fields[k] ?? ""));
}

function columnLabel(table: TextRecord | null, at: number): string {
  const name = table?.fields[at]?.trim();
  return name ? `"${name}"` : `${at + 1}`;
}

/** Adds one pre-table record: `key<delim>value`, or `key: value` / `key=value` in one field. */
function addKeyValue(unit: LayoutUnit, r: TextRecord, settings: LayoutSettings): void {
  let key = (r.fields[0] ?? "").trim();
  let value = r.fields.slice(1).map((f) => f.trim()).filter((f) => f !== "").join(" ");
  if (r.fields.length === 1) {
    const at = key.search(/[:=]/);
    if (at <= 0) return; // a title line
    [key, value] = [key.slice(0, at).trim(), key.slice(at + 1).trim()];
  }
  if (key === "") return;
  const field = headerFieldForKey(key, settings);
  if (field !== undefined) {
    unit.header[field] ??= { value, line: r.line, source: `key "${key}"` };
  } else if (value !== "") {
    unit.misc.push({ key, value });
  }
}

function headerFieldForKey(key: string, settings: LayoutSettings): HeaderField | undefined {
  const k = looseName(key);
  for (const f of HEADER_FIELDS) {
    const loc = settings.header[f];
    if (Array.isArray(loc) && loc.some((name) => looseName(name) === k)) return f;
  }
  return undefined;
}

/** Index of the step table's header row in `recs` (or the first step row for "none"). */
function findTableHeader(recs: readonly TextRecord[], settings: LayoutSettings): number {
  const th = settings.tableHeader;
  if (th === "none") return 0;
  if (typeof th === "number") {
    const at = recs.findIndex((r) => r.line === th);
    if (at === -1) {
      throw new LayoutError(
        `the table header is set to line ${th}, but the file has no record on that line`,
        'Check the converter parameter tableHeader (a 1-based line number, "auto" or "none").',
      );
    }
    return at;
  }
  const nameLoc = settings.columns.name;
  if (typeof nameLoc === "number") {
    throw new LayoutError(
      'columns.name is a column number but tableHeader is "auto"',
      'With numbered columns set tableHeader to "none" (no header row) or to its line number.',
    );
  }
  for (let i = 0; i < recs.length; i++) {
    const names = recs[i].fields.map(looseName);
    if (!names.some((n) => matches(n, nameLoc))) continue;
    const others = (["value", "low", "high", "status"] as const).filter((c) => {
      const loc = settings.columns[c];
      return typeof loc !== "number" && names.some((n) => matches(n, loc));
    });
    if (others.length >= 1 && recs[i].fields.length >= 2) return i;
  }
  return -1;
}

/** Loose forms of each locator's names, computed once per list (not once per field). */
const looseSets = new WeakMap<readonly string[], Set<string>>();

function matches(loose: string, loc: Locator): boolean {
  if (!Array.isArray(loc)) return false;
  let set = looseSets.get(loc);
  if (!set) looseSets.set(loc, set = new Set(loc.map(looseName)));
  return set.has(loose);
}

interface ColumnMap {
  steps: Partial<Record<StepColumn, number>>;
  header: Partial<Record<HeaderField, number>>;
  /** Named columns that are neither step columns nor header fields. */
  extraColumns: [number, string][];
  width: number;
}

function mapColumns(table: TextRecord | null, settings: LayoutSettings): ColumnMap {
  const steps: Partial<Record<StepColumn, number>> = {};
  const header: Partial<Record<HeaderField, number>> = {};
  const names = table?.fields.map(looseName) ?? [];
  const taken = new Set<number>();
  const find = (loc: Locator, what: string): number | undefined => {
    if (loc === null) return undefined;
    if (typeof loc === "number") {
      if (table !== null && loc > table.fields.length) {
        throw new LayoutError(
          `${what} is column ${loc}, but the table header (line ${table.line}) has ` +
            `${table.fields.length} columns`,
          `Check the converter parameter ${what}.`,
        );
      }
      return loc - 1;
    }
    // First a free column with the first listed name, then the next name, and so on.
    for (const name of loc) {
      const k = names.findIndex((n, at) => n === looseName(name) && !taken.has(at));
      if (k !== -1) return k;
    }
    return undefined;
  };
  for (const c of STEP_COLUMNS) {
    const at = find(settings.columns[c], `columns.${c}`);
    if (at !== undefined) {
      steps[c] = at;
      taken.add(at);
    }
  }
  if (steps.name === undefined) {
    throw new LayoutError(
      "the step table has no step-name column",
      "Set the converter parameter columns.name to the column's header text or number.",
    );
  }
  for (const f of HEADER_FIELDS) {
    if (table === null && typeof settings.header[f] !== "number") continue;
    const at = find(settings.header[f], `header.${f}`);
    if (at !== undefined) {
      header[f] = at;
      taken.add(at);
    }
  }
  const extraColumns: [number, string][] = [];
  table?.fields.forEach((f, at) => {
    if (!taken.has(at) && f.trim() !== "") extraColumns.push([at, f.trim()]);
  });
  const maxCol = Math.max(...Object.values(steps), ...Object.values(header));
  return { steps, header, extraColumns, width: maxCol + 1 };
}
