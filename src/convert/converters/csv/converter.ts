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
 * Parameters: `paramsSchema` in params.ts describes each one (docs/converters.md lists them,
 * generated from it); the shared ones are in ../../params.ts. This file reads the records and
 * the layout (records.ts, layout.ts) and builds each unit's report: header fields, misc infos,
 * and the steps (steps.ts) with their times (times.ts).
 *
 * Mapping: header fields → report header; other key/value lines → misc infos; each step row →
 * a step (numeric when the value is a number, pass/fail when it has only a verdict, string for
 * text values, action for a bare name; a `stepType` column forces the kind); consecutive rows
 * with the same `group` → one sequence call; unknown columns → the step's report text. The
 * file's verdicts are kept (import mode); where a row has none it is computed from the limits.
 *
 * @module
 */
import { ConversionError } from "../../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../../contract.ts";
import { parseInteger } from "../../number.ts";
import { cutShortError, decodeText, unterminatedLastLine } from "../../text.ts";
import { sha256Hex } from "../../ids.ts";
import { ReportBuilder } from "../../../wsjf/builder.ts";
import { type SequenceBuilder } from "../../../wsjf/step_builder.ts";
import { type TimeInput } from "../../../wsjf/build_input.ts";
import { parseReportResult, parseStepStatus } from "../../../wsjf/status_codes.ts";
import {
  HEADER_FIELDS,
  type HeaderField,
  LayoutError,
  type LayoutUnit,
  type Locator,
  readLayout,
  STEP_COLUMNS,
} from "./layout.ts";
import { detectDelimiter, RecordSyntaxError, splitRecords } from "./records.ts";
import { type CsvParams, csvSettings, paramsSchema, type Settings } from "./params.ts";
import { detectCsv } from "./detect.ts";
import { addStep } from "./steps.ts";
import { type HeaderValue, parseDuration, parseStart } from "./times.ts";

/** The configurable delimited-text converter. */
export const converter: Converter = {
  name: "csv",
  params: paramsSchema,
  description:
    "Configurable delimited text (CSV/semicolon/tab): key/value header and/or a step table",
  pattern: "*.csv",
  detect: ({ head, name }) => detectCsv(head, name),
  convert(input: ConvertInput): WsjfReport[] {
    const { params, settings } = csvSettings(input.params);
    const { text } = decodeText(input.bytes, { encoding: params.encoding });
    if (text.trim() === "") {
      throw new ConversionError(
        `${input.name} is empty`,
        "Check that the tester finished writing.",
      );
    }
    const cut = settings.requireLastLineEnd ? unterminatedLastLine(text) : undefined;
    if (cut !== undefined) {
      throw cutShortError(
        input.name,
        `line ${cut}`,
        "the last line has no line end (every line before it has one)",
        'If the tester never ends its last line, set the converter parameter "lastLineEnd": ' +
          '"optional".',
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
