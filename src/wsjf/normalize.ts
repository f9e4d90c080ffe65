/**
 * Normalising a WSJF-shaped report that came from a file (WSJF as is, or WSXF/WRML mapped to
 * WSJF) before validation. The file's content and verdicts are kept; only form is fixed:
 *
 * - `null` values are dropped (exports are full of them); export-only fields are removed:
 *   `productName`, `processName`, `processCodeFormat`, `origin`, `startUTC` (derived by the
 *   server; Virinco's own example has an invalid one), `assetStats`, `uut.refUURs`.
 * - Verdict words → codes (`Passed` → `P`), group words → codes, `compOp` → canonical upper
 *   case; numeric strings in number fields → numbers.
 * - Non-finite numbers as in the builder (compop.ts): NaN values are dropped with a note in the
 *   step's reportText, ±Infinity clamped; non-finite limits are dropped and the operator
 *   narrowed. A single-limit operator's limit found in `highLimit` (a pyWATS bug) moves to
 *   `lowLimit`.
 * - A single-measurement step type holding several (or named) measurements is relabelled to
 *   its multi form (ET_SVT → ET_MSVT, …); multi-measurement names are filled/de-duplicated.
 * - Step ids are kept when every step has a unique integer id; otherwise all steps are
 *   renumbered depth-first pre-order from 1 (and `uut.stepIdCausedUUTFailure` follows).
 * - Sequence-call steps get `seqCall` {path, name, version} when missing or partial.
 * - The report id is kept (lower-cased); a missing id is derived from the file (ids.ts).
 * - A `start` without offset is read in the station's time zone; explicit offsets are kept.
 * - Parameters fill what the file lacks (`partNumber`, `partRevision`, `processCode`,
 *   `operator`, `location`, `purpose`); `stationName` overrides `machineName`; then the station
 *   fills the rest (`fillStationFields`).
 * - Control characters are stripped from every string of the file first (so a serial number
 *   of control characters is blank and a status `"P\u0001"` is read as `P`); values the
 *   parameters and the station add are stripped by `validateReport`, which always follows.
 *
 * @module
 */
import { ConversionError } from "../convert/conversion_error.ts";
import type { ConvertInput } from "../convert/contract.ts";
import { normalizeGuid, unitReportId } from "../convert/ids.ts";
import { isNumberText, parseNumber } from "../convert/number.ts";
import type { CommonParams } from "../convert/params.ts";
import { stripControlChars } from "../convert/text.ts";
import { isoOffset, parseIsoDateTime } from "../convert/time.ts";
import { fillStationFields, uniqueNames } from "./fields.ts";
import {
  finiteValue,
  isTwoLimit,
  parseNumericCompOp,
  parseStringCompOp,
  resolveNumericLimits,
} from "./compop.ts";
import { MAX_STEP_DEPTH, SEQUENCE_STEP_TYPES, SINGLE_MEAS_STEP_TYPES } from "./rules.ts";
import { parseGroup, parseMeasStatus, parseReportResult, parseStepStatus } from "./status_codes.ts";

type Obj = Record<string, unknown>;

const EXPORT_ONLY = [
  "productName",
  "processName",
  "processCodeFormat",
  "origin",
  "startUTC",
  "assetStats",
];

const MULTI_OF: Readonly<Record<string, string>> = {
  ET_NLT: "ET_MNLT",
  NumericLimitTest: "ET_MNLT",
  ET_PFT: "ET_MPFT",
  PassFailTest: "ET_MPFT",
  ET_SVT: "ET_MSVT",
  StringValueTest: "ET_MSVT",
};

/** Where a report being normalised came from. */
export interface NormalizeContext {
  input: ConvertInput;
  params: Partial<CommonParams>;
  /** Index of the report within the file (for the derived id and messages). */
  index: number;
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Drops nulls from objects and arrays and strips control characters from strings, in one
 * pass over the whole document, iteratively (deep files are fine). An object holding a null is
 * replaced by a copy without it rather than changed with `delete` (exports have nulls in most
 * steps; `delete` turns objects into slow dictionaries).
 */
function dropNullsAndStrip(value: unknown): unknown {
  const holder: Obj = { value };
  const stack: Array<[Obj | unknown[], string | number]> = [];
  const visit = (parent: Obj | unknown[], key: string | number) => {
    const x = (parent as Obj)[key as string];
    if (typeof x === "string") {
      const t = stripControlChars(x);
      if (t !== x) (parent as Obj)[key as string] = t;
    } else if (typeof x === "object" && x !== null) stack.push([parent, key]);
  };
  visit(holder, "value");
  while (stack.length > 0) {
    const [parent, key] = stack.pop()!;
    const v = (parent as Obj)[key as string];
    if (Array.isArray(v)) {
      let w = 0;
      for (let i = 0; i < v.length; i++) if (v[i] !== null) v[w++] = v[i];
      v.length = w;
      for (let i = 0; i < w; i++) visit(v, i);
    } else {
      let o = v as Obj;
      for (const k of Object.keys(o)) {
        if (o[k] === null) {
          o = withoutNulls(o);
          (parent as Obj)[key as string] = o;
          break;
        }
      }
      for (const k of Object.keys(o)) visit(o, k);
    }
  }
  return holder.value;
}

function withoutNulls(o: Obj): Obj {
  const out: Obj = {};
  for (const k of Object.keys(o)) {
    if (o[k] === null) continue;
    // A "__proto__" key from JSON.parse is an own property; assigning it would set the prototype.
    if (k === "__proto__") {
      Object.defineProperty(out, k, {
        value: o[k],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else out[k] = o[k];
  }
  return out;
}

function toNumber(v: unknown): unknown {
  if (typeof v === "string" && isNumberText(v)) return parseNumber(v);
  return v;
}

function toInt(v: unknown): unknown {
  if (typeof v === "string" && /^\s*[+-]?\d+\s*$/.test(v)) return Number(v);
  return v;
}

/**
 * Normalises one report-shaped object in place (see the module doc) and returns it. Throws a
 * {@link ConversionError} for things that can't be fixed (not an object, a bad id, too deep).
 */
export function normalizeWsjf(raw: unknown, ctx: NormalizeContext): Obj {
  const where = `report ${ctx.index + 1} in ${ctx.input.name}`;
  if (!isObj(raw)) {
    throw new ConversionError(
      `${where} is not a JSON object (found ${Array.isArray(raw) ? "an array" : typeof raw})`,
      "A WSJF file holds one report object (or an array of them).",
    );
  }
  const r = dropNullsAndStrip(raw) as Obj;
  for (const k of EXPORT_ONLY) delete r[k];
  if (isObj(r.uut)) delete r.uut.refUURs;
  if (typeof r.type === "string") r.type = r.type.trim().toUpperCase();

  // Identity.
  if (r.id === undefined || r.id === "") r.id = unitReportId(ctx.input.sha256, ctx.index);
  else if (typeof r.id === "string") {
    const g = normalizeGuid(r.id);
    if (g === null) {
      throw new ConversionError(
        `${where}: id "${r.id}" is not a GUID`,
        "Use a GUID such as 5b0c2a8e-3d1f-4c7a-9e62-1f8d4b7a0c31, or leave the id out " +
          "and the agent derives one from the file.",
      );
    }
    r.id = g;
  }
  if (typeof r.result === "string") r.result = parseReportResult(r.result) ?? r.result;
  r.processCode = toInt(r.processCode);

  // Parameters fill what the file lacks; stationName overrides.
  const p = ctx.params;
  const blank = (v: unknown) => v === undefined || (typeof v === "string" && v.trim() === "");
  if (blank(r.pn) && p.partNumber) r.pn = p.partNumber;
  if (blank(r.rev) && p.partRevision) r.rev = p.partRevision;
  if (r.processCode === undefined && p.processCode !== undefined) r.processCode = p.processCode;
  if (p.stationName) r.machineName = p.stationName;
  if (r.location === undefined && p.location !== undefined) r.location = p.location;
  if (r.purpose === undefined && p.purpose !== undefined) r.purpose = p.purpose;
  const block = r.type === "R" ? "uur" : "uut";
  if (p.operator) {
    if (r.type !== "R" && r.uut === undefined) r.uut = {};
    const b = r[block];
    if (isObj(b) && blank(b.user)) b.user = p.operator;
  }
  fillStationFields(r, ctx.input.station);

  // Times: a naive start is station-local; explicit offsets (and Z) are kept as written.
  const tz = p.timeZone ?? ctx.input.station.timeZone;
  if (typeof r.start === "string" && isoOffset(r.start) === null) {
    r.start = parseIsoDateTime(r.start, tz) ?? r.start;
  }
  if (isObj(r.uut)) {
    for (const k of ["execTime"]) r.uut[k] = toNumber(r.uut[k]);
    for (const k of ["testSocketIndex", "errorCode", "batchFailCount", "batchLoopIndex"]) {
      r.uut[k] = toInt(r.uut[k]);
    }
    if (typeof r.uut.stepIdCausedUUTFailure === "string") {
      r.uut.stepIdCausedUUTFailure = toInt(r.uut.stepIdCausedUUTFailure);
    }
    dropUndefinedKeys(r.uut);
  }
  if (Array.isArray(r.miscInfos)) {
    for (const m of r.miscInfos) {
      if (isObj(m) && m.numeric !== undefined) m.numeric = toInt(m.numeric);
    }
  }

  if (r.root !== undefined) normalizeSteps(r, where, tz);
  dropUndefinedKeys(r);
  return r;
}

function dropUndefinedKeys(o: Obj): void {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
}

function normalizeSteps(r: Obj, where: string, tz: string): void {
  const all: Obj[] = [];
  const stack: Array<[unknown, number]> = [[r.root, 1]];
  while (stack.length > 0) {
    const [s, depth] = stack.pop()!;
    if (!isObj(s)) continue;
    if (depth > MAX_STEP_DEPTH) {
      throw new ConversionError(
        `${where}: steps are nested more than ${MAX_STEP_DEPTH} levels deep`,
        "Check the step tree of the file.",
      );
    }
    all.push(s);
    if (Array.isArray(s.steps)) {
      for (let i = s.steps.length - 1; i >= 0; i--) stack.push([s.steps[i], depth + 1]);
    }
  }
  // Ids: keep when complete and unique, else renumber pre-order (all is pre-order).
  const ids = all.map((s) => toInt(s.id));
  const unique = ids.every((id) => Number.isInteger(id)) && new Set(ids).size === ids.length;
  if (unique) all.forEach((s, i) => (s.id = ids[i]));
  else {
    const remap = new Map<unknown, number>();
    const counts = new Map<unknown, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    all.forEach((s, i) => {
      if (counts.get(ids[i]) === 1) remap.set(ids[i], i + 1);
      s.id = i + 1;
    });
    if (isObj(r.uut) && r.uut.stepIdCausedUUTFailure !== undefined) {
      const n = remap.get(r.uut.stepIdCausedUUTFailure);
      if (n !== undefined) r.uut.stepIdCausedUUTFailure = n;
      else delete r.uut.stepIdCausedUUTFailure;
    }
  }
  for (const s of all) normalizeStep(s, tz);
}

function normalizeStep(s: Obj, tz: string): void {
  if (typeof s.status === "string") s.status = parseStepStatus(s.status) ?? s.status;
  s.group = s.group === undefined ? "M" : (parseGroup(String(s.group)) ?? s.group);
  if (s.name === undefined) s.name = "";
  for (const k of ["totTime"]) if (s[k] !== undefined) s[k] = toNumber(s[k]);
  for (const k of ["errorCode", "interactiveExeNum"]) if (s[k] !== undefined) s[k] = toInt(s[k]);
  if (typeof s.totTime === "number" && !Number.isFinite(s.totTime)) delete s.totTime;
  if (typeof s.start === "string" && isoOffset(s.start) === null) {
    const iso = parseIsoDateTime(s.start, tz);
    if (iso === null) delete s.start;
    else s.start = iso;
  }
  const stepType = typeof s.stepType === "string" ? s.stepType : "";
  const notes: string[] = [];
  let count = 0;
  let named = false;
  for (const kind of ["numericMeas", "booleanMeas", "stringMeas"] as const) {
    const list = s[kind];
    if (!Array.isArray(list)) continue;
    for (const m of list) {
      if (!isObj(m)) continue;
      if (typeof m.status === "string") m.status = parseMeasStatus(m.status) ?? m.status;
      if (typeof m.name === "string" && m.name !== "") named = true;
      if (kind === "numericMeas") normalizeNumeric(m, notes);
      if (kind === "stringMeas" && typeof m.compOp === "string") {
        m.compOp = parseStringCompOp(m.compOp) ?? m.compOp;
      }
    }
    count += list.length;
  }
  const single = SINGLE_MEAS_STEP_TYPES.has(stepType);
  if (single && (count > 1 || named)) s.stepType = MULTI_OF[stepType];
  if (count > 1 || (!single && named)) {
    for (const kind of ["numericMeas", "booleanMeas", "stringMeas"] as const) {
      const list = s[kind];
      if (!Array.isArray(list) || list.length === 0) continue;
      const ms = list.filter(isObj) as Array<{ name?: string }>;
      uniqueNames(ms).forEach((n, i) => (ms[i].name = n));
    }
  }
  if (notes.length > 0) {
    s.reportText = [s.reportText, ...notes].filter((t) => typeof t === "string" && t !== "")
      .join("\n");
  }
  if (SEQUENCE_STEP_TYPES.has(stepType) || isObj(s.seqCall)) {
    const sc = isObj(s.seqCall) ? s.seqCall : {};
    const name = typeof s.name === "string" ? s.name : "";
    if (typeof sc.name !== "string" || sc.name === "") sc.name = name;
    if (typeof sc.path !== "string") sc.path = sc.name;
    if (typeof sc.version !== "string") sc.version = "";
    s.seqCall = sc;
  }
}

function normalizeNumeric(m: Obj, notes: string[]): void {
  for (const k of ["value", "lowLimit", "highLimit"]) if (m[k] !== undefined) m[k] = toNumber(m[k]);
  const op = typeof m.compOp === "string" ? parseNumericCompOp(m.compOp) : undefined;
  if (op === undefined) return; // the validator reports it
  const nonFinite = (v: unknown) => typeof v === "number" && !Number.isFinite(v);
  const num = (v: unknown) => (typeof v === "number" ? v : undefined);
  if (nonFinite(m.value)) {
    notes.push(`${typeof m.name === "string" ? m.name : "value"}: ${m.value}`);
    m.value = finiteValue(m.value as number);
    if (m.value === undefined) delete m.value;
  }
  const needsFix = nonFinite(m.lowLimit) || nonFinite(m.highLimit) ||
    (op !== "LOG" && m.lowLimit === undefined) ||
    (op !== "LOG" && isTwoLimit(op) && m.highLimit === undefined);
  if (!needsFix) {
    m.compOp = op;
    return;
  }
  const lim = resolveNumericLimits(
    isTwoLimit(op) || op === "LOG"
      ? { compOp: op, low: num(m.lowLimit), high: num(m.highLimit) }
      : { compOp: op, limit: num(m.lowLimit) ?? num(m.highLimit) },
  )!;
  m.compOp = lim.compOp;
  delete m.lowLimit;
  delete m.highLimit;
  if (lim.lowLimit !== undefined) m.lowLimit = lim.lowLimit;
  if (lim.highLimit !== undefined) m.highLimit = lim.highLimit;
}
