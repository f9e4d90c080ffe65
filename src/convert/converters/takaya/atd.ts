/**
 * Reader for TAKAYA `.ATD` files, both the tab-separated layout (APT-1400F and the older 2014
 * layout) and the APT94xx layout with quoted, space-padded fields.
 *
 * Structure: a header between two `@` lines (`* PASS *`, counters, `Model:`, `DATE …`,
 * `Test time:`, `Test ID :`…), then either `* GROUP No.n *` blocks (one per board of the
 * panel, each with its verdict, counters and `Serial No.:`) or, in the old layout, step rows
 * straight away. APT94xx files may hold several such blocks (bottom and top side, re-tests),
 * the next one starting with another `@` header. Tab rows are read through their column-header
 * row; quoted rows are read by content (see {@link parseQuotedRow}), since their column order
 * differs between firmware versions.
 *
 * @module
 */
import {
  columnKeys,
  type ColumnPlan,
  columnPlan,
  emptyGroup,
  emptyHeader,
  emptyRow,
  readHeaderField,
  rowFromCells,
  type TakayaFile,
  type TakayaGroup,
  type TakayaHeader,
  type TakayaRow,
  TakayaSyntaxError,
  type TakayaUnit,
  type TakayaVariant,
} from "./model.ts";
import { clip, splitLines } from "../../text.ts";
import { splitValueUnit } from "./values.ts";

/** Column order of the tab layout when a file has no column-header row (APT-1400F). */
const DEFAULT_TAB_COLUMNS = [
  "Group_No.",
  "Step_number",
  "Parts",
  "Value",
  "Unit",
  "Comment",
  "Location",
  "H-pin",
  "Net_name",
  "L-pin",
  "Net_name",
  "G-P1",
  "Net_name",
  "G-P2",
  "Net_name",
  "Judgement",
  "Ref._Value_(EL)",
  "Ref._Value_(Fig)",
  "Ref._Value_(Char)",
  "Unit",
  "Test_Value_1_(EL)",
  "Test_Value_1_(Fig)",
  "Test_Value_1_(Char)",
  "Unit",
  "Test_Value_2_(EL)",
  "Test_Value_2_(Fig)",
  "Test_Value_2_(Char)",
  "Unit",
  "Date_of_test",
  "Time_of_test",
  "Measuring_mode",
  "Measuring_range",
  "Measuring_time",
  "Tolerance_(+)%",
  "Tolerance_(-)%",
];

type State = "start" | "header" | "body" | "after";

/** True when a line is a quoted APT94xx step row: `000932 "P2P1 " …`. */
export function isQuotedRow(line: string): boolean {
  return /^\s*\d+\s+"/.test(line);
}

/**
 * Parses an ATD file (tab or quoted layout) into one unit per group (board), each with the
 * header of its test block. Throws {@link TakayaSyntaxError} when no `@` header is found or a
 * row cannot be read.
 */
export function parseAtd(text: string): TakayaFile {
  const lines = splitLines(text);
  const units: TakayaUnit[] = [];
  let variant: TakayaVariant = "atd";
  let sawQuoted = false;
  let state: State = "start";
  let header: TakayaHeader | undefined;
  let unit: TakayaUnit | undefined;
  let group: TakayaGroup | undefined;
  let columns: ColumnPlan | undefined;
  /** Cells of the column-header row (0: none seen). */
  let columnCount = 0;
  /** The last non-empty line: its number, what it was, and its cells (tab rows). */
  const last = { line: 0, kind: "", cells: 0 };

  const startHeader = (lineNo: number): State => {
    header = emptyHeader(lineNo);
    unit = { header, groups: [] };
    units.push(unit);
    group = undefined;
    return "header";
  };
  const currentGroup = (lineNo: number): TakayaGroup => {
    if (group === undefined) {
      group = emptyGroup("", lineNo);
      unit!.groups.push(group);
    }
    return group;
  };

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i];
    const line = raw.trim();
    if (line === "") continue;
    last.line = lineNo;
    last.kind = "other";

    if (line === "@") {
      if (state === "header") state = "body";
      else if (state === "body") state = "after";
      else state = startHeader(lineNo);
      continue;
    }
    if (state === "start") {
      throw new TakayaSyntaxError(
        `expected the "@" line that opens the header, found "${clip(line)}"`,
        lineNo,
      );
    }
    if (state === "after") {
      // A header that follows a closing "@" without its own opening "@".
      if (isHeaderLine(line)) state = startHeader(lineNo);
      else {
        throw new TakayaSyntaxError(
          `unexpected text after the closing "@" of a test block: "${clip(line)}"`,
          lineNo,
        );
      }
    }

    if (state === "header") {
      readHeaderLine(header!, line);
      continue;
    }

    // Body.
    const groupStart = /^\*\s*GROUP\s+No\.?\s*(\d+)\s*\*?$/i.exec(line);
    if (groupStart) {
      group = emptyGroup(groupStart[1], lineNo);
      unit!.groups.push(group);
      continue;
    }
    if (/^\*\s*[A-Za-z-]+\s*\*$/.test(line) && group !== undefined && group.rows.length === 0) {
      group.verdict = line.replace(/\*/g, "").trim();
      continue;
    }
    if (/^D\.T\s*:/.test(line)) {
      Object.assign(currentGroup(lineNo).counters, readCounters(line));
      continue;
    }
    const serial = /^Serial\s*No\.?\s*:(.*)$/i.exec(line);
    if (serial) {
      currentGroup(lineNo).serial = serial[1].trim();
      continue;
    }
    if (isQuotedRow(raw)) {
      sawQuoted = true;
      currentGroup(lineNo).rows.push(parseQuotedRow(raw, lineNo));
      continue;
    }
    if (raw.includes("\t")) {
      const cells = raw.split("\t");
      if (!/^\d+$/.test(cells[0].trim())) {
        columns = columnPlan(columnKeys(cells));
        columnCount = cells.length;
        last.kind = "columns";
        if (columns.step < 0 || columns.judgement < 0) {
          throw new TakayaSyntaxError(
            "the column-header row has no Step_number or Judgement column",
            lineNo,
          );
        }
        continue;
      }
      columns ??= columnPlan(columnKeys(DEFAULT_TAB_COLUMNS));
      currentGroup(lineNo).rows.push(rowFromCells(cells, columns, lineNo));
      last.kind = "row";
      last.cells = cells.length;
      continue;
    }
    // Anything else carries no step data this reader knows: skipped, and said so.
    (currentGroup(lineNo).skipped ??= []).push({
      line: lineNo,
      text: `line not understood: "${clip(line)}"`,
    });
  }

  if (units.length === 0) {
    throw new TakayaSyntaxError('no "@" header found', 1);
  }
  checkEnd(state, unit!, columnCount, last);
  if (sawQuoted) variant = "apt94xx";
  // One unit per group: each group is a board of the panel, with its own serial and verdict.
  const perBoard = units.flatMap((u) =>
    u.groups.length <= 1 ? [u] : u.groups.map((g) => ({ header: u.header, groups: [g] }))
  );
  return { variant, units: perBoard };
}

/**
 * Refuses a file that ends before its last test block does: inside the header (no closing
 * `@`); in a block with `* GROUP` markers (tab and APT94xx layouts, which close every block
 * with `@`) before that `@`. The old layout has no end marker: there the file must not end at
 * its column-header row, before any step, or in a step row with fewer cells than that header.
 */
function checkEnd(
  state: State,
  unit: TakayaUnit,
  columnCount: number,
  last: { line: number; kind: string; cells: number },
): void {
  const cut = (what: string) => new TakayaSyntaxError(what, last.line, true);
  const opened = unit.header.line;
  if (state === "header") {
    throw cut(`the file ends inside the header that opens on line ${opened}, before its "@"`);
  }
  if (state !== "body") return;
  if (unit.groups.some((g) => g.no !== "")) {
    throw cut(`the test block that opens on line ${opened} has no closing "@"`);
  }
  if (unit.groups.every((g) => g.rows.length === 0)) {
    throw cut(`the test block that opens on line ${opened} ends before its first step row`);
  }
  if (last.kind === "row" && columnCount > 0 && last.cells < columnCount) {
    throw cut(`the last step row has ${last.cells} of the ${columnCount} columns`);
  }
}

/** True for lines that only occur in a header block. */
function isHeaderLine(line: string): boolean {
  return /^\*\s*[A-Za-z-]+\s*\*$/.test(line) || /^(Model|DATE|Test\s*ID|D\.T)\b/i.test(line);
}

/** Reads `D.T:1     D.P:1 …` into a record. */
export function readCounters(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/([A-Z]\.[A-Z])\s*:\s*(\S*)/g)) out[m[1]] = m[2];
  return out;
}

/** Reads one header line into the header. */
function readHeaderLine(h: TakayaHeader, line: string): void {
  if (/^\*\s*[A-Za-z-]+\s*\*$/.test(line)) {
    h.verdict = line.replace(/\*/g, "").trim();
    return;
  }
  if (/^D\.T\s*:/.test(line)) {
    Object.assign(h.counters, readCounters(line));
    return;
  }
  const date = /^DATE\s*:?\s*(.*)$/i.exec(line);
  if (date) {
    h.date = date[1].trim();
    return;
  }
  readHeaderField(h, line);
}

/**
 * Reads a quoted APT94xx row by content rather than by position:
 * `000946 "R1 " "4.7KO " "EXPART-3 " 338 324 " 4.21 KO " " 4.30 KO " "........" +5% -5%
 * "PASS " "DC-CC" "Range 5" "2.0 ms" "( -, N, +, N) " 0 0 "**"`.
 * The `+x% -y%` pair anchors the row: the quoted fields just before it are the reference and
 * the measured values; the first quoted field after it is the verdict, then measuring mode,
 * range and time; the function code is the last quoted short code on the line.
 */
export function parseQuotedRow(line: string, lineNo: number): TakayaRow {
  const tokens: { text: string; quoted: boolean }[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (const m of line.matchAll(re)) {
    tokens.push(m[1] !== undefined ? { text: m[1], quoted: true } : { text: m[2], quoted: false });
  }
  const row = emptyRow(lineNo);
  row.step = tokens[0]?.text ?? "";
  const tol = tokens.findIndex((t, k) =>
    !t.quoted && /^[+-]?\d+(\.\d+)?%$/.test(t.text) && tokens[k + 1] !== undefined &&
    !tokens[k + 1].quoted && /^[+-]?\d+(\.\d+)?%$/.test(tokens[k + 1].text)
  );
  if (tol < 0) {
    throw new TakayaSyntaxError(
      "step row has no tolerance pair (+x% -y%), so its fields cannot be located",
      lineNo,
    );
  }
  row.tolPlus = tokens[tol].text;
  row.tolMinus = tokens[tol + 1].text;

  // Before the pair: quoted parts/value/comment, the bare H-pin and L-pin numbers, then the
  // quoted reference, measurement 1 and measurement 2.
  const before = tokens.slice(1, tol);
  const firstBare = before.findIndex((t) => !t.quoted);
  const lastBare = before.findLastIndex((t) => !t.quoted);
  const quoted = (list: typeof before) => list.filter((t) => t.quoted).map((t) => t.text);
  const names = firstBare < 0 ? quoted(before).slice(0, 3) : quoted(before.slice(0, firstBare));
  const values = firstBare < 0 ? quoted(before).slice(3) : quoted(before.slice(lastBare + 1));
  const bareBefore = before.filter((t) => !t.quoted).map((t) => t.text);
  [row.parts = "", row.value = "", row.comment = ""] = names.map((s) => s.trim());
  [row.hPin = "", row.lPin = ""] = bareBefore;
  const [ref = "", t1 = "", t2 = ""] = values;
  ({ number: row.ref, unit: row.refUnit } = splitValueUnit(ref));
  ({ number: row.test1, unit: row.test1Unit } = splitValueUnit(t1));
  ({ number: row.test2, unit: row.test2Unit } = splitValueUnit(t2));

  const after = tokens.slice(tol + 2).filter((t) => t.quoted).map((t) => t.text.trim());
  [row.judgement = "", row.mode = "", row.range = "", row.time = ""] = after;
  for (let k = after.length - 1; k >= 1; k--) {
    if (/^(\*\*|[A-Z]{1,4})$/.test(after[k])) {
      row.func = after[k];
      break;
    }
  }
  return row;
}
