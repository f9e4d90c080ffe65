/**
 * `csv`: a configurable delimited-text converter for in-house testers (docs/converters.md, `csv`),
 * so a new tester needs configuration, not code. It reads:
 *
 * - **key/value header lines** (`SerialNumber;V1024…`, `Start Time;2024.11.29. 15:29`) followed
 *   by a **step table** whose header row names the columns (`StepName;Min;Value;Max;Unit;Status`);
 * - or a step table with the **header fields repeated on every row** (`SerialNumber,PartNumber,
 *   TestDate,…,StepName,Value,LowLimit,HighLimit,Unit,Result`), one report per serial change;
 * - or rows without any header row (columns by number), header fields from the **file name**
 *   (Teradyne Nano 51e: `preset: "nano51e"`).
 *
 * Defaults recognise the usual column and key names (compared ignoring case, spaces and
 * punctuation), so the two real samples (fct-csv-semicolon, devkit-example-csv) need no
 * configuration beyond `partNumber` where the file has none.
 *
 * Parameters (besides the shared ones in params.ts: partNumber, partRevision, processCode,
 * processCodes, sequenceName, sequenceVersion, operator, stationName, location, purpose,
 * encoding, testMode, timeZone, decimalSeparator):
 *
 * | Parameter | Default | Meaning |
 * |---|---|---|
 * | `preset` | `"generic"` | `"nano51e"` presets everything below for Teradyne Nano 51e files |
 * | `delimiter` | `"auto"` | `;` `,` tab (`"tab"`) `\|` or any one character; auto = the one on most of the first 50 lines |
 * | `quote` | `"\""` | quote character; `""` = no quoting |
 * | `skipLines` | `0` | lines to drop at the top (titles) |
 * | `tableHeader` | `"auto"` | the step table's header row: `"auto"` (found by column names), `"none"` (no header row, columns by number), or its line number |
 * | `columns` | see {@link DEFAULT_COLUMNS} | step columns: `name value low high unit status compOp group stepType reportText time` → a name, a list of names, a 1-based number, or `false` |
 * | `header` | see {@link DEFAULT_HEADER} | header fields (`sn pn rev start startTime operator result processCode machineName location purpose execTime comment batchSN fixtureId testSocketIndex errorCode errorMessage sequenceName sequenceVersion`) → key/column name(s) or a column number |
 * | `datePattern` | — | .NET-style pattern(s) for dates, e.g. `"yyyy.MM.dd. HH:mm"`, `"MM/dd/yyyy hh:mm:ss tt"`; default: ISO, else any `y/m/d`-like date (ambiguous d/m needs `dateOrder`) |
 * | `dateOrder` | — | `"dmy"`, `"mdy"` or `"ymd"` for dates like `04/05/2024` |
 * | `statusWords` | `{Info: "D", Information: "D"}` | extra verdict words → `P F D S E T U` (PASS/FAIL/OK/NG/… are built in) |
 * | `fileNamePattern` | — | regex on the file name; named groups fill header fields (`sn`, `pn`, `start`, `result`, …); other groups become misc infos (`_` → space) |
 * | `namePattern` | — | regex on the step name with groups `name` and/or `group`, e.g. `^(?<name>.+)\[(?<group>.+)\]$` |
 * | `valueUnit` | `"auto"` | `"auto"`: read `3.28V` as value 3.28, unit V; `"off"`: such a value is a string |
 * | `compOp` | inferred | operator for rows without a compOp column: e.g. `"GTLT"` (default: both limits GELE, low GE, high LE, none LOG) |
 * | `splitBy` | `"serial"` | `"serial"`: a new report when the serial column changes; `"file"`: one report per key/value block |
 * | `badRows` | `"fail"` | a row whose field count differs from the table header: `"fail"` the file, or `"skip"` it with a misc-info note |
 * | `execTimeUnit` | `"s"` | unit of the exec-time field: `"s"`, `"ms"` or `"min"` (`hh:mm:ss` is always read) |
 * | `missingStart` | `"now"` | a unit without any date: `"now"` (conversion time, noted in misc info) or `"error"` |
 *
 * Mapping: header fields → report header; other key/value lines → misc infos; each step row →
 * a step (numeric when the value is a number, pass/fail when it has only a verdict, string for
 * text values, action for a bare name; a `stepType` column forces the kind); consecutive rows
 * with the same `group` → one sequence call; unknown columns → the step's report text. The
 * file's verdicts are kept (import mode); where a row has none it is computed from the limits.
 *
 * @module
 */
import { z } from "zod";
import {
  ConversionError,
  type Converter,
  type ConvertInput,
  type WsjfReport,
} from "../contract.ts";
import { type DecimalSeparator, isNumberText, parseInteger, parseNumber } from "../number.ts";
import { converterParams, parseParams } from "../params.ts";
import { decodeText, headText } from "../text.ts";
import {
  type DateOrder,
  type NaiveDateTime,
  parseDatePattern,
  parseIsoDateTime,
  parseLooseDateTime,
} from "../time.ts";
import { sha256Hex } from "../ids.ts";
import { ReportBuilder, type SequenceBuilder, type TimeInput } from "../wsjf/builder.ts";
import { parseNumericCompOp, parseStringCompOp } from "../wsjf/compop.ts";
import { parseReportResult, parseStepStatus, type StepStatus } from "../wsjf/status.ts";
import {
  HEADER_FIELDS,
  type HeaderField,
  LayoutError,
  type LayoutSettings,
  type LayoutUnit,
  type Locator,
  looseName,
  readLayout,
  STEP_COLUMNS,
  type StepColumn,
  type StepRow,
} from "./csv/layout.ts";
import { detectDelimiter, RecordSyntaxError, splitRecords } from "./csv/records.ts";

/** Default step-column names (any of them, compared loosely). */
export const DEFAULT_COLUMNS: Readonly<Record<StepColumn, readonly string[]>> = {
  name: ["StepName", "Step", "TestName", "Test", "Name", "TestStep", "Description", "Parameter"],
  value: ["Value", "MeasuredValue", "Measured", "Measurement", "Reading", "Actual", "Meas"],
  low: ["Min", "LowLimit", "Low", "LL", "LSL", "LowerLimit", "LoLim", "Minimum", "LimitLow"],
  high: ["Max", "HighLimit", "High", "HL", "USL", "UpperLimit", "HiLim", "Maximum", "LimitHigh"],
  unit: ["Unit", "Units", "UOM"],
  status: ["Status", "Result", "Verdict", "PassFail", "Pass/Fail", "Judgement", "Judge", "Outcome"],
  compOp: ["CompOp", "CompOperator", "Comparison", "Comp"],
  group: ["Group", "StepGroup", "Sequence", "Section", "TestGroup", "Category"],
  stepType: ["StepType", "Type", "TestType"],
  reportText: ["ReportText", "Comment", "Message", "Remark", "Remarks"],
  time: ["StepTime", "TestTime(s)", "Duration", "Elapsed", "ElapsedTime"],
};

/** Default header key / column names (any of them, compared loosely). */
export const DEFAULT_HEADER: Readonly<Record<HeaderField, readonly string[]>> = {
  sn: ["SerialNumber", "Serial", "SN", "S/N", "UUTSerial", "UUTSerialNumber", "Barcode"],
  pn: ["PartNumber", "PN", "P/N", "PartNo", "Part", "Product", "ProductNumber", "ArticleNumber"],
  rev: ["Revision", "Rev", "PartRevision", "PartRev"],
  start: [
    "StartTime",
    "Start",
    "StartDateTime",
    "TestDate",
    "DateTime",
    "TestDateTime",
    "Timestamp",
    "Date",
  ],
  startTime: ["Time", "TestTimeOfDay"],
  operator: ["Operator", "OperatorName", "User", "UserName", "Tester"],
  result: [
    "Result",
    "UUTResult",
    "OverallResult",
    "TestResult",
    "FinalResult",
    "Verdict",
    "Status",
  ],
  processCode: ["OperationType", "OperationTypeCode", "ProcessCode", "Process", "OperationCode"],
  machineName: ["MachineID", "MachineName", "Machine", "Station", "StationName", "StationID"],
  location: ["Location"],
  purpose: ["Purpose"],
  execTime: [
    "TestingTime(sec)",
    "TestingTime",
    "ExecutionTime",
    "ExecTime",
    "TestDuration",
    "TotalTime",
    "CycleTime",
  ],
  comment: ["Comment", "Remark"],
  batchSN: ["BatchSN", "Batch", "BatchNumber", "Lot", "LotNumber"],
  fixtureId: ["Fixture", "FixtureID"],
  testSocketIndex: ["Socket", "TestSocket", "Slot", "Site", "Position"],
  errorCode: ["ErrorCode"],
  errorMessage: ["ErrorMessage", "ErrorText"],
  sequenceName: ["TestProgram", "Program", "ProgramName", "SequenceName", "TestSequence"],
  sequenceVersion: ["ProgramVersion", "SequenceVersion", "TestProgramVersion"],
};

/** Default extra verdict words (the shared vocabulary in status.ts comes on top). */
export const DEFAULT_STATUS_WORDS: Readonly<Record<string, StepStatus>> = {
  info: "D",
  information: "D",
};

const locator = z.union([
  z.string().trim().min(1).transform((s) => [s]),
  z.array(z.string().trim().min(1)).min(1),
  z.number().int().min(1),
  z.literal(false).transform(() => null),
]);

const regexText = (groups: string[]) =>
  z.string().min(1).refine((s) => {
    try {
      new RegExp(s, "u");
      return true;
    } catch {
      return false;
    }
  }, { message: "a valid regular expression" }).refine(
    (s) => groups.length === 0 || groups.some((g) => s.includes(`(?<${g}>`)),
    { message: `a regular expression with a named group ${groups.map((g) => `(?<${g}>…)`)}` },
  );

const delimiterText = z.string().transform((s, ctx) => {
  const named: Record<string, string> = {
    auto: "auto",
    tab: "\t",
    "\\t": "\t",
    semicolon: ";",
    comma: ",",
    pipe: "|",
    space: " ",
  };
  const d = named[s.toLowerCase()] ?? s;
  if (d !== "auto" && d.length !== 1) {
    ctx.addIssue({ code: "custom", message: 'one character, "tab" or "auto"' });
    return z.NEVER;
  }
  return d;
});

const statusCode = z.string().transform((s, ctx) => {
  const st = parseStepStatus(s);
  if (st === undefined) {
    ctx.addIssue({ code: "custom", message: "a status: P, F, D, S, E, T or U" });
    return z.NEVER;
  }
  return st;
});

const paramsSchema = converterParams({
  preset: z.enum(["generic", "nano51e"]).default("generic").describe(
    '`"nano51e"`: Teradyne Nano 51e (`A%<PN>%<SMTdate>%<SN>_<OK|NG>_<yyyyMMddHHmmss>.csv`, rows ' +
      "`Name[Group],3.28V,low,high,PASS`, process 30); explicit params win.",
  ),
  delimiter: delimiterText.optional().meta({
    description:
      '`;` `,` `"tab"` `|` or any character; `"auto"` takes the one found on most of the first ' +
      "50 lines (`;` wins a tie with `,`).",
    defaultText: '`"auto"`',
  }),
  quote: z.string().max(1).optional().meta({
    description: 'The quote character; `""` means no quoting.',
    defaultText: '`"\\""`',
  }),
  skipLines: z.number().int().min(0).optional().meta({
    description: "Title lines to drop at the top.",
    defaultText: "`0`",
  }),
  tableHeader: z.union([z.enum(["auto", "none"]), z.number().int().min(1)]).optional().meta({
    description:
      'The step table\'s header row: `"auto"` (found by column names), `"none"` (no header row; ' +
      "`columns` by number), or its line number.",
    defaultText: '`"auto"`',
  }),
  columns: z.strictObject(
    Object.fromEntries(STEP_COLUMNS.map((c) => [c, locator.optional()])) as Record<
      StepColumn,
      z.ZodOptional<typeof locator>
    >,
  ).optional().meta({
    description:
      "Step columns (`name value low high unit status compOp group stepType reportText time`), " +
      "each a column name, a list of names, a 1-based number, or `false`.",
    defaultText: "built-in names",
  }),
  header: z.strictObject(
    Object.fromEntries(HEADER_FIELDS.map((f) => [f, locator.optional()])) as Record<
      HeaderField,
      z.ZodOptional<typeof locator>
    >,
  ).optional().meta({
    description:
      "Header fields (see the mapping, plus `startTime` for a separate time column), each a " +
      "key/column name, names, or a column number.",
    defaultText: "built-in names",
  }),
  datePattern: z.union([z.string().min(1).transform((s) => [s]), z.array(z.string().min(1)).min(1)])
    .optional().describe(
      '.NET-style pattern(s): `"yyyy.MM.dd. HH:mm"`, `"MM/dd/yyyy hh:mm:ss tt"`, `"dd-MMM-yy ' +
        'HH:mm:ss"`; without one: ISO 8601 (offset/Z kept), `yyyyMMddHHmmss`, or any y/m/d-like ' +
        "date.",
    ),
  dateOrder: z.enum(["dmy", "mdy", "ymd"]).optional().describe("Order of dates like `04/05/2024`."),
  statusWords: z.record(z.string(), statusCode).optional().meta({
    description: "Extra verdict words → `P F D S E T U` (PASS/OK/NG/FAIL/… are built in).",
    defaultText: '`{"Info":"D"}`',
  }),
  fileNamePattern: regexText([]).optional().describe(
    "A regex on the file name; named groups fill header fields (`sn`, `pn`, `start`, `result`, " +
      "…), other groups become misc infos (`_` → space).",
  ),
  namePattern: regexText(["name", "group"]).optional().describe(
    "A regex on the step name with groups `name`/`group`, e.g. `^(?<name>.+)\\[(?<group>.+)\\]$`.",
  ),
  valueUnit: z.enum(["auto", "off"]).optional().meta({
    description: '`"off"`: `3.28V` stays a string value.',
    defaultText: '`"auto"`',
  }),
  compOp: z.string().refine((s) => parseNumericCompOp(s) !== undefined, {
    message: "a numeric comparison operator such as GELE, GTLT, GE, LE, EQ or LOG",
  }).optional().meta({
    description: 'The comparison for rows without a CompOp column (e.g. `"GTLT"`).',
    defaultText: "inferred",
  }),
  splitBy: z.enum(["file", "serial"]).optional().meta({
    description:
      'Tables with the header on every row: `"serial"` starts a new report when the serial ' +
      'changes; `"file"` gives one report.',
    defaultText: '`"serial"`',
  }),
  badRows: z.enum(["fail", "skip"]).optional().meta({
    description:
      'A row whose field count differs from the header: `"fail"` the file naming the line, or ' +
      '`"skip"` it (noted as misc info `Skipped row`).',
    defaultText: '`"fail"`',
  }),
  execTimeUnit: z.enum(["s", "ms", "min"]).optional().meta({
    description: "Unit of the exec-time field (`h:mm:ss` is always read).",
    defaultText: '`"s"`',
  }),
  missingStart: z.enum(["now", "error"]).optional().meta({
    description:
      'No date anywhere: `"now"` uses the conversion time (noted as misc info), `"error"` ' +
      "refuses the file.",
    defaultText: '`"now"`',
  }),
});

/** Parsed csv parameters. */
export type CsvParams = z.output<typeof paramsSchema>;

/** Preset values; explicit parameters win. */
const PRESETS: Readonly<Record<CsvParams["preset"], Partial<CsvParams>>> = {
  generic: {},
  nano51e: {
    delimiter: ",",
    skipLines: 1,
    tableHeader: "none",
    columns: { name: 1, value: 2, low: 3, high: 4, status: 5 },
    namePattern: String.raw`^(?<name>.+)\[(?<group>[^\]]+)\]$`,
    fileNamePattern: String
      .raw`^A%(?<pn>[^%]*)%(?<SMT_Production_Date>[^%]*)%(?<sn>.+)_(?<result>[A-Za-z]+)_(?<start>\d{14})(?:\.[A-Za-z]+)?$`,
    datePattern: ["yyyyMMddHHmmss"],
    processCode: 30,
  },
};

/** Everything the conversion needs, resolved from params, preset and defaults. */
interface Settings {
  layout: LayoutSettings;
  delimiter: string;
  quote: string;
  decimal: DecimalSeparator;
  datePatterns: string[];
  dateOrder?: DateOrder;
  statusWords: Map<string, StepStatus>;
  fileNamePattern?: RegExp;
  namePattern?: RegExp;
  valueUnit: boolean;
  compOp?: string;
  execTimeFactor: number;
  missingStart: "now" | "error";
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Settings from the merged parameters `p`; `given` tells which columns the config set. */
function resolveSettings(p: CsvParams, given: CsvParams): Settings {
  const preset = PRESETS[p.preset];
  const pick = <K extends keyof CsvParams>(k: K): CsvParams[K] | undefined => p[k];
  const columns = {} as Record<StepColumn, Locator>;
  for (const c of STEP_COLUMNS) {
    const set = given.columns?.[c];
    columns[c] = set !== undefined
      ? set
      : preset.columns !== undefined
      ? preset.columns[c] ?? null
      : DEFAULT_COLUMNS[c];
  }
  const header = {} as Record<HeaderField, Locator>;
  for (const f of HEADER_FIELDS) header[f] = p.header?.[f] ?? DEFAULT_HEADER[f];
  const statusWords = new Map<string, StepStatus>();
  for (const [w, s] of Object.entries({ ...DEFAULT_STATUS_WORDS, ...(p.statusWords ?? {}) })) {
    statusWords.set(w.trim().toLowerCase(), s);
  }
  const tableHeader = pick("tableHeader") ?? "auto";
  if (tableHeader === "none") {
    for (const c of ["name"] as const) {
      if (typeof columns[c] !== "number") {
        throw new ConversionError(
          `csv converter parameters are invalid: tableHeader is "none" but columns.${c} is not ` +
            "a column number",
          "Without a header row, give every column as a 1-based number, e.g. " +
            'columns: {"name": 1, "value": 2, "low": 3, "high": 4, "status": 5}.',
        );
      }
    }
    for (const c of STEP_COLUMNS) if (typeof columns[c] !== "number") columns[c] = null;
  }
  const fnp = pick("fileNamePattern");
  const np = pick("namePattern");
  return {
    layout: {
      skipLines: pick("skipLines") ?? 0,
      tableHeader,
      columns,
      header,
      splitBy: pick("splitBy") ?? "serial",
      badRows: pick("badRows") ?? "fail",
    },
    delimiter: pick("delimiter") ?? "auto",
    quote: pick("quote") ?? '"',
    decimal: p.decimalSeparator,
    datePatterns: pick("datePattern") ?? [],
    dateOrder: pick("dateOrder"),
    statusWords,
    fileNamePattern: fnp === undefined ? undefined : new RegExp(fnp, "u"),
    namePattern: np === undefined ? undefined : new RegExp(np, "u"),
    valueUnit: (pick("valueUnit") ?? "auto") === "auto",
    compOp: pick("compOp"),
    execTimeFactor: { s: 1, ms: 0.001, min: 60 }[pick("execTimeUnit") ?? "s"],
    missingStart: pick("missingStart") ?? "now",
  };
}

/** The configurable delimited-text converter. */
export const converter: Converter = {
  name: "csv",
  params: paramsSchema,
  description:
    "Configurable delimited text (CSV/semicolon/tab): key/value header and/or a step table",
  pattern: "*.csv",
  detect({ head, name }) {
    if (/^A%[^%]*%[^%]*%.+_(OK|NG)_\d{14}\.csv$/i.test(name)) return 0.7;
    const text = headText(head);
    const first = text.split(/\r\n|\n|\r/).find((l) => l.trim() !== "") ?? "";
    if (/^"?SerialNumber"?[;,\t]/i.test(first)) return 0.6;
    const isCsvName = /\.(csv|txt|tsv)$/i.test(name);
    const delim = detectDelimiter(text);
    if (delim === null) return 0;
    return isCsvName ? 0.3 : 0.1;
  },
  convert(input: ConvertInput): WsjfReport[] {
    const given = parseParams(input.params, paramsSchema, "csv");
    // A preset fills the parameters the config leaves out (shared ones included).
    const params = { ...PRESETS[given.preset], ...definedOnly(given) } as CsvParams;
    const settings = resolveSettings(params, given);
    const { text } = decodeText(input.bytes, { encoding: params.encoding });
    if (text.trim() === "") {
      throw new ConversionError(
        `${input.name} is empty`,
        "Check that the tester finished writing.",
      );
    }
    const delimiter = settings.delimiter !== "auto"
      ? settings.delimiter
      : detectDelimiter(text, settings.quote);
    if (delimiter === null) {
      throw new ConversionError(
        `no delimiter (; , tab or |) found in the first lines of ${input.name}`,
        'This is not delimited text, or it uses another delimiter: set the "delimiter" parameter.',
      );
    }
    let units: LayoutUnit[];
    try {
      units = readLayout(splitRecords(text, delimiter, settings.quote), settings.layout);
    } catch (e) {
      if (e instanceof RecordSyntaxError) {
        throw new ConversionError(
          `${input.name}: ${e.message}`,
          'Check the file for a stray quote character, or set "quote": "" if the tester ' +
            "doesn't quote fields.",
        );
      }
      if (e instanceof LayoutError) {
        throw new ConversionError(`${input.name}: ${e.message}`, e.hint);
      }
      throw e;
    }
    const fromName = fileNameFields(input.name, settings);
    const reports: WsjfReport[] = [];
    units.forEach((unit, index) => {
      reports.push(buildUnit(input, params, settings, unit, index, fromName));
    });
    return reports;
  },
};

/** Header values and misc infos from the file name (empty without `fileNamePattern`). */
function fileNameFields(
  name: string,
  s: Settings,
): { header: Partial<Record<HeaderField, string>>; misc: [string, string][] } {
  const out = {
    header: {} as Partial<Record<HeaderField, string>>,
    misc: [] as [string, string][],
  };
  if (s.fileNamePattern === undefined) return out;
  const m = s.fileNamePattern.exec(name);
  if (m === null) {
    throw new ConversionError(
      `the file name "${name}" does not match the fileNamePattern ${s.fileNamePattern.source}`,
      "Check the file name, or the converter parameter fileNamePattern.",
    );
  }
  for (const [k, v] of Object.entries(m.groups ?? {})) {
    if (v === undefined || v === "") continue;
    if ((HEADER_FIELDS as readonly string[]).includes(k)) out.header[k as HeaderField] = v;
    else out.misc.push([k.replaceAll("_", " "), v]);
  }
  return out;
}

type HeaderValue = { value: string; where: string };

function buildUnit(
  input: ConvertInput,
  params: CsvParams,
  s: Settings,
  unit: LayoutUnit,
  index: number,
  fromName: ReturnType<typeof fileNameFields>,
): WsjfReport {
  const get = (f: HeaderField): HeaderValue | undefined => {
    const inFile = unit.header[f];
    if (inFile !== undefined && inFile.value !== "") {
      return { value: inFile.value, where: `line ${inFile.line}, ${inFile.source}` };
    }
    const n = fromName.header[f];
    return n !== undefined ? { value: n, where: `file name group "${f}"` } : undefined;
  };
  const notes: [string, string][] = [];
  const sn = get("sn");
  if (sn === undefined) {
    throw new ConversionError(
      `${input.name}: no serial number for unit ${index + 1} (no header key or column ` +
        `${describeLocator(s.layout.header.sn)}${
          s.fileNamePattern ? ", no file name group sn" : ""
        })`,
      "Set the converter parameter header.sn to the key or column that holds the serial, or " +
        "fileNamePattern with a group (?<sn>…) when the serial is in the file name.",
    );
  }
  const startText = get("start");
  const timeText = get("startTime");
  let start: TimeInput;
  if (startText !== undefined) {
    start = parseStart(startText, timeText, s, input.name);
  } else if (s.missingStart === "now") {
    start = new Date();
    notes.push(["Start time", "not in the file; the conversion time was used"]);
  } else {
    throw new ConversionError(
      `${input.name}: no start date/time for unit ${index + 1} (serial ${sn.value})`,
      "Set header.start to the key or column with the date, or fileNamePattern with a group " +
        '(?<start>…), or missingStart: "now".',
    );
  }

  const str = (f: HeaderField) => get(f)?.value;
  const resultText = get("result");
  let result: string | undefined;
  if (resultText !== undefined) {
    const code = s.statusWords.get(resultText.value.toLowerCase()) ??
      parseStepStatus(resultText.value);
    if (code === undefined) {
      throw new ConversionError(
        `${input.name}: ${resultText.where}: unknown result "${resultText.value}"`,
        `Add the word to the converter parameter statusWords, e.g. {"${resultText.value}": "P"}.`,
      );
    }
    result = parseReportResult(code);
  }
  const process = get("processCode");
  const processInt = process === undefined ? undefined : parseInteger(process.value);
  const intField = (f: HeaderField): number | undefined => {
    const v = get(f);
    if (v === undefined) return undefined;
    const n = parseInteger(v.value);
    if (n === undefined || Number.isNaN(n)) {
      notes.push([f, v.value]);
      return undefined;
    }
    return n;
  };
  const exec = get("execTime");
  const seqName = str("sequenceName");
  const seqVersion = str("sequenceVersion");
  const rb = new ReportBuilder(input, params, {
    sn: sn.value,
    pn: str("pn"),
    rev: str("rev"),
    start,
    result,
    processCode: processInt !== undefined && !Number.isNaN(processInt) ? processInt : undefined,
    processName: processInt !== undefined && Number.isNaN(processInt) ? process?.value : undefined,
    operator: str("operator"),
    machineName: str("machineName"),
    location: str("location"),
    purpose: str("purpose"),
    execTime: exec === undefined ? undefined : parseDuration(exec, s, input.name),
    comment: str("comment"),
    batchSN: str("batchSN"),
    fixtureId: str("fixtureId"),
    testSocketIndex: intField("testSocketIndex"),
    errorCode: intField("errorCode"),
    errorMessage: str("errorMessage"),
    sequence: seqName !== undefined || seqVersion !== undefined
      ? { name: seqName, version: seqVersion }
      : undefined,
    unitIndex: index,
    idSeed: unitSeed(index, unit, fromName),
  });
  for (const m of unit.misc) rb.misc(m.key, m.value);
  for (const [k, v] of fromName.misc) rb.misc(k, v);
  for (const [k, v] of notes) rb.misc(k, v);
  for (const skipped of unit.skipped) rb.misc("Skipped row", skipped);

  let seq: SequenceBuilder = rb.root;
  let seqGroup = "";
  for (const row of unit.steps) {
    let name = row.cells.name;
    let group = row.cells.group;
    if (s.namePattern !== undefined && name.length <= 1000) {
      const m = s.namePattern.exec(name);
      if (m?.groups !== undefined) {
        name = m.groups.name?.trim() || name;
        group = m.groups.group?.trim() || group;
      }
    }
    if (group !== seqGroup) {
      seq = group === "" ? rb.root : rb.root.sequence(group);
      seqGroup = group;
    }
    addStep(seq, name === "" ? `Row ${row.line}` : name, row, s, input.name);
  }
  return rb.build();
}

/** A content-based id seed: the same unit in a grown (append-mode) file keeps its id. */
function unitSeed(
  index: number,
  unit: LayoutUnit,
  fromName: ReturnType<typeof fileNameFields>,
): string {
  const header = Object.fromEntries(
    Object.entries(unit.header).map(([k, v]) => [k, v?.value]),
  );
  const steps = unit.steps.map((r) => [STEP_COLUMNS.map((c) => r.cells[c]), r.extra]);
  return "csv:" + sha256Hex(JSON.stringify([index, header, unit.misc, steps, fromName]));
}

function describeLocator(loc: Locator): string {
  if (loc === null) return "(none configured)";
  if (typeof loc === "number") return `column ${loc}`;
  return loc.map((n) => `"${n}"`).slice(0, 4).join("/") + (loc.length > 4 ? "/…" : "");
}

// Unambiguous number part (no nested optional digit runs), so matching stays linear.
const GLUED_RE = /^([+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?)\s*([^\d\s.,+-][^\d]*)$/u;

/** `3.28V` → [3.28, "V"]; undefined when the text is not a number glued to a unit. */
function splitValueUnit(text: string, decimal: DecimalSeparator): [number, string] | undefined {
  const m = GLUED_RE.exec(text.trim());
  if (m === null || !isNumberText(m[1], decimal)) return undefined;
  return [parseNumber(m[1], decimal)!, m[2].trim()];
}

/** Words that mean "no limit" in a limit column. */
const NO_LIMIT = new Set(["na", "n/a", "none", "nolimit", "-", "null"]);

type Kind = "numeric" | "passFail" | "string" | "action" | "auto";

function stepKind(stepType: string): Kind {
  const t = looseName(stepType);
  if (t === "") return "auto";
  if (/^(numeric|numericlimit|numericlimittest|nlt|etnlt|num|nt|number)$/.test(t)) return "numeric";
  if (/^(passfail|passfailtest|pft|etpft|pf|boolean|bool)$/.test(t)) return "passFail";
  if (/^(string|stringvalue|stringvaluetest|svt|etsvt|str|text)$/.test(t)) return "string";
  if (/^(action|eta|label|info|log)$/.test(t)) return "action";
  return "auto";
}

/** Reads one number cell (value or limit); undefined when empty or a no-limit word. */
function numberCell(
  text: string,
  what: string,
  row: StepRow,
  s: Settings,
  file: string,
): { value?: number; unit?: string } {
  const t = text.trim();
  if (t === "" || NO_LIMIT.has(t.toLowerCase())) return {};
  const n = parseNumber(t, s.decimal);
  if (n === undefined) return {};
  if (!Number.isNaN(n) || isNumberText(t, s.decimal)) return { value: n };
  if (s.valueUnit) {
    const glued = splitValueUnit(t, s.decimal);
    if (glued !== undefined) return { value: glued[0], unit: glued[1] };
  }
  throw new ConversionError(
    `${file}: line ${row.line}, ${what} of "${row.cells.name}": "${t}" is not a number`,
    decimalHint(t, s) ??
      "Check the column map (converter parameter columns) and the file's decimal separator.",
  );
}

function decimalHint(t: string, s: Settings): string | undefined {
  if (s.decimal === "." && /^[+-]?\d*,\d+$/.test(t)) {
    return 'The file seems to use a decimal comma: set the converter parameter decimalSeparator: ",".';
  }
  if (s.decimal === "," && /^[+-]?\d*\.\d+$/.test(t)) {
    return 'The file seems to use a decimal point: set decimalSeparator: "." (the default).';
  }
  return undefined;
}

function addStep(seq: SequenceBuilder, name: string, row: StepRow, s: Settings, file: string) {
  const c = row.cells;
  let status: string | undefined;
  if (c.status !== "") {
    const code = s.statusWords.get(c.status.toLowerCase()) ?? parseStepStatus(c.status);
    if (code === undefined) {
      throw new ConversionError(
        `${file}: line ${row.line}, step "${name}": unknown status "${c.status}"`,
        `Add the word to the converter parameter statusWords, e.g. {"${c.status}": "F"}.`,
      );
    }
    status = code;
  }
  const textLines = [c.reportText, ...row.extra.map((x) => `${x.key}: ${x.value}`)]
    .filter((t) => t !== "");
  const totTime = c.time === "" ? undefined : parseNumber(c.time, s.decimal);
  const opts = {
    status,
    reportText: textLines.length > 0 ? textLines.join("\n") : undefined,
    totTime: totTime !== undefined && Number.isFinite(totTime) ? totTime : undefined,
  };
  let kind = stepKind(c.stepType);
  const valueText = c.value;
  const looksNumeric = valueText !== "" &&
    (isNumberText(valueText, s.decimal) ||
      (s.valueUnit && splitValueUnit(valueText, s.decimal) !== undefined));
  if (kind === "auto") {
    if (looksNumeric) kind = "numeric";
    else if (valueText !== "") {
      if (decimalHint(valueText, s) !== undefined) {
        throw new ConversionError(
          `${file}: line ${row.line}, value of "${name}": "${valueText}" is not a number`,
          decimalHint(valueText, s)!,
        );
      }
      kind = "string";
    } else if (c.low !== "" || c.high !== "") kind = "numeric";
    else if (status !== undefined && status !== "D") kind = "passFail";
    else kind = "action";
  }
  switch (kind) {
    case "numeric": {
      const v = numberCell(valueText, "value", row, s, file);
      const lo = numberCell(c.low, "low limit", row, s, file);
      const hi = numberCell(c.high, "high limit", row, s, file);
      const compOp = c.compOp !== "" ? c.compOp : s.compOp;
      if (compOp !== undefined && parseNumericCompOp(compOp) === undefined) {
        throw new ConversionError(
          `${file}: line ${row.line}, step "${name}": unknown comparison operator "${compOp}"`,
          "Use a WATS operator (GELE, GTLT, GE, GT, LE, LT, EQ, NE, LOG, …) or >=, <=, ==, !=.",
        );
      }
      seq.numeric(name, {
        value: v.value,
        low: lo.value,
        high: hi.value,
        compOp,
        unit: c.unit || v.unit || lo.unit || hi.unit || undefined,
        status,
      }, opts);
      return;
    }
    case "passFail":
      seq.passFail(name, { status: status ?? (valueText !== "" ? valueText : undefined) }, opts);
      return;
    case "string": {
      const limit = c.low !== "" ? c.low : c.high !== "" ? c.high : undefined;
      const compOp = c.compOp !== "" ? c.compOp : undefined;
      if (compOp !== undefined && parseStringCompOp(compOp) === undefined) {
        throw new ConversionError(
          `${file}: line ${row.line}, step "${name}": unknown string operator "${compOp}"`,
          "Use EQ, NE, IGNORECASE, CASESENSIT or LOG.",
        );
      }
      seq.string(name, { value: valueText, limit, compOp, status }, opts);
      return;
    }
    default:
      seq.action(name, {
        ...opts,
        reportText: [valueText !== "" ? `Value: ${valueText}` : "", opts.reportText ?? ""]
          .filter((t) => t !== "").join("\n") || undefined,
      });
  }
}

/** Reads the start field (plus a separate time field) with the configured date rules. */
function parseStart(
  date: HeaderValue,
  time: HeaderValue | undefined,
  s: Settings,
  file: string,
): TimeInput {
  const text = time !== undefined && !/\d:\d/.test(date.value)
    ? `${date.value} ${time.value}`
    : date.value;
  for (const pattern of s.datePatterns) {
    const n = parseDatePattern(text, pattern);
    if (n !== null) return n;
  }
  if (s.datePatterns.length > 0) {
    throw new ConversionError(
      `${file}: ${date.where}: "${text}" does not match datePattern ${
        s.datePatterns.map((p) => `"${p}"`).join(" or ")
      }`,
      "Check the converter parameter datePattern (.NET style: yyyy MM dd HH mm ss, hh + tt " +
        "for AM/PM, MMM for month names).",
    );
  }
  // ISO 8601: naive = station zone, an explicit offset or Z is kept (the builder does both).
  if (
    /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text.trim()) && parseIsoDateTime(text, "UTC") !== null
  ) {
    return text.trim();
  }
  if (/^\d{14}$/.test(text.trim())) {
    const n = parseDatePattern(text, "yyyyMMddHHmmss");
    if (n !== null) return n;
  }
  if (s.dateOrder !== undefined) {
    const n = parseLooseDateTime(text, s.dateOrder);
    if (n !== null) return n;
  } else {
    const ymd = parseLooseDateTime(text, "ymd");
    if (ymd !== null && /^\s*\d{4}/.test(text)) return ymd;
    const dmy = parseLooseDateTime(text, "dmy");
    const mdy = parseLooseDateTime(text, "mdy");
    if (dmy !== null && mdy !== null && !sameNaive(dmy, mdy)) {
      throw new ConversionError(
        `${file}: ${date.where}: the date "${text}" could be day/month or month/day`,
        'Set the converter parameter dateOrder ("dmy" or "mdy") or datePattern.',
      );
    }
    const n = dmy ?? mdy;
    if (n !== null) return n;
  }
  throw new ConversionError(
    `${file}: ${date.where}: "${text}" is not a date/time this converter can read`,
    'Set the converter parameter datePattern, e.g. "yyyy.MM.dd. HH:mm" or "MM/dd/yyyy hh:mm:ss ' +
      'tt".',
  );
}

function sameNaive(a: NaiveDateTime, b: NaiveDateTime): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day;
}

/** Exec time in seconds: a number in `execTimeUnit`, or `[h:]mm:ss`. */
function parseDuration(v: HeaderValue, s: Settings, file: string): number | undefined {
  const t = v.value.trim();
  const hms = /^(?:(\d+):)?(\d{1,2}):(\d{2}(?:[.,]\d+)?)$/.exec(t);
  if (hms !== null) {
    return (+(hms[1] ?? 0)) * 3600 + +hms[2] * 60 + Number(hms[3].replace(",", "."));
  }
  const n = parseNumber(t.replace(/(?:s|sec|seconds?|ms|min)$/i, ""), s.decimal);
  if (n === undefined) return undefined;
  if (!Number.isFinite(n) || n < 0) {
    throw new ConversionError(
      `${file}: ${v.where}: the test time "${t}" is not a number of seconds`,
      decimalHint(t, s) ?? "Check the header map (header.execTime) and execTimeUnit.",
    );
  }
  return n * s.execTimeFactor;
}
