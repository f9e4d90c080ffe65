/**
 * Validating a WSJF report: the depth limits, the zod schema (schema.ts) and the rules
 * (rules.ts), with every problem naming its JSON path, what was expected and what was found.
 * The convert pool runs it on every converter's output before anything is queued; a report it
 * returned is remembered, so validating it again costs nothing.
 *
 * @module
 */
import { ConversionError } from "../convert/conversion_error.ts";
import { stripControlChars, stripControlCharsDeep } from "../convert/text.ts";
import type { WsjfReport } from "./report.ts";
import { wsjfReportSchema } from "./schema.ts";
import { compileCanonical } from "./canonical.ts";
import { MAX_JSON_DEPTH, MAX_STEP_DEPTH, semanticProblems } from "./rules.ts";
import { describe, formatIssue, summarizeProblems } from "./messages.ts";

/** Outcome of {@link validateReport}. */
export type ValidationResult =
  | { ok: true; report: WsjfReport; warnings: string[] }
  | { ok: false; problems: string[]; warnings: string[] };

/**
 * Reports {@link validateReport} returned, with their warnings. Validating one of them again
 * (a converter validates for its error message, then the pool validates every output) costs
 * nothing instead of a second zod pass (~10 ms per 100 KB of report).
 */
const validated = new WeakMap<object, readonly string[]>();

/** zod's copy of a report already in its validated form, made without zod (./canonical.ts). */
const canonicalCopy = compileCanonical(wsjfReportSchema);

/**
 * Validates a report (structure, codes, the semantic rules in the module doc). On success
 * returns the normalised report (a copy: compOp upper case, chart type canonical, id lower
 * case, control characters stripped from strings; unknown fields kept); on failure a list of
 * problems, each naming the JSON path, what was expected and what was found, e.g.
 * `root.steps[3].numericMeas[0].compOp: expected one of LOG, EQ, …, found "XX"`.
 *
 * A report this function returned is remembered: validating that same object again returns
 * it as it is, re-checking only the station fields (`fillStationFields` may have filled them
 * in between). Don't change a validated report otherwise and expect it to be checked again;
 * validate a copy.
 */
export function validateReport(value: unknown): ValidationResult {
  const known = value !== null && typeof value === "object" ? validated.get(value) : undefined;
  if (known !== undefined) return revalidate(value as WsjfReport, known);
  const warnings: string[] = [];
  const depth = stepDepth(value);
  if (depth > MAX_STEP_DEPTH) {
    return {
      ok: false,
      problems: [`root: steps are nested ${depth} levels deep, more than ${MAX_STEP_DEPTH}`],
      warnings,
    };
  }
  const deep = tooDeep(value);
  if (deep !== null) {
    return {
      ok: false,
      problems: [
        `${deep}: objects and arrays are nested more than ${MAX_JSON_DEPTH} levels deep ` +
        "(or the value refers to itself)",
      ],
      warnings,
    };
  }
  let report = canonicalCopy(value) as WsjfReport | undefined;
  if (report === undefined) {
    const parsed = wsjfReportSchema.safeParse(value);
    if (!parsed.success) {
      return {
        ok: false,
        problems: parsed.error.issues.map((i) => formatIssue(i, value)),
        warnings,
      };
    }
    // Stripped before the semantic checks, so a serial number of control characters is empty.
    report = stripControlCharsDeep(parsed.data);
  }
  const problems: string[] = [];
  semanticProblems(report, problems, warnings);
  if (problems.length > 0) return { ok: false, problems, warnings };
  validated.set(report, warnings);
  return { ok: true, report, warnings: [...warnings] };
}

/** A remembered report: only what `fillStationFields` may have set is looked at again. */
function revalidate(r: WsjfReport, warnings: readonly string[]): ValidationResult {
  const problems: string[] = [];
  const fields = r as unknown as Record<string, unknown>;
  for (const key of ["machineName", "location", "purpose"]) {
    const v = fields[key];
    if (typeof v === "string") fields[key] = stripControlChars(v);
    else problems.push(`${key}: expected string, found ${describe(v)}`);
  }
  const block = (r.type === "R" ? r.uur : r.uut) as { user?: unknown } | undefined;
  if (typeof block?.user === "string") block.user = stripControlChars(block.user);
  else if (block?.user !== undefined) {
    problems.push(
      `${r.type === "R" ? "uur" : "uut"}.user: expected string, found ${describe(block.user)}`,
    );
  }
  if (problems.length === 0 && r.machineName.trim() === "") {
    problems.push("machineName: must not be empty");
  }
  return problems.length > 0
    ? { ok: false, problems, warnings: [...warnings] }
    : { ok: true, report: r, warnings: [...warnings] };
}

/**
 * The top-level key under which `value` nests objects and arrays more than `max` levels deep
 * (`(report)` when the value itself is an array), or null when it doesn't. Iterative, so a
 * hostile depth can't overflow the check itself; a cycle counts as too deep.
 */
export function tooDeep(value: unknown, max = MAX_JSON_DEPTH): string | null {
  if (value === null || typeof value !== "object") return null;
  // Parallel stacks: no tuple per node (reports can have millions of values).
  const values: object[] = [];
  const depths: number[] = [];
  const tops: string[] = [];
  if (Array.isArray(value)) {
    values.push(value);
    depths.push(1);
    tops.push("(report)");
  } else {
    for (const [k, v] of Object.entries(value)) {
      if (v !== null && typeof v === "object") {
        values.push(v);
        depths.push(2);
        tops.push(k);
      }
    }
  }
  while (values.length > 0) {
    const v = values.pop()!;
    const d = depths.pop()!;
    const top = tops.pop()!;
    if (d > max) return top;
    const kids = Array.isArray(v) ? v : Object.values(v);
    for (const k of kids) {
      if (k !== null && typeof k === "object") {
        values.push(k);
        depths.push(d + 1);
        tops.push(top);
      }
    }
  }
  return null;
}

/** Nesting depth of the raw step tree (iterative, so a hostile depth can't overflow). */
function stepDepth(value: unknown): number {
  const root = (value as { root?: unknown } | null)?.root;
  let max = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [s, d] = stack.pop()!;
    if (s === null || typeof s !== "object") continue;
    if (d > max) max = d;
    if (max > MAX_STEP_DEPTH) return max;
    const kids = (s as { steps?: unknown }).steps;
    if (Array.isArray(kids)) { for (const k of kids) stack.push([k, d + 1]); }
  }
  return max;
}

/**
 * Like {@link validateReport}, but throws a {@link ConversionError} listing the first problems
 * (`what` names the report, e.g. "report 2 of 5 (SN 1234)").
 */
export function assertValidReport(value: unknown, what = "report"): WsjfReport {
  const result = validateReport(value);
  if (result.ok) return result.report;
  throw new ConversionError(
    `${what} is not a valid WATS report: ${summarizeProblems(result.problems)}`,
    "Fix these fields in the file (or the converter parameters that fill them).",
  );
}
