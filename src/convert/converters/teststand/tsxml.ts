/**
 * Parser for NI TestStand XML reports (docs/converters.md, `teststand-xml`) into {@link TsUnit}s:
 *
 * - the process model's XML report: `<Reports><Report Type='UUT' UUTResult=…>` with `UUT`,
 *   `StartTime` (TimeDetails), `StartDate` (DateDetails), `StationInfo` and the MainSequence
 *   `TEResult`; batch and parallel models put several `<Report>` elements in one file (each
 *   becomes a unit; `Type='Batch'` summaries are skipped);
 * - the WATS TestStand add-on dump: `<TSReport>` with `<ReportInfo key=… value=…>` (ID, Start
 *   with its offset, EngineStarted in UTC, SN, PN, Rev, PCode) and the same property trees.
 *
 * Header: `sn` = ReportInfo SN else UUT.SerialNumber; `pn` = ReportInfo PN, UUT.UUTPartNumber,
 * UUT.PartNumber; `rev` = ReportInfo Rev, UUT.UUTPartRevisionNumber; `processCode` = ReportInfo
 * PCode, UUT.UUTOperationType (0 = not set), else its OpTypeName as process name; operator =
 * StationInfo.LoginName; `machineName` = StationInfo.StationID; location/purpose from
 * StationInfo (WATS types); result = the MainSequence status, else `UUTResult`; error from the
 * MainSequence `Error`; comment, fixture id, batch serial, socket index (≥ 0), batch loop index
 * and fail count from UUT; `Misc_UUT_Info` → misc infos; `UUT_Part_Info` → sub units;
 * UUT.AdditionalData → `additionalData`.
 *
 * Start: ReportInfo Start (keeps its offset), else StartDate/StartTime in the station zone. The
 * DateDetails `Text` is localised ("fredag 1. juli 2022") and its `Year` can be wrong, so the
 * year is the 4-digit number in `Text`, else in `ShortText`, else `Year`.
 *
 * @module
 */
import { ConversionError } from "../../conversion_error.ts";
import { normalizeGuid } from "../../ids.ts";
import { parseInteger } from "../../number.ts";
import { isoToEpoch, isValidNaive, type NaiveDateTime, zonedToEpoch } from "../../time.ts";
import type { ReportHeader } from "../../../wsjf/build_input.ts";
import type { XmlElement } from "../../xml.ts";
import {
  arrayObjects,
  bool,
  finite,
  int,
  num,
  prop,
  propAt,
  propChildren,
  str,
  text,
  toAdditionalData,
} from "./props.ts";
import { instantMs, StepClock } from "./step_clock.ts";
import { nonEmpty, type TsNumeric, type TsStep, type TsUnit } from "./step_tree.ts";

/** What the parser needs besides the XML. */
export interface TsXmlContext {
  /** IANA zone of naive times. */
  timeZone: string;
  /** File name, for messages. */
  fileName: string;
}

/** The units (UUT reports) of a TestStand XML report, in file order. */
export function parseTestStandXml(root: XmlElement, ctx: TsXmlContext): TsUnit[] {
  if (root.local === "Reports") {
    const reports = root.children.filter((c) => c.local === "Report");
    if (reports.length === 0) {
      throw new ConversionError(
        `${ctx.fileName}: <Reports> holds no <Report> element`,
        "Check that TestStand finished writing the report (or that it is a TestStand XML report).",
      );
    }
    const uuts = reports.filter((r) => (r.attrs.Type ?? "UUT").toUpperCase() !== "BATCH");
    return uuts.map((r, i) => parseReport(r, ctx, i, uuts.length));
  }
  if (root.local === "TSReport" || root.local === "Report") return [parseReport(root, ctx, 0, 1)];
  throw new ConversionError(
    `${ctx.fileName}: the root element is <${root.name}>, not <Reports> or <TSReport>`,
    "This is not a TestStand XML report; check the converter's format setting.",
  );
}

function reportInfo(report: XmlElement): Map<string, string> {
  const info = new Map<string, string>();
  for (const c of report.children) {
    if (c.local === "ReportInfo" && c.attrs.key !== undefined) {
      info.set(c.attrs.key, c.attrs.value ?? "");
    }
  }
  return info;
}

function parseReport(report: XmlElement, ctx: TsXmlContext, index: number, count: number): TsUnit {
  const where = count > 1 ? `${ctx.fileName}, report ${index + 1} of ${count}` : ctx.fileName;
  const info = reportInfo(report);
  const uut = prop(report, "UUT");
  const station = prop(report, "StationInfo");
  const rootResult = report.children.find((c) => c.local === "Prop" && c.attrs.Type === "TEResult");
  const rootTs = prop(rootResult, "TS");
  const seqCall = prop(rootTs, "SequenceCall");

  const sn = nonEmpty(info.get("SN")) ?? text(uut, "SerialNumber");
  if (sn === undefined) {
    throw new ConversionError(
      `${where}: no serial number (UUT.SerialNumber is ${uut ? "empty" : "missing"})`,
      "Check that the test sequence sets the UUT serial number.",
    );
  }

  // Start: the dump's Start (with offset), else StartDate + StartTime in the station's zone.
  const startInfo = nonEmpty(info.get("Start"));
  let start: string | NaiveDateTime;
  let startMs: number;
  if (startInfo !== undefined && !Number.isNaN(isoToEpoch(startInfo))) {
    start = startInfo;
    startMs = instantMs(startInfo);
  } else {
    const naive = startFromDetails(
      prop(report, "StartDate"),
      prop(report, "StartTime"),
      startInfo === undefined ? where : `${where} (ReportInfo Start "${startInfo}" is no date)`,
    );
    start = naive;
    startMs = zonedToEpoch(naive, ctx.timeZone) + Number(naive.fraction ?? "0");
  }
  const execTime = finite(rootTs, "TotalTime");
  const clock = new StepClock(ctx.timeZone, startMs, startMs + (execTime ?? 0) * 1000);
  const engineStarted = instantMs(info.get("EngineStarted") ?? "");
  const rootStart = finite(rootTs, "StartTime");
  // Step StartTime is seconds since the engine started; anchor it on EngineStarted when the
  // dump has it, else on the root step's own StartTime = the report start.
  const base = !Number.isNaN(engineStarted)
    ? { ms: engineStarted, at: 0 }
    : rootStart !== undefined
    ? { ms: startMs, at: rootStart }
    : undefined;

  const failing = new Set<number>();
  for (const entry of arrayObjects(prop(uut, "CriticalFailureStack"))) {
    const id = int(entry, "ResultId");
    if (id !== undefined && id !== 0) failing.add(id);
  }

  const opCode = parseInteger(info.get("PCode") ?? "") ?? int(uut, "UUTOperationType");
  const rootError = prop(rootResult, "Error");
  const errorOccurred = bool(rootError, "Occurred");
  const errorCode = int(rootError, "Code");
  const socket = int(uut, "TestSocketIndex");
  const header: ReportHeader = {
    sn,
    pn: nonEmpty(info.get("PN")) ?? text(uut, "UUTPartNumber") ?? text(uut, "PartNumber"),
    rev: nonEmpty(info.get("Rev")) ?? text(uut, "UUTPartRevisionNumber"),
    processCode: opCode !== undefined && Number.isInteger(opCode) && opCode > 0
      ? opCode
      : undefined,
    processName: text(uut, "UUTOperationTypeDetails.OpTypeName"),
    start,
    result: text(rootResult, "Status") ?? nonEmpty(report.attrs.UUTResult),
    operator: text(station, "LoginName"),
    machineName: text(station, "StationID"),
    location: text(station, "Location"),
    purpose: text(station, "Purpose"),
    id: normalizeGuid(info.get("ID") ?? "") ?? undefined,
    unitIndex: index,
    execTime,
    comment: text(uut, "Comment"),
    fixtureId: text(uut, "UUT_Fixture_ID"),
    batchSN: text(uut, "BatchSerialNumber"),
    testSocketIndex: socket !== undefined && socket >= 0 ? socket : undefined,
    batchLoopIndex: int(uut, "BatchLoopIndex"),
    batchFailCount: int(uut, "BatchFailCount"),
    errorCode: errorOccurred === true || (errorOccurred === undefined && errorCode)
      ? errorCode
      : undefined,
    errorMessage: errorOccurred === true ? text(rootError, "Msg") : undefined,
    sequence: {
      name: text(seqCall, "Sequence"),
      path: text(seqCall, "SequenceFile"),
      version: text(seqCall, "SequenceFileVersion"),
    },
  };

  const misc: TsUnit["misc"] = [];
  for (const m of arrayObjects(propAt(uut, "MiscUUTResult.Misc_UUT_Info"))) {
    const description = text(m, "Description");
    if (description === undefined) continue;
    const s = text(m, "Data_String");
    const n = finite(m, "Data_Numeric");
    misc.push({ description, text: s ?? (n !== undefined ? String(n) : "") });
  }
  const subUnits: TsUnit["subUnits"] = [];
  for (const p of arrayObjects(propAt(uut, "MiscUUTResult.UUT_Part_Info"))) {
    const pn = text(p, "Part_Number");
    if (pn === undefined) continue; // the empty prototype row, or a row without a part
    subUnits.push({
      partType: text(p, "Part_Type"),
      pn,
      sn: text(p, "Part_Serial_Number") ?? "",
      rev: text(p, "Part_Revision_Number"),
    });
  }

  const steps = new StepReader(clock, base, failing).results(prop(seqCall, "ResultList"));
  return {
    header,
    misc,
    subUnits,
    additionalData: toAdditionalData(prop(uut, "AdditionalData")),
    steps,
  };
}

function startFromDetails(
  date: XmlElement | undefined,
  time: XmlElement | undefined,
  where: string,
): NaiveDateTime {
  if (date === undefined || time === undefined) {
    throw new ConversionError(
      `${where}: no start time (neither ReportInfo "Start" nor StartDate/StartTime)`,
      "Check that the report is complete; TestStand writes StartDate and StartTime in every " +
        "UUT report.",
    );
  }
  const year = yearIn(str(date, "Text")) ?? yearIn(str(date, "ShortText")) ?? int(date, "Year");
  const ms = int(time, "Milliseconds") ?? 0;
  const n: NaiveDateTime = {
    year: year ?? NaN,
    month: int(date, "Month") ?? NaN,
    day: int(date, "MonthDay") ?? NaN,
    hour: int(time, "Hours") ?? NaN,
    minute: int(time, "Minutes") ?? NaN,
    second: int(time, "Seconds") ?? NaN,
    fraction: ms >= 0 && ms < 1000 ? String(ms).padStart(3, "0") : "",
  };
  if (!isValidNaive(n)) {
    throw new ConversionError(
      `${where}: StartDate/StartTime is not a valid date and time (year ${n.year}, month ` +
        `${n.month}, day ${n.day}, ${n.hour}:${n.minute}:${n.second})`,
      "Check StartDate (Year, Month, MonthDay) and StartTime (Hours, Minutes, Seconds) in the " +
        "report.",
    );
  }
  return n;
}

function yearIn(s: string | undefined): number | undefined {
  const m = s === undefined ? null : /(?<!\d)(\d{4})(?!\d)/.exec(s);
  return m ? Number(m[1]) : undefined;
}

/** Reads TEResult elements into TestStand step results. */
class StepReader {
  constructor(
    private readonly clock: StepClock,
    private readonly base: { ms: number; at: number } | undefined,
    private readonly failing: ReadonlySet<number>,
  ) {}

  /** The results of a `ResultList` array, in file order. */
  results(list: XmlElement | undefined): TsStep[] {
    const out: TsStep[] = [];
    for (const te of arrayObjects(list)) this.push(out, te);
    return out;
  }

  private push(out: TsStep[], te: XmlElement): void {
    const step = this.step(te);
    out.push(step);
    // Post-action results: children of a generic step, else they follow it.
    const post = this.results(propAt(te, "TS.PostAction.ResultList"));
    if (post.length === 0) return;
    if (step.sequence) step.sequence.steps.push(...post);
    else if (!step.numeric && !step.passFail && !step.strings) step.sequence = { steps: post };
    else out.push(...post);
  }

  private step(te: XmlElement): TsStep {
    const ts = prop(te, "TS");
    const status = text(te, "Status");
    const error = prop(te, "Error");
    const occurred = bool(error, "Occurred");
    const startTime = finite(ts, "StartTime");
    const resultId = int(ts, "Id");
    const step: TsStep = {
      name: str(ts, "StepName") ?? "",
      stepType: text(ts, "StepType"),
      status,
      group: text(ts, "StepGroup"),
      start: startTime !== undefined && this.base !== undefined
        ? this.clock.instant(this.base.ms + (startTime - this.base.at) * 1000)
        : undefined,
      totTime: finite(ts, "TotalTime"),
      tsGuid: text(ts, "StepId"),
      reportText: text(te, "ReportText"),
      causedSeqFailure: bool(ts, "StepCausedSequenceFailure") ??
        bool(te, "StepCausedSequenceFailure"),
      causedUUTFailure: resultId !== undefined && this.failing.has(resultId) ? true : undefined,
    };
    if (occurred === true) {
      step.errorCode = int(error, "Code");
      step.errorMessage = text(error, "Msg");
    }
    const loop = {
      idx: int(ts, "LoopIndex"),
      num: int(ts, "NumLoops"),
      passed: int(ts, "NumPassed"),
      failed: int(ts, "NumFailed"),
      endingIndex: int(ts, "EndingLoopIndex"),
    };
    if (Object.values(loop).some((v) => v !== undefined)) {
      step.loop = Object.fromEntries(Object.entries(loop).filter(([, v]) => v !== undefined));
    }

    const seqCall = prop(ts, "SequenceCall");
    if (seqCall !== undefined) {
      step.sequence = {
        name: text(seqCall, "Sequence"),
        path: text(seqCall, "SequenceFile"),
        version: text(seqCall, "SequenceFileVersion"),
        steps: this.results(prop(seqCall, "ResultList")),
      };
    }
    this.measurements(te, step);

    const button = int(te, "ButtonHit");
    if (button !== undefined) step.messagePopup = { button, response: str(te, "Response") };
    const exitCode = finite(te, "ExitCode");
    if (exitCode !== undefined) step.callExe = { exitCode };
    const additional = prop(te, "AdditionalResults");
    if (additional !== undefined) step.additionalResults = toAdditionalData(additional);
    const chart = prop(te, "Chart");
    if (chart !== undefined) step.chart = readChart(chart);
    const xml = str(te, "XMLString");
    if (xml !== undefined && xml.trim() !== "") {
      step.attachment = {
        name: "stepdata.xml",
        contentType: "text/xml",
        data: new TextEncoder().encode(xml.replaceAll("\\r\\n", "\n")),
      };
    }
    return step;
  }

  private measurements(te: XmlElement, step: TsStep): void {
    const numeric = prop(te, "Numeric");
    if (numeric !== undefined) {
      step.numeric = [readNumeric(te, num(te, "Numeric"))];
    }
    const passFail = bool(te, "PassFail");
    if (passFail !== undefined) step.passFail = [{ passed: passFail }];
    const s = prop(te, "String");
    if (s !== undefined && propChildren(s).length === 0) {
      step.strings = [{
        value: str(te, "String"),
        limit: str(te, "Limits.String"),
        comp: text(te, "Comp"),
      }];
    }
    const array = prop(te, "Measurement");
    if (array === undefined) return;
    for (const m of arrayObjects(array)) {
      const name = text(m, "MeasName") ?? m.attrs.Name;
      const mStatus = text(m, "Status");
      if (prop(m, "Data") !== undefined) {
        (step.numeric ??= []).push({ ...readNumeric(m, num(m, "Data")), name, status: mStatus });
      } else if (prop(m, "StringData") !== undefined) {
        (step.strings ??= []).push({
          name,
          value: str(m, "StringData"),
          limit: str(m, "StringLimit") ?? str(m, "Limits.String"),
          comp: text(m, "Comp"),
          status: mStatus,
        });
      } else if (prop(m, "PassFail") !== undefined) {
        (step.passFail ??= []).push({ name, passed: bool(m, "PassFail"), status: mStatus });
      }
    }
    step.multi = true;
  }
}

/** A numeric limit result (a step, or one element of a Measurement array). */
function readNumeric(el: XmlElement, value: number | undefined): TsNumeric {
  const comp = text(el, "Comp");
  const m: TsNumeric = {
    value,
    comp,
    low: num(el, "Limits.Low"),
    high: num(el, "Limits.High"),
    unit: text(el, "Units"),
  };
  const thresholdType = text(el, "Limits.ThresholdType") ?? text(el, "ThresholdType");
  if (comp?.toUpperCase() === "EQT" || thresholdType !== undefined) {
    const raw = prop(el, "RawLimits");
    if (thresholdType !== undefined) {
      m.threshold = {
        type: thresholdType,
        nominal: num(el, "Limits.Nominal") ?? num(raw, "Nominal"),
        low: num(raw, "Low"),
        high: num(raw, "High"),
      };
    } else if (comp?.toUpperCase() === "EQT") {
      m.threshold = { type: "", nominal: num(el, "Limits.Nominal") ?? num(raw, "Nominal") };
    }
  }
  return m;
}

/** A WATS chart (WATS_Chart_Data) property → the builder's chart input. */
function readChart(chart: XmlElement): TsStep["chart"] {
  const series: Array<{ name: string; x: number[]; y: number[] }> = [];
  for (const plot of arrayObjects(prop(chart, "Plots"))) {
    const data = prop(plot, "PlotData");
    if (data === undefined) continue;
    const rows = new Map<number, Map<number, number>>();
    let maxA = -1;
    let maxB = -1;
    for (const v of data.children) {
      if (v.local !== "Value") continue;
      const m = /^\[(-?\d+)\]\[(-?\d+)\]$/.exec(v.attrs.ID ?? "");
      if (!m) continue;
      const a = Number(m[1]);
      const b = Number(m[2]);
      const x = Number(v.text.trim());
      if (!rows.has(a)) rows.set(a, new Map());
      rows.get(a)!.set(b, Number.isFinite(x) ? x : NaN);
      maxA = Math.max(maxA, a);
      maxB = Math.max(maxB, b);
    }
    const get = (a: number, b: number) => rows.get(a)?.get(b) ?? NaN;
    const x: number[] = [];
    const y: number[] = [];
    if (maxA === 1 || (maxA >= 1 && maxB > 1)) {
      // [0][j] = x, [1][j] = y
      for (let j = 0; j <= maxB; j++) {
        x.push(get(0, j));
        y.push(get(1, j));
      }
    } else if (maxB === 1) {
      for (let i = 0; i <= maxA; i++) {
        x.push(get(i, 0));
        y.push(get(i, 1));
      }
    } else {
      for (let j = 0; j <= maxB; j++) {
        x.push(j);
        y.push(get(0, j));
      }
    }
    series.push({ name: text(plot, "PlotName") ?? `Plot ${series.length + 1}`, x, y });
  }
  return {
    chartType: normalizeChartType(text(chart, "ChartType")),
    label: text(chart, "ChartLabel"),
    xLabel: text(chart, "Xlabel"),
    xUnit: text(chart, "Xunit"),
    yLabel: text(chart, "Ylabel"),
    yUnit: text(chart, "Yunit"),
    series,
  };
}

function normalizeChartType(t: string | undefined): string {
  const k = (t ?? "").replace(/[\s_]/g, "").toLowerCase();
  return { linelogxy: "LineLogXY", linelogx: "LineLogX", linelogy: "LineLogY" }[k] ?? "Line";
}
