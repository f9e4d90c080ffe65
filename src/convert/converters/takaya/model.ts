/**
 * The plain structure the TAKAYA readers produce: units (boards or attempts), their header
 * fields, groups and step rows, all still as text. The converter maps it to WSJF.
 *
 * @module
 */
import { splitKeyValue } from "../../text.ts";

/** The three file layouts of the TAKAYA family. */
export type TakayaVariant = "atd" | "apt94xx" | "atdx";

/** One step row, fields as written (trimmed). Absent columns are "". */
export interface TakayaRow {
  /** 1-based line in the file. */
  line: number;
  /** Step number / order (`000007`, `1553`). */
  step: string;
  parts: string;
  /** The part's nominal value or pin pair as printed (`4.7KO`, `P1-2`). */
  value: string;
  valueUnit: string;
  comment: string;
  location: string;
  /** Element code (`R`, `C`, `D`, `Z`…). */
  element: string;
  hPin: string;
  hNet: string;
  lPin: string;
  lNet: string;
  /** Reference value and its unit. */
  ref: string;
  refUnit: string;
  /** First and second (re-)measurement and their units. */
  test1: string;
  test1Unit: string;
  test2: string;
  test2Unit: string;
  /** Tolerances as written (`+10%`, `-10%`, `20.0`, `----------`). */
  tolPlus: string;
  tolMinus: string;
  /** Function code (`**`, `EQ`, `OP`, `SH`, `E`, `F`, `JP`…). */
  func: string;
  /** The tester's verdict for the row (`PASS`, `FAIL`, `UP-NG`, `......`…). */
  judgement: string;
  mode: string;
  range: string;
  time: string;
}

/** One group (a board of a panel in ATD; a part of an attempt in ATDX). */
export interface TakayaGroup {
  /** Group number as written; "" when the file has no groups (old ATD layout). */
  no: string;
  /** Board side (ATDX `Side: A`), or "". */
  side: string;
  /** The group's verdict word, or "". */
  verdict: string;
  /** The group's serial (`Serial No.:` inside the group), or "". */
  serial: string;
  /** Counters such as `D.T`, `G.F`, as written. */
  counters: Record<string, string>;
  /** 1-based line of the group header. */
  line: number;
  rows: TakayaRow[];
  /** Lines in the group the reader did not understand and skipped (reported as warnings). */
  skipped?: { line: number; text: string }[];
}

/** The header block of a test (ATD `@…@`, ATDX "Main header"). */
export interface TakayaHeader {
  /** Overall verdict word (`PASS`/`FAIL`), or "". */
  verdict: string;
  counters: Record<string, string>;
  model: string;
  serial: string;
  /** The date text as written (`20/4/2023 13:02:39`). */
  date: string;
  /** Test time as written (`73 s`). */
  testTime: string;
  testerId: string;
  userName: string;
  /** Other `key: value` lines (Version No., Index, Message…), in file order. */
  extra: [string, string][];
  /** 1-based line where the header starts. */
  line: number;
}

/** One unit to report: a header and its groups. */
export interface TakayaUnit {
  header: TakayaHeader;
  groups: TakayaGroup[];
}

/** A whole parsed file. */
export interface TakayaFile {
  variant: TakayaVariant;
  units: TakayaUnit[];
}

/** A problem in a TAKAYA file, with the line it was found on. */
export class TakayaSyntaxError extends Error {
  /** 1-based line. */
  readonly line: number;
  /** The file ends before the layout says it does (cut short), rather than being damaged. */
  readonly cut: boolean;

  /** @param message what is wrong; @param line where; @param cut whether the file ends early */
  constructor(message: string, line: number, cut = false) {
    super(message);
    this.name = "TakayaSyntaxError";
    this.line = line;
    this.cut = cut;
  }
}

/** A group (board) with no fields or rows yet. */
export function emptyGroup(no: string, line: number): TakayaGroup {
  return { no, side: "", verdict: "", serial: "", counters: {}, line, rows: [] };
}

/** An empty header. */
export function emptyHeader(line: number): TakayaHeader {
  return {
    verdict: "",
    counters: {},
    model: "",
    serial: "",
    date: "",
    testTime: "",
    testerId: "",
    userName: "",
    extra: [],
    line,
  };
}

/**
 * Reads one `key: value` header line (of an ATD header or an ATDX Main header) into the header:
 * Model, Serial No./Serial number, Test Date/Date, Test time, Test ID/Tester ID, User
 * name/Operator; other keys, and lines without a key, go to `extra` in file order.
 */
export function readHeaderField(h: TakayaHeader, line: string): void {
  const kv = splitKeyValue(line);
  if (!kv) {
    h.extra.push(["", line]);
    return;
  }
  const [key, value] = kv;
  switch (key.toLowerCase().replace(/\s+/g, " ")) {
    case "model":
      h.model = value;
      break;
    case "serial no.":
    case "serial no":
    case "serial number":
      h.serial = value;
      break;
    case "test date":
    case "date":
      h.date = value;
      break;
    case "test time":
      h.testTime = value;
      break;
    case "test id":
    case "tester id":
      h.testerId = value;
      break;
    case "user name":
    case "operator":
      h.userName = value;
      break;
    default:
      h.extra.push([key, value]);
  }
}

/** An empty row (all fields ""). */
export function emptyRow(line: number): TakayaRow {
  return {
    line,
    step: "",
    parts: "",
    value: "",
    valueUnit: "",
    comment: "",
    location: "",
    element: "",
    hPin: "",
    hNet: "",
    lPin: "",
    lNet: "",
    ref: "",
    refUnit: "",
    test1: "",
    test1Unit: "",
    test2: "",
    test2Unit: "",
    tolPlus: "",
    tolMinus: "",
    func: "",
    judgement: "",
    mode: "",
    range: "",
    time: "",
  };
}

/**
 * Column names (normalised: lower case, only letters, digits, `+`, `-`; a repeated `Unit` or
 * `Net_name` column is named after the column before it, e.g. `refvaluechar.unit`) for each
 * row field, across the ATD and ATDX header rows.
 */
export const COLUMN_ALIASES: Readonly<Record<Exclude<keyof TakayaRow, "line">, string[]>> = {
  step: ["stepnumber", "order", "step"],
  parts: ["parts"],
  value: ["value"],
  valueUnit: ["value.unit"],
  comment: ["comment"],
  location: ["location", "loc"],
  element: ["refvalueel", "el"],
  hPin: ["h-pin"],
  hNet: ["h-pin.netname", "netname-h-pin"],
  lPin: ["l-pin"],
  lNet: ["l-pin.netname", "netname-l-pin"],
  ref: ["refvaluechar", "reference"],
  refUnit: ["refvaluechar.unit", "reference.unit"],
  test1: ["testvalue1char", "testbasetest1"],
  test1Unit: ["testvalue1char.unit", "testbasetest1.unit"],
  test2: ["testvalue2char", "testbasetest2"],
  test2Unit: ["testvalue2char.unit", "testbasetest2.unit"],
  tolPlus: ["tolerance+", "+"],
  tolMinus: ["tolerance-", "-"],
  func: ["function", "func"],
  judgement: ["judgement", "judge"],
  mode: ["measuringmode"],
  range: ["measuringrange"],
  time: ["measuringtime"],
};

/** Normalises a header row into column keys (see {@link COLUMN_ALIASES}). */
export function columnKeys(cells: string[]): string[] {
  const keys: string[] = [];
  let previous = "";
  for (const cell of cells) {
    const k = cell.toLowerCase().replace(/[^a-z0-9+-]/g, "");
    if ((k === "unit" || k === "netname") && previous !== "") keys.push(`${previous}.${k}`);
    else {
      keys.push(k);
      previous = k;
    }
  }
  return keys;
}

/** Where each row field sits in a file's rows: column number per field, -1 when absent. */
export type ColumnPlan = Readonly<Record<Exclude<keyof TakayaRow, "line">, number>>;

/** Builds a column plan from normalised keys; the first matching alias wins. */
export function columnPlan(keys: string[]): ColumnPlan {
  const at = new Map<string, number>();
  keys.forEach((k, i) => {
    if (!at.has(k)) at.set(k, i);
  });
  const plan: Record<string, number> = {};
  for (const [field, aliases] of Object.entries(COLUMN_ALIASES)) {
    plan[field] = -1;
    for (const alias of aliases) {
      const i = at.get(alias);
      if (i !== undefined) {
        plan[field] = i;
        break;
      }
    }
  }
  return plan as ColumnPlan;
}

/** Fills a row from cells through a column plan (one object literal: fast on big files). */
export function rowFromCells(cells: string[], plan: ColumnPlan, line: number): TakayaRow {
  const at = (i: number) => (i >= 0 && i < cells.length ? cells[i].trim() : "");
  return {
    line,
    step: at(plan.step),
    parts: at(plan.parts),
    value: at(plan.value),
    valueUnit: at(plan.valueUnit),
    comment: at(plan.comment),
    location: at(plan.location),
    element: at(plan.element),
    hPin: at(plan.hPin),
    hNet: at(plan.hNet),
    lPin: at(plan.lPin),
    lNet: at(plan.lNet),
    ref: at(plan.ref),
    refUnit: at(plan.refUnit),
    test1: at(plan.test1),
    test1Unit: at(plan.test1Unit),
    test2: at(plan.test2),
    test2Unit: at(plan.test2Unit),
    tolPlus: at(plan.tolPlus),
    tolMinus: at(plan.tolMinus),
    func: at(plan.func),
    judgement: at(plan.judgement),
    mode: at(plan.mode),
    range: at(plan.range),
    time: at(plan.time),
  };
}
