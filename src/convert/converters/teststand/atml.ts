/**
 * Parser for IEEE 1636.1 ATML Test Results as TestStand writes them (docs/converters.md, `atml`)
 * into {@link TsUnit}s. Versions are told apart by namespace and handled alike, by local names:
 * 2.02 (`tr:TestResults`, one unit, the MainSequence as a `TestGroup` in the `ResultSet`),
 * 5.00 and 6.01 (`trc:TestResultsCollection` holding one `TestResults` per unit: batch and
 * parallel models write several; the steps sit directly in the `ResultSet`).
 *
 * Header: id = `TestResults@uuid`; `sn` = `UUT/SerialNumber`; `pn` = the UUT's
 * `IdentificationNumber@number` (type Part first); operator = `SystemOperator@ID` (else
 * `@name`); `machineName` = `TestStation/SerialNumber`; `start` = `ResultSet@startDateTime`
 * (local time without zone → the station's zone); `execTime` = the root TotalTime, else end −
 * start; result = `ResultSet/Outcome`; sequence = `ResultSet@name` (`<file>#<sequence>`);
 * socket index and batch serial from `TSResultSetProperties` (their `value` attribute); the
 * critical failure stack marks the failing steps; UUT AdditionalData → `additionalData`.
 *
 * Steps, in file order: `TestGroup` → sequence call (name from `callerName`, else the quoted
 * step name in `userDefinedType`, else the sequence); `SessionAction` → generic step;
 * `Test` → measurements by content: `TestResult`s with limits (or a LOG comparison) are
 * measurements (numeric, or string when the datum is text), `LimitPair` comparators joined
 * (GE+LE → GELE; OR pairs → LTGT…), `SingleLimit`, `Expected` (with `ThresholdType` →
 * absolute limits); WATS ET_MSVT/ET_MPFT `Measurement` collections; pass/fail steps from the
 * outcome; the `ReportText` item → report text; other results and data items → additional
 * results. Outcomes: `Aborted`/`UserDefined` use their `qualifier` (Skipped, Error, …;
 * Aborted alone = Terminated), `NotStarted` → Skipped, missing → decided from the step.
 *
 * @module
 */
import { ConversionError } from "../../conversion_error.ts";
import { normalizeGuid } from "../../ids.ts";
import { parseNumber } from "../../number.ts";
import { parseIsoDateTime } from "../../time.ts";
import type { ReportHeader } from "../../../wsjf/build_input.ts";
import type { AdditionalData, AdditionalDataProperty } from "../../../wsjf/report.ts";
import { child, textOf, type XmlElement } from "../../xml.ts";
import {
  instantMs,
  nonEmpty,
  StepClock,
  type TsNumeric,
  type TsStep,
  type TsString,
  type TsThreshold,
  type TsUnit,
} from "./step_tree.ts";

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

/** The `value` attribute of a child element (TestStand's extension elements use it). */
function valueOf(el: XmlElement | undefined, local: string): string | undefined {
  const c = el === undefined ? undefined : child(el, local);
  return c === undefined ? undefined : nonEmpty(c.attrs.value) ?? nonEmpty(c.text);
}

function finiteOf(el: XmlElement | undefined, local: string): number | undefined {
  const v = valueOf(el, local);
  const n = v === undefined ? undefined : parseNumber(v);
  return n !== undefined && Number.isFinite(n) ? n : undefined;
}

function intOf(el: XmlElement | undefined, local: string): number | undefined {
  const n = finiteOf(el, local);
  return n !== undefined && Number.isInteger(n) && Math.abs(n) <= 2147483647 ? n : undefined;
}

function path(el: XmlElement | undefined, ...locals: string[]): XmlElement | undefined {
  let cur = el;
  for (const l of locals) {
    if (cur === undefined) return undefined;
    cur = child(cur, l);
  }
  return cur;
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

const STEP_ELEMENTS = new Set(["Test", "SessionAction", "TestGroup"]);

function isStepElement(el: XmlElement): boolean {
  return STEP_ELEMENTS.has(el.local);
}

function stepProperties(el: XmlElement): XmlElement | undefined {
  return path(el, "Extension", "TSStepProperties");
}

/**
 * An outcome element → a verdict word for the builder. Aborted and UserDefined carry the real
 * TestStand status in `qualifier`; NotStarted is Skipped; Aborted alone is Terminated.
 */
export function outcomeWord(outcome: XmlElement | undefined): string | undefined {
  if (outcome === undefined) return undefined;
  const value = nonEmpty(outcome.attrs.value);
  const qualifier = nonEmpty(outcome.attrs.qualifier);
  switch (value?.toLowerCase()) {
    case undefined:
      return qualifier;
    case "aborted":
      return qualifier ?? "Terminated";
    case "userdefined":
      return qualifier;
    case "notstarted":
      return "Skipped";
    default:
      return value;
  }
}

const MAX_ITEM_DEPTH = 32;

/** Reads Test / SessionAction / TestGroup elements into TestStand step results. */
class AtmlStepReader {
  constructor(private readonly clock: StepClock, private readonly failing: ReadonlySet<string>) {}

  /** The step results directly inside a group, in file order. */
  children(group: XmlElement): TsStep[] {
    const out: TsStep[] = [];
    for (const c of group.children) if (isStepElement(c)) out.push(this.step(c));
    return out;
  }

  private step(el: XmlElement): TsStep {
    const props = stepProperties(el);
    const stepType = nonEmpty(textOf(props && child(props, "StepType")));
    const id = el.attrs.ID;
    const step: TsStep = {
      name: el.attrs.name ?? callerName(el) ?? "",
      stepType,
      status: outcomeWord(
        child(el, el.local === "SessionAction" ? "ActionOutcome" : "Outcome") ??
          child(el, "Outcome"),
      ),
      group: nonEmpty(textOf(props && child(props, "StepGroup"))),
      start: this.clock.local(el.attrs.startDateTime),
      totTime: finiteOf(props, "TotalTime"),
      tsGuid: nonEmpty(el.attrs.testReferenceID) ??
        nonEmpty(textOf(props && child(props, "StepId"))),
      causedSeqFailure: valueOf(props, "StepCausedSequenceFailure")?.toLowerCase() === "true"
        ? true
        : undefined,
      causedUUTFailure: id !== undefined && this.failing.has(id) ? true : undefined,
    };
    const looping = props && child(props, "LoopingProperties");
    if (looping !== undefined) {
      const loop = {
        idx: intOf(looping, "LoopIndex"),
        num: intOf(looping, "NumLoops"),
        passed: intOf(looping, "NumPassed"),
        failed: intOf(looping, "NumFailed"),
        endingIndex: intOf(looping, "EndingLoopIndex"),
      };
      const set = Object.entries(loop).filter(([, v]) => v !== undefined);
      if (set.length > 0) step.loop = Object.fromEntries(set);
    }
    this.data(el, step);

    if (el.local === "TestGroup" || isSequenceCall(stepType)) {
      const name = nonEmpty(el.attrs.name) ?? "";
      const hash = name.lastIndexOf("#");
      step.name = callerName(el) ?? (hash >= 0 ? name.slice(hash + 1) : name);
      step.sequence = {
        path: hash >= 0 ? name.slice(0, hash) : undefined,
        name: hash >= 0 ? name.slice(hash + 1) : undefined,
        version: this.seqFileVersion(el),
        steps: el.local === "TestGroup" ? this.children(el) : [],
      };
      return step;
    }
    if (el.local === "Test") this.testResults(el, step);
    return step;
  }

  private seqFileVersion(el: XmlElement): string | undefined {
    for (const r of el.children) {
      if (r.local === "TestResult" && r.attrs.name === "SeqFileVersion") {
        return nonEmpty(datumText(path(r, "TestData", "Datum")));
      }
    }
    return undefined;
  }

  /** `tr:Data` items: report text, popup button/response, exit code, error, the rest. */
  private data(el: XmlElement, step: TsStep): void {
    const coll = path(el, "Data", "Collection");
    if (coll === undefined) return;
    const extra: AdditionalDataProperty[] = [];
    for (const it of coll.children) {
      if (it.local !== "Item") continue;
      const name = it.attrs.name ?? "";
      const datum = child(it, "Datum");
      switch (name) {
        case "ReportText":
          step.reportText = nonEmpty(datumText(datum));
          continue;
        case "ButtonHit": {
          const b = datumNumber(datum);
          if (b !== undefined && Number.isInteger(b) && Math.abs(b) <= 2147483647) {
            (step.messagePopup ??= {}).button = b;
          }
          continue;
        }
        case "Response":
          (step.messagePopup ??= {}).response = datumText(datum);
          continue;
        case "ExitCode": {
          const c = datumNumber(datum);
          if (c !== undefined && Number.isFinite(c)) step.callExe = { exitCode: c };
          continue;
        }
        case "Error": {
          const e = child(it, "Collection");
          const item = (n: string) => e?.children.find((c) => c.attrs.name === n);
          if (datumText(child(item("Occurred") ?? it, "Datum"))?.toLowerCase() === "true") {
            const code = datumNumber(child(item("Code") ?? it, "Datum"));
            if (code !== undefined && Number.isInteger(code) && Math.abs(code) <= 2147483647) {
              step.errorCode = code;
            }
            step.errorMessage = nonEmpty(datumText(child(item("Msg") ?? it, "Datum")));
          }
          continue;
        }
      }
      extra.push(itemProperty(it, 1));
    }
    if (extra.length > 0) {
      (step.additionalResults ??= []).push(
        ...extra.map((p) =>
          p.type === "Obj" && p.props
            ? { name: p.name, props: p.props }
            : { name: p.name, props: [p] }
        ),
      );
    }
  }

  /** A Test's `TestResult` elements: measurements, report text, additional results. */
  private testResults(el: XmlElement, step: TsStep): void {
    const type = (step.stepType ?? "").toLowerCase();
    const numericType = /numericlimit|^et_m?nlt$/.test(type);
    const stringType = /stringvalue|^et_m?svt$/.test(type);
    const passFailType = /passfail|^et_m?pft$/.test(type);
    const others: XmlElement[] = [];
    for (const r of el.children) {
      if (r.local !== "TestResult") continue;
      const name = r.attrs.name ?? r.attrs.ID ?? "";
      if (name === "ReportText") {
        step.reportText = nonEmpty(datumText(path(r, "TestData", "Datum")));
        continue;
      }
      const datum = path(r, "TestData", "Datum");
      const limits = path(r, "TestLimits", "Limits");
      const logFlag = isLogComparison(r);
      if (limits !== undefined || logFlag) {
        if (datum !== undefined && isStringDatum(datum)) {
          (step.strings ??= []).push(readString(r, datum, limits));
        } else if (datum !== undefined && isBooleanDatum(datum)) {
          (step.passFail ??= []).push({
            name: r.attrs.name,
            passed: datumText(datum)?.toLowerCase() === "true",
            status: outcomeWord(child(r, "Outcome")),
          });
        } else (step.numeric ??= []).push(readNumeric(r, datum, limits));
        continue;
      }
      const coll = path(r, "TestData", "Collection");
      if (name === "Measurement" && coll !== undefined && this.measurementCollection(coll, step)) {
        continue;
      }
      others.push(r);
    }
    // A result named like the step's data without limits: logged (comparison "No Comparison").
    const none = !step.numeric && !step.strings && !step.passFail;
    for (const r of others) {
      const datum = path(r, "TestData", "Datum");
      const name = r.attrs.name ?? "";
      if (none && datum !== undefined && numericType && name === "Numeric") {
        (step.numeric ??= []).push({ ...readNumeric(r, datum, undefined), comp: "LOG" });
      } else if (none && datum !== undefined && stringType && name === "String") {
        (step.strings ??= []).push({ value: datumText(datum), comp: "LOG" });
      } else if (none && datum !== undefined && passFailType && name === "PassFail") {
        const v = datumText(datum)?.trim().toLowerCase();
        const passed = v === "true" || v === "1"
          ? true
          : v === "false" || v === "0"
          ? false
          : undefined;
        (step.passFail ??= []).push({ passed, status: step.status });
      } else {
        (step.additionalResults ??= []).push(testResultData(r));
      }
    }
    if (step.numeric && step.numeric.length > 0) {
      step.multi = /multiple|^et_mnlt$/.test(type) || step.numeric.length > 1;
      // One result: its name is TestStand's data property ("Numeric"), not a measurement name.
      if (!step.multi) step.numeric[0].name = undefined;
    }
    if (step.strings && step.strings.length > 0) {
      step.multi = /^et_msvt$/.test(type) || step.strings.length > 1;
      if (!step.multi) step.strings[0].name = undefined;
    }
    if (!step.numeric && !step.strings && !step.passFail && passFailType) {
      const word = step.status;
      if (word !== undefined) step.passFail = [{ status: word }];
    }
  }

  /** WATS ET_MSVT / ET_MPFT / ET_MNLT data: `Measurement[i]` items. True when understood. */
  private measurementCollection(coll: XmlElement, step: TsStep): boolean {
    let found = false;
    for (const it of coll.children) {
      if (it.local !== "Item") continue;
      const m = child(it, "Collection");
      if (m === undefined) continue;
      const field = (n: string) => m.children.find((c) => c.local === "Item" && c.attrs.name === n);
      const d = (n: string) => {
        const f = field(n);
        return f === undefined ? undefined : child(f, "Datum");
      };
      const name = nonEmpty(datumText(d("MeasName"))) ?? it.attrs.name;
      const status = nonEmpty(datumText(d("Status")));
      if (field("StringData") !== undefined) {
        (step.strings ??= []).push({
          name,
          value: datumText(d("StringData")),
          limit: datumText(d("StringLimit")),
          comp: nonEmpty(datumText(d("Comp"))),
          status,
        });
      } else if (field("PassFail") !== undefined) {
        const pf = datumText(d("PassFail"))?.toLowerCase();
        (step.passFail ??= []).push({
          name,
          passed: pf === "true" ? true : pf === "false" ? false : undefined,
          status,
        });
      } else if (field("Data") !== undefined) {
        const limits = field("Limits");
        const lim = limits === undefined ? undefined : child(limits, "Collection");
        const limitNum = (n: string) => {
          const f = lim?.children.find((c) => c.attrs.name === n);
          return f === undefined ? undefined : datumNumber(child(f, "Datum"));
        };
        (step.numeric ??= []).push({
          name,
          value: datumNumber(d("Data")),
          comp: nonEmpty(datumText(d("Comp"))),
          low: limitNum("Low"),
          high: limitNum("High"),
          unit: nonEmpty(datumText(d("Units"))),
          status,
        });
      } else continue;
      found = true;
    }
    if (found) step.multi = true;
    return found;
  }
}

function callerName(el: XmlElement): string | undefined {
  const caller = nonEmpty(el.attrs.callerName);
  if (caller !== undefined) return caller;
  const m = /SequenceCallStepName\s*=\s*'(.*)'\s*$/.exec(el.attrs.userDefinedType ?? "");
  return m ? m[1] : undefined;
}

function isSequenceCall(stepType: string | undefined): boolean {
  return stepType === "SequenceCall" || stepType === "WATS_SeqCall";
}

function isLogComparison(r: XmlElement): boolean {
  const props = path(r, "Extension", "TSLimitProperties") ??
    path(r, "TestLimits", "Limits", "Extension", "TSLimitProperties");
  return valueOf(props, "IsComparisonTypeLog")?.toLowerCase() === "true";
}

function xsiType(datum: XmlElement): string {
  return (datum.attrs["xsi:type"] ?? datum.attrs.type ?? "").toLowerCase();
}

function isStringDatum(datum: XmlElement): boolean {
  const t = xsiType(datum);
  if (t.includes("string")) return true;
  return t === "" && datum.attrs.value === undefined && child(datum, "Value") !== undefined;
}

function isBooleanDatum(datum: XmlElement): boolean {
  return xsiType(datum).includes("boolean");
}

/** A datum's text: the `value` attribute, else its `<c:Value>` child. */
function datumText(datum: XmlElement | undefined): string | undefined {
  if (datum === undefined) return undefined;
  if (datum.attrs.value !== undefined) return datum.attrs.value;
  const v = child(datum, "Value");
  return v === undefined ? undefined : v.text;
}

function datumNumber(datum: XmlElement | undefined): number | undefined {
  const t = datumText(datum);
  return t === undefined ? undefined : parseNumber(t);
}

function unitOf(datum: XmlElement | undefined): string | undefined {
  return nonEmpty(datum?.attrs.nonStandardUnit) ?? nonEmpty(datum?.attrs.standardUnit);
}

function limitProperties(r: XmlElement, limits: XmlElement | undefined): XmlElement | undefined {
  return (limits && path(limits, "Extension", "TSLimitProperties")) ??
    path(r, "Extension", "TSLimitProperties");
}

/** ATML comparators of a limit pair → one WSJF operator with the lower bound first. */
function pairComparison(pair: XmlElement): Pick<TsNumeric, "comp" | "low" | "high"> {
  const limits = pair.children.filter((c) => c.local === "Limit");
  if (limits.length !== 2) return { comp: "LOG" };
  const parts = limits.map((l) => ({
    comp: (l.attrs.comparator ?? "").toUpperCase(),
    value: datumNumber(child(l, "Datum")),
  }));
  const or = (pair.attrs.operator ?? "AND").toUpperCase() === "OR";
  // AND: the G* comparator is the lower bound; OR (outside a band): the L* comparator is.
  const lowFirst = or ? parts[0].comp.startsWith("L") : parts[0].comp.startsWith("G");
  const [lo, hi] = lowFirst ? parts : [parts[1], parts[0]];
  return { comp: `${lo.comp}${hi.comp}`, low: lo.value, high: hi.value };
}

function readNumeric(
  r: XmlElement,
  datum: XmlElement | undefined,
  limits: XmlElement | undefined,
): TsNumeric {
  const m: TsNumeric = {
    name: r.attrs.name,
    value: datumNumber(datum),
    unit: unitOf(datum),
    status: outcomeWord(child(r, "Outcome")),
  };
  if (limits === undefined) {
    m.comp = "LOG";
    return m;
  }
  const pair = child(limits, "LimitPair");
  const single = child(limits, "SingleLimit");
  const expected = child(limits, "Expected");
  if (pair !== undefined) Object.assign(m, pairComparison(pair));
  else if (single !== undefined) {
    m.comp = single.attrs.comparator;
    m.low = datumNumber(child(single, "Datum"));
  } else if (expected !== undefined) {
    m.comp = expected.attrs.comparator ?? "EQ";
    m.low = datumNumber(child(expected, "Datum"));
    const props = limitProperties(r, limits);
    const type = nonEmpty(textOf(props && child(props, "ThresholdType")));
    if (type !== undefined) {
      const raw = props && child(props, "RawLimits");
      const t: TsThreshold = {
        type,
        nominal: datumNumber(raw && child(raw, "Nominal")) ?? m.low,
        low: datumNumber(raw && child(raw, "Low")),
        high: datumNumber(raw && child(raw, "High")),
      };
      m.threshold = t;
    }
  } else m.comp = "LOG";
  if (m.comp !== undefined && m.comp.toUpperCase() === "CIEQ") m.comp = "EQ";
  return m;
}

function readString(
  r: XmlElement,
  datum: XmlElement,
  limits: XmlElement | undefined,
): TsString {
  const expected = limits === undefined ? undefined : child(limits, "Expected");
  const single = limits === undefined ? undefined : child(limits, "SingleLimit");
  const lim = expected ?? single;
  return {
    name: r.attrs.name,
    value: datumText(datum),
    limit: lim === undefined ? undefined : datumText(child(lim, "Datum")),
    comp: lim === undefined ? "LOG" : lim.attrs.comparator,
    status: outcomeWord(child(r, "Outcome")),
  };
}

/** A TestResult that is no measurement → an additional result named like it. */
function testResultData(r: XmlElement): AdditionalData {
  const name = r.attrs.name ?? r.attrs.ID ?? "";
  const data = child(r, "TestData");
  const inner = data?.children.find((c) =>
    c.local === "Datum" || c.local === "Collection" ||
    c.local === "IndexedArray"
  );
  if (inner === undefined) return { name };
  const p = valueProperty(name, inner, 1);
  return p.type === "Obj" && p.props ? { name, props: p.props } : { name, props: [p] };
}

/** A `c:Item` (name + Datum / Collection / IndexedArray) → an additional-data property. */
function itemProperty(item: XmlElement, depth: number): AdditionalDataProperty {
  const name = item.attrs.name ?? "";
  const inner = item.children.find((c) =>
    c.local === "Datum" || c.local === "Collection" || c.local === "IndexedArray"
  );
  return inner === undefined ? { name } : valueProperty(name, inner, depth);
}

function valueProperty(name: string, v: XmlElement, depth: number): AdditionalDataProperty {
  const flags = v.attrs.flags === undefined ? undefined : parseNumber(v.attrs.flags);
  const base: AdditionalDataProperty = { name };
  if (flags !== undefined && Number.isInteger(flags) && flags >= 0 && flags <= 2147483647) {
    base.flags = flags;
  }
  if (v.local === "Collection") {
    base.type = "Obj";
    if (depth < MAX_ITEM_DEPTH) {
      base.props = v.children.filter((c) => c.local === "Item").map((c) =>
        itemProperty(c, depth + 1)
      );
    }
    return base;
  }
  if (v.local === "IndexedArray") {
    base.type = "Array";
    const elementType = tsType(xsiType(v).replace(/array$/, ""));
    base.array = {
      dimension: (v.attrs.dimensions?.match(/\d+/g) ?? ["1"]).length,
      type: elementType,
      indexes: v.children.filter((c) => c.local === "Element").map((e) => {
        const pos = e.attrs.position ?? "";
        return {
          text: pos,
          indexes: (pos.match(/-?\d+/g) ?? []).map(Number),
          value: { name: pos, type: elementType, value: datumText(e) ?? e.text },
        };
      }),
    };
    return base;
  }
  base.type = tsType(xsiType(v));
  const t = datumText(v);
  if (t !== undefined) base.value = t;
  return base;
}

/** An ATML/TestStand datum type (`ts:TS_double`, `c:string`, …) → a TestStand type name. */
function tsType(xsi: string): string {
  const t = xsi.replace(/^.*:/, "").replace(/^ts_/, "");
  if (/double|integer|long|float|decimal|short|byte/.test(t)) return "Number";
  if (t.includes("bool")) return "Boolean";
  if (t.includes("string")) return "String";
  return t === "" ? "String" : t;
}
