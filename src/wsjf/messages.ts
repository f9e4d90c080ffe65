/**
 * The wording of validation problems: a JSON path in the `root.steps[3].numericMeas[0]` style,
 * a short rendering of the value found, a zod issue as "path: expected …, found …", and a list
 * of problems joined into one message.
 *
 * @module
 */
import type { z } from "zod";

/** Joins problems into one message, at most `max` of them. */
export function summarizeProblems(problems: string[], max = 10): string {
  const shown = problems.slice(0, max).join("; ");
  return problems.length > max ? `${shown}; and ${problems.length - max} more` : shown;
}

/** A JSON path in the `root.steps[3].numericMeas[0]` style. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out === "" ? "(report)" : out;
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** Short, readable rendering of a found value for messages. */
export function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object") return "an object";
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}..."` : s;
}

/** A zod issue as "path: expected …, found …", with the value found in `input`. */
export function formatIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = formatPath(issue.path);
  const found = valueAt(input, issue.path);
  switch (issue.code) {
    case "invalid_type":
      if (found === undefined) return `${path}: required (${issue.expected}), found nothing`;
      return `${path}: expected ${issue.expected}, found ${describe(found)}`;
    case "invalid_value":
      return `${path}: expected one of ${issue.values.map(String).join(", ")}, found ${
        describe(found)
      }`;
    case "invalid_format":
      return `${path}: ${issue.message}, found ${describe(found)}`;
    default:
      return `${path}: ${issue.message}, found ${describe(found)}`;
  }
}
