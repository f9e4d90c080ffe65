/**
 * `virinco-xml`: the small XML test report of Virinco's converter example
 * (docs/converters.md, `virinco-xml`), the simplest end-to-end format: a header and sequences of numeric, string and
 * pass/fail tests.
 *
 * ```xml
 * <TestReport>
 *   <Header>
 *     <SerialNumber>12345</SerialNumber> <PartNumber>Part1</PartNumber> <Revision>1.0</Revision>
 *     <StartDate>2017-04-20 12:01:30</StartDate> <ExecutionTime>20.5</ExecutionTime>
 *     <OperationTypeCode>50</OperationTypeCode> <Operator>Ragnar</Operator>
 *   </Header>
 *   <Sequence Name="Main">
 *     <NumericTest Name="V" Measure="4.56" LowLim="4" HighLim="5" Unit="V"/>
 *     <StringTest Name="SW" Measure="3.4" Limit="3.4"/>
 *     <PassFailTest Name="LED" Measure="True"/>
 *   </Sequence>
 * </TestReport>
 * ```
 *
 * **One report per file.** The file has no verdicts: every status is computed from values and
 * limits, and failures ripple up to the report result.
 *
 * | WSJF | Source |
 * |---|---|
 * | `sn` / `pn` / `rev` | `SerialNumber` / `PartNumber` / `Revision` (else the parameters) |
 * | `start` | `StartDate` (`yyyy-MM-dd HH:mm:ss`, or ISO 8601 with an offset; station time zone) |
 * | `uut.execTime` | `ExecutionTime` (s) |
 * | `processCode` | `OperationTypeCode` (else the `processCode` parameter) |
 * | `uut.user` | `Operator` |
 * | root `seqCall` | the `sequenceName` / `sequenceVersion` parameters (Virinco's `sequenceFile`) |
 *
 * Steps: `<Sequence Name>` → a sequence call (sequences may nest); `NumericTest` → a numeric
 * step, value `Measure`, `LowLim`/`HighLim` → GELE (one of them → GE or LE, none → LOG),
 * `Unit`; `StringTest` → a string step, `Measure` against `Limit` ignoring case (IGNORECASE, as
 * Virinco's example does; no `Limit` → LOG); `PassFailTest` → a pass/fail step, `Measure`
 * True/False (also Passed/Failed, 1/0). Virinco's example reads every PassFailTest as failed
 * (it compares the lower-cased text with "True"); this converter reads the value.
 *
 * Refused: another root, no `<Header>`, a number that is not a number, an unreadable
 * StartDate, a `Measure` missing from a test, a pass/fail value that is not true or false.
 * Unknown header keys and elements are skipped with a warning.
 *
 * @module
 */
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { isNumberText, parseInteger, parseNumber } from "../number.ts";
import { type CommonParams, converterParams, parseParams } from "../params.ts";
import { clip, headText } from "../text.ts";
import { parseIsoDateTime } from "../time.ts";
import { ReportBuilder } from "../../wsjf/builder.ts";
import { type SequenceBuilder } from "../../wsjf/step_builder.ts";
import { attr, child, parseXmlBytes, textOf, type XmlElement, xmlRoot } from "../xml.ts";

const paramsSchema = converterParams();

/** Header elements the converter reads. */
const HEADER_KEYS: ReadonlySet<string> = new Set([
  "SerialNumber",
  "PartNumber",
  "Revision",
  "StartDate",
  "ExecutionTime",
  "OperationTypeCode",
  "Operator",
]);

/** The converter for Virinco's example XML. */
export const converter: Converter = {
  name: "virinco-xml",
  params: paramsSchema,
  description: "Virinco's converter-example XML (<TestReport><Header> with <Sequence> of " +
    "NumericTest/StringTest/PassFailTest); one report per file",
  pattern: "*.xml",
  detect({ head }) {
    const text = headText(head);
    const root = xmlRoot(text);
    if (root === null || root.local !== "TestReport" || root.ns !== "") return 0;
    if (/<Header\b/.test(text) && /<SerialNumber\b/.test(text)) return 0.85;
    return 0.3;
  },
  convert(input: ConvertInput): WsjfReport[] {
    const params = parseParams(input.params, paramsSchema, "virinco-xml");
    const root = parseXmlBytes(input.bytes, { encoding: params.encoding, name: input.name });
    if (root.local !== "TestReport") {
      throw new ConversionError(
        `${input.name} is not a Virinco example report: the XML root is <${root.name}>, ` +
          "expected <TestReport>",
        "Check the converter's format setting for this folder.",
      );
    }
    return [buildReport(input, params, root)];
  },
};

function buildReport(input: ConvertInput, params: CommonParams, root: XmlElement): WsjfReport {
  const file = input.name;
  const header = child(root, "Header");
  if (header === undefined) {
    throw new ConversionError(
      `${file}: <TestReport> on line ${root.line} has no <Header>`,
      "Check that the file is complete and is a Virinco example report.",
    );
  }
  const warnings: string[] = [];
  const h = new Map<string, XmlElement>();
  for (const c of header.children) {
    if (!HEADER_KEYS.has(c.local)) {
      warnings.push(`line ${c.line}: unknown header element <${c.name}> skipped`);
    } else if (!h.has(c.local)) h.set(c.local, c);
  }
  const text = (k: string) => textOf(h.get(k));

  const startText = text("StartDate");
  const start = startText === ""
    ? null
    : parseIsoDateTime(startText, params.timeZone ?? input.station.timeZone);
  if (start === null) {
    throw new ConversionError(
      `${file}: <StartDate> ${where(h.get("StartDate"), header)}` +
        (startText === "" ? "is missing or empty" : `"${clip(startText)}" is not a date and time`),
      "Expected e.g. <StartDate>2017-04-20 12:01:30</StartDate> (yyyy-MM-dd HH:mm:ss).",
    );
  }
  const execText = text("ExecutionTime");
  const execTime = execText === "" ? undefined : parseNumber(execText, params.decimalSeparator);
  if (execTime !== undefined && !Number.isFinite(execTime)) {
    throw new ConversionError(
      `${file}: <ExecutionTime> on line ${h.get("ExecutionTime")!.line}: "${clip(execText)}" ` +
        "is not a number of seconds",
    );
  }
  const codeText = text("OperationTypeCode");
  const processCode = codeText === "" ? undefined : parseInteger(codeText);
  if (processCode !== undefined && !(Number.isInteger(processCode) && processCode >= 0)) {
    throw new ConversionError(
      `${file}: <OperationTypeCode> on line ${h.get("OperationTypeCode")!.line}: ` +
        `"${clip(codeText)}" is not a process code (a whole number)`,
    );
  }
  const rb = new ReportBuilder(input, params, {
    sn: text("SerialNumber"),
    pn: text("PartNumber") || undefined,
    rev: text("Revision") || undefined,
    start,
    execTime,
    processCode,
    operator: text("Operator") || undefined,
  });
  for (const c of root.children) {
    if (c.local === "Header") continue;
    if (c.local === "Sequence") addSequence(rb.root, c, params, file, warnings);
    else warnings.push(`line ${c.line}: unknown element <${c.name}> in <TestReport> skipped`);
  }
  for (const w of warnings) rb.warn(w);
  return rb.build();
}

function where(el: XmlElement | undefined, parent: XmlElement): string {
  return el === undefined
    ? `(in <${parent.name}> on line ${parent.line}) `
    : `on line ${el.line}: `;
}

function addSequence(
  parent: SequenceBuilder,
  el: XmlElement,
  params: CommonParams,
  file: string,
  warnings: string[],
): void {
  const seq = parent.sequence(attr(el, "Name")?.trim() || `Sequence (line ${el.line})`);
  for (const t of el.children) {
    const name = attr(t, "Name")?.trim() || `${t.local} (line ${t.line})`;
    const at = `${file}: <${t.name}> on line ${t.line}`;
    if (t.local === "Sequence") {
      addSequence(seq, t, params, file, warnings);
    } else if (t.local === "NumericTest") {
      const value = number(t, "Measure", params, at, true)!;
      const low = number(t, "LowLim", params, at, false);
      const high = number(t, "HighLim", params, at, false);
      // Without a compOp the builder infers GELE, GE, LE or LOG from the limits given.
      seq.numeric(name, {
        value,
        low,
        high,
        unit: attr(t, "Unit") || undefined,
      });
    } else if (t.local === "StringTest") {
      const value = attr(t, "Measure");
      if (value === undefined) throw new ConversionError(`${at} has no Measure attribute`);
      const limit = attr(t, "Limit");
      seq.string(name, { value, limit, compOp: limit === undefined ? "LOG" : "IGNORECASE" });
    } else if (t.local === "PassFailTest") {
      const value = attr(t, "Measure");
      if (value === undefined) throw new ConversionError(`${at} has no Measure attribute`);
      const passed = BOOLEAN[value.trim().toLowerCase()];
      if (passed === undefined) {
        throw new ConversionError(
          `${at}: Measure "${clip(value)}" is neither True nor False`,
          "A PassFailTest's Measure must be True or False.",
        );
      }
      seq.passFail(name, { passed });
    } else {
      warnings.push(`line ${t.line}: unknown test element <${t.name}> skipped`);
    }
  }
}

const BOOLEAN: Readonly<Record<string, boolean>> = {
  true: true,
  false: false,
  passed: true,
  failed: false,
  pass: true,
  fail: false,
  "1": true,
  "0": false,
};

function number(
  el: XmlElement,
  name: string,
  params: CommonParams,
  at: string,
  required: boolean,
): number | undefined {
  const text = attr(el, name);
  if (text === undefined || text.trim() === "") {
    if (required) throw new ConversionError(`${at} has no ${name} attribute`);
    return undefined;
  }
  if (!isNumberText(text, params.decimalSeparator)) {
    throw new ConversionError(
      `${at}: ${name} "${clip(text)}" is not a number`,
      params.decimalSeparator === "."
        ? 'If the tester writes a decimal comma, set the parameter decimalSeparator to ",".'
        : "Check the value in the file.",
    );
  }
  return parseNumber(text, params.decimalSeparator);
}
