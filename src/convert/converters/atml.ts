/**
 * IEEE 1636.1 ATML Test Results as NI TestStand writes them (docs/converters.md, `atml`):
 * versions 2.02 (`tr:TestResults`, `http://www.ieee.org/ATML/2007/TestResults`), 5.00
 * (`trc:TestResultsCollection`, `urn:IEEE-1636.1:2011:01:…`) and 6.01
 * (`urn:IEEE-1636.1:2013:…`), each with TestStand's `ts:` extension elements.
 *
 * **What it reads.** Encoding: BOM, then the XML declaration (`iso-8859-1` in TestStand's
 * files, with Latin-1 step names), then UTF-8, else Windows-1252; the `encoding` parameter
 * overrides. A collection may hold several `TestResults` (batch and parallel process models,
 * one per test socket): **one report per `TestResults`**, in file order. The report id is the
 * `TestResults@uuid` (so every UUT of a batch file keeps its own id), else derived from the
 * file and the unit index. Time stamps are local times without a zone → the station's time
 * zone (param `timeZone` overrides).
 *
 * | WSJF | Source |
 * |---|---|
 * | `sn` | `UUT/SerialNumber` (TestStand writes `NONE` when the operator entered none) |
 * | `pn` | `UUT/Definition/Identification/IdentificationNumbers/IdentificationNumber@number`, else param `partNumber` |
 * | `rev`, `processCode` | params `partRevision` (default "1.0"), `processCode` (default 10): ATML has neither |
 * | `start` / `uut.execTime` | `ResultSet@startDateTime` / the root TotalTime (else end − start) |
 * | `result` | `ResultSet/Outcome` (`Aborted`/`UserDefined` → its `qualifier`) |
 * | `machineName` / `uut.user` | `TestStation/SerialNumber` / `Personnel/SystemOperator@ID` |
 * | `uut.testSocketIndex` / `uut.batchSN` | `TSResultSetProperties/TestSocketIndex@value` / `BatchSerialNumber@value` |
 * | `uut.stepIdCausedUUTFailure` | the deepest step on the `CriticalFailureStack` |
 * | `additionalData` | the UUT's TestStand `AdditionalData` collection |
 * | root `seqCall` | `ResultSet@name` = `<sequence file>#<sequence>` |
 *
 * Steps follow the file (mapping shared with `teststand-xml`, see `teststand/step_tree.ts`):
 * `TestGroup` → sequence call; `SessionAction` → generic step (its TestStand type when WATS
 * knows it: Action, Statement, Label, MessagePopup with button/response, CallExecutable with
 * exit code, NI_Flow_*, …); `Test` → numeric (`LimitPair` comparators joined: GE+LE → GELE,
 * an OR pair LT+GT → LTGT; `SingleLimit`; `Expected`, with `ThresholdType` percentage/ppm/delta
 * → absolute limits), multiple numeric (one named `TestResult` each, with its own outcome),
 * string value (`CIEQ` → IGNORECASE), pass/fail (the outcome), WATS ET_MSVT/ET_MPFT collections;
 * values `Infinity`, `NaN`, hex `0x1F` read as numbers. Step group, TotalTime, step id, loop
 * properties, report text and additional data come from TestStand's extension elements.
 *
 * This module is the `atml` converter; the file is read by teststand/atml_reader.ts (the
 * document, one unit per TestResults, and its header) and teststand/atml_steps.ts (the steps).
 *
 * Params: the shared ones (params.ts), chiefly `partNumber`, `partRevision`, `processCode`,
 * `stationName`, `timeZone`, `encoding`, `testMode`, `sequenceVersion`.
 *
 * @module
 */
import type { Converter, ConvertInput, WsjfReport } from "../contract.ts";
import { converterParams, parseParams } from "../params.ts";
import { headText } from "../text.ts";
import { parseXmlBytes, xmlRoot } from "../xml.ts";
import { isAtmlNamespace, parseAtml } from "./teststand/atml_reader.ts";
import { buildUnit } from "./teststand/step_tree.ts";

const paramsSchema = converterParams();

/** Recognises an ATML test results file from its first bytes. */
export function detectAtml(head: Uint8Array): number {
  const root = xmlRoot(headText(head));
  if (root === null) return 0;
  if (root.local !== "TestResults" && root.local !== "TestResultsCollection") return 0;
  return isAtmlNamespace(root.ns) ? 0.95 : 0.3;
}

export const converter: Converter = {
  name: "atml",
  params: paramsSchema,
  description: "IEEE 1636.1 ATML test results (2.02, 5.00, 6.01) as NI TestStand writes them; " +
    "one report per TestResults (UUT)",
  pattern: "*.xml",
  detect({ head }) {
    return detectAtml(head);
  },
  convert(input: ConvertInput): WsjfReport[] {
    const params = parseParams(input.params, paramsSchema, "atml");
    const root = parseXmlBytes(input.bytes, { encoding: params.encoding, name: input.name });
    const units = parseAtml(root, {
      timeZone: params.timeZone ?? input.station.timeZone,
      fileName: input.name,
    });
    return units.map((unit) => buildUnit(input, params, unit));
  },
};
