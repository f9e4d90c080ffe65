/**
 * The csv converter's parameters: the schema (each parameter described beside its definition),
 * the built-in column, key and verdict names, the presets, and the settings a conversion uses,
 * resolved from the parameters, the preset and those defaults.
 *
 * @module
 */
import { z } from "zod";
import { ConversionError } from "../../conversion_error.ts";
import type { DecimalSeparator } from "../../number.ts";
import { converterParams, parseParams, stepStatusParam } from "../../params.ts";
import type { DateOrder } from "../../time.ts";
import { parseNumericCompOp } from "../../../wsjf/compop.ts";
import type { StepStatus } from "../../../wsjf/status_codes.ts";
import {
  HEADER_FIELDS,
  type HeaderField,
  type LayoutSettings,
  type Locator,
  STEP_COLUMNS,
  type StepColumn,
} from "./layout.ts";

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

/** Default extra verdict words (the shared vocabulary in src/wsjf/status_codes.ts comes on top). */
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

/** The csv converter's own parameters, with the shared ones. */
export const paramsSchema = converterParams({
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
  statusWords: z.record(z.string(), stepStatusParam).optional().meta({
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
  lastLineEnd: z.enum(["required", "optional"]).optional().meta({
    description:
      '`"required"`: a file of several lines whose last line has no line end is refused as cut ' +
      'short; `"optional"` for a tester that never ends its last line.',
    defaultText: '`"required"`',
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
export interface Settings {
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
  /** Refuse a file whose last line has no line end (cut short). */
  requireLastLineEnd: boolean;
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
    requireLastLineEnd: (pick("lastLineEnd") ?? "required") === "required",
  };
}

/**
 * The parameters of a conversion (the config's, filled in from the preset) and the settings
 * resolved from them. Throws ConversionError when they are invalid.
 */
export function csvSettings(
  raw: Readonly<Record<string, unknown>> | undefined,
): { params: CsvParams; settings: Settings } {
  const given = parseParams(raw, paramsSchema, "csv");
  // A preset fills the parameters the config leaves out (shared ones included).
  const params = { ...PRESETS[given.preset], ...definedOnly(given) } as CsvParams;
  return { params, settings: resolveSettings(params, given) };
}
