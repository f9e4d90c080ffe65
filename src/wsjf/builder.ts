/**
 * The one WSJF report builder every converter uses. A converter describes what the file says
 * (header, nested sequences, measurements, verdicts where the file has them); the builder
 * fills defaults from the parameters and the station, places limits, decides statuses,
 * numbers the steps and returns a WSJF report object.
 *
 * ```ts
 * const params = parseParams(input.params, converterParams(), "mine");
 * const rb = new ReportBuilder(input, params, { sn: "SN1", pn: "PN1", start: naiveOrIso });
 * const power = rb.root.sequence("Power");
 * power.numeric("Vcc", { value: 3.31, low: 3.2, high: 3.4, unit: "V" });
 * power.passFail("LED", { passed: true });
 * rb.root.action("Save log", { status: "Done" });
 * return [rb.build()];
 * ```
 *
 * Header defaults (a parameter fills a value only when the file has none; `stationName`
 * overrides): `machineName` = params.stationName ?? file ?? station.name; `location`,
 * `purpose`, operator (`uut.user`) = file ?? params ?? station; `pn` = file ?? params.partNumber
 * (else a ConversionError); `rev` = file ?? params.partRevision ?? "1.0"; `processCode` =
 * file ?? params.processCodes[processName] ?? params.processCode ?? 10; root `seqCall` name /
 * version = file ?? params.sequenceName / sequenceVersion ?? "MainSequence" / "1.0.0".
 *
 * Statuses (mode = params.testMode):
 * - **import** (default): every verdict the file gives is kept. Where the file has none, it is
 *   computed: measurement from value + limits + compOp, step from its measurements (any F → F,
 *   all S → S, else P) and children (the worst of F < E < T raises it), action steps "D",
 *   report result from the root (F/E/T carry over, all else P). Where the file's verdict and
 *   the computed one disagree (P vs F), the file's is kept and a misc info
 *   `Status note` records both — a tester PASS never becomes FAIL by rounding.
 * - **active**: measurement and step statuses are recomputed from values and limits and
 *   failures ripple up (Passed < Done < Skipped < Failed < Error < Terminated); an E/T verdict
 *   from the file is kept (errors can't be derived). The report `result` is still the file's
 *   when it gives one (the TAKAYA rule), with a `Status note` when they differ.
 *
 * Steps: ids depth-first pre-order from 1; `group` "M" unless given. Single-measurement steps
 * (ET_NLT, ET_PFT, ET_SVT) have one unnamed measurement; a step with several measurements
 * gets ET_MNLT/ET_MPFT/ET_MSVT, every measurement a name ("Measurement n" when missing) and
 * duplicate names a suffix " (2)", " (3)". Non-finite numbers: see compop.ts. All strings
 * pass `stripControlChars` as they enter the report (so a serial number made only of control
 * characters counts as absent, and names are compared without them). Lengths are not
 * truncated (see rules.ts).
 *
 * Speed: reports of tens of thousands of steps are common (flying probers), so `build()`
 * creates every output object with only its defined keys (no `delete`, which turns objects
 * into slow dictionaries) and strips strings where they enter instead of walking the result.
 *
 * @module
 */
import type { WsjfReport } from "../convert/contract.ts";
import { ConversionError } from "../convert/conversion_error.ts";
import { deriveReportId, normalizeGuid, unitReportId } from "../convert/ids.ts";
import type { CommonParams } from "../convert/params.ts";
import { stripControlChars, stripControlCharsDeep } from "../convert/text.ts";
import { isFiniteNumber } from "./compop.ts";
import type { MiscInfo, SubUnit, UutInfo } from "./report.ts";
import { parseReportResult, toReportResult } from "./status_codes.ts";
import type { BuildContext, ReportHeader, TimeInput } from "./build_input.ts";
import { newNode, type Node, SequenceBuilder } from "./step_builder.ts";
import { finishStep, type Note } from "./finish_step.ts";
import { clean, definedStrings, isInt, put, str, toIso } from "./fields.ts";

/** Most `Status note` misc infos per report; the rest are counted in one more note. */
export const MAX_STATUS_NOTES = 10;

/** Most `Conversion warning` misc infos per report; the rest are counted in one more. */
export const MAX_WARNING_NOTES = 10;

/** Builds one WSJF test (UUT) report. */
export class ReportBuilder {
  /** The header as the file gives it; converters may set fields until `build()`. */
  readonly header: ReportHeader;
  /** The root sequence call ("MainSequence Callback"). */
  readonly root: SequenceBuilder;
  private readonly ctx: BuildContext;
  private readonly params: Partial<CommonParams>;
  private readonly miscInfos: MiscInfo[] = [];
  private readonly warnings: string[] = [];
  private readonly subUnits: SubUnit[] = [];
  private readonly assets: Array<{ assetSN: string; usageCount?: number }> = [];
  private readonly extraFields: Record<string, unknown> = {};

  /**
   * @param ctx the convert input (station, sha256)
   * @param params the converter's parsed parameters (see params.ts)
   * @param header what the file says about the unit
   */
  constructor(ctx: BuildContext, params: Partial<CommonParams>, header: ReportHeader) {
    this.ctx = ctx;
    this.params = params;
    this.header = header;
    this.root = new SequenceBuilder(newNode("sequence", "", {}, 0));
  }

  /** Adds a misc info (key/value) to the header. */
  misc(description: string, text: string | number | boolean): this {
    this.miscInfos.push({ description: str(description), text: stripControlChars(String(text)) });
    return this;
  }

  /**
   * Records a problem the converter recovered from in this unit (a skipped record, a cut
   * line): kept as a `Conversion warning` misc info and passed on to the agent's log.
   */
  warn(message: string): this {
    this.warnings.push(stripControlChars(message));
    this.ctx.warn?.(message);
    return this;
  }

  /** Adds a sub unit (sub-assembly). */
  subUnit(unit: { partType?: string; pn: string; sn: string; rev?: string }): this {
    this.subUnits.push(definedStrings(unit));
    return this;
  }

  /** Adds an asset (test equipment) used in the test. */
  asset(assetSN: string, usageCount?: number): this {
    const a: { assetSN: string; usageCount?: number } = { assetSN: str(assetSN) };
    if (usageCount !== undefined) a.usageCount = usageCount;
    this.assets.push(a);
    return this;
  }

  /** Sets further top-level WSJF fields (e.g. `additionalData`), copied as they are. */
  setExtra(fields: Record<string, unknown>): this {
    Object.assign(this.extraFields, fields);
    return this;
  }

  /** The time zone naive timestamps are read in. */
  get timeZone(): string {
    return this.params.timeZone ?? this.ctx.station.timeZone;
  }

  /** Converts a timestamp input to ISO with offset (naive → the station's zone). */
  time(input: TimeInput, what = "time"): string {
    return toIso(input, this.timeZone, what);
  }

  /** Builds the report. Can be called again after further changes. */
  build(): WsjfReport {
    const h = this.header;
    const p = this.params;
    const st = this.ctx.station;
    const mode = p.testMode ?? "import";
    const sn = clean(h.sn);
    if (sn === undefined) {
      throw new ConversionError(
        `no serial number for unit ${(h.unitIndex ?? 0) + 1} in ${this.ctx.name ?? "the file"}`,
        "Check that the file is complete; every unit needs a serial number.",
      );
    }
    const pn = clean(h.pn) ?? clean(p.partNumber);
    if (pn === undefined) {
      throw new ConversionError(
        `no part number in ${this.ctx.name ?? "the file"} (serial ${sn}) and no "partNumber" ` +
          "converter parameter",
        "Set converters[].params.partNumber in the config for files that carry no part number.",
      );
    }
    const misc = [...this.miscInfos];
    let processCode = isInt(h.processCode) ? h.processCode : undefined;
    const processName = clean(h.processName);
    if (processCode === undefined && processName !== undefined) {
      const map = p.processCodes ?? {};
      const key = Object.keys(map).find((k) => k.toLowerCase() === processName.toLowerCase());
      if (key !== undefined) processCode = map[key];
      else misc.push({ description: "Process name", text: processName });
    }
    processCode ??= p.processCode ?? 10;

    const id = this.reportId();
    const start = toIso(h.start, this.timeZone, "start time");

    // Root sequence.
    const rootNode = this.root.node;
    rootNode.name = h.rootName ?? "MainSequence Callback";
    const seqName = clean(h.sequence?.name) ?? str(p.sequenceName) ?? "MainSequence";
    rootNode.seq = {
      sequenceName: seqName,
      version: clean(h.sequence?.version) ?? str(p.sequenceVersion) ?? "1.0.0",
      path: clean(h.sequence?.path) ?? seqName,
    };

    const notes: Note[] = [];
    let next = 1;
    const assign = (n: Node) => {
      // Pre-order numbering (recursion is bounded by MAX_STEP_DEPTH).
      n.id = next++;
      for (const c of n.children) assign(c);
    };
    assign(rootNode);
    const root = finishStep(rootNode, mode, notes, rootNode.seq, this.timeZone);

    const computed = toReportResult(root.status);
    const given = parseReportResult(h.result);
    let result = given ?? computed;
    if (given !== undefined && given !== computed) {
      notes.push({ text: `result: file ${given}, steps ${computed}` });
      result = given;
    }
    for (const n of notes.slice(0, MAX_STATUS_NOTES)) {
      const where = n.node === undefined
        ? ""
        : `step ${n.node.id} "${n.node.name}"${n.meas ? ` [${n.meas}]` : ""}: `;
      misc.push({ description: "Status note", text: stripControlChars(`${where}${n.text}`) });
    }
    if (notes.length > MAX_STATUS_NOTES) {
      misc.push({
        description: "Status note",
        text: `${notes.length - MAX_STATUS_NOTES} more differences between file and limits`,
      });
    }

    for (const w of this.warnings.slice(0, MAX_WARNING_NOTES)) {
      misc.push({ description: "Conversion warning", text: w });
    }
    if (this.warnings.length > MAX_WARNING_NOTES) {
      misc.push({
        description: "Conversion warning",
        text: `${this.warnings.length - MAX_WARNING_NOTES} more (${this.warnings.length} in ` +
          "all; the agent log lists them)",
      });
    }

    const uut: UutInfo = {};
    put(uut, "user", clean(h.operator) ?? clean(p.operator) ?? (str(st.operator) || undefined));
    put(uut, "comment", str(h.comment));
    if (isFiniteNumber(h.execTime)) uut.execTime = h.execTime;
    put(uut, "fixtureId", clean(h.fixtureId));
    put(uut, "batchSN", clean(h.batchSN));
    if (isInt(h.testSocketIndex)) uut.testSocketIndex = h.testSocketIndex;
    if (isInt(h.errorCode)) uut.errorCode = h.errorCode;
    put(uut, "errorMessage", clean(h.errorMessage));
    if (isInt(h.batchFailCount)) uut.batchFailCount = h.batchFailCount;
    if (isInt(h.batchLoopIndex)) uut.batchLoopIndex = h.batchLoopIndex;
    if (isInt(h.stepIdCausedUUTFailure)) uut.stepIdCausedUUTFailure = h.stepIdCausedUUTFailure;

    const report: WsjfReport = {
      type: "T",
      id,
      pn,
      sn,
      rev: clean(h.rev) ?? clean(p.partRevision) ?? "1.0",
      processCode,
      result,
      machineName: clean(p.stationName) ?? clean(h.machineName) ?? str(st.name),
      location: clean(h.location) ?? str(p.location) ?? str(st.location),
      purpose: clean(h.purpose) ?? str(p.purpose) ?? str(st.purpose),
      start,
      root,
      uut,
    };
    if (misc.length > 0) report.miscInfos = misc;
    if (this.subUnits.length > 0) report.subUnits = [...this.subUnits];
    if (this.assets.length > 0) report.assets = [...this.assets];
    // Fields copied as they are: stripped in place, as a whole.
    Object.assign(report, stripControlCharsDeep(this.extraFields));
    return report;
  }

  private reportId(): string {
    const h = this.header;
    if (h.id !== undefined && h.id.trim() !== "") {
      const g = normalizeGuid(h.id);
      if (g === null) {
        throw new ConversionError(
          `report id "${h.id}" in ${this.ctx.name ?? "the file"} is not a GUID`,
          "Use a GUID such as 5b0c2a8e-3d1f-4c7a-9e62-1f8d4b7a0c31, or leave the id out.",
        );
      }
      return g;
    }
    if (h.idSeed !== undefined) return deriveReportId(h.idSeed);
    return unitReportId(this.ctx.sha256, h.unitIndex ?? 0);
  }
}
