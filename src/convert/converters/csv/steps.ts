/**
 * One csv step row → one WSJF step: its kind (numeric, pass/fail, string, action; from a
 * `stepType` column or from the value), its numbers (a value glued to its unit such as `3.28V`
 * included, no-limit words skipped), its verdict words and comparison operator.
 *
 * @module
 */
import { ConversionError } from "../../conversion_error.ts";
import { type DecimalSeparator, isNumberText, parseNumber } from "../../number.ts";
import type { SequenceBuilder } from "../../../wsjf/step_builder.ts";
import { parseNumericCompOp, parseStringCompOp } from "../../../wsjf/compop.ts";
import { parseStepStatus } from "../../../wsjf/status_codes.ts";
import { looseName, type StepRow } from "./layout.ts";
import type { Settings } from "./params.ts";

// Unambiguous number part (no nested optional digit runs), so matching stays linear.
const GLUED_RE = /^([+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?)\s*([^\d\s.,+-][^\d]*)$/u;

/** `3.28V` → [3.28, "V"]; undefined when the text is not a number glued to a unit. */
function splitValueUnit(text: string, decimal: DecimalSeparator): [number, string] | undefined {
  const m = GLUED_RE.exec(text.trim());
  if (m === null || !isNumberText(m[1], decimal)) return undefined;
  return [parseNumber(m[1], decimal)!, m[2].trim()];
}

/** Words that mean "no limit" in a limit column. */
const NO_LIMIT = new Set(["na", "n/a", "none", "nolimit", "-", "null"]);

type Kind = "numeric" | "passFail" | "string" | "action" | "auto";

function stepKind(stepType: string): Kind {
  const t = looseName(stepType);
  if (t === "") return "auto";
  if (/^(numeric|numericlimit|numericlimittest|nlt|etnlt|num|nt|number)$/.test(t)) return "numeric";
  if (/^(passfail|passfailtest|pft|etpft|pf|boolean|bool)$/.test(t)) return "passFail";
  if (/^(string|stringvalue|stringvaluetest|svt|etsvt|str|text)$/.test(t)) return "string";
  if (/^(action|eta|label|info|log)$/.test(t)) return "action";
  return "auto";
}

/** Reads one number cell (value or limit); undefined when empty or a no-limit word. */
function numberCell(
  text: string,
  what: string,
  row: StepRow,
  s: Settings,
  file: string,
): { value?: number; unit?: string } {
  const t = text.trim();
  if (t === "" || NO_LIMIT.has(t.toLowerCase())) return {};
  const n = parseNumber(t, s.decimal);
  if (n === undefined) return {};
  if (!Number.isNaN(n) || isNumberText(t, s.decimal)) return { value: n };
  if (s.valueUnit) {
    const glued = splitValueUnit(t, s.decimal);
    if (glued !== undefined) return { value: glued[0], unit: glued[1] };
  }
  throw new ConversionError(
    `${file}: line ${row.line}, ${what} of "${row.cells.name}": "${t}" is not a number`,
    decimalHint(t, s) ??
      "Check the column map (converter parameter columns) and the file's decimal separator.",
  );
}

/** The hint for a number written with the other decimal separator, if it looks like one. */
export function decimalHint(t: string, s: Settings): string | undefined {
  if (s.decimal === "." && /^[+-]?\d*,\d+$/.test(t)) {
    return 'The file seems to use a decimal comma: set the converter parameter decimalSeparator: ",".';
  }
  if (s.decimal === "," && /^[+-]?\d*\.\d+$/.test(t)) {
    return 'The file seems to use a decimal point: set decimalSeparator: "." (the default).';
  }
  return undefined;
}

/** Adds the step of `row` (named `name`) to `seq`. Throws ConversionError naming the line. */
export function addStep(
  seq: SequenceBuilder,
  name: string,
  row: StepRow,
  s: Settings,
  file: string,
) {
  const c = row.cells;
  let status: string | undefined;
  if (c.status !== "") {
    const code = s.statusWords.get(c.status.toLowerCase()) ?? parseStepStatus(c.status);
    if (code === undefined) {
      throw new ConversionError(
        `${file}: line ${row.line}, step "${name}": unknown status "${c.status}"`,
        `Add the word to the converter parameter statusWords, e.g. {"${c.status}": "F"}.`,
      );
    }
    status = code;
  }
  const textLines = [c.reportText, ...row.extra.map((x) => `${x.key}: ${x.value}`)]
    .filter((t) => t !== "");
  const totTime = c.time === "" ? undefined : parseNumber(c.time, s.decimal);
  const opts = {
    status,
    reportText: textLines.length > 0 ? textLines.join("\n") : undefined,
    totTime: totTime !== undefined && Number.isFinite(totTime) ? totTime : undefined,
  };
  let kind = stepKind(c.stepType);
  const valueText = c.value;
  const looksNumeric = valueText !== "" &&
    (isNumberText(valueText, s.decimal) ||
      (s.valueUnit && splitValueUnit(valueText, s.decimal) !== undefined));
  if (kind === "auto") {
    if (looksNumeric) kind = "numeric";
    else if (valueText !== "") {
      if (decimalHint(valueText, s) !== undefined) {
        throw new ConversionError(
          `${file}: line ${row.line}, value of "${name}": "${valueText}" is not a number`,
          decimalHint(valueText, s)!,
        );
      }
      kind = "string";
    } else if (c.low !== "" || c.high !== "") kind = "numeric";
    else if (status !== undefined && status !== "D") kind = "passFail";
    else kind = "action";
  }
  switch (kind) {
    case "numeric": {
      const v = numberCell(valueText, "value", row, s, file);
      const lo = numberCell(c.low, "low limit", row, s, file);
      const hi = numberCell(c.high, "high limit", row, s, file);
      const compOp = c.compOp !== "" ? c.compOp : s.compOp;
      if (compOp !== undefined && parseNumericCompOp(compOp) === undefined) {
        throw new ConversionError(
          `${file}: line ${row.line}, step "${name}": unknown comparison operator "${compOp}"`,
          "Use a WATS operator (GELE, GTLT, GE, GT, LE, LT, EQ, NE, LOG, …) or >=, <=, ==, !=.",
        );
      }
      seq.numeric(name, {
        value: v.value,
        low: lo.value,
        high: hi.value,
        compOp,
        unit: c.unit || v.unit || lo.unit || hi.unit || undefined,
        status,
      }, opts);
      return;
    }
    case "passFail":
      seq.passFail(name, { status: status ?? (valueText !== "" ? valueText : undefined) }, opts);
      return;
    case "string": {
      const limit = c.low !== "" ? c.low : c.high !== "" ? c.high : undefined;
      const compOp = c.compOp !== "" ? c.compOp : undefined;
      if (compOp !== undefined && parseStringCompOp(compOp) === undefined) {
        throw new ConversionError(
          `${file}: line ${row.line}, step "${name}": unknown string operator "${compOp}"`,
          "Use EQ, NE, IGNORECASE, CASESENSIT or LOG.",
        );
      }
      seq.string(name, { value: valueText, limit, compOp, status }, opts);
      return;
    }
    default:
      seq.action(name, {
        ...opts,
        reportText: [valueText !== "" ? `Value: ${valueText}` : "", opts.reportText ?? ""]
          .filter((t) => t !== "").join("\n") || undefined,
      });
  }
}
