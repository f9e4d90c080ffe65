/**
 * The layout of a WSTF file (docs/converters.md, `wstf`): its `--Header-Start--`,
 * `--Step-Data-Start--`, `--Step-Data-End--` and `--UUT-End--` markers split it into units,
 * each with header lines, step rows and footer lines. Step-row columns are found by the
 * column-header row (any order, with the spellings in {@link COLUMN_ALIASES}), else the
 * documented order; trailing empty cells are dropped. A unit that never reaches
 * `--Step-Data-End--` is refused (the file was cut off).
 *
 * @module
 */
import { ConversionError } from "../../conversion_error.ts";

/** The documented column order, for step data without a column-header row. */
const DEFAULT_COLUMNS = [
  "steptype",
  "stepname",
  "measurename",
  "value",
  "lowlimit",
  "highlimit",
  "compoperator",
  "unit",
  "status",
  "exectime",
  "reporttext",
  "errorcode",
  "errormessage",
  "causedsequencefailure",
];

/** Column-header spellings → canonical column. */
export const COLUMN_ALIASES: Readonly<Record<string, string>> = {
  stepstatus: "status",
  stepexecutiontime: "exectime",
  executiontime: "exectime",
  stepreporttext: "reporttext",
  steperrorcode: "errorcode",
  steperrormessage: "errormessage",
  units: "unit",
  compop: "compoperator",
};

/** Canonical column name → cell index. */
export type Columns = Map<string, number>;

/** A line's first cell as a marker: lower case, without spaces. */
function marker(cells: string[]): string {
  return (cells[0] ?? "").replace(/\s+/g, "").toLowerCase();
}

/** One step row, its cells read by canonical column name. */
export class Row {
  constructor(readonly cells: string[], readonly line: number, readonly cols: Columns) {}

  /** The trimmed cell of a column, "" when there is none. */
  get(col: string): string {
    const i = this.cols.get(col);
    return i === undefined ? "" : (this.cells[i] ?? "").trim();
  }
}

/** One unit of the file: header lines, step rows, footer lines (key, values, line number). */
export interface Unit {
  headerLine: number;
  header: Array<[string, string[], number]>;
  columns: Columns | null;
  rows: Row[];
  footer: Array<[string, string[], number]>;
  stepDataEnded: boolean;
}

/** Splits the file into units and their parts. */
export function splitUnits(lines: string[], file: string): Unit[] {
  const units: Unit[] = [];
  let unit: Unit | null = null;
  let part: "none" | "header" | "steps" | "footer" = "none";
  lines.forEach((raw, i) => {
    const line = i + 1;
    const cells = raw.split("\t");
    while (cells.length > 1 && cells[cells.length - 1].trim() === "") cells.pop();
    const m = marker(cells);
    if (m === "--header-start--") {
      unit = {
        headerLine: line,
        header: [],
        columns: null,
        rows: [],
        footer: [],
        stepDataEnded: false,
      };
      units.push(unit);
      part = "header";
      return;
    }
    if (raw.trim() === "") return;
    if (unit === null) {
      throw new ConversionError(
        `${file} line ${line}: expected --Header-Start--, found "${raw.slice(0, 40)}"`,
        "A WSTF file starts with a --Header-Start-- line.",
      );
    }
    const u: Unit = unit;
    if (m === "--step-data-start--") {
      if (part !== "header") {
        throw new ConversionError(`${file} line ${line}: unexpected --Step-Data-Start--`);
      }
      part = "steps";
      return;
    }
    if (m === "--step-data-end--") {
      if (part !== "steps") {
        throw new ConversionError(`${file} line ${line}: unexpected --Step-Data-End--`);
      }
      u.stepDataEnded = true;
      part = "footer";
      return;
    }
    if (m === "--uut-end--") {
      if (!u.stepDataEnded) {
        throw new ConversionError(`${file} line ${line}: --UUT-End-- before --Step-Data-End--`);
      }
      part = "none";
      unit = null;
      return;
    }
    if (part === "header") u.header.push([cells[0].trim(), cells.slice(1), line]);
    else if (part === "footer") u.footer.push([cells[0].trim(), cells.slice(1), line]);
    else if (part === "steps") {
      if (u.columns === null && u.rows.length === 0 && marker(cells) === "steptype") {
        u.columns = new Map(
          cells.map((c, k) => {
            const key = c.trim().toLowerCase().replace(/\s+/g, "");
            return [COLUMN_ALIASES[key] ?? key, k] as [string, number];
          }),
        );
        return;
      }
      u.columns ??= new Map(DEFAULT_COLUMNS.map((c, k) => [c, k]));
      u.rows.push(new Row(cells, line, u.columns));
    }
  });
  if (units.length === 0) {
    throw new ConversionError(`${file} has no --Header-Start-- line: not a WSTF file`);
  }
  for (const u of units) {
    if (!u.stepDataEnded) {
      throw new ConversionError(
        `${file}: the unit starting on line ${u.headerLine} has no --Step-Data-End-- (file cut off?)`,
      );
    }
  }
  return units;
}
