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
 * truncated (see schema.ts).
 *
 * Speed: reports of tens of thousands of steps are common (flying probers), so `build()`
 * creates every output object with only its defined keys (no `delete`, which turns objects
 * into slow dictionaries) and strips strings where they enter instead of walking the result.
 *
 * @module
 */
import { ConversionError, type StationContext, type WsjfReport } from "../contract.ts";
import { deriveReportId, normalizeGuid, unitReportId } from "../ids.ts";
import type { CommonParams } from "../params.ts";
import { stripControlChars, stripControlCharsDeep } from "../text.ts";
import { formatInZone, type NaiveDateTime, parseIsoDateTime, zonedToIso } from "../time.ts";
import {
  evaluateNumeric,
  evaluateString,
  finiteValue,
  isFiniteNumber,
  parseStringCompOp,
  resolveNumericLimits,
  type StringCompOp,
} from "./compop.ts";
import {
  type AdditionalData,
  type Attachment,
  type BooleanMeasurement,
  type Chart,
  type LoopInfo,
  MAX_STEP_DEPTH,
  type MiscInfo,
  type NumericMeasurement,
  SINGLE_MEAS_STEP_TYPES,
  type Step,
  type StringMeasurement,
  type SubUnit,
  type UutInfo,
} from "./schema.ts";
import {
  failsParent,
  type MeasStatus,
  parseGroup,
  parseMeasStatus,
  parseReportResult,
  parseStepStatus,
  type StepStatus,
  toReportResult,
  worse,
} from "./status.ts";

export { MAX_STEP_DEPTH };

/** Most `Status note` misc infos per report; the rest are counted in one more note. */
export const MAX_STATUS_NOTES = 10;

/** Most `Conversion warning` misc infos per report; the rest are counted in one more. */
export const MAX_WARNING_NOTES = 10;

/** What the builder needs from the convert input (a `ConvertInput` fits). */
export interface BuildContext {
  station: StationContext;
  /** SHA-256 of the file: the default id seed. */
  sha256: string;
  /** File name, for messages. */
  name?: string;
  /** Where recovered problems go besides the report (see `ConvertInput.warn`). */
  warn?(message: string): void;
}

/** A timestamp: ISO string (with offset, or naive = station zone), instant, or naive fields. */
export type TimeInput = string | Date | NaiveDateTime;

/** The report header as the file gives it. Only `sn` and `start` are required. */
export interface ReportHeader {
  sn: string;
  pn?: string;
  rev?: string;
  processCode?: number;
  /** Process name from the file; resolved through params.processCodes, else kept as misc info. */
  processName?: string;
  start: TimeInput;
  /** The file's overall verdict (code or word: "P", "Passed", "FAIL", …). */
  result?: string;
  operator?: string;
  machineName?: string;
  location?: string;
  purpose?: string;
  /** A GUID the file carries for this report (kept as the report id). */
  id?: string;
  /** Seed for the id instead of (file sha256, unitIndex), e.g. the unit's own bytes' hash. */
  idSeed?: string;
  /** Index of this unit within the file (default 0): part of the default id seed. */
  unitIndex?: number;
  execTime?: number;
  fixtureId?: string;
  batchSN?: string;
  testSocketIndex?: number;
  comment?: string;
  errorCode?: number;
  errorMessage?: string;
  batchFailCount?: number;
  batchLoopIndex?: number;
  stepIdCausedUUTFailure?: number;
  /** Root sequence call (the test program). */
  sequence?: { name?: string; version?: string; path?: string };
  /** Root step name (default "MainSequence Callback"). */
  rootName?: string;
}

/** Options every step kind takes. */
export interface StepOptions {
  /** The file's verdict for the step (code or word). */
  status?: string;
  /** Overrides the default step type label. */
  stepType?: string;
  /** "S"/"M"/"C" or Setup/Main/Cleanup (default Main). */
  group?: string;
  start?: TimeInput;
  /** Seconds. */
  totTime?: number;
  reportText?: string;
  errorCode?: number;
  errorMessage?: string;
  causedUUTFailure?: boolean;
  causedSeqFailure?: boolean;
  tsGuid?: string;
  loop?: LoopInfo;
  chart?: ChartInput;
  attachment?: AttachmentInput;
  additionalResults?: AdditionalData[];
  /** Further WSJF step fields (callExe, messagePopup, …), copied as they are. */
  extra?: Record<string, unknown>;
}

/** Options of a sequence call step. */
export interface SequenceOptions extends StepOptions {
  /** Sequence file path (default: the parent's). */
  path?: string;
  /** Sequence version (default: the parent's). */
  version?: string;
  /** Sequence name in `seqCall` (default: the step name). */
  sequenceName?: string;
}

/**
 * A numeric measurement as the file has it. Limits are semantic: `low` is the lower bound,
 * `high` the upper bound, `limit` the one limit of EQ/NE/GT/GE/LT/LE; the builder places them
 * (LT/LE keep their limit in WSJF `lowLimit`). Without `compOp` it is inferred from the
 * limits present.
 */
export interface NumericInput {
  /** Required on multi-measurement steps (filled with "Measurement n" when missing). */
  name?: string;
  value?: number;
  compOp?: string;
  low?: number;
  high?: number;
  limit?: number;
  unit?: string;
  /** The file's verdict (code or word). */
  status?: string;
  valueFormat?: string;
  lowLimitFormat?: string;
  highLimitFormat?: string;
}

/** A pass/fail measurement: give `passed` (the outcome) and/or `status` (the file's verdict). */
export interface PassFailInput {
  name?: string;
  passed?: boolean;
  status?: string;
}

/** A string measurement. Without `compOp`: EQ when a limit is given, else LOG. */
export interface StringInput {
  name?: string;
  value?: string;
  limit?: string;
  compOp?: string;
  status?: string;
}

/** A chart: series as number arrays (or `;`-joined strings). */
export interface ChartInput {
  chartType?: string;
  label?: string;
  xLabel?: string;
  xUnit?: string;
  yLabel?: string;
  yUnit?: string;
  series: Array<{ name: string; x: number[] | string; y: number[] | string }>;
}

/** An attachment: bytes (base64-encoded by the builder) or base64 text. */
export interface AttachmentInput {
  name: string;
  contentType: string;
  data: Uint8Array | string;
}

type Kind = "sequence" | "numeric" | "boolean" | "string" | "action";

interface Node {
  kind: Kind;
  name: string;
  opts: StepOptions;
  multi: boolean;
  numeric: NumericInput[];
  boolean: PassFailInput[];
  string: StringInput[];
  children: Node[];
  seq?: { path?: string; version?: string; sequenceName?: string };
  depth: number;
  /** Notes for the reportText (non-finite values); allocated when needed. */
  textNotes?: string[];
  /** Step id, set by `build()`. */
  id: number;
}

/** A step being built: add measurements, set its verdict, text, chart or attachment. */
export class StepBuilder {
  /** @internal */
  readonly node: Node;

  /** @internal */
  constructor(node: Node) {
    this.node = node;
  }

  /** The step name. */
  get name(): string {
    return this.node.name;
  }

  /** Adds a numeric measurement (the step becomes a multi-measurement step if it has two). */
  addNumeric(m: NumericInput): this {
    this.requireKind("numeric");
    this.node.numeric.push({ ...m });
    return this;
  }

  /** Adds a pass/fail measurement. */
  addPassFail(m: PassFailInput): this {
    this.requireKind("boolean");
    this.node.boolean.push({ ...m });
    return this;
  }

  /** Adds a string measurement. */
  addString(m: StringInput): this {
    this.requireKind("string");
    this.node.string.push({ ...m });
    return this;
  }

  /** Sets the file's verdict for this step. */
  setStatus(status: string | undefined): this {
    this.node.opts.status = status;
    return this;
  }

  /** Merges further step options (later values win). */
  set(opts: StepOptions): this {
    Object.assign(this.node.opts, opts);
    return this;
  }

  /** Appends a line to the step's reportText. */
  appendText(text: string): this {
    const t = this.node.opts.reportText;
    this.node.opts.reportText = t ? `${t}\n${text}` : text;
    return this;
  }

  /** Sets the step's chart (a numeric step with a chart is labelled WATS_XYGMNLT). */
  chart(chart: ChartInput): this {
    this.node.opts.chart = chart;
    return this;
  }

  /** Sets the step's attachment. */
  attach(attachment: AttachmentInput): this {
    this.node.opts.attachment = attachment;
    return this;
  }

  private requireKind(kind: Kind): void {
    const n = this.node;
    if (n.kind === kind) return;
    const others = (["numeric", "boolean", "string"] as const).filter((k) =>
      k !== kind && n[k].length > 0
    );
    if (others.length === 0 && (n.kind === "action" || n.kind === "sequence")) {
      // A generic step (or a sequence such as NI_Wait) takes the first measurement kind added.
      if (n.kind === "action") n.kind = kind;
      return;
    }
    throw new Error(
      `builder misuse: step "${n.name}" holds ${n.kind} measurements; it can't also hold ${kind}`,
    );
  }
}

/** A sequence call step: add child steps to it. */
export class SequenceBuilder extends StepBuilder {
  /** Adds a nested sequence call and returns it. */
  sequence(name: string, opts: SequenceOptions = {}): SequenceBuilder {
    const { path, version, sequenceName, ...rest } = opts;
    const node = this.child("sequence", name, rest);
    node.seq = { path, version, sequenceName };
    return new SequenceBuilder(node);
  }

  /** Adds a single numeric limit step (ET_NLT). */
  numeric(name: string, m: NumericInput, opts: StepOptions = {}): StepBuilder {
    const node = this.child("numeric", name, opts);
    node.numeric.push({ ...m, name: undefined });
    return new StepBuilder(node);
  }

  /** Adds a multiple numeric limit step (ET_MNLT); more measurements via `addNumeric`. */
  multiNumeric(name: string, ms: NumericInput[] = [], opts: StepOptions = {}): StepBuilder {
    const node = this.child("numeric", name, opts, true);
    node.numeric.push(...ms.map((m) => ({ ...m })));
    return new StepBuilder(node);
  }

  /** Adds a single pass/fail step (ET_PFT). */
  passFail(name: string, m: PassFailInput, opts: StepOptions = {}): StepBuilder {
    const node = this.child("boolean", name, opts);
    node.boolean.push({ ...m, name: undefined });
    return new StepBuilder(node);
  }

  /** Adds a multiple pass/fail step (ET_MPFT). */
  multiPassFail(name: string, ms: PassFailInput[] = [], opts: StepOptions = {}): StepBuilder {
    const node = this.child("boolean", name, opts, true);
    node.boolean.push(...ms.map((m) => ({ ...m })));
    return new StepBuilder(node);
  }

  /** Adds a single string value step (ET_SVT). */
  string(name: string, m: StringInput, opts: StepOptions = {}): StepBuilder {
    const node = this.child("string", name, opts);
    node.string.push({ ...m, name: undefined });
    return new StepBuilder(node);
  }

  /** Adds a multiple string value step (ET_MSVT). */
  multiString(name: string, ms: StringInput[] = [], opts: StepOptions = {}): StepBuilder {
    const node = this.child("string", name, opts, true);
    node.string.push(...ms.map((m) => ({ ...m })));
    return new StepBuilder(node);
  }

  /**
   * Adds a step without measurements (default type "Action", status "D" unless the file
   * says otherwise). Use `opts.stepType` for other generic steps (Label, MessagePopup, …).
   */
  action(name: string, opts: StepOptions = {}): StepBuilder {
    return new StepBuilder(this.child("action", name, opts));
  }

  private child(kind: Kind, name: string, opts: StepOptions, multi = false): Node {
    const depth = this.node.depth + 1;
    if (depth > MAX_STEP_DEPTH) {
      throw new ConversionError(
        `steps are nested more than ${MAX_STEP_DEPTH} levels deep (at "${name}")`,
        "Check that every sequence in the file is closed.",
      );
    }
    const node = newNode(kind, name, { ...opts }, depth);
    node.multi = multi;
    this.node.children.push(node);
    return node;
  }
}

function newNode(kind: Kind, name: string, opts: StepOptions, depth: number): Node {
  return {
    kind,
    name,
    opts,
    multi: false,
    numeric: [],
    boolean: [],
    string: [],
    children: [],
    depth,
    id: 0,
  };
}

interface Note {
  node?: Node;
  meas?: string;
  text: string;
}

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
    const root = this.finishStep(rootNode, mode, notes, rootNode.seq, this.timeZone);

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

  private finishStep(
    n: Node,
    mode: "import" | "active",
    notes: Note[],
    parentSeq: { path?: string; version?: string },
    tz: string,
  ): Step {
    const o = n.opts;
    const childSeq = n.kind === "sequence" ? seqOf(n, parentSeq) : parentSeq;
    const children: Step[] = [];
    for (const c of n.children) children.push(this.finishStep(c, mode, notes, childSeq, tz));
    const multi = n.multi || n.numeric.length + n.boolean.length + n.string.length > 1;

    // Measurements.
    const measStatuses: MeasStatus[] = [];
    let numericMeas: NumericMeasurement[] | undefined;
    let booleanMeas: BooleanMeasurement[] | undefined;
    let stringMeas: StringMeasurement[] | undefined;
    const names = multi ? uniqueNames([...n.numeric, ...n.boolean, ...n.string]) : [];
    const pick = (
      given: MeasStatus | undefined,
      computed: MeasStatus | undefined,
      label?: string,
    ) => {
      let s: MeasStatus;
      if (mode === "active") s = computed ?? given!;
      else {
        s = given ?? computed!;
        if (given !== undefined && computed !== undefined && given !== computed && given !== "S") {
          notes.push({ node: n, meas: label, text: `file ${given}, limits ${computed}` });
        }
      }
      measStatuses.push(s);
      return s;
    };
    if (n.numeric.length > 0) {
      numericMeas = n.numeric.map((m, i) => {
        const lim = resolveNumericLimits({
          compOp: m.compOp,
          low: m.low,
          high: m.high,
          limit: m.limit,
        });
        if (lim === undefined) {
          throw new ConversionError(
            `step "${n.name}": unknown comparison operator "${m.compOp}"`,
            "Use one of LOG, EQ, NE, GT, GE, LT, LE, GTLT, GELE, GELT, GTLE, LTGT, LEGE, LEGT, LTGE.",
          );
        }
        const label = multi ? names[i] : undefined;
        if (typeof m.value === "number" && !Number.isFinite(m.value)) {
          (n.textNotes ??= []).push(`${label ?? "value"}: ${m.value}`);
        }
        const computed = evaluateNumeric(lim.compOp, m.value, lim.lowLimit, lim.highLimit);
        const status = pick(parseMeasStatus(m.status), computed ?? "P", label);
        const nm = {} as NumericMeasurement;
        if (label !== undefined) nm.name = label;
        nm.compOp = lim.compOp;
        nm.status = status;
        put(nm, "value", finiteValue(m.value));
        put(nm, "unit", str(m.unit));
        put(nm, "lowLimit", lim.lowLimit);
        put(nm, "highLimit", lim.highLimit);
        put(nm, "valueFormat", str(m.valueFormat));
        put(nm, "lowLimitFormat", str(m.lowLimitFormat));
        put(nm, "highLimitFormat", str(m.highLimitFormat));
        return nm;
      });
    }
    if (n.boolean.length > 0) {
      booleanMeas = n.boolean.map((m, i) => {
        const label = multi ? names[n.numeric.length + i] : undefined;
        const given = parseMeasStatus(m.status);
        const computed = m.passed === undefined ? undefined : m.passed ? "P" : "F";
        if (given === undefined && computed === undefined) {
          throw new ConversionError(
            `step "${n.name}"${
              label ? ` [${label}]` : ""
            }: a pass/fail measurement without a verdict`,
          );
        }
        const status = pick(given, computed, label);
        return label === undefined ? { status } : { name: label, status };
      });
    }
    if (n.string.length > 0) {
      stringMeas = n.string.map((m, i) => {
        const label = multi ? names[n.numeric.length + n.boolean.length + i] : undefined;
        let op: StringCompOp | undefined = m.compOp === undefined || m.compOp.trim() === ""
          ? (m.limit === undefined ? "LOG" : "EQ")
          : parseStringCompOp(m.compOp);
        if (op === undefined) {
          throw new ConversionError(
            `step "${n.name}": unknown string comparison operator "${m.compOp}"`,
            "Use one of LOG, EQ, NE, CASESENSIT, IGNORECASE.",
          );
        }
        if (op !== "LOG" && m.limit === undefined) op = "LOG";
        // Compared as they will be in the report (without control characters).
        const value = str(m.value);
        const limit = str(m.limit);
        const computed = evaluateString(op, value, limit);
        const status = pick(parseMeasStatus(m.status), computed ?? "P", label);
        const sm = {} as StringMeasurement;
        if (label !== undefined) sm.name = label;
        sm.compOp = op;
        sm.status = status;
        put(sm, "value", value);
        put(sm, "limit", limit);
        return sm;
      });
    }

    // Step status.
    let derived: StepStatus | undefined;
    if (measStatuses.length > 0) {
      derived = measStatuses.includes("F") ? "F" : measStatuses.every((s) => s === "S") ? "S" : "P";
    }
    if (children.length > 0) {
      let fromKids: StepStatus = children.every((c) => c.status === "S") ? "S" : "P";
      for (const c of children) if (failsParent(c.status)) fromKids = worse(fromKids, c.status);
      derived = derived === undefined ? fromKids : worse(derived === "S" ? "P" : derived, fromKids);
    } else if (n.kind === "sequence" && derived === undefined) {
      derived = "P";
    }
    const given = parseStepStatus(o.status);
    let status: StepStatus;
    if (mode === "active") {
      status = derived ?? given ?? "D";
      if (given === "E" || given === "T") status = worse(status, given);
    } else {
      status = given ?? derived ?? "D";
      if (
        given !== undefined && derived !== undefined && given !== derived &&
        (given === "P" || given === "F") && (derived === "P" || derived === "F")
      ) {
        notes.push({
          node: n,
          text: `file ${given}, ${children.length > 0 ? "steps" : "measurements"} ${derived}`,
        });
      }
    }

    // Step type.
    let stepType = clean(o.stepType);
    if (stepType === undefined || (multi && SINGLE_MEAS_STEP_TYPES.has(stepType))) {
      stepType = defaultStepType(n, multi, o.chart !== undefined);
    }
    let reportText = o.reportText;
    if (n.textNotes !== undefined && n.textNotes.length > 0) {
      reportText = [reportText, ...n.textNotes].filter((t) => t !== undefined && t !== "").join(
        "\n",
      );
    }

    const step: Step = {
      id: n.id,
      group: parseGroup(o.group) ?? "M",
      stepType,
      name: str(n.name),
      status,
    };
    if (o.start !== undefined) step.start = toIso(o.start, tz, `start of step "${n.name}"`);
    if (isFiniteNumber(o.totTime)) step.totTime = o.totTime;
    if (isInt(o.errorCode)) step.errorCode = o.errorCode;
    put(step, "errorMessage", clean(o.errorMessage));
    put(step, "reportText", str(reportText));
    put(step, "causedUUTFailure", o.causedUUTFailure);
    put(step, "causedSeqFailure", o.causedSeqFailure);
    put(step, "tsGuid", str(o.tsGuid));
    put(step, "loop", deepStr(o.loop));
    if (n.kind === "sequence") step.seqCall = seqCallOf(n, parentSeq);
    put(step, "numericMeas", numericMeas);
    put(step, "booleanMeas", booleanMeas);
    put(step, "stringMeas", stringMeas);
    if (o.chart) step.chart = buildChart(o.chart);
    if (o.attachment) step.attachment = buildAttachment(o.attachment);
    put(step, "additionalResults", deepStr(o.additionalResults));
    if (o.extra) {
      const s = step as unknown as Record<string, unknown>;
      for (const k of Object.keys(o.extra)) {
        const v = o.extra[k];
        if (!(k in step) && v !== undefined) s[k] = deepStr(v);
      }
    }
    if (children.length > 0) step.steps = children;
    return step;
  }
}

function seqOf(n: Node, parent: { path?: string; version?: string }) {
  return { path: n.seq?.path ?? parent.path, version: n.seq?.version ?? parent.version };
}

function seqCallOf(n: Node, parent: { path?: string; version?: string }) {
  const s = seqOf(n, parent);
  const name = str(n.seq?.sequenceName ?? n.name);
  return { path: s.path === undefined ? name : str(s.path), name, version: str(s.version ?? "") };
}

function defaultStepType(n: Node, multi: boolean, chart: boolean): string {
  switch (n.kind) {
    case "sequence":
      return "SequenceCall";
    case "numeric":
      return chart ? "WATS_XYGMNLT" : multi ? "ET_MNLT" : "ET_NLT";
    case "boolean":
      return multi ? "ET_MPFT" : "ET_PFT";
    case "string":
      return multi ? "ET_MSVT" : "ET_SVT";
    default:
      return "Action";
  }
}

/**
 * Names for the measurements of a multi-measurement step: blank names become
 * "Measurement n" and repeated names (case-insensitive) get " (2)", " (3)".
 */
export function uniqueNames(ms: ReadonlyArray<{ name?: string }>): string[] {
  const used = new Set<string>();
  return ms.map((m, i) => {
    const base = clean(m.name) ?? `Measurement ${i + 1}`;
    let name = base;
    for (let k = 2; used.has(name.toLowerCase()); k++) name = `${base} (${k})`;
    used.add(name.toLowerCase());
    return name;
  });
}

function buildChart(c: ChartInput): Chart {
  const join = (v: number[] | string) =>
    typeof v === "string" ? str(v) : v.map((x) => String(finiteValue(x) ?? 0)).join(";");
  const chart = { chartType: str(c.chartType ?? "Line") as Chart["chartType"] } as Chart;
  put(chart, "label", str(c.label));
  put(chart, "xLabel", str(c.xLabel));
  put(chart, "xUnit", str(c.xUnit));
  put(chart, "yLabel", str(c.yLabel));
  put(chart, "yUnit", str(c.yUnit));
  chart.series = c.series.map((s) => ({
    dataType: "XYG" as const,
    name: str(s.name),
    xdata: join(s.x),
    ydata: join(s.y),
  }));
  return chart;
}

function buildAttachment(a: AttachmentInput): Attachment {
  return {
    name: str(a.name),
    contentType: str(a.contentType),
    data: typeof a.data === "string" ? str(a.data) : base64(a.data),
  };
}

/** Base64 of bytes (chunked, so large attachments don't overflow the call stack). */
export function base64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

function toIso(input: TimeInput, tz: string, what: string): string {
  if (input instanceof Date) {
    if (Number.isNaN(input.getTime())) throw new ConversionError(`${what}: not a valid date`);
    return formatInZone(input, tz);
  }
  if (typeof input === "string") {
    const iso = parseIsoDateTime(input, tz);
    if (iso === null) {
      throw new ConversionError(
        `${what}: "${input}" is not an ISO 8601 date-time`,
        "Check the date format in the file (and the converter's date settings).",
      );
    }
    return iso;
  }
  return zonedToIso(input, tz);
}

/**
 * Text without control characters, trimmed; undefined when nothing is left. Stripping comes
 * first, so a serial number made only of control characters counts as absent.
 */
function clean(s: string | undefined | null): string | undefined {
  if (s === undefined || s === null) return undefined;
  const t = stripControlChars(String(s)).trim();
  return t === "" ? undefined : t;
}

/** A string without control characters; anything else (undefined included) unchanged. */
function str<T>(s: T): T {
  return (typeof s === "string" ? stripControlChars(s) : s) as T;
}

/** {@link str} for values copied as they are: nested strings are stripped in place. */
function deepStr<T>(v: T): T {
  if (typeof v === "string") return stripControlChars(v) as T;
  return v !== null && typeof v === "object" ? stripControlCharsDeep(v) : v;
}

/** Sets `o[k] = v` unless `v` is undefined (objects keep one shape; no `delete`). */
function put<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v !== undefined) o[k] = v;
}

/** A copy of `o` with its defined values only, strings without control characters. */
function definedStrings<T extends object>(o: T): T {
  const out = {} as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const v = (o as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = deepStr(v);
  }
  return out as T;
}

function isInt(x: unknown): x is number {
  return typeof x === "number" && Number.isInteger(x) && x >= -2147483648 && x <= 2147483647;
}

/**
 * The object without its undefined values: `o` itself when it has none, else a copy with the
 * other keys in the same order. (A copy, not `delete`, which makes objects slow dictionaries.)
 */
export function dropUndefined<T extends object>(o: T): T {
  const keys = Object.keys(o) as Array<keyof T>;
  if (!keys.some((k) => o[k] === undefined)) return o;
  const out = {} as T;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * Fills the station fields a report lacks, in place: `machineName`, `location`, `purpose`
 * from the station, and the operator (`uut.user`, or `uur.user` for a repair) from
 * `station.operator`. Values the report has are never changed. The convert pool calls this on
 * every converter's output before {@link validateReport}.
 */
export function fillStationFields(report: object, station: StationContext): void {
  const r = report as Record<string, unknown>;
  const blank = (v: unknown) =>
    v === undefined || v === null || (typeof v === "string" && v.trim() === "");
  if (blank(r.machineName)) r.machineName = station.name;
  if (r.location === undefined || r.location === null) r.location = station.location;
  if (r.purpose === undefined || r.purpose === null) r.purpose = station.purpose;
  const block = r.type === "R" ? "uur" : "uut";
  if (r.type === "T" && (r[block] === undefined || r[block] === null)) r[block] = {};
  const b = r[block];
  if (b !== null && typeof b === "object" && !Array.isArray(b)) {
    const user = (b as Record<string, unknown>).user;
    if (blank(user) && station.operator) (b as Record<string, unknown>).user = station.operator;
  }
}
