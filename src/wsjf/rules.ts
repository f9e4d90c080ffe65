/**
 * The rules of a WSJF report that zod can't express: a start date with its offset, a T report
 * with its root sequence call and uut block, one kind of measurement per step, named and unique
 * measurements on multi-measurement steps, the deepest step nesting; and the warnings for
 * fields longer than other WATS clients accept or serial numbers that trouble WATS searches.
 *
 * @module
 */
import { isoToEpoch } from "../convert/time.ts";
import type { NumericMeasurement, Step, WsjfReport } from "./report.ts";
import { describe } from "./messages.ts";
import { isTwoLimit } from "./compop.ts";

/** Deepest step nesting accepted (reports the agent builds and files it reads). */
export const MAX_STEP_DEPTH = 200;

/**
 * Deepest nesting of objects and arrays accepted anywhere in a report, under keys the schema
 * doesn't know too: the deepest allowed step tree takes two levels per step, plus room for what
 * a step holds. Deeper data would overflow the stack of recursive JSON readers and writers on
 * the way (`JSON.stringify` in `agent convert`, the server's parser).
 */
export const MAX_JSON_DEPTH = 2 * MAX_STEP_DEPTH + 112;

/** Step types that hold exactly one unnamed measurement. */
export const SINGLE_MEAS_STEP_TYPES: ReadonlySet<string> = new Set([
  "ET_NLT",
  "NumericLimitTest",
  "ET_PFT",
  "PassFailTest",
  "ET_SVT",
  "StringValueTest",
]);

/** Step types that mark a sequence call (the root must be one). */
export const SEQUENCE_STEP_TYPES: ReadonlySet<string> = new Set([
  "SequenceCall",
  "WATS_SeqCall",
]);

const MEAS_KINDS = ["numericMeas", "booleanMeas", "stringMeas"] as const;

/** Characters that trouble WATS searches in serial and part numbers (docs/wsjf.md#limits). */
const SEARCH_UNSAFE_RE = /[*%?[\]^!/\\]/;

/** The longest other WATS clients accept (docs/wsjf.md#limits): over these, a warning. */
const LENGTH_WARN: ReadonlyArray<[string, number]> = [
  ["pn", 100],
  ["sn", 100],
  ["rev", 100],
  ["machineName", 100],
  ["location", 100],
  ["purpose", 100],
];

/** Adds the problems and warnings of a report that passed the schema. */
export function semanticProblems(r: WsjfReport, problems: string[], warnings: string[]): void {
  const t = isoToEpoch(r.start);
  if (Number.isNaN(t)) {
    problems.push(
      `start: expected an ISO 8601 date-time with a UTC offset (e.g. 2026-03-02T09:15:00+01:00), found ${
        describe(r.start)
      }`,
    );
  } else if (t < 0) {
    problems.push(`start: must be 1970-01-01 or later, found ${describe(r.start)}`);
  } else if (t > Date.now() + 86_400_000) {
    warnings.push(`start: ${r.start} is more than a day in the future`);
  }
  for (const key of ["pn", "sn", "rev", "machineName"] as const) {
    if (r[key].trim() === "") problems.push(`${key}: must not be empty`);
  }
  for (const key of ["pn", "sn"] as const) {
    if (SEARCH_UNSAFE_RE.test(r[key])) {
      warnings.push(
        `${key}: ${describe(r[key])} has characters (* % ? [ ] ^ ! / \\) that ` +
          "trouble WATS searches",
      );
    }
  }
  for (const [key, max] of LENGTH_WARN) {
    const v = (r as unknown as Record<string, unknown>)[key];
    if (typeof v === "string" && v.length > max) {
      warnings.push(`${key}: ${v.length} characters, more than ${max}`);
    }
  }
  if (r.type === "T") {
    if (!r.root) problems.push("root: a test report (type T) needs a root step, found nothing");
    if (!r.uut) problems.push("uut: a test report (type T) needs a uut block, found nothing");
    else if (!r.uut.user) warnings.push("uut.user: no operator name");
    if (r.uur) problems.push("uur: only valid in a repair report (type R)");
    if (r.binaryData && r.binaryData.length > 0) {
      problems.push("binaryData: report attachments are only valid in a repair report (type R)");
    }
  } else {
    if (!r.uur) problems.push("uur: a repair report (type R) needs a uur block, found nothing");
    if (r.root) problems.push("root: only valid in a test report (type T)");
  }
  if (r.root) {
    if (!SEQUENCE_STEP_TYPES.has(r.root.stepType)) {
      problems.push(
        `root.stepType: the root must be a sequence call (SequenceCall or WATS_SeqCall), found ${
          describe(r.root.stepType)
        }`,
      );
    }
    if (!r.root.seqCall) {
      problems.push("root.seqCall: the root needs {path, name, version}, found nothing");
    }
    const ids = new Map<number, string>();
    walkSteps(r.root, "root", (step, path) => {
      const seen = ids.get(step.id);
      if (seen !== undefined) {
        problems.push(
          `${path}.id: ${step.id} is already the id of ${seen}; step ids must be unique`,
        );
      } else ids.set(step.id, path);
      stepProblems(step, path, problems, warnings);
    });
    const failId = r.uut?.stepIdCausedUUTFailure;
    if (failId !== undefined && !ids.has(failId)) {
      warnings.push(`uut.stepIdCausedUUTFailure: no step has id ${failId}`);
    }
  }
}

function stepProblems(step: Step, path: string, problems: string[], warnings: string[]): void {
  const kinds = MEAS_KINDS.filter((k) => (step[k]?.length ?? 0) > 0);
  if (kinds.length > 1) {
    problems.push(`${path}: a step carries one kind of measurement, found ${kinds.join(" and ")}`);
    return;
  }
  if (step.name.length > 100) {
    warnings.push(`${path}.name: ${step.name.length} characters, more than 100`);
  }
  if (step.chart && step.attachment) {
    warnings.push(`${path}: has both a chart and an attachment (the C# client refuses that)`);
  }
  if (kinds.length === 0) return;
  const kind = kinds[0];
  if (kind === "numericMeas") limitProblems(step.numericMeas!, `${path}.${kind}`, problems);
  const meas = step[kind] as Array<{ name?: string }>;
  if (SINGLE_MEAS_STEP_TYPES.has(step.stepType)) {
    if (meas.length > 1) {
      problems.push(
        `${path}.${kind}: step type ${step.stepType} holds one measurement, found ${meas.length}` +
          " (use the multiple-measurement step type, e.g. ET_MNLT)",
      );
    } else if (meas[0].name !== undefined && meas[0].name !== "") {
      problems.push(
        `${path}.${kind}[0].name: the measurement of a single-measurement step (${step.stepType})` +
          ` has no name, found ${describe(meas[0].name)}`,
      );
    }
    return;
  }
  if (meas.length < 2) return;
  const names = new Map<string, number>();
  meas.forEach((m, i) => {
    if (m.name === undefined || m.name.trim() === "") {
      problems.push(`${path}.${kind}[${i}].name: each of several measurements needs a name`);
      return;
    }
    const key = m.name.toLowerCase();
    const prev = names.get(key);
    if (prev !== undefined) {
      problems.push(
        `${path}.${kind}[${i}].name: ${describe(m.name)} is also the name of ${kind}[${prev}];` +
          " names must be unique within a step",
      );
    } else names.set(key, i);
  });
}

/**
 * A numeric measurement carries the limits its operator compares with (docs/wsjf.md#limits):
 * the server refuses one without them, so such a report is refused here, where the file can
 * still go to Error with the reason, instead of a permanent rejection after queueing. Single-limit
 * operators use `lowLimit`, even LT and LE.
 */
function limitProblems(
  meas: readonly NumericMeasurement[],
  path: string,
  problems: string[],
): void {
  meas.forEach((m, i) => {
    const op = m.compOp;
    if (op === "LOG") return;
    if (m.lowLimit === undefined || m.lowLimit === null) {
      const note = !isTwoLimit(op) && m.highLimit !== undefined
        ? " (single-limit operators use lowLimit, even LT and LE)"
        : "";
      problems.push(`${path}[${i}].lowLimit: compOp ${op} needs lowLimit, found none${note}`);
    }
    if (isTwoLimit(op) && (m.highLimit === undefined || m.highLimit === null)) {
      problems.push(`${path}[${i}].highLimit: compOp ${op} needs highLimit, found none`);
    }
  });
}

/** Calls `visit` for every step, depth-first pre-order, with its JSON path. */
export function walkSteps(
  root: Step,
  rootPath: string,
  visit: (step: Step, path: string, parent: Step | null) => void,
): void {
  const stack: Array<[Step, string, Step | null]> = [[root, rootPath, null]];
  while (stack.length > 0) {
    const [step, path, parent] = stack.pop()!;
    visit(step, path, parent);
    const kids = step.steps ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], `${path}.steps[${i}]`, step]);
  }
}
