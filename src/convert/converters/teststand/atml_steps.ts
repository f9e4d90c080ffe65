/**
 * The steps of an ATML `ResultSet` as TestStand writes them, in file order, into {@link TsStep}s:
 * `TestGroup` → sequence call (name from `callerName`, else the quoted step name in
 * `userDefinedType`, else the sequence); `SessionAction` → generic step; `Test` → measurements
 * by content: `TestResult`s with limits (or a LOG comparison) are measurements (numeric, or
 * string when the datum is text), `LimitPair` comparators joined (GE+LE → GELE; OR pairs →
 * LTGT…), `SingleLimit`, `Expected` (with `ThresholdType` → absolute limits); WATS
 * ET_MSVT/ET_MPFT `Measurement` collections; pass/fail steps from the outcome; the `ReportText`
 * item → report text; other results and data items → additional results. Outcomes:
 * `Aborted`/`UserDefined` use their `qualifier` (Skipped, Error, …; Aborted alone =
 * Terminated), `NotStarted` → Skipped, missing → decided from the step.
 *
 * @module
 */
import type { AdditionalData, AdditionalDataProperty } from "../../../wsjf/report.ts";
import { child, textOf, type XmlElement } from "../../xml.ts";
import {
  datumNumber,
  datumText,
  finiteOf,
  intOf,
  isStepElement,
  itemProperty,
  outcomeWord,
  path,
  stepProperties,
  valueOf,
  valueProperty,
  xsiType,
} from "./atml_data.ts";
import type { StepClock } from "./step_clock.ts";
import {
  nonEmpty,
  type TsNumeric,
  type TsStep,
  type TsString,
  type TsThreshold,
} from "./step_tree.ts";

/** Reads Test / SessionAction / TestGroup elements into TestStand step results. */
export class AtmlStepReader {
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

function isStringDatum(datum: XmlElement): boolean {
  const t = xsiType(datum);
  if (t.includes("string")) return true;
  return t === "" && datum.attrs.value === undefined && child(datum, "Value") !== undefined;
}

function isBooleanDatum(datum: XmlElement): boolean {
  return xsiType(datum).includes("boolean");
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
