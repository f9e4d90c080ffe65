/**
 * `saki-aoi`: SAKI AOI (3D optical inspection) panel results as XML (docs/converters.md, `saki-aoi`).
 *
 * ```xml
 * <Panel barcode="SN1" result="failed" startDate="01/10/2024" startTime="08:59:14" side="TOP"
 *        operator="op">
 *   <Program name="…" ver="…"/>
 *   <Image barcode="N/A" id="1" result="failed">
 *     <Results>
 *       <FalseCalls><Reference designator="R1" partNumber="…" package="…" description="…"/></FalseCalls>
 *       <Failed><Reference designator="C3" …/></Failed>
 *     </Results>
 *   </Image> …
 * </Panel>
 * ```
 *
 * **One report per file** (the panel): images carry no serial of their own (`N/A`).
 *
 * | WSJF | Source |
 * |---|---|
 * | `sn` | `Panel@barcode` |
 * | `pn` | `Program@name` (param `partNumberFrom`: `"side"` → `Panel@side`, as Virinco's converter does; `"parameter"` → only the `partNumber` parameter) |
 * | `result` | `Panel@result` (passed/failed; other words through `statusWords`, else an error) |
 * | `start` | `startDate` + `startTime` (month first unless `dateOrder: "dmy"`; station time zone) |
 * | `uut.user` | `Panel@operator` |
 * | root `seqCall` | `Program@name`, `Program@ver` |
 * | misc infos | `Side` (unless it is the part number) |
 *
 * Steps: each `<Image>` → a sequence call "Image <id>" with the image's verdict and, when the
 * image has a barcode of its own (not `N/A`), the board barcode in its report text; under it
 * the defect calls (`aoi/calls.ts`): `<Failed>` references → "Failed", `<FalseCalls>` →
 * "False Calls", each a pass/fail step named by the designator with part number, package and
 * description in the report text. Import mode: the machine's verdicts are kept.
 *
 * Refused: a root that is not `<Panel>`, a panel without barcode, result, startDate or
 * startTime, an unreadable date, an unknown verdict word, a `<Reference>` without designator.
 * Unknown elements are skipped with a warning.
 *
 * @module
 */
import { z } from "zod";
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { converterParams, parseParams, statusWordsParam } from "../params.ts";
import { clip, headText } from "../text.ts";
import { parseLooseDateTime } from "../time.ts";
import { ReportBuilder } from "../../wsjf/builder.ts";
import { type SequenceBuilder } from "../../wsjf/step_builder.ts";
import { attr, parseXmlBytes, requireAttr, type XmlElement, xmlRoot } from "../xml.ts";
import { addCalls, type DefectCall } from "./aoi/calls.ts";
import { AoiVerdicts } from "./aoi/verdict.ts";

const paramsSchema = converterParams({
  partNumberFrom: z.enum(["program", "side", "parameter"]).default("program").describe(
    'Where the pn comes from: `Program@name`, `"side"` → `Panel@side` (Virinco\'s choice), or ' +
      '`"parameter"` → only the `partNumber` parameter.',
  ),
  dateOrder: z.enum(["mdy", "dmy"]).default("mdy").describe('`"dmy"` for day-first dates.'),
  statusWords: statusWordsParam.describe("Extra verdict/disposition words → `P F D S E T U`."),
});

type SakiParams = z.output<typeof paramsSchema>;

/** The SAKI AOI converter. */
export const converter: Converter = {
  name: "saki-aoi",
  params: paramsSchema,
  description: "SAKI AOI panel result XML (<Panel barcode result startDate …>); one report per " +
    "panel, defect and false calls as steps",
  pattern: "*.xml",
  detect({ head }) {
    const root = xmlRoot(headText(head));
    if (root === null || root.local !== "Panel" || root.ns !== "") return 0;
    const a = root.attrs;
    if (a["barcode"] !== undefined && a["startDate"] !== undefined) return 0.9;
    return a["barcode"] !== undefined ? 0.4 : 0;
  },
  convert(input: ConvertInput): WsjfReport[] {
    const params = parseParams(input.params, paramsSchema, "saki-aoi");
    const panel = parseXmlBytes(input.bytes, { encoding: params.encoding, name: input.name });
    if (panel.local !== "Panel") {
      throw new ConversionError(
        `${input.name} is not a SAKI AOI result: the XML root is <${panel.name}>, expected <Panel>`,
        "Check the converter's format setting for this folder.",
      );
    }
    return [buildPanel(input, params, panel)];
  },
};

function buildPanel(input: ConvertInput, params: SakiParams, panel: XmlElement): WsjfReport {
  const file = input.name;
  const verdicts = new AoiVerdicts(params.statusWords);
  const sn = requireAttr(panel, "barcode", file);
  const resultText = requireAttr(panel, "result", file);
  const where = `${file}: <Panel> on line ${panel.line}`;
  const result = verdicts.verdict(resultText, "panel result", where);
  const dateText = `${requireAttr(panel, "startDate", file).trim()} ${
    requireAttr(panel, "startTime", file).trim()
  }`;
  const start = parseLooseDateTime(dateText, params.dateOrder);
  if (start === null) {
    throw new ConversionError(
      `${where}: startDate/startTime "${clip(dateText)}" is not a date and time`,
      `Expected e.g. startDate="01/31/2024" startTime="08:59:14" (month first; set the ` +
        `parameter dateOrder to "dmy" for day first).`,
    );
  }
  const warnings: string[] = [];
  let program: XmlElement | undefined;
  const images: XmlElement[] = [];
  for (const c of panel.children) {
    if (c.local === "Program") program ??= c;
    else if (c.local === "Image") images.push(c);
    else warnings.push(`line ${c.line}: unknown element <${c.name}> in <Panel> skipped`);
  }
  const programName = program === undefined ? undefined : attr(program, "name")?.trim();
  const side = attr(panel, "side")?.trim();
  const pn = params.partNumberFrom === "program"
    ? programName
    : params.partNumberFrom === "side"
    ? side
    : undefined;
  const rb = new ReportBuilder(input, params, {
    sn,
    pn: pn || undefined,
    start,
    result,
    operator: attr(panel, "operator"),
    sequence: {
      name: programName || undefined,
      version: program === undefined ? undefined : attr(program, "ver"),
    },
  });
  if (side && params.partNumberFrom !== "side") rb.misc("Side", side);
  for (const w of warnings) rb.warn(w);
  for (const image of images) addImage(rb, rb.root, image, verdicts, file);
  return rb.build();
}

function addImage(
  rb: ReportBuilder,
  root: SequenceBuilder,
  image: XmlElement,
  verdicts: AoiVerdicts,
  file: string,
): void {
  const id = attr(image, "id")?.trim();
  const where = `${file}: <Image> on line ${image.line}`;
  const resultText = attr(image, "result");
  const status = resultText === undefined || resultText.trim() === ""
    ? undefined
    : verdicts.verdict(resultText, "image result", where);
  const barcode = attr(image, "barcode")?.trim();
  const seq = root.sequence(id ? `Image ${id}` : `Image (line ${image.line})`, {
    status,
    reportText: barcode && barcode.toUpperCase() !== "N/A" ? `Barcode: ${barcode}` : undefined,
  });
  const calls: DefectCall[] = [];
  for (const results of image.children) {
    if (results.local !== "Results") {
      rb.warn(`line ${results.line}: unknown element <${results.name}> in <Image> skipped`);
      continue;
    }
    for (const list of results.children) {
      const disposition = list.local === "Failed"
        ? "F"
        : list.local === "FalseCalls"
        ? "P"
        : undefined;
      if (disposition === undefined) {
        rb.warn(`line ${list.line}: unknown element <${list.name}> in <Results> skipped`);
        continue;
      }
      for (const ref of list.children) {
        if (ref.local !== "Reference") {
          rb.warn(`line ${ref.line}: unknown element <${ref.name}> in <${list.name}> skipped`);
          continue;
        }
        const designator = requireAttr(ref, "designator", file).trim();
        if (designator === "") {
          throw new ConversionError(`${file}: <Reference> on line ${ref.line} has no designator`);
        }
        calls.push({
          component: designator,
          status: disposition,
          details: [
            ["Part number", attr(ref, "partNumber")],
            ["Package", attr(ref, "package")],
            ["Description", attr(ref, "description")],
          ],
        });
      }
    }
  }
  addCalls(seq, calls);
}
