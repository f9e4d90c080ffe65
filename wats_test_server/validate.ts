/**
 * Validation of a submitted WSJF report, as the test server's stand-in for the WATS server's
 * own checks (docs/wsjf.md): header fields, enum codes, the root sequence call, measurement
 * shapes and, optionally, that limits fit the comparison operator.
 *
 * Errors make the server answer 400; warnings (unknown fields the server would silently drop,
 * odd but accepted values) are kept with the stored report so tests can assert on them.
 *
 * @module
 */
import { parseDateTime } from "./datetime.ts";
import type { WatsProcess } from "./processes.ts";
import {
  knownFields,
  measurementStatuses,
  numericCompOps,
  reportResults,
  reportTypes,
  sequenceStepTypes,
  singleMeasurementStepTypes,
  specialDoubleStrings,
  stepGroups,
  stepStatuses,
  stringCompOps,
} from "./wsjf_model.ts";

/** What the checks depend on. */
export interface ValidationSettings {
  /** Known processes: `processCode` must be one of them (a test operation for type T). */
  processes: readonly WatsProcess[];
  /** Longest allowed header text (pn, sn, rev, machineName, location, purpose). */
  maxFieldLength: number;
  /** Check that each numeric measurement has the limits its `compOp` needs. */
  checkLimits: boolean;
}

/** The outcome: no errors means the report is accepted. */
export interface ValidationResult {
  /** One line per problem: `<json path>: <what is wrong> (found …)`. */
  errors: string[];
  /** Accepted oddities, e.g. unknown fields the server drops. */
  warnings: string[];
}

const maxErrors = 50;
const maxWarnings = 100;
const maxDepth = 200;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const base64Pattern = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

type Json = Record<string, unknown>;

/** True for a UUID in the usual 8-4-4-4-12 hex form (either case). */
export function isUuid(value: unknown): value is string {
  return typeof value === "string" && uuidPattern.test(value);
}

/** Validates one parsed request body as a WSJF report. */
export function validateReport(body: unknown, settings: ValidationSettings): ValidationResult {
  const v = new Validator(settings);
  v.report(body);
  return { errors: v.errors, warnings: v.warnings };
}

class Validator {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  readonly #settings: ValidationSettings;
  readonly #stepIds = new Map<number, string>();

  constructor(settings: ValidationSettings) {
    this.#settings = settings;
  }

  error(path: string, problem: string): void {
    if (this.errors.length < maxErrors) this.errors.push(`${path}: ${problem}`);
  }

  warn(path: string, problem: string): void {
    if (this.warnings.length < maxWarnings) this.warnings.push(`${path}: ${problem}`);
  }

  report(body: unknown): void {
    if (Array.isArray(body)) {
      this.error(
        "(body)",
        "expected one report object, found an array (post one report per request)",
      );
      return;
    }
    if (!isObject(body)) {
      this.error("(body)", `expected a JSON object, found ${describe(body)}`);
      return;
    }
    this.unknownFields(body, "report", "");
    const type = body.type;
    if (!reportTypes.includes(type as string)) {
      this.error("type", `must be "T" (test) or "R" (repair) (found ${describe(type)})`);
    }
    if (!isUuid(body.id)) {
      this.error(
        "id",
        `must be a UUID like 5b0c2a8e-3d1f-4c7a-9e62-1f8d4b7a0c31 (found ${describe(body.id)})`,
      );
    }
    for (const field of ["pn", "sn", "rev", "machineName"]) {
      this.requiredText(body, field, field);
    }
    for (const field of ["location", "purpose"]) this.optionalText(body, field, field);
    this.processCode(body, type);
    if (!reportResults.includes(body.result as string)) {
      this.error(
        "result",
        `must be one of ${reportResults.join(", ")} (found ${describe(body.result)})`,
      );
    }
    this.dateTime(body, "start", "start", true);
    this.dateTime(body, "startUTC", "startUTC", false);
    if (type === "T") this.testReport(body);
    if (type === "R") this.repairReport(body);
    this.array(body, "miscInfos", "miscInfos", (item, path) => {
      this.unknownFields(item, "miscInfo", path);
      this.optionalText(item, "description", `${path}.description`, Infinity);
      this.optionalText(item, "text", `${path}.text`, Infinity);
    });
    this.array(body, "subUnits", "subUnits", (item, path) => {
      this.unknownFields(item, "subUnit", path);
      for (const field of ["partType", "pn", "rev", "sn"]) {
        this.optionalText(item, field, `${path}.${field}`);
      }
    });
    this.array(body, "assets", "assets", (item, path) => {
      this.unknownFields(item, "asset", path);
      this.optionalText(item, "assetSN", `${path}.assetSN`);
    });
    if (type === "T" && Array.isArray(body.binaryData) && body.binaryData.length > 0) {
      this.error("binaryData", "report-level attachments are only valid on repair (R) reports");
    }
  }

  processCode(body: Json, type: unknown): void {
    const code = body.processCode;
    if (!isInt32(code)) {
      this.error("processCode", `must be an integer process code (found ${describe(code)})`);
      return;
    }
    const process = this.#settings.processes.find((p) => p.code === code);
    if (process === undefined) {
      const known = this.#settings.processes.map((p) => `${p.code} "${p.name}"`).join(", ");
      this.error("processCode", `${code} is not a process known to this server (known: ${known})`);
    } else if (type === "T" && !process.isTestOperation) {
      this.error("processCode", `${code} "${process.name}" is not a test operation (type T)`);
    } else if (type === "R" && !process.isRepairOperation) {
      this.error("processCode", `${code} "${process.name}" is not a repair operation (type R)`);
    }
  }

  testReport(body: Json): void {
    if (body.uur !== undefined && body.uur !== null) {
      this.error("uur", "a test (T) report must not carry a uur block");
    }
    if (body.uut !== undefined && body.uut !== null) {
      if (!isObject(body.uut)) this.error("uut", `must be an object (found ${describe(body.uut)})`);
      else {
        this.unknownFields(body.uut, "uut", "uut");
        this.optionalText(body.uut, "user", "uut.user", Infinity);
        this.optionalText(body.uut, "comment", "uut.comment", Infinity);
        this.optionalNumber(body.uut, "execTime", "uut.execTime");
        for (const f of ["testSocketIndex", "errorCode", "stepIdCausedUUTFailure"]) {
          this.optionalInt(body.uut, f, `uut.${f}`);
        }
      }
    }
    const root = body.root;
    if (!isObject(root)) {
      this.error(
        "root",
        `a test (T) report needs a root step, a sequence call (found ${describe(root)})`,
      );
      return;
    }
    if (!sequenceStepTypes.some((t) => sameText(t, root.stepType))) {
      this.error(
        "root.stepType",
        `the root step must be a sequence call (${sequenceStepTypes.join(" or ")}) (found ${
          describe(root.stepType)
        })`,
      );
    }
    if (!isObject(root.seqCall)) {
      this.error(
        "root.seqCall",
        `the root step needs a seqCall {path, name, version} (found ${describe(root.seqCall)})`,
      );
    }
    this.step(root, "root", 0);
  }

  repairReport(body: Json): void {
    if (body.root !== undefined && body.root !== null) {
      this.error("root", "a repair (R) report has no step tree; it must not carry root");
    }
    if (!isObject(body.uur)) {
      this.error("uur", `a repair (R) report needs a uur block (found ${describe(body.uur)})`);
      return;
    }
    this.unknownFields(body.uur, "uur", "uur");
    if (body.uur.refUUT !== undefined && body.uur.refUUT !== null && !isUuid(body.uur.refUUT)) {
      this.error(
        "uur.refUUT",
        `must be the UUID of the tested report (found ${describe(body.uur.refUUT)})`,
      );
    }
    this.optionalInt(body.uur, "processCode", "uur.processCode");
  }

  step(step: Json, path: string, depth: number): void {
    if (depth > maxDepth) {
      this.error(path, `steps are nested deeper than ${maxDepth} levels`);
      return;
    }
    this.unknownFields(step, "step", path);
    if (step.id !== undefined && step.id !== null) {
      if (!isInt32(step.id)) {
        this.error(`${path}.id`, `must be an integer (found ${describe(step.id)})`);
      } else {
        const earlier = this.#stepIds.get(step.id);
        if (earlier !== undefined) {
          this.error(
            `${path}.id`,
            `step id ${step.id} is already used by ${earlier} (ids must be unique)`,
          );
        } else this.#stepIds.set(step.id, path);
      }
    }
    if (typeof step.name !== "string") {
      this.error(`${path}.name`, `must be a string (found ${describe(step.name)})`);
    }
    this.optionalText(step, "stepType", `${path}.stepType`, Infinity);
    if (!stepStatuses.includes(step.status as string)) {
      this.error(
        `${path}.status`,
        `must be one of ${stepStatuses.join(", ")} (found ${describe(step.status)})`,
      );
    }
    if (
      step.group !== undefined && step.group !== null && !stepGroups.includes(step.group as string)
    ) {
      this.error(
        `${path}.group`,
        `must be one of ${stepGroups.join(", ")} (found ${describe(step.group)})`,
      );
    }
    this.dateTime(step, "start", `${path}.start`, false);
    this.optionalNumber(step, "totTime", `${path}.totTime`);
    this.optionalInt(step, "errorCode", `${path}.errorCode`);
    for (const flag of ["causedSeqFailure", "causedUUTFailure"]) {
      const value = step[flag];
      if (value !== undefined && value !== null && typeof value !== "boolean") {
        this.error(`${path}.${flag}`, `must be true or false (found ${describe(value)})`);
      }
    }
    if (step.seqCall !== undefined && step.seqCall !== null) {
      if (!isObject(step.seqCall)) {
        this.error(`${path}.seqCall`, `must be an object (found ${describe(step.seqCall)})`);
      } else {
        this.unknownFields(step.seqCall, "seqCall", `${path}.seqCall`);
        for (const f of ["path", "name", "version"]) {
          this.optionalText(step.seqCall, f, `${path}.seqCall.${f}`, Infinity);
        }
      }
    }
    if (step.loop !== undefined && step.loop !== null) {
      if (!isObject(step.loop)) {
        this.error(`${path}.loop`, `must be an object (found ${describe(step.loop)})`);
      } else this.unknownFields(step.loop, "loop", `${path}.loop`);
    }
    this.chart(step, path);
    this.attachment(step, path);
    this.measurements(step, path);
    if (step.steps !== undefined && step.steps !== null) {
      if (!Array.isArray(step.steps)) {
        this.error(`${path}.steps`, `must be an array of steps (found ${describe(step.steps)})`);
      } else {
        step.steps.forEach((child, i) => {
          const childPath = `${path}.steps[${i}]`;
          if (!isObject(child)) {
            this.error(childPath, `must be a step object (found ${describe(child)})`);
          } else this.step(child, childPath, depth + 1);
        });
      }
    }
  }

  measurements(step: Json, path: string): void {
    let total = 0;
    const kinds: ["numericMeas" | "booleanMeas" | "stringMeas", string][] = [
      ["numericMeas", "numeric"],
      ["booleanMeas", "pass/fail"],
      ["stringMeas", "string"],
    ];
    for (const [field] of kinds) {
      const list = step[field];
      if (list === undefined || list === null) continue;
      if (!Array.isArray(list)) {
        this.error(`${path}.${field}`, `must be an array (found ${describe(list)})`);
        continue;
      }
      total += list.length;
      const names = new Map<string, number>();
      list.forEach((m, i) => {
        const mPath = `${path}.${field}[${i}]`;
        if (!isObject(m)) {
          this.error(mPath, `must be a measurement object (found ${describe(m)})`);
          return;
        }
        this.unknownFields(m, field, mPath);
        if (!measurementStatuses.includes(m.status as string)) {
          this.error(
            `${mPath}.status`,
            `must be one of ${measurementStatuses.join(", ")} (found ${describe(m.status)})`,
          );
        }
        if (list.length > 1) {
          if (typeof m.name !== "string" || m.name.trim() === "") {
            this.error(
              `${mPath}.name`,
              `each of several measurements on one step needs a name (found ${describe(m.name)})`,
            );
          } else if (names.has(m.name)) {
            this.error(
              `${mPath}.name`,
              `"${m.name}" is used twice on this step (also ${field}[${names.get(m.name)}])`,
            );
          } else names.set(m.name, i);
        } else if (m.name !== undefined && m.name !== null && typeof m.name !== "string") {
          this.error(`${mPath}.name`, `must be a string (found ${describe(m.name)})`);
        }
        if (field === "numericMeas") this.numericMeasurement(m, mPath);
        if (field === "stringMeas") this.stringMeasurement(m, mPath);
      });
    }
    if (total > 1 && singleMeasurementStepTypes.some((t) => t === step.stepType)) {
      this.error(
        path,
        `a ${step.stepType} step holds exactly one measurement, found ${total} (use the multiple-measurement step type)`,
      );
    }
  }

  numericMeasurement(m: Json, path: string): void {
    for (const f of ["value", "lowLimit", "highLimit"]) {
      const value = m[f];
      if (value === undefined || value === null) continue;
      if (typeof value === "number") continue;
      if (typeof value === "string" && specialDoubleStrings.includes(value)) continue;
      this.error(`${path}.${f}`, `must be a number (found ${describe(value)})`);
    }
    this.optionalText(m, "unit", `${path}.unit`, Infinity);
    if (m.compOp === undefined || m.compOp === null) {
      this.warn(`${path}.compOp`, "missing; the measurement is only logged");
      return;
    }
    const op = typeof m.compOp === "string" ? m.compOp.toUpperCase() : "";
    const limits = numericCompOps[op];
    if (limits === undefined) {
      this.error(
        `${path}.compOp`,
        `must be one of ${Object.keys(numericCompOps).join(", ")} (found ${describe(m.compOp)})`,
      );
      return;
    }
    if (!this.#settings.checkLimits) return;
    const has = (f: string) => m[f] !== undefined && m[f] !== null;
    if (limits !== "none" && !has("lowLimit")) {
      const note = limits === "low" && has("highLimit")
        ? "; single-limit operators use lowLimit even for LT/LE"
        : "";
      this.error(`${path}.lowLimit`, `compOp ${op} needs lowLimit${note}`);
    }
    if (limits === "both" && !has("highLimit")) {
      this.error(`${path}.highLimit`, `compOp ${op} needs highLimit`);
    }
  }

  stringMeasurement(m: Json, path: string): void {
    for (const f of ["value", "limit"]) {
      const value = m[f];
      if (value === undefined || value === null || typeof value === "string") continue;
      if (typeof value === "number" || typeof value === "boolean") {
        this.warn(`${path}.${f}`, `is a ${typeof value}; the server stores it as text`);
      } else this.error(`${path}.${f}`, `must be a string (found ${describe(value)})`);
    }
    if (m.compOp === undefined || m.compOp === null) return;
    if (typeof m.compOp !== "string" || !stringCompOps.includes(m.compOp.toUpperCase())) {
      this.error(
        `${path}.compOp`,
        `must be one of ${stringCompOps.join(", ")} (found ${describe(m.compOp)})`,
      );
    }
  }

  chart(step: Json, path: string): void {
    const chart = step.chart;
    if (chart === undefined || chart === null) return;
    if (!isObject(chart)) {
      this.error(`${path}.chart`, `must be an object (found ${describe(chart)})`);
      return;
    }
    this.unknownFields(chart, "chart", `${path}.chart`);
    this.array(chart, "series", `${path}.chart.series`, (s, sPath) => {
      this.unknownFields(s, "chartSeries", sPath);
      for (const f of ["xdata", "ydata"]) {
        const data = s[f];
        if (data !== undefined && data !== null && typeof data !== "string") {
          this.error(
            `${sPath}.${f}`,
            `must be a string of values separated by ";" (found ${describe(data)})`,
          );
        }
      }
    });
  }

  attachment(step: Json, path: string): void {
    const a = step.attachment;
    if (a === undefined || a === null) return;
    if (!isObject(a)) {
      this.error(`${path}.attachment`, `must be an object (found ${describe(a)})`);
      return;
    }
    this.unknownFields(a, "attachment", `${path}.attachment`);
    if (
      typeof a.data !== "string" || !base64Pattern.test(a.data) ||
      a.data.replace(/\s/g, "").length % 4 !== 0
    ) {
      this.error(`${path}.attachment.data`, `must be base64 text (found ${describe(a.data)})`);
    }
  }

  array(parent: Json, field: string, path: string, each: (item: Json, path: string) => void): void {
    const list = parent[field];
    if (list === undefined || list === null) return;
    if (!Array.isArray(list)) {
      this.error(path, `must be an array (found ${describe(list)})`);
      return;
    }
    list.forEach((item, i) => {
      if (!isObject(item)) {
        this.error(`${path}[${i}]`, `must be an object (found ${describe(item)})`);
      } else each(item, `${path}[${i}]`);
    });
  }

  requiredText(parent: Json, field: string, path: string): void {
    const value = parent[field];
    if (typeof value !== "string" || value.trim() === "") {
      this.error(path, `is required and must be a non-empty string (found ${describe(value)})`);
      return;
    }
    this.length(value, path, this.#settings.maxFieldLength);
  }

  optionalText(
    parent: Json,
    field: string,
    path: string,
    max = this.#settings.maxFieldLength,
  ): void {
    const value = parent[field];
    if (value === undefined || value === null) return;
    if (typeof value !== "string") this.error(path, `must be a string (found ${describe(value)})`);
    else this.length(value, path, max);
  }

  length(value: string, path: string, max: number): void {
    if (value.length > max) {
      this.error(path, `is ${value.length} characters long; the limit is ${max}`);
    }
  }

  optionalNumber(parent: Json, field: string, path: string): void {
    const value = parent[field];
    if (value === undefined || value === null || typeof value === "number") return;
    this.error(path, `must be a number (found ${describe(value)})`);
  }

  optionalInt(parent: Json, field: string, path: string): void {
    const value = parent[field];
    if (value === undefined || value === null || isInt32(value)) return;
    this.error(path, `must be an integer (found ${describe(value)})`);
  }

  dateTime(parent: Json, field: string, path: string, required: boolean): void {
    const value = parent[field];
    if (value === undefined || value === null) {
      if (required) this.error(path, "is required: an ISO 8601 date-time with a UTC offset");
      return;
    }
    const parsed = typeof value === "string" ? parseDateTime(value) : null;
    if (parsed === null) {
      this.error(
        path,
        `must be an ISO 8601 date-time like 2026-03-02T09:15:00.000+01:00 (found ${
          describe(value)
        })`,
      );
    } else if (field === "start" && parsed.offsetMinutes === null) {
      this.error(path, `needs a UTC offset (Z or ±hh:mm) (found ${describe(value)})`);
    } else if (parsed.epochMs < 0) {
      this.error(path, `must not be before 1970-01-01 (found ${describe(value)})`);
    }
  }

  unknownFields(obj: Json, kind: string, path: string): void {
    const known = knownFields[kind];
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) {
        this.warn(path === "" ? key : `${path}.${key}`, "unknown field; the server ignores it");
      }
    }
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isInt32(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= -(2 ** 31) &&
    value < 2 ** 31;
}

function sameText(a: string, b: unknown): boolean {
  return typeof b === "string" && a.toLowerCase() === b.toLowerCase();
}

/** A short description of a found value for error messages. */
function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}..."` : text;
}
