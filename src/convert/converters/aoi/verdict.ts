/**
 * Verdict words of AOI (optical inspection) files: board and image verdicts (PASS, failed, …)
 * and the disposition of a defect call (a real defect, or a false call the repair operator
 * dismissed). Shared by the `saki-aoi`, `viscom-aoi` and `yestech-aoi` converters, with their
 * `statusWords` parameter for the words a machine writes that are not built in.
 *
 * A word that is neither built in nor in `statusWords` is an error naming the word: an
 * inspection verdict is never guessed, least of all as a pass.
 *
 * @module
 */
import { ConversionError } from "../../conversion_error.ts";
import { parseStepStatus, type StepStatus } from "../../../wsjf/status_codes.ts";
import { clip } from "../../text.ts";

/**
 * Dispositions of a defect call that are not step status words: a false call (pseudo error)
 * was inspected and found good (P); a confirmed or repaired call was a real defect (F).
 */
const DISPOSITIONS: Readonly<Record<string, StepStatus>> = {
  "false call": "P",
  "falsecall": "P",
  "false_call": "P",
  "pseudo": "P",
  "pseudo error": "P",
  "pseudoerror": "P",
  "defect": "F",
  "real defect": "F",
  "confirmed": "F",
  "repaired": "F",
};

/**
 * Verdict words → status: the step status words (PASS, failed, OK, NG, …), for defect calls
 * also the dispositions above, and a converter's `statusWords` (which win over both).
 */
export class AoiVerdicts {
  private readonly extra = new Map<string, StepStatus>();

  /** @param extra the converter's `statusWords` parameter */
  constructor(extra: Readonly<Record<string, StepStatus>>) {
    for (const [w, s] of Object.entries(extra)) this.extra.set(normal(w), s);
  }

  /** The status a `statusWords` entry gives the word, or undefined. */
  mapped(word: string): StepStatus | undefined {
    return this.extra.get(normal(word));
  }

  /**
   * The status of a board, panel or image verdict; throws a {@link ConversionError} naming
   * the word, `what` it is and `where` it is for any word it doesn't know.
   */
  verdict(word: string, what: string, where: string): StepStatus {
    return this.mapped(word) ?? parseStepStatus(word) ?? unknown(word, what, where);
  }

  /** The status of a defect call's disposition (also "False Call", "Repaired", …). */
  disposition(word: string, what: string, where: string): StepStatus {
    return this.mapped(word) ?? DISPOSITIONS[normal(word)] ?? parseStepStatus(word) ??
      unknown(word, what, where);
  }
}

function unknown(word: string, what: string, where: string): never {
  throw new ConversionError(
    `${where}: unknown ${what} "${clip(word)}"`,
    `If the machine writes this word, tell the converter what it means with the parameter ` +
      `statusWords, e.g. {"${clip(word)}": "F"} (P F D S E T U).`,
  );
}

function normal(word: string): string {
  return word.trim().toLowerCase().replace(/\s+/g, " ");
}
