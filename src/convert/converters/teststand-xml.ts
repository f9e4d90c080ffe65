/**
 * NI TestStand XML reports (docs/converters.md, `teststand-xml`).
 *
 * **What it reads.** Both shapes TestStand stations leave in a folder:
 * - the process model's XML report (`<?xml … encoding="iso-8859-1"?>`, a stylesheet
 *   instruction, `<Reports><Report Type='UUT' UUTResult=…>` with serialised `<Prop>` trees),
 *   with or without the WATS TestStand types installed;
 * - the WATS TestStand add-on dump (UTF-8 with BOM, `<TSReport>` with `<ReportInfo key=…>`).
 *
 * Encoding: BOM, then the XML declaration (ISO-8859-1 in every TestStand report), then UTF-8,
 * else Windows-1252; the `encoding` parameter overrides. Batch and parallel process models put
 * several `<Report>` elements in one file: **one report per UUT report** (`Type='Batch'`
 * summaries are skipped), ids from (file, report index) unless the dump carries a report `ID`.
 *
 * | WSJF | Source |
 * |---|---|
 * | `id` | ReportInfo `ID`, else derived from the file and the unit index |
 * | `sn` / `pn` / `rev` | ReportInfo SN/PN/Rev, else UUT.SerialNumber / UUTPartNumber (else PartNumber) / UUTPartRevisionNumber; else params |
 * | `processCode` | ReportInfo PCode, else UUT.UUTOperationType (> 0), else param `processCode` (default 10) |
 * | `start` | ReportInfo Start (its own offset), else StartDate + StartTime in the station time zone; the year comes from the date text (TestStand's `Year` can be wrong) |
 * | `result` | the MainSequence status (Passed/Failed/Error/Terminated), else `UUTResult` |
 * | `machineName`, `uut.user`, `location`, `purpose` | StationInfo StationID, LoginName, Location, Purpose |
 * | `uut.*` | execTime = MainSequence TotalTime; error code/message (when an error occurred); comment; fixture id; batch serial; socket index (≥ 0); batch loop index; batch fail count; `stepIdCausedUUTFailure` from the critical failure stack |
 * | misc infos / sub units / `additionalData` | Misc_UUT_Info / UUT_Part_Info / UUT.AdditionalData |
 * | root `seqCall` | MainSequence file, name and version |
 *
 * Steps follow the result lists in file order (see `teststand/step_tree.ts` for the mapping
 * shared with the `atml` converter): sequence calls nest, post-action results follow their
 * step; numeric (`Numeric`, `Limits.Low/High`, `Comp`, `Units`; EQT thresholds → absolute
 * limits), multiple numeric / string / pass-fail (`Measurement[]`), pass/fail (`PassFail`),
 * string value (`String`, `Limits.String`), message popup (`ButtonHit`, `Response`), call
 * executable (`ExitCode`), loops (`TS.LoopIndex`, `TS.NumLoops` …), WATS charts (`Chart`), step
 * XML data (`XMLString` → attachment), `AdditionalResults`, error, report text, step group,
 * times (start from `TS.StartTime`). Verdicts are the file's (import mode by default).
 *
 * Params: the shared ones (params.ts): `partNumber`, `partRevision`, `processCode` for files
 * without WATS types; `stationName`, `operator`, `location`, `purpose`, `timeZone`,
 * `encoding`, `testMode`, `sequenceVersion`.
 *
 * @module
 */
import type { Converter, ConvertInput, WsjfReport } from "../contract.ts";
import { converterParams, parseParams } from "../params.ts";
import { headText } from "../text.ts";
import { parseXmlBytes, xmlRoot } from "../xml.ts";
import { buildUnit } from "./teststand/step_tree.ts";
import { parseTestStandXml } from "./teststand/tsxml.ts";

const paramsSchema = converterParams();

/** Recognises a TestStand XML report from its first bytes. */
export function detectTestStandXml(head: Uint8Array): number {
  const text = headText(head);
  const root = xmlRoot(text);
  if (root === null || root.ns !== "") return 0;
  if (root.local === "TSReport") {
    return /<ReportInfo\b|<Prop\b/.test(text) ? 0.95 : 0.6;
  }
  if (root.local === "Reports" || root.local === "Report") {
    if (/<Report\b[^>]*\bType\s*=\s*['"](UUT|Batch)['"]/i.test(text)) return 0.95;
    if (/<Prop\s+Name\s*=/.test(text)) return 0.9;
    return root.local === "Reports" ? 0.3 : 0.2;
  }
  return 0;
}

export const converter: Converter = {
  name: "teststand-xml",
  params: paramsSchema,
  description: "NI TestStand XML report (<Reports> from the process model, or the WATS add-on " +
    "<TSReport> dump); one report per UUT",
  pattern: "*.xml",
  detect({ head }) {
    return detectTestStandXml(head);
  },
  convert(input: ConvertInput): WsjfReport[] {
    const params = parseParams(input.params, paramsSchema, "teststand-xml");
    const root = parseXmlBytes(input.bytes, { encoding: params.encoding, name: input.name });
    const units = parseTestStandXml(root, {
      timeZone: params.timeZone ?? input.station.timeZone,
      fileName: input.name,
    });
    return units.map((unit) => buildUnit(input, params, unit));
  },
};
