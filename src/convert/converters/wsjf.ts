/**
 * WSJF (WATS Standard JSON Format) drop files: validated, normalised (src/wsjf/normalize.ts) and
 * passed on. One report object per file, or a JSON array of report objects. Test (T) and
 * repair (R) reports. The file's id is kept, so a report exported from one WATS server and
 * dropped here upserts instead of duplicating.
 *
 * @module
 */
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { converterParams, parseParams } from "../params.ts";
import { decodeText, headText } from "../text.ts";
import { normalizeWsjf } from "../../wsjf/normalize.ts";
import { assertValidReport } from "../../wsjf/validate.ts";

const paramsSchema = converterParams();

/** Parses JSON text with a message that says where it broke. */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const pos = /position (\d+)/.exec(msg);
    let where = "";
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      const line = before.split("\n").length;
      where = ` (line ${line}, column ${Number(pos[1]) - before.lastIndexOf("\n")})`;
    }
    throw new ConversionError(
      `${file} is not valid JSON${where}: ${msg}`,
      "Check that the file is complete (not cut off while being written) and is JSON.",
    );
  }
}

/** The WSJF converter. */
export const converter: Converter = {
  name: "wsjf",
  params: paramsSchema,
  description: "WATS Standard JSON Format (WSJF) test and repair reports, one per file or an array",
  pattern: "*.json",
  detect({ head, name }) {
    const t = headText(head).trimStart();
    if (!t.startsWith("{") && !t.startsWith("[")) return 0;
    // Real exports write the type in either case ("t" in some); the converter takes both.
    if (/"type"\s*:\s*"[TtRr]"/.test(t) && /"(root|uur|sn|pn)"\s*:/.test(t)) return 0.95;
    return /\.json$/i.test(name) ? 0.2 : 0.05;
  },
  convert(input: ConvertInput): WsjfReport[] {
    const params = parseParams(input.params, paramsSchema, "wsjf");
    const { text } = decodeText(input.bytes, { encoding: params.encoding });
    const data = parseJson(text, input.name);
    const list = Array.isArray(data) ? data : [data];
    if (list.length === 0) {
      throw new ConversionError(`${input.name} holds an empty array: no reports`);
    }
    return list.map((raw, index) => {
      const r = normalizeWsjf(raw, { input, params, index });
      const what = list.length > 1
        ? `report ${index + 1} of ${list.length} in ${input.name}`
        : `${input.name}`;
      return assertValidReport(r, what);
    });
  },
};
