/**
 * WSTF, the WATS Standard Text Format (docs/converters.md, `wstf`; the model: docs/wsjf.md):
 * tab-separated text, one or more units per file.
 *
 * ```
 * --Header-Start--
 * SerialNumber<TAB>423664753          (any unknown key becomes a misc info)
 * …
 * --Step-Data-Start--
 * StepType<TAB>StepName<TAB>MeasureName<TAB>Value<TAB>LowLimit<TAB>HighLimit<TAB>CompOperator…
 * SequenceCall / EndSequenceCall / NumericLimitTest / MultipleNumericLimitTest /
 * EndMultipleNumericLimitTest / PassFailTest / StringValueTest / MultipleStringValueTest /
 * ActionStep / Chart / Series rows
 * --Step-Data-End--
 * UUTStatus<TAB>Failed                 (footer: UUTStatus, ErrorCode, ErrorMessage, ExecutionTime)
 * --UUT-End--                          (also "-- UUT-End--")
 * ```
 *
 * Rules:
 * - Columns are found by the column-header row (any order; "Status"/"StepStatus" etc. both
 *   work); without one, the documented order is assumed. Trailing empty columns are ignored.
 * - A measurement row with an empty StepName, or with the previous step's name and a
 *   MeasureName, adds a measurement to the previous step (multi-measurement step). In a
 *   multi-measurement step each row's status is that measurement's; the step's comes from them.
 * - Statuses: a row's status is used when present, otherwise limits decide (import mode). A
 *   `ConverterMode` header (Active/Import) overrides the `testMode` parameter.
 * - `StartDateTime` is local (the station's zone); `UTCStartDateTime` is UTC.
 * - A file that never reaches `--Step-Data-End--` is refused (cut off); a missing
 *   `--UUT-End--` after the step data is accepted.
 * - Encoding: BOM, else UTF-8 when valid, else Windows-1252 (Virinco's default), or the
 *   `encoding` parameter.
 *
 * The markers and columns are read in wstf/units.ts.
 *
 * @module
 */
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { isNumberText, parseInteger, parseNumber } from "../number.ts";
import { type CommonParams, converterParams, parseParams } from "../params.ts";
import { decodeText, headText, splitLines } from "../text.ts";
import { parseIsoDateTime } from "../time.ts";
import {
  type ChartInput,
  type NumericInput,
  type PassFailInput,
  type StringInput,
} from "../../wsjf/build_input.ts";
import { ReportBuilder } from "../../wsjf/builder.ts";
import { type SequenceBuilder, type StepBuilder } from "../../wsjf/step_builder.ts";
import { parseNumericCompOp, parseStringCompOp } from "../../wsjf/compop.ts";
import { parseStepStatus } from "../../wsjf/status_codes.ts";
import { type Row, splitUnits, type Unit } from "./wstf/units.ts";

const paramsSchema = converterParams();

function number(text: string, what: string, line: number, file: string, p: Partial<CommonParams>) {
  if (text === "") return undefined;
  if (!isNumberText(text, p.decimalSeparator ?? ".")) {
    throw new ConversionError(`${file} line ${line}: ${what} "${text}" is not a number`);
  }
  return parseNumber(text, p.decimalSeparator ?? ".");
}

function status(text: string, line: number, file: string): string | undefined {
  if (text === "") return undefined;
  if (parseStepStatus(text) === undefined) {
    throw new ConversionError(
      `${file} line ${line}: unknown status "${text}"`,
      "Use Passed, Failed, Done, Skipped, Error or Terminated.",
    );
  }
  return text;
}

function passedOf(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (["true", "1", "pass", "passed", "ok"].includes(v)) return true;
  if (["false", "0", "fail", "failed", "nok", "ng"].includes(v)) return false;
  return undefined;
}

const KINDS: Readonly<Record<string, "numeric" | "boolean" | "string">> = {
  numericlimittest: "numeric",
  multiplenumericlimittest: "numeric",
  passfailtest: "boolean",
  multiplepassfailtest: "boolean",
  stringvaluetest: "string",
  multiplestringvaluetest: "string",
};

/** Converts one unit. */
function convertUnit(
  u: Unit,
  index: number,
  input: ConvertInput,
  params: CommonParams,
): WsjfReport {
  const file = input.name;
  const h: Record<string, string> = {};
  const misc: Array<[string, string]> = [];
  const subUnits: string[][] = [];
  const known = new Set([
    "serialnumber",
    "partnumber",
    "revision",
    "operationtypecode",
    "operationtypename",
    "uutstatus",
    "errorcode",
    "errormessage",
    "startdatetime",
    "utcstartdatetime",
    "executiontime",
    "batchserialnumber",
    "fixtureid",
    "testsocketindex",
    "stationname",
    "operatorname",
    "softwarename",
    "softwareversion",
    "comment",
    "convertermode",
  ]);
  for (const [key, vals, _line] of [...u.header, ...u.footer]) {
    const k = key.toLowerCase();
    const v = (vals[0] ?? "").trim();
    if (k === "subunit") subUnits.push(vals.map((x) => x.trim()));
    else if (known.has(k)) h[k] = v;
    else if (key !== "") misc.push([key, vals.join("\t").trim()]);
  }
  const int = (k: string, what: string) => {
    const v = h[k];
    if (v === undefined || v === "") return undefined;
    const n = parseInteger(v);
    if (n === undefined || Number.isNaN(n)) {
      throw new ConversionError(`${file}: header ${what} "${v}" is not a whole number`);
    }
    return n;
  };
  const mode = h.convertermode?.toLowerCase();
  const p: CommonParams = {
    ...params,
    testMode: mode === "active" ? "active" : mode === "import" ? "import" : params.testMode,
  };
  const tz = p.timeZone ?? input.station.timeZone;
  let start: string | null = null;
  if (h.startdatetime) start = parseIsoDateTime(h.startdatetime, tz);
  else if (h.utcstartdatetime) {
    const t = h.utcstartdatetime;
    start = parseIsoDateTime(/(Z|[+-]\d\d:?\d\d)$/i.test(t) ? t : `${t}Z`, tz);
  }
  if (start === null) {
    const given = h.startdatetime ?? h.utcstartdatetime;
    throw new ConversionError(
      given === undefined
        ? `${file}: the unit starting on line ${u.headerLine} has no StartDateTime or UTCStartDateTime`
        : `${file}: start time "${given}" is not yyyy-MM-ddTHH:mm:ss`,
    );
  }
  const execTime = h.executiontime
    ? number(h.executiontime, "ExecutionTime", u.headerLine, file, p)
    : undefined;
  const rb = new ReportBuilder(input, p, {
    sn: h.serialnumber ?? "",
    pn: h.partnumber,
    rev: h.revision,
    processCode: int("operationtypecode", "OperationTypeCode"),
    processName: h.operationtypename,
    result: h.uutstatus || undefined,
    operator: h.operatorname,
    machineName: h.stationname,
    start,
    unitIndex: index,
    execTime,
    fixtureId: h.fixtureid,
    batchSN: h.batchserialnumber,
    testSocketIndex: int("testsocketindex", "TestSocketIndex"),
    comment: h.comment,
    errorCode: int("errorcode", "ErrorCode"),
    errorMessage: h.errormessage,
    sequence: { name: h.softwarename, version: h.softwareversion, path: h.softwarename },
  });
  if (h.uutstatus && parseStepStatus(h.uutstatus) === undefined) {
    throw new ConversionError(`${file}: unknown UUTStatus "${h.uutstatus}"`);
  }
  for (const [k, v] of misc) rb.misc(k, v);
  for (const s of subUnits) {
    if (s.length < 3) {
      throw new ConversionError(`${file}: a Subunit line needs type, PN, SN (and rev)`);
    }
    rb.subUnit({ partType: s[0] || undefined, pn: s[1], sn: s[2], rev: s[3] || undefined });
  }
  buildSteps(u.rows, rb, file, p);
  return rb.build();
}

interface Prev {
  step: StepBuilder;
  kind: string;
  multi: boolean;
  chart?: ChartInput;
}

function buildSteps(rows: Row[], rb: ReportBuilder, file: string, p: Partial<CommonParams>): void {
  const stack: SequenceBuilder[] = [rb.root];
  const state: { prev: Prev | null } = { prev: null };
  for (const row of rows) {
    const type = row.get("steptype");
    const t = type.toLowerCase();
    const name = row.get("stepname");
    const meas = row.get("measurename");
    const line = row.line;
    const top = stack[stack.length - 1];
    const common = () => ({
      status: status(row.get("status"), line, file),
      totTime: number(row.get("exectime"), "StepExecutionTime", line, file, p),
      reportText: row.get("reporttext") || undefined,
      errorCode: number(row.get("errorcode"), "StepErrorCode", line, file, p),
      errorMessage: row.get("errormessage") || undefined,
      causedSeqFailure: passedOf(row.get("causedsequencefailure")),
    });
    if (t === "sequencecall") {
      stack.push(top.sequence(name, common()));
      state.prev = null;
    } else if (t === "endsequencecall") {
      if (stack.length === 1) {
        throw new ConversionError(`${file} line ${line}: EndSequenceCall without a SequenceCall`);
      }
      stack.pop();
      state.prev = null;
    } else if (t.startsWith("endmultiple")) {
      state.prev = null;
    } else if (t === "actionstep" || t === "action") {
      top.action(name, common());
      state.prev = null;
    } else if (KINDS[t] !== undefined) {
      const kind = KINDS[t];
      const last = state.prev;
      const continues: boolean = last !== null && last.kind === kind &&
        (name === "" || (name === last.step.name && meas !== "" && last.multi));
      if (name === "" && !continues) {
        throw new ConversionError(`${file} line ${line}: ${type} row without a StepName`);
      }
      const multi: boolean = meas !== "" || t.startsWith("multiple") || continues;
      const rowStatus = status(row.get("status"), line, file);
      if (continues && last !== null) {
        const s = last.step;
        if (kind === "numeric") s.addNumeric(numericOf(row, meas, rowStatus, file, p));
        else if (kind === "boolean") s.addPassFail(passFailOf(row, meas, rowStatus, file));
        else s.addString(stringOf(row, meas, rowStatus, file));
        last.multi = true;
        continue;
      }
      const opts = { ...common(), status: multi ? undefined : rowStatus };
      let step: StepBuilder;
      if (kind === "numeric") {
        const m = numericOf(row, meas, rowStatus, file, p);
        step = multi ? top.multiNumeric(name, [m], opts) : top.numeric(name, m, opts);
      } else if (kind === "boolean") {
        const m = passFailOf(row, meas, rowStatus, file);
        step = multi ? top.multiPassFail(name, [m], opts) : top.passFail(name, m, opts);
      } else {
        const m = stringOf(row, meas, rowStatus, file);
        step = multi ? top.multiString(name, [m], opts) : top.string(name, m, opts);
      }
      state.prev = { step, kind, multi };
    } else if (t === "chart") {
      if (state.prev === null) {
        throw new ConversionError(`${file} line ${line}: Chart row without a step before it`);
      }
      const c = row.cells.map((x) => x.trim());
      state.prev.chart = {
        chartType: c[1] || "Line",
        label: c[2] || undefined,
        yUnit: c[3] || undefined,
        yLabel: c[4] || undefined,
        xUnit: c[5] || undefined,
        xLabel: c[6] || undefined,
        series: [],
      };
      state.prev.step.chart(state.prev.chart);
    } else if (t === "series") {
      if (state.prev?.chart === undefined) {
        throw new ConversionError(`${file} line ${line}: Series row without a Chart row before it`);
      }
      const c = row.cells.map((x) => x.trim());
      const y = splitSeries(c[3] ?? "", line, file, p);
      const x = splitSeries(c[4] ?? "", line, file, p);
      state.prev.chart.series.push({
        name: c[1] ?? "",
        x: x.length > 0 ? x : y.map((_, i) => i),
        y,
      });
    } else {
      throw new ConversionError(
        `${file} line ${line}: unknown StepType "${type}"`,
        "Use SequenceCall, EndSequenceCall, NumericLimitTest, MultipleNumericLimitTest, " +
          "PassFailTest, StringValueTest, MultipleStringValueTest, ActionStep, Chart or Series.",
      );
    }
  }
}

function splitSeries(text: string, line: number, file: string, p: Partial<CommonParams>): number[] {
  if (text === "") return [];
  return text.split(";").filter((s) => s.trim() !== "").map((s) =>
    number(s.trim(), "chart value", line, file, p) ?? 0
  );
}

function numericOf(
  row: Row,
  name: string,
  status: string | undefined,
  file: string,
  p: Partial<CommonParams>,
): NumericInput {
  const line = row.line;
  const op = row.get("compoperator");
  if (op !== "" && parseNumericCompOp(op) === undefined) {
    throw new ConversionError(`${file} line ${line}: unknown CompOperator "${op}"`);
  }
  return {
    name: name || undefined,
    status,
    value: number(row.get("value"), "Value", line, file, p),
    low: number(row.get("lowlimit"), "LowLimit", line, file, p),
    high: number(row.get("highlimit"), "HighLimit", line, file, p),
    compOp: op || undefined,
    unit: row.get("unit") || undefined,
  };
}

function passFailOf(
  row: Row,
  name: string,
  status: string | undefined,
  file: string,
): PassFailInput {
  const passed = passedOf(row.get("value"));
  if (passed === undefined && status === undefined) {
    throw new ConversionError(`${file} line ${row.line}: PassFailTest without a Value or status`);
  }
  return { name: name || undefined, status, passed };
}

function stringOf(row: Row, name: string, status: string | undefined, file: string): StringInput {
  const op = row.get("compoperator");
  if (op !== "" && parseStringCompOp(op) === undefined) {
    throw new ConversionError(`${file} line ${row.line}: unknown CompOperator "${op}"`);
  }
  const limit = row.get("lowlimit");
  return {
    name: name || undefined,
    status,
    value: row.get("value"),
    limit: limit === "" ? undefined : limit,
    compOp: op || undefined,
  };
}

/** The WSTF converter. */
export const converter: Converter = {
  name: "wstf",
  params: paramsSchema,
  description: "WATS Standard Text Format (WSTF), tab-separated, one or more units per file",
  pattern: "*.txt",
  detect({ head }) {
    const t = headText(head).replace(/^\uFEFF/, "").trimStart();
    return /^--Header-Start--/i.test(t) ? 0.95 : 0;
  },
  convert(input: ConvertInput): WsjfReport[] {
    const params = parseParams(input.params, paramsSchema, "wstf");
    const { text } = decodeText(input.bytes, { encoding: params.encoding });
    const units = splitUnits(splitLines(text), input.name);
    return units.map((u, i) => convertUnit(u, i, input, params));
  },
};
