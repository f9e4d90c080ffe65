/**
 * Reader of IEEE 1636.1 ATML Test Results as TestStand writes them (docs/converters.md, `atml`):
 * the document into {@link TsUnit}s, one per `TestResults`. Versions are told apart by
 * namespace and handled alike, by local names: 2.02 (`tr:TestResults`, one unit, the
 * MainSequence as a `TestGroup` in the `ResultSet`), 5.00 and 6.01 (`trc:TestResultsCollection`
 * holding one `TestResults` per unit: batch and parallel models write several; the steps sit
 * directly in the `ResultSet`).
 *
 * Header: id = `TestResults@uuid`; `sn` = `UUT/SerialNumber`; `pn` = the UUT's
 * `IdentificationNumber@number` (type Part first); operator = `SystemOperator@ID` (else
 * `@name`); `machineName` = `TestStation/SerialNumber`; `start` = `ResultSet@startDateTime`
 * (local time without zone → the station's zone); `execTime` = the root TotalTime, else end −
 * start; result = `ResultSet/Outcome`; sequence = `ResultSet@name` (`<file>#<sequence>`);
 * socket index and batch serial from `TSResultSetProperties` (their `value` attribute); the
 * critical failure stack marks the failing steps; UUT AdditionalData → `additionalData`.
 *
 * The steps are read by atml_steps.ts, the values inside elements by atml_data.ts.
 *
 * @module
 */
import { ConversionError } from "../../conversion_error.ts";
import { normalizeGuid } from "../../ids.ts";
import { parseIsoDateTime } from "../../time.ts";
import type { ReportHeader } from "../../../wsjf/build_input.ts";
import type { AdditionalData } from "../../../wsjf/report.ts";
import { child, textOf, type XmlElement } from "../../xml.ts";
import {
  finiteOf,
  intOf,
  isStepElement,
  itemProperty,
  outcomeWord,
  path,
  stepProperties,
  valueOf,
} from "./atml_data.ts";
import { AtmlStepReader } from "./atml_steps.ts";
import { instantMs, StepClock } from "./step_clock.ts";
import { nonEmpty, type TsUnit } from "./step_tree.ts";

/** What the parser needs besides the XML. */
export interface AtmlContext {
  /** IANA zone of naive times. */
  timeZone: string;
  /** File name, for messages. */
  fileName: string;
}

/** Namespaces of the TestResults root per version (for detection and messages). */
export const ATML_NAMESPACES: Readonly<Record<string, string>> = {
  "http://www.ieee.org/ATML/2007/TestResults": "2.02",
  "urn:IEEE-1636.1:2006:TestResults": "2.02",
  "urn:IEEE-1636.1:2011:01:TestResultsCollection": "5.00",
  "urn:IEEE-1636.1:2011:01:TestResults": "5.00",
  "urn:IEEE-1636.1:2013:TestResultsCollection": "6.01",
  "urn:IEEE-1636.1:2013:TestResults": "6.01",
};

/** Whether a namespace is an ATML TestResults(-Collection) namespace. */
export function isAtmlNamespace(ns: string): boolean {
  return ns in ATML_NAMESPACES || /IEEE-1636\.1|ieee\.org\/ATML/i.test(ns);
}

/** The units of an ATML TestResults document, in file order. */
export function parseAtml(root: XmlElement, ctx: AtmlContext): TsUnit[] {
  let results: XmlElement[];
  if (root.local === "TestResults") results = [root];
  else if (root.local === "TestResultsCollection") {
    results = root.children.filter((c) => c.local === "TestResults");
  } else {
    throw new ConversionError(
      `${ctx.fileName}: the root element is <${root.name}>, not an ATML <TestResults> or ` +
        "<TestResultsCollection>",
      "This is not an IEEE 1636.1 ATML test results file; check the converter's format setting.",
    );
  }
  if (!isAtmlNamespace(root.ns)) {
    throw new ConversionError(
      `${ctx.fileName}: <${root.name}> has namespace "${root.ns}", not an IEEE 1636.1 ` +
        "TestResults namespace (2.02, 5.00 or 6.01)",
      "This is not an ATML test results file TestStand wrote; check the converter's format " +
        "setting.",
    );
  }
  // A batch file's summary table carries the batch serial for all its units.
  const batch = path(root, "Extension", "TSBatchTable");
  const batchSN = nonEmpty(batch?.attrs.batchSerialNumber);
  const seenIds = new Set<string>();
  return results.map((tr, i) => {
    const unit = parseTestResults(tr, ctx, i, results.length, seenIds);
    unit.header.batchSN ??= batchSN;
    return unit;
  });
}

function parseTestResults(
  tr: XmlElement,
  ctx: AtmlContext,
  index: number,
  count: number,
  seenIds: Set<string>,
): TsUnit {
  const where = count > 1 ? `${ctx.fileName}, TestResults ${index + 1} of ${count}` : ctx.fileName;
  const resultSet = child(tr, "ResultSet");
  if (resultSet === undefined) {
    throw new ConversionError(
      `${where}: <${tr.name}> on line ${tr.line} has no ResultSet`,
      "Check that TestStand finished writing the file.",
    );
  }
  const startText = nonEmpty(resultSet.attrs.startDateTime);
  const startIso = startText === undefined ? null : parseIsoDateTime(startText, ctx.timeZone);
  if (startIso === null) {
    throw new ConversionError(
      `${where}: ResultSet on line ${resultSet.line} has ${
        startText === undefined ? "no startDateTime" : `startDateTime "${startText}", not a date`
      }`,
      "Check that the file is complete; TestStand writes the start as 2019-05-15T14:31:11.452.",
    );
  }
  const startMs = instantMs(startIso);
  const endIso = parseIsoDateTime(resultSet.attrs.endDateTime ?? "", ctx.timeZone);
  const endMs = endIso === null ? NaN : instantMs(endIso);
  const clock = new StepClock(ctx.timeZone, startMs, Number.isFinite(endMs) ? endMs : startMs);

  // 2.02: the MainSequence is a TestGroup inside the ResultSet; 5.00/6.01: the ResultSet itself.
  const stepEls = resultSet.children.filter(isStepElement);
  const main = stepEls.length === 1 && stepEls[0].local === "TestGroup" ? stepEls[0] : resultSet;
  const mainProps = stepProperties(main) ?? stepProperties(resultSet);
  const seqName = nonEmpty(main.attrs.name) ?? nonEmpty(resultSet.attrs.name) ?? "";
  const hash = seqName.lastIndexOf("#");

  const props = path(tr, "Extension", "TSResultSetProperties");
  const failing = new Set<string>();
  for (const e of path(props, "CriticalFailureStack")?.children ?? []) {
    if (e.attrs.resultID !== undefined) failing.add(e.attrs.resultID);
  }
  const socket = intOf(props, "TestSocketIndex");
  const uut = child(tr, "UUT");
  const operator = path(tr, "Personnel", "SystemOperator");
  const execTime = finiteOf(mainProps, "TotalTime") ??
    (Number.isFinite(endMs) ? Math.round(endMs - startMs) / 1000 : undefined);

  let id = normalizeGuid(tr.attrs.uuid ?? "") ?? undefined;
  if (id !== undefined) {
    if (seenIds.has(id)) id = undefined; // a repeated uuid must not overwrite the first unit
    else seenIds.add(id);
  }
  const header: ReportHeader = {
    sn: nonEmpty(textOf(path(uut, "SerialNumber"))) ?? "",
    pn: partNumber(uut),
    start: startIso,
    result: outcomeWord(child(resultSet, "Outcome")) ??
      (main !== resultSet ? outcomeWord(child(main, "Outcome")) : undefined),
    operator: nonEmpty(operator?.attrs.ID) ?? nonEmpty(operator?.attrs.name),
    machineName: nonEmpty(textOf(path(tr, "TestStation", "SerialNumber"))),
    id,
    unitIndex: index,
    execTime: execTime !== undefined && execTime >= 0 ? execTime : undefined,
    testSocketIndex: socket !== undefined && socket >= 0 ? socket : undefined,
    batchSN: valueOf(props, "BatchSerialNumber"),
    sequence: {
      path: hash >= 0 ? seqName.slice(0, hash) : seqName || undefined,
      name: hash >= 0 ? seqName.slice(hash + 1) : undefined,
    },
  };
  const reader = new AtmlStepReader(clock, failing);
  const steps = reader.children(main);
  if (header.sn === "") {
    throw new ConversionError(
      `${where}: the UUT has no SerialNumber (line ${uut?.line ?? tr.line})`,
      "Check that the test sequence sets the UUT serial number.",
    );
  }
  return {
    header,
    misc: [],
    subUnits: [],
    additionalData: uutAdditionalData(uut),
    steps,
  };
}

function partNumber(uut: XmlElement | undefined): string | undefined {
  const ids = path(uut, "Definition", "Identification", "IdentificationNumbers")?.children ?? [];
  const numbers = ids.filter((c) => c.local === "IdentificationNumber");
  const part = numbers.find((n) => (n.attrs.type ?? "").toLowerCase() === "part") ?? numbers[0];
  return nonEmpty(part?.attrs.number);
}

function uutAdditionalData(uut: XmlElement | undefined): AdditionalData[] {
  const coll = path(uut, "Definition", "Extension", "TSCollection");
  const item = coll?.children.find((c) => c.local === "Item" && c.attrs.name === "AdditionalData");
  const inner = item === undefined ? undefined : child(item, "Collection");
  if (inner === undefined) return [];
  return inner.children.filter((c) => c.local === "Item").map((it) => {
    const p = itemProperty(it, 1);
    return p.props !== undefined && p.type === "Obj"
      ? { name: p.name, props: p.props }
      : { name: p.name, props: [p] };
  });
}
