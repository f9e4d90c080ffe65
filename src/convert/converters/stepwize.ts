/**
 * `stepwize`: StepWize `CONFIG_AND_RESULTS.XSPC` files (XML, root `ConfigAndResultsDataFile`,
 * usually without an XML declaration). One file = one unit.
 *
 * Header (`ConfigandResultsData`): `sn` = `serialNumber`; `pn` = `partNumber` (else
 * `modelNumber`); `rev` = `revision` (else `partRev`); the process is a **name**
 * (`operation`, e.g. "SW Debug"), resolved through the `processCodes` parameter (else
 * `processCode`, the name kept as a misc info); root sequence = `sourceFile`, version = `build`
 * (else `version`); `result` = `sequencePF` (Pass/Fail/Incomplete/Aborted/Error).
 *
 * Rows (`Config_and_Data_Result`, flat): consecutive rows with the same `stepName` form one
 * sequence call; each row is a step named `subItemName` (else `genus`). `dataType` 0 → numeric
 * step (`stepValue`, `units`, limits by `limitMode`; a row whose `measurementOutcome` is
 * "Performed- Record Only" is logged without limits), 1 → pass/fail (`boolValue`), 2 → an action
 * whose report text is `stringValue`. Step verdict = `stepOutcome`, measurement verdict =
 * `measurementOutcome`. `startDateTime` (naive, station zone) → step start, `totalTime` → step
 * time; unit start = the first row's start, `execTime` = last end − first start. Operator = the
 * rows' `operator` (else `operatorStamp`); the `assetID`s → misc infos.
 *
 * Refused: an unknown `limitMode`, `dataType` or verdict (named in the message; never read as a
 * pass), a file without a serial number or rows.
 *
 * @module
 */
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { parseNumber } from "../number.ts";
import { converterParams, parseParams } from "../params.ts";
import { clip, headText } from "../text.ts";
import { isoToEpochMs } from "../time.ts";
import { ReportBuilder } from "../../wsjf/builder.ts";
import { type SequenceBuilder } from "../../wsjf/step_builder.ts";
import { parseStepStatus } from "../../wsjf/status_codes.ts";
import { child, childrenNamed, parseXmlBytes, textOf, xmlRoot } from "../xml.ts";

const paramsSchema = converterParams();

/** `limitMode` text (spaces and case ignored) → comparison operator. */
const LIMIT_MODES: Readonly<Record<string, string>> = {
  "ll<=value<=ul": "GELE",
  "ll<value<ul": "GTLT",
  "ll<=value<ul": "GELT",
  "ll<value<=ul": "GTLE",
  "value>ll": "GT",
  "value>=ll": "GE",
  "value<ul": "LT",
  "value<=ul": "LE",
  "value=ll": "EQ",
  "value==ll": "EQ",
  "value!=ll": "NE",
  "value<>ll": "NE",
  "none": "LOG",
  "": "LOG",
};

/** "Performed- Record Only" (and other "Performed…" outcomes): a value recorded, not judged. */
const RECORD_ONLY = /^performed\b/i;

/** The StepWize converter. */
export const converter: Converter = {
  name: "stepwize",
  params: paramsSchema,
  description: "StepWize CONFIG_AND_RESULTS.XSPC (ConfigAndResultsDataFile XML); one unit",
  pattern: "*.XSPC",
  detect({ head }) {
    // The root element decides: the .XSPC name alone proves nothing.
    return xmlRoot(headText(head))?.local === "ConfigAndResultsDataFile" ? 0.95 : 0;
  },
  convert(input: ConvertInput): WsjfReport[] {
    const params = parseParams(input.params, paramsSchema, "stepwize");
    const root = parseXmlBytes(input.bytes, { name: input.name, encoding: params.encoding });
    if (root.local !== "ConfigAndResultsDataFile") {
      throw new ConversionError(
        `${input.name} is not a StepWize file: the XML root is <${root.name}>, expected ` +
          "<ConfigAndResultsDataFile>",
        "Check the converter's format setting for this folder.",
      );
    }
    const head = child(root, "ConfigandResultsData");
    if (head === undefined) {
      throw new ConversionError(`${input.name}: no <ConfigandResultsData> header`);
    }
    const f = (name: string) => textOf(child(head, name));
    const rows = childrenNamed(
      child(head, "Config_and_Result_Data") ?? head,
      "Config_and_Data_Result",
    );
    if (rows.length === 0) {
      throw new ConversionError(
        `${input.name}: no <Config_and_Data_Result> rows (serial ${f("serialNumber") || "none"})`,
        "The sequence wrote no results; check that the file is complete.",
      );
    }
    const resultText = f("sequencePF");
    const result = resultText === "" ? undefined : verdict(resultText, `${input.name}: sequencePF`);
    const first = textOf(child(rows[0], "startDateTime"));
    if (first === "") {
      throw new ConversionError(`${input.name}: the first result row has no startDateTime`);
    }
    const rb = new ReportBuilder(input, params, {
      sn: f("serialNumber"),
      pn: f("partNumber") || f("modelNumber") || undefined,
      rev: f("revision") || f("partRev") || undefined,
      processName: f("operation") || undefined,
      start: first,
      result,
      operator: rows.map((r) => textOf(child(r, "operator"))).find((o) => o !== "") ||
        rows.map((r) => textOf(child(r, "operatorStamp"))).find((o) => o !== "") || undefined,
      sequence: {
        name: f("sourceFile") || undefined,
        version: f("build") || f("version") || undefined,
      },
    });
    for (const key of ["workOrder", "partDescription", "resultSetID"]) {
      if (f(key) !== "") rb.misc(key, f(key));
    }
    const assets = [...new Set(rows.map((r) => textOf(child(r, "assetID"))).filter((a) => a))];
    for (const a of assets) rb.misc("Asset ID", a);

    let seq: SequenceBuilder | undefined;
    let seqName: string | undefined;
    let lastEnd = NaN;
    for (const row of rows) {
      const g = (name: string) => textOf(child(row, name));
      const where = `${input.name}: line ${row.line}`;
      const stepName = g("stepName") || `Step (line ${row.line})`;
      if (seq === undefined || stepName !== seqName) {
        seq = rb.root.sequence(stepName);
        seqName = stepName;
      }
      const name = g("subItemName") || g("genus") || stepName;
      const start = g("startDateTime");
      const opts = {
        status: g("stepOutcome") === ""
          ? undefined
          : verdict(g("stepOutcome"), `${where}: stepOutcome`),
        start: start || undefined,
        totTime: finite(parseNumber(g("totalTime"))),
      };
      const outcome = g("measurementOutcome");
      const recordOnly = RECORD_ONLY.test(outcome);
      const measStatus = outcome === "" || recordOnly
        ? undefined
        : verdict(outcome, `${where}: measurementOutcome`);
      const type = g("dataType");
      if (type === "0") {
        const mode = g("limitMode");
        const op = recordOnly ? "LOG" : LIMIT_MODES[mode.replace(/\s+/g, "").toLowerCase()];
        if (op === undefined) {
          throw new ConversionError(
            `${where}: step "${stepName}/${name}": unknown limitMode "${mode}"`,
            'Expected one like "LL <= Value <= UL", "Value > LL" or "Value <= UL"; report this ' +
              "file to the agent's maintainers.",
          );
        }
        const value = number(g("stepValue"), `${where}: stepValue`);
        const low = number(g("lowerLimit"), `${where}: lowerLimit`);
        const high = number(g("upperLimit"), `${where}: upperLimit`);
        const lowSide = op.startsWith("G") || op === "EQ" || op === "NE";
        seq.numeric(name, {
          value,
          compOp: op,
          low: op.length === 4 ? low : undefined,
          high: op.length === 4 ? high : undefined,
          limit: op.length === 2 ? (lowSide ? low : high) : undefined,
          unit: g("units") || undefined,
          status: measStatus,
        }, opts);
      } else if (type === "1") {
        const b = g("boolValue").toUpperCase();
        seq.passFail(name, {
          passed: b === "T" || b === "TRUE" ? true : b === "F" || b === "FALSE" ? false : undefined,
          status: measStatus ?? opts.status,
        }, opts);
      } else if (type === "2") {
        seq.action(name, { ...opts, reportText: g("stringValue") || undefined });
      } else {
        throw new ConversionError(
          `${where}: step "${stepName}/${name}": unknown dataType "${type}"`,
          "Expected 0 (numeric), 1 (pass/fail) or 2 (action); report this file to the agent's " +
            "maintainers.",
        );
      }
      const end = g("endDateTime");
      if (end !== "") lastEnd = epochOf(rb, end, `${where}: endDateTime`);
    }
    const startMs = epochOf(rb, first, `${input.name}: startDateTime`);
    if (Number.isFinite(lastEnd) && lastEnd >= startMs) {
      rb.header.execTime = (lastEnd - startMs) / 1000;
    }
    return [rb.build()];
  },
};

/** Pass/Fail/Incomplete… → a status letter; anything else is refused, never read as a pass. */
function verdict(text: string, where: string): string {
  const s = parseStepStatus(text);
  if (s !== undefined) return s;
  const t = text.trim().toLowerCase();
  if (/^(incomplete|aborted?|stopped|cancell?ed)$/.test(t)) return "T";
  throw new ConversionError(
    `${where}: unknown verdict "${text}"`,
    "Expected Pass, Fail, Incomplete, Aborted or Error; report this file to the agent's " +
      "maintainers.",
  );
}

function number(text: string, where: string): number | undefined {
  const v = parseNumber(text);
  if (v !== undefined && Number.isNaN(v) && !/nan/i.test(text)) {
    throw new ConversionError(`${where}: "${clip(text)}" is not a number`);
  }
  return v;
}

function finite(v: number | undefined): number | undefined {
  return v !== undefined && Number.isFinite(v) && v >= 0 ? v : undefined;
}

function epochOf(rb: ReportBuilder, text: string, where: string): number {
  return isoToEpochMs(rb.time(text, where));
}
