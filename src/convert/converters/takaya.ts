/**
 * TAKAYA flying-probe results (APT-1400F / APT-9400 series, docs/converters.md, `takaya`), all three
 * layouts under one format name, told apart by content:
 *
 * - **ATD, tab-separated**: a header between `@` lines (`* PASS *`, counters, `Model:`,
 *   `DATE`, `Test time:`, `Test ID :`), then one `* GROUP No.n *` block per board of the
 *   panel with its own verdict and `Serial No.:`, a column-header row and step rows. The old
 *   (2014) layout has no groups and the serial in the header.
 * - **APT94xx ATD**: the same header and groups, step rows with quoted, space-padded fields;
 *   a file may hold several test blocks (bottom and top side, re-tests).
 * - **ATDX**: UTF-8 with BOM, semicolons, `"Main header"` / `"Group header"` sections; the
 *   groups of one test follow each other, and group 1 coming again starts a new attempt.
 *
 * One module rather than three names: the layouts share their vocabulary (units, verdicts,
 * function codes, tolerances, dates), a tester's firmware update can switch layouts, and one
 * drop folder often receives more than one of them. The `variant` parameter pins a layout.
 *
 * **Reports.** ATD: one per GROUP (board of the panel; `uut.testSocketIndex` = group number),
 * or one per file in the old layout. APT94xx: one per group of each test block. ATDX: one per
 * attempt, with one SequenceCall per group. Ids from (file, unit index).
 *
 * | WSJF | Source |
 * |---|---|
 * | `sn` | group `Serial No.:` (ATD), header `Serial No.`/`Serial number` (old ATD, ATDX). An APT94xx-style `<batch> - <serial> (<tokens>)` is split: `uut.batchSN` = batch, operator (or station, see `serialTokens`) from the tokens, the raw text as misc `Serial No.` |
 * | `pn` / `rev` | `Model:` without the program extension (`PB2939800_E_BOT.SWX` → `PB2939800_E_BOT`); ATDX up to the first space (the rest: misc `Model suffix`); or the named groups `pn`/`rev` of the `modelPattern` parameter |
 * | `start` | `DATE` / `Test Date:` in the station zone, day/month/year order per `dateOrder` |
 * | `uut.execTime` | `Test time:` (s) |
 * | `machineName` | `Test ID` / `Tester ID` |
 * | `uut.user` | `User name`, else the first serial token |
 * | `result` | the tester's verdict: the group's (ATD), the header's (old ATD), the worst group's (ATDX). When it differs from the step verdicts, misc `TesterStatus` says so |
 *
 * Steps: one per row, named `<Parts>_<H net>_<L net>` (pins when there are no net names).
 * Measured value: test value 2 when numeric (a re-measurement), else test value 1, in the unit
 * the tester printed (`KO` → kΩ, `MO` → MΩ, `UF` → µF, `mV`…; `M` is mega for ohms and milli
 * otherwise); the reference converted to that unit. Limits from the reference and the
 * percentage tolerances: `**`/`EQ` → GELE(ref × (1 − tol−), ref × (1 + tol+)); `E`/`LE` →
 * LE ref × (1 + tol+); `F`/`GE` → GE ref × (1 − tol−); no tolerance → the reference itself.
 * `SH` (short) → LE ref and `OP` (open) → GE ref only without (or with zero) tolerances
 * (ATDX, where the reference is the threshold); with tolerances (ATD, APT94xx) the reference is a learned value
 * and the tester's threshold is not in the file (real files pass opens far below "ref − tol"),
 * so those rows are LOG with the tester's verdict. Other codes → LOG. The reference, tolerances, function code, part value, measuring
 * mode and the tester's verdict word go to the step's report text. Rows with function
 * `JP`/`JUMP`/`SKIP` or verdict `......`, `JUMP`, `SKIP`, `UnTested` are skipped steps; any
 * other verdict than PASS (`FAIL`, `UP-NG`, `LO-NG`, `UPPER`, `LOWER`, `OPEN`, `SHORT`,
 * `UNMEASURED`…) fails. Verdicts are the tester's (import mode).
 *
 * Params (besides the shared ones in params.ts):
 * - `variant`: `"auto"` (default), `"atd"`, `"apt94xx"`, `"atdx"`.
 * - `dateOrder`: `"auto"` (default: the order that matches the date in the file name, e.g.
 *   `…-20230420130239.ATD`; else day first for four-digit years, and day/month/year, then
 *   year/month/day for two-digit ones), or `"dmy"`, `"mdy"`, `"ymd"`. Set it for APT94xx
 *   files without a date in their name if the tester writes yy/MM/dd.
 * - `serialFormat`: `"auto"` (default: split `<batch> - <serial> (<tokens>)`) or `"plain"`.
 * - `serialTokens`: `"operators"` (default: first token → operator, second → misc
 *   `Operator 2`) or `"station-operator"` (first → machineName, second → operator).
 * - `modelPattern`: a regular expression with named groups `pn` (and optionally `rev`) applied
 *   to the `Model:` text.
 *
 * @module
 */
import { z } from "zod";
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { parseNumber } from "../number.ts";
import { converterParams, parseParams } from "../params.ts";
import { cutShortError, decodeText, headText } from "../text.ts";
import { ReportBuilder } from "../../wsjf/builder.ts";
import { type SequenceBuilder } from "../../wsjf/step_builder.ts";
import { type ReportResult, type StepStatus, worse } from "../../wsjf/status_codes.ts";
import { parseAtd } from "./takaya/atd.ts";
import { parseAtdx } from "./takaya/atdx.ts";
import { readTakayaDate } from "./takaya/dates.ts";
import {
  type TakayaFile,
  type TakayaRow,
  TakayaSyntaxError,
  type TakayaUnit,
  type TakayaVariant,
} from "./takaya/model.ts";
import {
  functionKind,
  inUnitOf,
  parseTolerance,
  parseUnit,
  type Quantity,
  quantity,
  rowVerdict,
  tidy,
  unitVerdict,
} from "./takaya/values.ts";

const paramsSchema = converterParams({
  variant: z.enum(["auto", "atd", "apt94xx", "atdx"]).default("auto").describe(
    'The layout; `"atd"`, `"apt94xx"` or `"atdx"` refuses the others.',
  ),
  dateOrder: z.enum(["auto", "dmy", "mdy", "ymd"]).default("auto").describe(
    'Order of the date fields; `"auto"` uses the date in the file name (`…-20230420130239.ATD`), ' +
      'else day first. Set `"ymd"` for APT94xx testers that write yy/MM/dd.',
  ),
  serialFormat: z.enum(["auto", "plain"]).default("auto").describe(
    '`"plain"` keeps `Serial No.` whole; `"auto"` splits an APT94xx serial into batch, serial ' +
      "and operator tokens.",
  ),
  serialTokens: z.enum(["operators", "station-operator"]).default("operators").describe(
    '`"station-operator"`: the first token in the serial\'s parentheses is the station, the ' +
      "second the operator.",
  ),
  modelPattern: z.string().min(1).refine((s) => {
    try {
      return new RegExp(s).source.includes("?<pn>");
    } catch {
      return false;
    }
  }, { message: "a regular expression with a named group (?<pn>…)" }).optional().describe(
    "A regular expression with named groups `pn` (and `rev`) applied to `Model:`.",
  ),
});

type Params = z.output<typeof paramsSchema>;

export const converter: Converter = {
  name: "takaya",
  params: paramsSchema,
  description: "TAKAYA flying probe: ATD (tab), APT94xx ATD (quoted) and ATDX (semicolon)",
  pattern: "*.{ATD,atd,ATDX,atdx}",
  detect({ head, name }) {
    const t = headText(head).replace(/^\uFEFF/, "").trimStart();
    const sure = /\.atdx?$/i.test(name) ? 0.95 : 0.9;
    if (/^#+\s*"Main header"/i.test(t)) return sure;
    if (/^@\s*[\r\n]/.test(t) && /^\*\s*(PASS|FAIL)\s*\*\s*$/m.test(t) && /D\.T\s*:/.test(t)) {
      return sure;
    }
    return 0;
  },
  convert(input: ConvertInput): WsjfReport[] {
    const params = parseParams(input.params, paramsSchema, "takaya");
    const { text } = decodeText(input.bytes, { encoding: params.encoding });
    const file = parseFile(text, input.name, params.variant);
    const reports: WsjfReport[] = [];
    file.units.forEach((unit, index) => {
      reports.push(buildUnit(unit, index, file, input, params));
    });
    return reports;
  },
};

/** Reads the file with the reader for its layout (by content, or as `variant` says). */
function parseFile(text: string, name: string, variant: Params["variant"]): TakayaFile {
  const body = text.replace(/^\uFEFF/, "").trimStart();
  const isAtdx = /^#+\s*"/.test(body);
  const isAtd = /^@\s*(\r?\n|\r|$)/.test(body);
  if (!isAtdx && !isAtd) {
    const first = body.split(/\r?\n|\r/, 1)[0] ?? "";
    throw new ConversionError(
      `${name}: line 1: this is not a TAKAYA ATD or ATDX file (first line is "${
        first.slice(0, 60)
      }")`,
      'A TAKAYA ATD file starts with an "@" line, an ATDX file with #…"Main header"…#; ' +
        "check the converter's format setting.",
    );
  }
  let file: TakayaFile;
  try {
    file = isAtdx ? parseAtdx(text) : parseAtd(text);
  } catch (e) {
    if (e instanceof TakayaSyntaxError && e.cut) {
      throw cutShortError(name, `line ${e.line}`, e.message);
    }
    if (e instanceof TakayaSyntaxError) {
      throw new ConversionError(
        `${name}: line ${e.line}: ${e.message}`,
        "The TAKAYA file is damaged or incomplete, or in a layout this converter does not " +
          "know; check the file the tester wrote.",
      );
    }
    throw e;
  }
  if (variant !== "auto" && variant !== file.variant) {
    throw new ConversionError(
      `${name}: the file is a TAKAYA ${label(file.variant)} file, but the converter's ` +
        `"variant" parameter says ${label(variant)}`,
      'Set "variant" to "auto" or to the layout this folder receives.',
    );
  }
  return file;
}

function label(v: TakayaVariant): string {
  return v === "atd" ? "ATD (tab)" : v === "apt94xx" ? "APT94xx ATD (quoted)" : "ATDX";
}

interface SerialParts {
  sn: string;
  batch?: string;
  tokens: string[];
}

/** Splits `21272 - BU0296 (AT21 - OP819)` into batch, serial and the parenthesised tokens. */
function splitSerial(raw: string, format: Params["serialFormat"]): SerialParts {
  const m = /^(.*?)\s*\(([^()]*)\)\s*$/.exec(raw);
  if (format === "plain" || !m) return { sn: raw.trim(), tokens: [] };
  const tokens = m[2].split(/\s+-\s+|\s*,\s*/).map((s) => s.trim()).filter((s) => s !== "");
  const dash = /^(.+?)\s*-\s*(.+)$/.exec(m[1]);
  return dash ? { sn: dash[2].trim(), batch: dash[1].trim(), tokens } : { sn: m[1].trim(), tokens };
}

/** Part number and revision from the `Model:` text. */
function modelParts(
  model: string,
  variant: TakayaVariant,
  pattern: string | undefined,
): { pn?: string; rev?: string; suffix?: string } {
  if (pattern !== undefined) {
    const g = new RegExp(pattern).exec(model)?.groups;
    return { pn: g?.pn?.trim() || undefined, rev: g?.rev?.trim() || undefined };
  }
  if (variant === "atdx") {
    const [pn, ...rest] = model.trim().split(/\s+/);
    return { pn: pn || undefined, suffix: rest.join(" ") || undefined };
  }
  return { pn: model.trim().replace(/\.[A-Za-z]{2,4}\d*$/, "") || undefined };
}

function buildUnit(
  unit: TakayaUnit,
  index: number,
  file: TakayaFile,
  input: ConvertInput,
  params: Params,
): WsjfReport {
  const h = unit.header;
  const groupSerial = file.variant === "atdx" ? "" : unit.groups[0]?.serial ?? "";
  const rawSerial = groupSerial || h.serial;
  const serial = splitSerial(rawSerial, params.serialFormat);
  if (serial.sn === "") {
    throw new ConversionError(
      `${input.name}: line ${unit.groups[0]?.line ?? h.line}: no serial number for unit ${
        index + 1
      }`,
      "Configure the tester to write a serial number (Serial No.) for every board.",
    );
  }
  const date = readTakayaDate(h.date, params.dateOrder, input.name);
  if (date === null) {
    throw new ConversionError(
      `${input.name}: line ${h.line}: the test date "${h.date}" is missing or is not a real ` +
        `date in ${params.dateOrder === "auto" ? "any day/month/year order" : params.dateOrder}`,
      'Set the converter parameter "dateOrder" ("dmy", "mdy" or "ymd") to the order the ' +
        "tester writes.",
    );
  }
  const model = modelParts(h.model, file.variant, params.modelPattern);
  const [token1, token2] = serial.tokens;
  const stationFromSerial = params.serialTokens === "station-operator";
  const testTime = parseNumber(h.testTime.replace(/\s*s(ec)?\.?$/i, ""));

  // The tester's verdict for the unit: the group's, or the worst group's. A word that is not a
  // verdict is an error: read as "no verdict", the steps could turn it into a pass.
  const given = file.variant === "atdx"
    ? unit.groups.map((g) => ({ word: g.verdict, line: g.line }))
    : unit.groups.length === 1 && unit.groups[0].verdict !== ""
    ? [{ word: unit.groups[0].verdict, line: unit.groups[0].line }]
    : [{ word: h.verdict, line: h.line }];
  const verdicts = given.filter((v) => v.word !== "").map((v) => {
    const r = unitVerdict(v.word);
    if (r === undefined) {
      throw new ConversionError(
        `${input.name}: line ${v.line}: unknown ${
          file.variant === "atdx" ? "group" : "board"
        } verdict "${v.word}"`,
        "Expected PASS or FAIL; check that the file is an unmodified TAKAYA result file.",
      );
    }
    return r;
  });
  const fileResult = verdicts.length === 0
    ? undefined
    : verdicts.reduce<StepStatus>(worse, "P") as ReportResult;

  const groupNo = Number(unit.groups[0]?.no);
  const rb = new ReportBuilder(input, params, {
    sn: serial.sn,
    pn: model.pn,
    rev: model.rev,
    start: date.naive,
    result: fileResult,
    operator: h.userName || (stationFromSerial ? token2 : token1),
    machineName: h.testerId || (stationFromSerial ? token1 : undefined),
    execTime: testTime !== undefined && Number.isFinite(testTime) ? testTime : undefined,
    batchSN: serial.batch,
    testSocketIndex: file.variant !== "atdx" && unit.groups[0]?.no !== "" &&
        Number.isInteger(groupNo)
      ? groupNo
      : undefined,
    unitIndex: index,
    sequence: { name: h.model || undefined },
  });
  if (rawSerial !== serial.sn) rb.misc("Serial No.", rawSerial);
  if (!stationFromSerial && token2 !== undefined) rb.misc("Operator 2", token2);
  if (model.suffix !== undefined) rb.misc("Model suffix", model.suffix);
  if (h.model !== "" && h.model !== model.pn) rb.misc("Model", h.model);
  for (const [k, v] of h.extra) if (v !== "") rb.misc(k || "Header", v);
  const counters = Object.entries(
    unit.groups.length === 1 && file.variant !== "atdx"
      ? { ...h.counters, ...unit.groups[0].counters }
      : h.counters,
  );
  if (counters.length > 0) rb.misc("Counters", counters.map(([k, v]) => `${k}:${v}`).join(" "));
  if (file.variant === "atdx") {
    const sides = [...new Set(unit.groups.map((g) => g.side).filter((s) => s !== ""))];
    if (sides.length > 0) rb.misc("Side", sides.join(", "));
    rb.misc("Attempt", `${index + 1} of ${file.units.length}`);
  }

  for (const g of unit.groups) {
    for (const s of g.skipped ?? []) {
      rb.warn(`line ${s.line}: ${s.text}; skipped`);
    }
  }
  let anyFailed = false;
  for (const g of unit.groups) {
    const seq: SequenceBuilder = file.variant === "atdx"
      ? rb.root.sequence(`Group ${g.no}${g.side ? ` side ${g.side}` : ""}`, {
        status: unitVerdict(g.verdict),
      })
      : rb.root;
    for (const row of g.rows) anyFailed = addRow(seq, row) || anyFailed;
  }
  const computed = anyFailed ? "F" : "P";
  if (fileResult !== undefined && fileResult !== computed) {
    const word = { P: "PASS", F: "FAIL", E: "ERROR", T: "TERMINATED" } as const;
    rb.misc(
      "TesterStatus",
      `tester verdict ${word[fileResult]}; step verdicts give ${word[computed]}`,
    );
  }
  return rb.build();
}

/** Adds one row as a step; returns true when the tester failed it. */
function addRow(seq: SequenceBuilder, row: TakayaRow): boolean {
  const name = stepName(row);
  const verdict = rowVerdict(row.judgement);
  const kind = functionKind(row.func);
  const t1 = quantity(row.test1, row.test1Unit);
  const t2 = quantity(row.test2, row.test2Unit || row.test1Unit);
  const plus = parseTolerance(row.tolPlus);
  const minus = parseTolerance(row.tolMinus);
  const text = describe(row, plus, minus, t1 !== undefined && t2 !== undefined);
  if (kind === "skip" || verdict === "S") {
    seq.action(name, { status: "S", reportText: text });
    return false;
  }
  let measured = t2 ?? t1;
  const ref = quantity(row.ref, row.refUnit);
  if (measured === undefined) {
    seq.passFail(name, { status: verdict }, { reportText: text });
    return verdict === "F";
  }
  if (measured.unit === "" && ref !== undefined) measured = { ...measured, ...unitOf(ref) };
  const refValue = ref === undefined ? undefined : inUnitOf(ref, measured);
  const limits = refValue === undefined
    ? { compOp: "LOG" }
    : limitsFor(kind, refValue, plus, minus);
  seq.numeric(name, {
    value: measured.value,
    unit: measured.unit || undefined,
    status: verdict,
    ...limits,
  }, { reportText: text });
  return verdict === "F";
}

function unitOf(q: Quantity): Pick<Quantity, "unit" | "base" | "scale"> {
  return { unit: q.unit, base: q.base, scale: q.scale };
}

/**
 * Absolute limits from a reference and percentage tolerances (see module doc). Short and open
 * tests compare against the reference only when the row gives no (or zero) tolerance (ATDX
 * writes the threshold there); with tolerances (ATD, APT94xx) the reference is a learned value and the
 * tester's threshold is not in the file: real files pass opens at 286.5 Ω against "400 Ω −5%"
 * and shorts at 0.48 Ω against "0.00 Ω +30%", so those rows are only logged.
 */
function limitsFor(
  kind: ReturnType<typeof functionKind>,
  ref: number,
  plus: number | undefined,
  minus: number | undefined,
): { compOp: string; low?: number; high?: number; limit?: number } {
  const up = tidy(ref * (1 + (plus ?? 0) / 100));
  const down = tidy(ref * (1 - (minus ?? 0) / 100));
  const noTolerance = (plus ?? 0) === 0 && (minus ?? 0) === 0;
  switch (kind) {
    case "range":
      if (plus === undefined && minus === undefined) return { compOp: "EQ", limit: ref };
      return { compOp: "GELE", low: Math.min(up, down), high: Math.max(up, down) };
    case "below":
      return { compOp: "LE", limit: up };
    case "above":
      return { compOp: "GE", limit: down };
    case "short":
      return noTolerance ? { compOp: "LE", limit: ref } : { compOp: "LOG" };
    case "open":
      return noTolerance ? { compOp: "GE", limit: ref } : { compOp: "LOG" };
    default:
      return { compOp: "LOG" };
  }
}

function stepName(row: TakayaRow): string {
  const parts = [row.parts, row.hNet || row.hPin, row.lNet || row.lPin]
    .filter((s) => s !== "" && s !== "*");
  return parts.length > 0 ? parts.join("_") : `Step ${row.step}`;
}

/** The row's reference, tolerances, function, part value and tester verdict, as text. */
function describe(
  row: TakayaRow,
  plus: number | undefined,
  minus: number | undefined,
  remeasured: boolean,
): string {
  const out: string[] = [];
  if (row.ref !== "" && row.ref[0] !== ".") {
    const u = parseUnit(row.refUnit).unit;
    const tol = plus === undefined && minus === undefined
      ? ""
      : ` (${plus === undefined ? "" : `+${plus}%`}${
        plus !== undefined && minus !== undefined ? " / " : ""
      }${minus === undefined ? "" : `-${minus}%`})`;
    out.push(`Reference ${row.ref}${u ? ` ${u}` : ""}${tol}`);
  }
  if (row.func !== "") out.push(`function ${row.func}`);
  const value = row.value === "*" ? "" : row.value + (row.valueUnit ? ` ${row.valueUnit}` : "");
  const part = value === "" ? row.comment : row.comment === "" ? value : `${value} ${row.comment}`;
  if (part !== "" && part !== "*") out.push(`part ${part}`);
  if (remeasured) {
    const u = parseUnit(row.test1Unit).unit;
    out.push(`first measurement ${row.test1}${u ? ` ${u}` : ""}`);
  }
  const mode = [row.mode, row.range, row.time].filter((s) => s !== "" && s !== "*").join(" ");
  if (mode !== "") out.push(mode);
  if (row.judgement !== "" && row.judgement.toUpperCase() !== "PASS") {
    out.push(`tester verdict ${row.judgement}`);
  }
  out.push(`step ${row.step}`);
  return out.join("; ");
}
