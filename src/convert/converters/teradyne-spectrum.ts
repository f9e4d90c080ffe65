/**
 * `teradyne-spectrum`: Teradyne TestStation ICT datalogs written by Spectrum
 * (docs/converters.md, `teradyne-spectrum`): nested `(KEY: value)` records.
 *
 * Mapping: `pn` = `PROGRAM_NAME` (unless `partNumberFromProgram: false`, then the
 * `partNumber` parameter); `sn` = the `(USER: Serialnumber:…)` line (key names in `serialKeys`);
 * operator = `(USER: Operator:…)`; `result` = `(USER: STATUS: BOARD PASSED|FAILED)`, else from
 * the steps; `start` = TIME of the first STEP (`MM/dd/yyyy HH:mm:ss` in the station time zone;
 * `dateOrder: "dmy"` for day-first files); `uut.execTime` = last STEP time − start; other USER
 * lines (CustomerSerialnumber, OrderNumber, version, …) and SUBPROGRAM_NAME → misc infos.
 * Each SECTION_NAME → a sequence call; each STEP (SNAME) → one step, or a sequence of its PAGEs
 * when it has several. A page with measured values (ANA MEASVAL, INTC_RESULT MEASVAL) → a
 * numeric step (several values → one multi-numeric step named by their nodes), limits LOLIM /
 * HILIM → GELE/GE/LE; every value and limit is brought to base units from its own SCALE
 * (p n u/µ m k/K M G; `UNIT: O` = Ω). A page without values → pass/fail by its STAT (limits,
 * nominal and test points in the report text); EXT_PROG → an action step with the program path.
 * STAT words PASS/FAIL/… (more via `statusWords`) are kept as the tester's verdicts (import mode).
 * A file with several PROGRAM_NAME blocks gives one report per block.
 *
 * Parameters: the shared ones (params.ts); `processCode` defaults to 30 (ICT); `dateOrder`
 * (`"mdy"`); `serialKeys` (USER keys holding the serial, default Serialnumber/SerialNumber/
 * Serial/SN/Barcode); `partNumberFromProgram` (true); `statusWords` (extra STAT words → P F D
 * S E T).
 *
 * @module
 */
import { z } from "zod";
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { sha256Hex } from "../ids.ts";
import { parseScaled } from "../number.ts";
import { converterParams, parseParams, processCodeParam, statusWordsParam } from "../params.ts";
import { clip, decodeText, headText } from "../text.ts";
import { type NaiveDateTime, parseLooseDateTime, zonedToEpoch } from "../time.ts";
import { type NumericInput } from "../../wsjf/build_input.ts";
import { ReportBuilder } from "../../wsjf/builder.ts";
import { type SequenceBuilder } from "../../wsjf/step_builder.ts";
import { parseStepStatus, type StepStatus } from "../../wsjf/status_codes.ts";
import {
  parseSExpr,
  sChild,
  sChildren,
  SExprError,
  type SNode,
} from "./teradyne-spectrum/sexpr.ts";

const paramsSchema = converterParams({
  processCode: processCodeParam(30),
  dateOrder: z.enum(["mdy", "dmy"]).default("mdy").describe('`"dmy"` for day-first STEP TIMEs.'),
  serialKeys: z.array(z.string().min(1)).min(1).default([
    "Serialnumber",
    "Serial",
    "SN",
    "Barcode",
  ]).describe("USER keys holding the serial."),
  partNumberFromProgram: z.boolean().default(true).describe(
    "`false`: use the `partNumber` parameter instead of PROGRAM_NAME.",
  ),
  statusWords: statusWordsParam.describe(
    "Extra STAT words → `P F D S E T U`.",
  ),
});

type SpectrumParams = z.output<typeof paramsSchema>;

const SCALE_EXP: Readonly<Record<string, number>> = {
  f: -15,
  p: -12,
  n: -9,
  u: -6,
  "µ": -6,
  "μ": -6,
  m: -3,
  "": 0,
  k: 3,
  K: 3,
  M: 6,
  G: 9,
};

const UNITS: Readonly<Record<string, string>> = { O: "Ω", OHM: "Ω", HZ: "Hz" };

/** The Spectrum converter. */
export const converter: Converter = {
  name: "teradyne-spectrum",
  params: paramsSchema,
  description: "Teradyne TestStation / Spectrum ICT datalog ((KEY: value) records)",
  pattern: "*.txt",
  detect({ head }) {
    const text = headText(head).trimStart();
    if (/^\(PROGRAM_NAME:\s*"/.test(text)) return 0.9;
    if (/^\((SUBPROGRAM_NAME|SECTION_NAME|STEP):/.test(text)) return 0.6;
    return 0;
  },
  convert(input: ConvertInput): WsjfReport[] {
    const params = parseParams(input.params, paramsSchema, "teradyne-spectrum");
    const { text } = decodeText(input.bytes, { encoding: params.encoding });
    const notSpectrum = () => {
      const first = text.split(/\r?\n/).find((l) => l.trim() !== "") ?? "";
      return new ConversionError(
        `${input.name} is not a Spectrum datalog: no (STEP: records; first line is ` +
          JSON.stringify(first.slice(0, 80)),
        "Check the converter's format setting for this folder.",
      );
    };
    let nodes: SNode[];
    try {
      nodes = parseSExpr(text);
    } catch (e) {
      if (e instanceof SExprError && !/\(\s*STEP\s*:/.test(text)) throw notSpectrum();
      if (e instanceof SExprError) {
        throw new ConversionError(
          `${input.name}: line ${e.line}: ${e.message}`,
          "The datalog is incomplete or damaged; convert it again once Spectrum has finished it.",
        );
      }
      throw e;
    }
    // A board without steps can't be reported (a new board just begun at the end of the file).
    const boards = splitBoards(nodes).filter((b) => b.some((n) => n.key === "STEP"));
    if (boards.length === 0) throw notSpectrum();
    // Ids from each board's own records, so a file that grows by boards keeps earlier ids.
    const seen = new Map<string, number>();
    return boards.map((b, i) => {
      const own = b.filter((n) => n.key !== "");
      const hash = sha256Hex(JSON.stringify(own, (k, v) => (k === "line" ? undefined : v)));
      const k = seen.get(hash) ?? 0;
      seen.set(hash, k + 1);
      return buildBoard(input, params, b, i, `spectrum:${hash}:${k}`);
    });
  },
};

/** Top-level records split at each PROGRAM_NAME that follows steps. */
function splitBoards(nodes: SNode[]): SNode[][] {
  const boards: SNode[][] = [];
  let cur: SNode[] = [];
  for (const n of nodes) {
    if (n.key === "PROGRAM_NAME" && cur.some((c) => c.key === "STEP")) {
      boards.push(cur);
      cur = [];
    }
    cur.push(n);
  }
  if (cur.length > 0) boards.push(cur);
  return boards;
}

function loose(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, "");
}

function stepTime(step: SNode, order: SpectrumParams["dateOrder"]): NaiveDateTime | null {
  const t = sChild(step, "TIME")?.text ?? "";
  return t === "" ? null : parseLooseDateTime(t, order);
}

function buildBoard(
  input: ConvertInput,
  params: SpectrumParams,
  records: SNode[],
  index: number,
  idSeed: string,
): WsjfReport {
  const user: { key: string; value: string }[] = [];
  for (const n of records) {
    if (n.key !== "USER") continue;
    const at = n.text.indexOf(":");
    if (at > 0) user.push({ key: n.text.slice(0, at).trim(), value: n.text.slice(at + 1).trim() });
  }
  const serialKeys = new Set(params.serialKeys.map(loose));
  const take = (pred: (k: string) => boolean) => {
    const at = user.findIndex((u) => pred(loose(u.key)));
    return at === -1 ? undefined : user.splice(at, 1)[0].value;
  };
  const sn = take((k) => serialKeys.has(k));
  const operator = take((k) => k === "operator");
  const status = take((k) => k === "status");
  const steps = records.filter((n) => n.key === "STEP");
  if (sn === undefined || sn === "") {
    throw new ConversionError(
      `${input.name}: board ${index + 1} (line ${steps[0]?.line ?? 1}) has no ` +
        `(USER: ${params.serialKeys[0]}:…) line`,
      "The test program prints the serial as a USER line; if it uses another key, set the " +
        'converter parameter serialKeys, e.g. ["BoardSerial"].',
    );
  }
  const times = steps.map((s) => ({ s, t: stepTime(s, params.dateOrder) }));
  const bad = times.find((x) => x.t === null && sChild(x.s, "TIME") !== undefined);
  if (bad !== undefined) {
    throw new ConversionError(
      `${input.name}: line ${bad.s.line}: STEP TIME "${sChild(bad.s, "TIME")?.text}" is not a ` +
        "date and time",
      'Expected MM/dd/yyyy HH:mm:ss; set dateOrder: "dmy" for day-first dates.',
    );
  }
  const dated = times.filter((x) => x.t !== null).map((x) => x.t!);
  if (dated.length === 0) {
    throw new ConversionError(`${input.name}: board ${index + 1} has no STEP with a TIME`);
  }
  const zone = params.timeZone ?? input.station.timeZone;
  const first = dated[0];
  const execMs = zonedToEpoch(dated[dated.length - 1], zone) - zonedToEpoch(first, zone);
  const program = records.find((n) => n.key === "PROGRAM_NAME")?.text;
  let result: string | undefined;
  if (status !== undefined) {
    // Whole words only: "BOARD NOT PASSED" is not a pass.
    const u = status.toUpperCase().replace(/\s+/g, " ").trim().replace(/^BOARD /, "");
    result = u === "PASSED" || u === "PASS"
      ? "P"
      : u === "FAILED" || u === "FAIL"
      ? "F"
      : params.statusWords[status] ?? params.statusWords[u] ?? parseStepStatus(u);
    if (result === undefined) {
      throw new ConversionError(
        `${input.name}: unknown board status "${status}" in a (USER: STATUS: …) line`,
        "Expected BOARD PASSED or BOARD FAILED.",
      );
    }
  }
  const rb = new ReportBuilder(input, params, {
    sn,
    pn: params.partNumberFromProgram ? program || undefined : undefined,
    start: first,
    result,
    operator: operator || undefined,
    execTime: execMs >= 0 ? execMs / 1000 : undefined,
    sequence: program ? { name: program } : undefined,
    unitIndex: index,
    idSeed,
  });
  const sub = records.find((n) => n.key === "SUBPROGRAM_NAME")?.text;
  if (sub) rb.misc("Subprogram", sub);
  for (const u of user) if (u.value !== "") rb.misc(u.key, u.value);

  for (const n of records) {
    if (n.key === "") rb.warn(`line ${n.line}: text outside any record skipped: "${clip(n.text)}"`);
    else if (n.key === "USER" && !(n.text.indexOf(":") > 0)) {
      rb.warn(`line ${n.line}: (USER: ${clip(n.text)}) has no "key:" and was skipped`);
    } else if (!TOP_LEVEL.has(n.key)) {
      rb.warn(`line ${n.line}: unknown record (${n.key}: …) skipped`);
    }
  }

  let seq: SequenceBuilder = rb.root;
  for (const n of records) {
    if (n.key === "SECTION_NAME") seq = rb.root.sequence(n.text || `Section (line ${n.line})`);
    else if (n.key === "STEP") addStep(seq, n, params, input.name);
  }
  return rb.build();
}

/** The records a board is made of; any other top-level record is skipped with a warning. */
const TOP_LEVEL: ReadonlySet<string> = new Set([
  "PROGRAM_NAME",
  "SUBPROGRAM_NAME",
  "SECTION_NAME",
  "STEP",
  "USER",
]);

function verdict(node: SNode, params: SpectrumParams, file: string): StepStatus | undefined {
  const text = sChild(node, "STAT")?.text;
  if (text === undefined || text === "") return undefined;
  const s = params.statusWords[text] ?? params.statusWords[text.toUpperCase()] ??
    parseStepStatus(text);
  if (s === undefined) {
    throw new ConversionError(
      `${file}: line ${node.line}: unknown STAT "${text}"`,
      `Add it to the converter parameter statusWords, e.g. {"${text}": "F"}.`,
    );
  }
  return s;
}

/** A `(VAL: …) (SCALE: …) (UNIT: …)` quantity in base units. */
function quantity(node: SNode | undefined): { value?: number; unit?: string; text: string } {
  if (node === undefined) return { text: "" };
  const val = sChild(node, "VAL")?.text ?? "";
  const scale = sChild(node, "SCALE")?.text ?? "";
  const unitText = sChild(node, "UNIT")?.text ?? "";
  const unit = UNITS[unitText.toUpperCase()] ?? unitText;
  const exp = SCALE_EXP[scale];
  const value = exp === undefined ? NaN : parseScaled(val, exp);
  return { value, unit: unit || undefined, text: `${val} ${scale}${unit}`.trim() };
}

function points(node: SNode): string[] {
  const out: string[] = [];
  for (const key of ["MEAS", "GUARD", "STIM", "SC_FROM_NODES", "SC_TO_NODES"]) {
    for (const p of sChildren(node, key)) {
      const name = sChild(p, "TPNAME")?.text ?? p.text;
      const num = sChild(p, "TPNUM")?.text;
      if (name || num) out.push(`${key}: ${name}${num ? ` (#${num})` : ""}`);
    }
  }
  return out;
}

function addStep(seq: SequenceBuilder, step: SNode, params: SpectrumParams, file: string) {
  const name = sChild(step, "SNAME")?.text || `Step (line ${step.line})`;
  const pages = sChildren(step, "PAGE");
  const desc = sChild(step, "DESC")?.text;
  const stepStatus = verdict(step, params, file);
  if (pages.length === 0) {
    seq.action(name, { status: stepStatus, reportText: desc || undefined });
    return;
  }
  if (pages.length === 1) {
    addPage(seq, name, pages[0], params, file, desc, stepStatus);
    return;
  }
  const sub = seq.sequence(name, { status: stepStatus, reportText: desc || undefined });
  pages.forEach((p, k) => {
    addPage(sub, sChild(p, "PAGE_NAME")?.text || `Page ${k + 1}`, p, params, file);
  });
}

function addPage(
  seq: SequenceBuilder,
  name: string,
  page: SNode,
  params: SpectrumParams,
  file: string,
  desc?: string,
  stepStatus?: StepStatus,
) {
  const status = verdict(page, params, file) ?? stepStatus;
  const text: string[] = [];
  if (desc) text.push(desc);
  for (const key of ["COMMENT", "FAIL_MSG"]) {
    const t = sChild(page, key)?.text;
    if (t) text.push(t);
  }
  const numeric: NumericInput[] = [];
  const booleans: { name: string; status?: StepStatus }[] = [];
  for (const block of page.children.filter((c) => c.key === "ANA" || c.key === "INTC")) {
    const blockStatus = verdict(block, params, file);
    const lo = quantity(sChild(block, "LOLIM"));
    const hi = quantity(sChild(block, "HILIM"));
    const nom = sChild(block, "NOMVAL");
    if (nom !== undefined) text.push(`Nominal: ${quantity(nom).text}`);
    for (const key of ["RES_LIMIT", "CAP_LIMIT"]) {
      const l = sChild(block, key);
      if (l !== undefined) text.push(`${key}: ${quantity(l).text}`);
    }
    text.push(...points(block));
    const intcResults = block.key === "INTC" ? sChildren(block, "INTC_RESULT") : [];
    const results = intcResults.length > 0 ? intcResults : [block];
    const blockType = sChild(block, "TYPE")?.text ?? block.key;
    results.forEach((r, k) => {
      const meas = sChild(r, "MEASVAL");
      const rStatus = r === block ? blockStatus : verdict(r, params, file) ?? blockStatus;
      const from = sChild(sChild(r, "LOWR_FROM_NODES") ?? r, "TPNAME")?.text;
      const to = sChild(sChild(r, "LOWR_TO_NODES") ?? r, "TPNAME")?.text;
      const mName = from && to
        ? `${from} - ${to}`
        : results.length > 1
        ? `${blockType} ${k + 1}`
        : blockType;
      if (meas === undefined) {
        booleans.push({ name: mName, status: rStatus });
        if (lo.text || hi.text) text.push(`Limits: ${lo.text || "-"} … ${hi.text || "-"}`);
        return;
      }
      const v = quantity(meas);
      numeric.push({
        name: mName,
        value: v.value,
        low: lo.value,
        high: hi.value,
        unit: v.unit ?? lo.unit ?? hi.unit,
        status: rStatus,
      });
    });
  }
  const ext = sChild(page, "EXTPROG");
  if (ext !== undefined) text.push(sChild(ext, "PROG_NAME")?.text || ext.text);
  const opts = { status, reportText: text.length > 0 ? [...new Set(text)].join("\n") : undefined };
  if (numeric.length === 1) {
    seq.numeric(name, { ...numeric[0], name: undefined }, opts);
  } else if (numeric.length > 1) {
    seq.multiNumeric(name, numeric, opts);
  } else if (booleans.length === 1 || (booleans.length > 1 && ext === undefined)) {
    if (booleans.length === 1) seq.passFail(name, { status: booleans[0].status ?? status }, opts);
    else seq.multiPassFail(name, booleans.map((b) => ({ name: b.name, status: b.status })), opts);
  } else if (ext !== undefined || status === undefined) {
    seq.action(name, opts);
  } else {
    seq.passFail(name, { status }, opts);
  }
  if (numeric.length > 0 && booleans.length > 0) {
    // A page mixing measured and unmeasured results: the unmeasured ones go to the text.
    seq.action(`${name} (other results)`, {
      reportText: booleans.map((b) => `${b.name}: ${b.status ?? "?"}`).join("\n"),
      status: "D",
    });
  }
}
