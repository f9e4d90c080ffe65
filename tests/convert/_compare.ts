/**
 * Helpers for converter tests: walk step trees, count steps and measurements.
 *
 * @module
 */
import type { Step, WsjfReport } from "../../src/wsjf/report.ts";

// deno-lint-ignore no-explicit-any
export type Any = any;

/** All steps of a report (or of a raw WSJF-like object), depth-first pre-order. */
export function allSteps(report: { root?: unknown }): Step[] {
  const out: Step[] = [];
  const stack: unknown[] = report.root ? [report.root] : [];
  while (stack.length > 0) {
    const s = stack.pop() as Step;
    out.push(s);
    const kids = s.steps ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
  }
  return out;
}

/** Number of measurements of all kinds in a report. */
export function measurementCount(report: { root?: unknown }): number {
  return allSteps(report).reduce(
    (n, s) =>
      n + (s.numericMeas?.length ?? 0) + (s.booleanMeas?.length ?? 0) +
      (s.stringMeas?.length ?? 0),
    0,
  );
}

/** The step with this name (first in pre-order); throws when there is none. */
export function stepNamed(report: WsjfReport | { root?: unknown }, name: string): Step {
  const s = allSteps(report).find((x) => x.name === name);
  if (!s) throw new Error(`no step named ${name}`);
  return s;
}
