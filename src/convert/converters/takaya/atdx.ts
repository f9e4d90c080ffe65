/**
 * Reader for TAKAYA `.atdx` files (semicolon-separated, UTF-8 with BOM).
 *
 * Each section is a `#…"Main header"…#` block (`Tester ID:`, `Model:`, `Serial number :`,
 * `Test Date:`), a `#…"Group header"…#` block (`Group No.: 1 Side: A FAIL`), a column-header
 * row `Order;Aux;M.Aux;Parts;…;Judge;…` and step rows. Groups of one test follow each other
 * with rising numbers; when group 1 (or any number not above the previous one) comes again, or
 * the serial or model changes, a new attempt starts: each attempt is one unit.
 *
 * @module
 */
import {
  columnKeys,
  type ColumnPlan,
  columnPlan,
  emptyGroup,
  emptyHeader,
  readHeaderField,
  rowFromCells,
  type TakayaFile,
  type TakayaGroup,
  type TakayaHeader,
  TakayaSyntaxError,
  type TakayaUnit,
} from "./model.ts";
import { clip, splitLines } from "../../text.ts";
import { splitValueUnit } from "./values.ts";

type Section = "none" | "main" | "group" | "rows" | "unknown";

/** Parses an ATDX file into attempts (units) of groups. */
export function parseAtdx(text: string): TakayaFile {
  const lines = splitLines(text);
  const units: TakayaUnit[] = [];
  let section: Section = "none";
  let header: TakayaHeader | undefined;
  let group: TakayaGroup | undefined;
  let columns: ColumnPlan | undefined;
  /** Cells of the column-header row. */
  let columnCount = 0;
  /** The last non-empty line: its number, and its cells when it is a step row (else 0). */
  const last = { line: 0, rowCells: 0 };
  /** Skipped lines before the first group: they are reported with it. */
  const pending: NonNullable<TakayaGroup["skipped"]> = [];
  const skip = (line: number, text: string) =>
    group === undefined
      ? pending.push({ line, text })
      : (group.skipped ??= []).push({ line, text });

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i];
    const line = raw.trim();
    if (line === "" || /^-{4,}$/.test(line)) continue;
    last.line = lineNo;
    last.rowCells = 0;

    const banner = /^#+\s*"([^"]*)"\s*#*$/.exec(line);
    if (banner) {
      const name = banner[1].toLowerCase();
      if (name.includes("main")) {
        header = emptyHeader(lineNo);
        section = "main";
      } else if (name.includes("group")) {
        if (header === undefined) {
          throw new TakayaSyntaxError('a "Group header" comes before any "Main header"', lineNo);
        }
        group = { ...emptyGroup("", lineNo), skipped: pending.splice(0) };
        units.push({ header, groups: [group] });
        section = "group";
      } else {
        // A section this reader does not know: its lines are skipped, and said so.
        section = "unknown";
        skip(lineNo, `unknown section "${clip(banner[1])}"`);
      }
      continue;
    }
    if (section === "unknown") {
      skip(lineNo, `line in an unknown section: "${clip(line)}"`);
      continue;
    }
    if (section === "none") {
      throw new TakayaSyntaxError(
        `expected the "Main header" banner, found "${clip(line)}"`,
        lineNo,
      );
    }
    if (section === "main") {
      readHeaderField(header!, line);
      continue;
    }
    if (section === "group" && !raw.includes(";")) {
      const g = /Group\s*No\.?\s*:?\s*(\d+)(?:\s+Side\s*:?\s*(\S+))?(?:\s+(\S+))?/i.exec(line);
      if (g) {
        group!.no = g[1];
        group!.side = g[2] ?? "";
        group!.verdict = g[3] ?? "";
        retarget(units, header!, group!);
      } else skip(lineNo, `line not understood: "${clip(line)}"`);
      continue;
    }
    const cells = raw.split(";");
    if (!/^\d+$/.test(cells[0].trim())) {
      columns = columnPlan(columnKeys(cells));
      columnCount = cells.length;
      if (columns.step < 0 || columns.judgement < 0) {
        throw new TakayaSyntaxError("the column-header row has no Order or Judge column", lineNo);
      }
      section = "rows";
      continue;
    }
    if (columns === undefined) {
      throw new TakayaSyntaxError("a step row comes before the column-header row", lineNo);
    }
    if (group === undefined) {
      throw new TakayaSyntaxError('a step row comes before any "Group header"', lineNo);
    }
    const row = rowFromCells(cells, columns, lineNo);
    // Impedance rows write `3.000[O]|-3.5` (magnitude, unit, phase) in the value columns.
    if (row.ref.includes("[")) [row.ref, row.refUnit] = bracketed(row.ref, row.refUnit);
    if (row.test1.includes("[")) [row.test1, row.test1Unit] = bracketed(row.test1, row.test1Unit);
    if (row.test2.includes("[")) [row.test2, row.test2Unit] = bracketed(row.test2, row.test2Unit);
    group.rows.push(row);
    last.rowCells = cells.length;
  }
  if (units.length === 0) {
    throw new TakayaSyntaxError('no "Group header" found: the file holds no test', 1);
  }
  checkEnd(section, group!, header!, columnCount, last);
  return { variant: "atdx", units };
}

/**
 * Refuses a file that ends before its last group does (ATDX has no end marker): in a Main
 * header after the last group, in a group before its first step row, or in a step row with
 * fewer cells than the column-header row (every row has them all, ending in `;`).
 */
function checkEnd(
  section: Section,
  group: TakayaGroup,
  header: TakayaHeader,
  columnCount: number,
  last: { line: number; rowCells: number },
): void {
  const cut = (what: string) => new TakayaSyntaxError(what, last.line, true);
  if (section === "main") {
    throw cut(`the file ends in the Main header that opens on line ${header.line}`);
  }
  if (group.rows.length === 0 && section !== "unknown") {
    throw cut(`the group that opens on line ${group.line} ends before its first step row`);
  }
  if (last.rowCells > 0 && last.rowCells < columnCount) {
    throw cut(`the last step row has ${last.rowCells} of the ${columnCount} columns`);
  }
}

/**
 * Once the group number is known, merges the group into the previous unit when it continues
 * the same attempt (same model and serial, higher group number).
 */
function retarget(units: TakayaUnit[], header: TakayaHeader, group: TakayaGroup): void {
  const current = units[units.length - 1];
  const previous = units[units.length - 2];
  if (previous === undefined || current.groups.length !== 1 || current.groups[0] !== group) return;
  const last = previous.groups[previous.groups.length - 1];
  if (
    previous.header.serial === header.serial && previous.header.model === header.model &&
    Number(group.no) > Number(last.no)
  ) {
    units.pop();
    previous.groups.push(group);
  }
}

/** Splits `3.000[O]|-3.5` into the magnitude and its unit (the phase is dropped). */
function bracketed(value: string, unit: string): [string, string] {
  const split = splitValueUnit(value);
  return [split.number, unit === "" ? split.unit : unit];
}
