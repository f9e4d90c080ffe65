/**
 * Defect calls of an AOI (optical inspection) machine as WSJF steps, the same way for every
 * AOI converter: an inspection has no measurements, only calls on components, each of which
 * the repair operator confirmed (a real defect) or dismissed (a false call).
 *
 * Under the given sequence (the board, or an image of the panel), calls are grouped into
 * sequence calls by disposition, in the order the first call of each group appears:
 * "Failed" (real defects: F, also E/T), "False Calls" (P; the names Virinco's SAKI converter
 * uses, so WATS analyses keep working for sites that move from it) and "Other Calls" (a
 * disposition mapped to D, S or U through `statusWords`). Each call is a pass/fail step named
 * by the component (reference designator or window) whose verdict is the disposition; the
 * defect type, the position and the other facts of the call go to the step's report text, one
 * `Label: value` per line. (Not a string step with the defect type as its value: a value logged
 * without a limit always "passes", so every real defect would carry a status note saying the
 * file and the limits disagree.)
 *
 * @module
 */
import type { SequenceBuilder } from "../../../wsjf/step_builder.ts";
import type { StepStatus } from "../../../wsjf/status_codes.ts";

/** One defect call as the file gives it. */
export interface DefectCall {
  /** Component (reference designator) or inspection window the call is on. */
  component: string;
  /** The defect type as the machine names it ("Solder", "Missing", an error code …). */
  defectType?: string;
  /** The disposition: P a false call, F a real defect (others through `statusWords`). */
  status: StepStatus;
  /** Position on the board as the file gives it, e.g. "X=11925 Y=15035". */
  position?: string;
  /** Further facts for the report text, as [label, value]; empty values are left out. */
  details?: ReadonlyArray<readonly [string, string | undefined]>;
}

/** Sequence names of the three groups of calls. */
export const CALL_GROUPS = {
  failed: "Failed",
  falseCalls: "False Calls",
  other: "Other Calls",
} as const;

function groupOf(status: StepStatus): string {
  if (status === "P") return CALL_GROUPS.falseCalls;
  if (status === "F" || status === "E" || status === "T") return CALL_GROUPS.failed;
  return CALL_GROUPS.other;
}

/** Adds the calls under `parent`, grouped by disposition (see the module doc). */
export function addCalls(parent: SequenceBuilder, calls: Iterable<DefectCall>): void {
  const groups = new Map<string, SequenceBuilder>();
  for (const c of calls) {
    const name = groupOf(c.status);
    let seq = groups.get(name);
    if (seq === undefined) {
      seq = parent.sequence(name);
      groups.set(name, seq);
    }
    const lines: string[] = [];
    if (c.defectType !== undefined && c.defectType !== "") lines.push(`Defect: ${c.defectType}`);
    if (c.position !== undefined && c.position !== "") lines.push(`Position: ${c.position}`);
    for (const [label, value] of c.details ?? []) {
      if (value !== undefined && value.trim() !== "") lines.push(`${label}: ${value.trim()}`);
    }
    seq.passFail(
      c.component,
      { status: c.status },
      { status: c.status, reportText: lines.length > 0 ? lines.join("\n") : undefined },
    );
  }
}
