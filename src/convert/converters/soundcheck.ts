/**
 * `soundcheck`: Listen SoundCheck "AutoSave to Text" output (tab-separated `.txt`, usually in
 * Append mode: the file grows by one unit per test). Several units per file.
 *
 * Layout, from the header rows (`Serial #:` first): the columns `Serial #:`, optional
 * `Operator:`, `Time:` and `Lot #:` are found by name (the Operator column shifts the rest).
 * After them a header names either results (`Name Margin Unit Result Tolerance Limits`, found
 * by name) or one curve (its name, then `x data … / y data …`, `x axis log|lin …` and the
 * units). Under a results header every row is one result; under a curve header the rows come
 * in pairs, X values then Y values (a further pair without its own header is another curve,
 * named "Curve n"). Header rows may come again before any block.
 *
 * Mapping: a new unit starts where the serial changes, or where a result or curve the unit
 * already has comes again (a retest, or the block written once more: each repeat is its own
 * unit, never merged into the first). `sn` = Serial; `pn` = Lot (what SoundCheck stations put
 * there; `lotField: "batchSN"` sends it as the batch serial instead, `pn` then from
 * `partNumber`); operator = Operator; `start` = the earliest time of the unit's results and
 * data curves (limit curves carry the time the limit was made), read with `dateOrder` and the
 * station zone. Each result → a numeric step (value = Margin, unit, verdict = Result; limits
 * from `Limits` in the order `Tolerance` names them, e.g. `Max/Min` `100.0/90.0`; other
 * tolerances such as "Tolerance curves" are logged, the text kept). Each curve → a numeric step
 * with the curve as a chart (log axes as the header says; X/Y units) and its Min/Max/Points as
 * logged measurements.
 *
 * Ids: from the file name, the unit's index, serial and first time, not its bytes, so a unit
 * that was still growing when the file was first converted keeps its id (the server
 * overwrites the earlier, shorter report).
 *
 * Refused: an unknown Result word (named; never read as a pass), a value that is not a number
 * in the configured `decimalSeparator`, a time not in `dateOrder`, data before any header, and
 * a file cut short (a last row without its line end, a curve's X row without its Y row).
 *
 * @module
 */
import { z } from "zod";
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { type DecimalSeparator, isNumberText, parseNumber } from "../number.ts";
import { converterParams, parseParams } from "../params.ts";
import {
  clip,
  cutShortError,
  decodeText,
  headText,
  splitLines,
  unterminatedLastLine,
} from "../text.ts";
import { type NaiveDateTime, parseLooseDateTime, zonedToEpoch } from "../time.ts";
import { type NumericInput } from "../../wsjf/build_input.ts";
import { ReportBuilder } from "../../wsjf/builder.ts";
import { parseStepStatus } from "../../wsjf/status_codes.ts";

const paramsSchema = converterParams({
  dateOrder: z.enum(["mdy", "dmy", "ymd"]).default("mdy").describe(
    'Order of the Time column\'s date: `"mdy"` (US `7/22/2020 10:22:14 AM`), `"dmy"` (EU ' +
      '`12-01-2021 09:08:35`), `"ymd"`.',
  ),
  lotField: z.enum(["pn", "batchSN"]).default("pn").describe(
    'Where the Lot # column goes: the part number, or `"batchSN"` (then `pn` comes from ' +
      "`partNumber`).",
  ),
});

type Params = z.output<typeof paramsSchema>;

const SERIAL_HEADER = /^serial\s*#\s*:?$/i;

/** Where the fixed columns are, from the last header row. */
interface Columns {
  operator: number;
  time: number;
  lot: number;
  /** First column after them. */
  data: number;
}

type Block =
  | { kind: "results"; cols: Record<string, number> }
  | {
    kind: "curve";
    name: string;
    xUnit?: string;
    yUnit?: string;
    logX: boolean;
    logY: boolean;
    limit: boolean;
  };

interface Result {
  line: number;
  name: string;
  cells: string[];
  /** Column index (within `cells`) by lower-case header name. */
  cols: Record<string, number>;
}

interface Curve {
  line: number;
  name: string;
  block: Extract<Block, { kind: "curve" }>;
  x: number[];
  y: number[];
}

interface Unit {
  sn: string;
  operator?: string;
  lot?: string;
  /** First time text and its parsed value, per row kind (limit curves apart). */
  times: Array<{ text: string; at: number; limit: boolean }>;
  items: Array<{ result: Result } | { curve: Curve }>;
  names: Set<string>;
  firstTime: string;
}

/** The SoundCheck converter. */
export const converter: Converter = {
  name: "soundcheck",
  params: paramsSchema,
  description: "Listen SoundCheck AutoSave text (tab-separated results and curves); one report " +
    "per serial",
  pattern: "*.txt",
  detect({ head }) {
    const first = headText(head).replace(/^\uFEFF/, "").split(/\r\n|\n|\r/, 1)[0] ?? "";
    const cells = first.split("\t").map((c) => c.trim());
    if (!SERIAL_HEADER.test(cells[0] ?? "")) return 0;
    return cells.some((c) => /^time\s*:?$/i.test(c)) ? 0.95 : 0.6;
  },
  convert(input: ConvertInput): WsjfReport[] {
    const params = parseParams(input.params, paramsSchema, "soundcheck");
    const { text } = decodeText(input.bytes, { encoding: params.encoding });
    // SoundCheck ends every row; a last row without its line end was cut mid-row.
    const open = unterminatedLastLine(text);
    if (open !== undefined) {
      throw cutShortError(input.name, `line ${open}`, "the last row has no line end");
    }
    const units = readUnits(splitLines(text), input, params);
    if (units.length === 0) {
      throw new ConversionError(
        `${input.name}: no SoundCheck result or curve rows`,
        "Check that SoundCheck finished writing the file (AutoSave to Text).",
      );
    }
    return units.map((u, i) => buildUnit(input, params, u, i));
  },
};

function readUnits(lines: string[], input: ConvertInput, p: Params): Unit[] {
  const file = input.name;
  const tz = p.timeZone ?? input.station.timeZone;
  const units: Unit[] = [];
  let cols: Columns | undefined;
  let block: Block | undefined;
  let unit: Unit | undefined;
  let pendingX: { line: number; values: number[] } | undefined;
  let curveCount = 0;
  // Whether the curve header above has named a curve already (a further pair is "Curve n").
  let headerUsed = false;
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = lines[i];
    if (raw.trim() === "") continue;
    const cells = raw.split("\t");
    if (SERIAL_HEADER.test(cells[0].trim())) {
      cols = columns(cells, file, line);
      block = headerBlock(cells, cols, file, line);
      pendingX = undefined;
      headerUsed = false;
      continue;
    }
    if (cols === undefined || block === undefined) {
      throw new ConversionError(
        `${file}: line ${line} has data before any "Serial #:" header row`,
        "The file is not SoundCheck AutoSave text, or its start is missing.",
      );
    }
    const at = (c: number) => (cells[c] ?? "").trim();
    const sn = at(0);
    const timeText = at(cols.time);
    const time = parseLooseDateTime(timeText, p.dateOrder);
    if (time === null) {
      throw new ConversionError(
        `${file}: line ${line}: time "${clip(timeText)}" is not a date and time in the ` +
          `"${p.dateOrder}" order`,
        'Set the "dateOrder" converter parameter to the station\'s locale ("mdy" for ' +
          '7/22/2020, "dmy" for 22-07-2020).',
      );
    }
    const data = cells.slice(cols.data);
    const isCurveRow = block.kind === "curve" &&
      data.every((c) => c.trim() === "" || isNumberText(c, p.decimalSeparator));
    const itemName = isCurveRow ? (block as { name: string }).name : at(cols.data);
    const limit = block.kind === "curve" && isCurveRow && block.limit && !headerUsed;
    // The name this row's result or curve will have (a curve's is set at its X row).
    const nextName = isCurveRow && headerUsed ? `Curve ${curveCount + 1}` : itemName;
    // A new unit: another serial, or a result or curve of this unit coming again (a retest, or
    // the block written once more): each repeat is a unit of its own, never merged.
    if (
      unit === undefined || unit.sn !== sn || (pendingX === undefined && unit.names.has(nextName))
    ) {
      unit = {
        sn,
        operator: cols.operator >= 0 ? at(cols.operator) || undefined : undefined,
        lot: cols.lot >= 0 ? at(cols.lot) || undefined : undefined,
        times: [],
        items: [],
        names: new Set(),
        firstTime: timeText,
      };
      units.push(unit);
      curveCount = 0;
      pendingX = undefined;
    }
    unit.times.push({ text: timeText, at: zonedToEpoch(time as NaiveDateTime, tz), limit });
    if (isCurveRow && block.kind === "curve") {
      const values = numbers(data, p.decimalSeparator, file, line);
      if (pendingX === undefined) {
        pendingX = { line, values };
        continue;
      }
      curveCount++;
      const name = headerUsed ? `Curve ${curveCount}` : block.name;
      headerUsed = true;
      unit.items.push({
        curve: { line: pendingX.line, name, block, x: pendingX.values, y: values },
      });
      unit.names.add(name);
      pendingX = undefined;
      continue;
    }
    if (block.kind !== "results") {
      throw new ConversionError(
        `${file}: line ${line}: "${clip(itemName)}" is not a number, but the header row above ` +
          `announced a curve (rows of X and Y values, read with decimal separator "${p.decimalSeparator}")`,
        'If the station writes decimal commas (European locale), set "decimalSeparator": "," ' +
          '(and "dateOrder": "dmy"); otherwise the file is damaged.',
      );
    }
    unit.items.push({ result: { line, name: itemName, cells: data, cols: block.cols } });
    unit.names.add(itemName);
  }
  if (pendingX !== undefined) {
    throw cutShortError(
      file,
      `line ${pendingX.line}`,
      "the file ends after the X row of a curve, without its Y row",
    );
  }
  return units;
}

function columns(cells: string[], file: string, line: number): Columns {
  const find = (re: RegExp) => cells.findIndex((c) => re.test(c.trim()));
  const operator = find(/^operator\s*:?$/i);
  const time = find(/^time\s*:?$/i);
  const lot = find(/^lot\s*#?\s*:?$/i);
  if (time < 0) {
    throw new ConversionError(
      `${file}: header row on line ${line} has no "Time:" column`,
      "The file is not SoundCheck AutoSave text, or its header row is damaged.",
    );
  }
  return { operator, time, lot, data: Math.max(operator, time, lot) + 1 };
}

function headerBlock(cells: string[], cols: Columns, file: string, line: number): Block {
  const rest = cells.slice(cols.data).map((c) => c.trim());
  const named: Record<string, number> = {};
  rest.forEach((c, i) => {
    const k = c.toLowerCase().replace(/[\s:]+$/, "");
    if (k !== "" && named[k] === undefined) named[k] = i;
  });
  if (
    named["name"] !== undefined && (named["result"] !== undefined || named["margin"] !== undefined)
  ) {
    return { kind: "results", cols: named };
  }
  const name = rest[0];
  if (!name) {
    throw new ConversionError(
      `${file}: header row on line ${line} names neither results (Name, Margin, Result) nor a ` +
        "curve",
      "The file is not SoundCheck AutoSave text, or its header row is damaged.",
    );
  }
  const axis = (k: string) => rest.findIndex((c) => new RegExp(`^${k} axis\\b`, "i").test(c));
  const xAxis = axis("x");
  const yAxis = axis("y");
  // The units follow the axis cells (x, y, z axis and a blank cell).
  const unitsAt = xAxis >= 0 ? xAxis + 4 : -1;
  const unit = (i: number) => (i >= 0 && rest[i] ? rest[i] : undefined);
  return {
    kind: "curve",
    name,
    xUnit: unit(unitsAt),
    yUnit: unit(unitsAt >= 0 ? unitsAt + 1 : -1),
    logX: xAxis >= 0 && /\blog\b/i.test(rest[xAxis]),
    logY: yAxis >= 0 && /\blog\b/i.test(rest[yAxis]),
    limit: /\blimit\b/i.test(name),
  };
}

function numbers(cells: string[], dec: DecimalSeparator, file: string, line: number): number[] {
  const out: number[] = [];
  for (const c of cells) {
    if (c.trim() === "") continue;
    const v = parseNumber(c, dec);
    if (v === undefined || !Number.isFinite(v)) {
      throw new ConversionError(`${file}: line ${line}: curve value "${clip(c)}" is not a number`);
    }
    out.push(v);
  }
  return out;
}

function buildUnit(input: ConvertInput, p: Params, u: Unit, index: number): WsjfReport {
  const file = input.name;
  const own = u.times.filter((t) => !t.limit);
  const first = (own.length > 0 ? own : u.times).reduce((a, b) => (b.at < a.at ? b : a));
  const rb = new ReportBuilder(input, p, {
    sn: u.sn,
    pn: p.lotField === "pn" ? u.lot : undefined,
    batchSN: p.lotField === "batchSN" ? u.lot : undefined,
    operator: u.operator,
    start: new Date(first.at),
    unitIndex: index,
    idSeed: `soundcheck\n${file}\n${index}\n${u.sn}\n${u.firstTime}`,
  });
  for (const item of u.items) {
    if ("result" in item) addResult(rb, item.result, p, file);
    else addCurve(rb, item.curve);
  }
  return rb.build();
}

function addResult(rb: ReportBuilder, r: Result, p: Params, file: string) {
  const where = `${file}: line ${r.line}`;
  const get = (k: string) => {
    const i = r.cols[k];
    return i === undefined ? "" : (r.cells[i] ?? "").trim();
  };
  const resultText = get("result");
  const status = resultText === "" ? undefined : verdict(resultText, `${where}, "${r.name}"`);
  const marginText = get("margin");
  const value = parseNumber(marginText, p.decimalSeparator);
  if (value !== undefined && Number.isNaN(value)) {
    throw new ConversionError(
      `${where}: margin "${clip(marginText)}" of "${r.name}" is not a number`,
      `Check the "decimalSeparator" converter parameter (now "${p.decimalSeparator}").`,
    );
  }
  const m: NumericInput = { value, unit: get("unit") || undefined, status: undefined };
  const tolerance = get("tolerance");
  const limits = get("limits");
  const placed = placeLimits(tolerance, limits, p.decimalSeparator);
  if (placed) Object.assign(m, placed);
  else m.compOp = "LOG";
  const text = !placed && (tolerance || limits)
    ? [tolerance, limits].filter((t) => t).join(": ")
    : undefined;
  rb.root.numeric(r.name || `Result (line ${r.line})`, m, { status, reportText: text });
}

/** `Max/Min` + `100.0/90.0` → high 100, low 90; undefined when they are not numeric limits. */
function placeLimits(
  tolerance: string,
  limits: string,
  dec: DecimalSeparator,
): { low?: number; high?: number } | undefined {
  if (limits === "") return undefined;
  const values = limits.split("/").map((s) => s.trim());
  if (!values.every((v) => isNumberText(v, dec))) return undefined;
  const nums = values.map((v) => parseNumber(v, dec)!);
  const names = tolerance.split("/").map((s) => s.trim().toLowerCase());
  const order = names.length === values.length && names.every((n) => n === "max" || n === "min")
    ? names
    : values.length === 2
    ? ["max", "min"] // SoundCheck writes max/min
    : undefined;
  if (order === undefined || values.length > 2) return undefined;
  const out: { low?: number; high?: number } = {};
  order.forEach((n, i) => {
    if (n === "max") out.high = nums[i];
    else out.low = nums[i];
  });
  return out;
}

function addCurve(rb: ReportBuilder, c: Curve) {
  const n = Math.min(c.x.length, c.y.length);
  if (c.x.length !== c.y.length) {
    rb.warn(
      `curve "${c.name}" (line ${c.line}): ${c.x.length} X values but ${c.y.length} Y values; ` +
        `the first ${n} pairs kept`,
    );
  }
  const x = c.x.slice(0, n);
  const y = c.y.slice(0, n);
  const b = c.block;
  const chartType = b.logX && b.logY
    ? "LineLogXY"
    : b.logX
    ? "LineLogX"
    : b.logY
    ? "LineLogY"
    : "Line";
  const ms: NumericInput[] = [{ name: "Points", value: n, compOp: "LOG" }];
  if (n > 0) {
    let lo = y[0];
    let hi = y[0];
    for (const v of y) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    ms.push({ name: "Min", value: lo, compOp: "LOG", unit: b.yUnit });
    ms.push({ name: "Max", value: hi, compOp: "LOG", unit: b.yUnit });
  }
  rb.root.multiNumeric(c.name, ms).chart({
    chartType,
    label: c.name,
    xLabel: "X",
    xUnit: b.xUnit,
    yLabel: "Y",
    yUnit: b.yUnit,
    series: [{ name: c.name, x, y }],
  });
}

/** PASS/FAIL… → a status letter; anything else is refused, never read as a pass. */
function verdict(text: string, where: string): string {
  const s = parseStepStatus(text);
  if (s !== undefined) return s;
  throw new ConversionError(
    `${where}: unknown result "${clip(text)}"`,
    "Expected PASS or FAIL; report this file to the agent's maintainers.",
  );
}
