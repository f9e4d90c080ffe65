/**
 * WATS XML drop files, both dialects, told apart by the root namespace:
 *
 * - **WSXF** (`http://wats.virinco.com/schemas/WATS/Report/wsxf`): nested `<Step>` elements
 *   with their measurements as children (the same model as WSJF: docs/wsjf.md).
 * - **WRML** (`http://wats.virinco.com/schemas/WATS/Report`, the older form): a flat list of
 *   `<Step StepID ParentStepID>` plus sibling elements that refer back by `StepID`
 *   (`<SequenceCall>`, `<NumericLimit>`, `<PassFail>`, `<StringValue>`, `<Chart>` …),
 *   `<PartInfo>` sub units. WRML charts carry their series as base64 little-endian doubles
 *   (x, y interleaved); a chart of type ATTACHMENT is a step attachment.
 *
 * One converter (`wsxf`) reads both, so a WATS XML drop folder takes either. Each `<Report>`
 * becomes one WSJF report: mapped 1:1 to the WSJF shape, then normalised and validated like a
 * WSJF file (src/wsjf/normalize.ts); the file's report ID is kept. Unmapped: `<AdditionalResults>`
 * and `<AdditionalData>` (free XML), `<ReportInfo>`, `<SPCData>`, `<PropertyLoader>`.
 * Repair (UUR) reports map the header, `<UUR>` (incl. its `<Process>` = the tested process),
 * sub units, `<Failures>` (attached to the sub unit named by `Idx`/`PartIdx`, else the first)
 * and `<Binary>` data; that mapping follows the reference tables, with no real sample to check
 * it against. The steps are read in wsxf/steps.ts.
 *
 * @module
 */
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { type CommonParams, converterParams, parseParams } from "../params.ts";
import { decodeXml, headText } from "../text.ts";
import { normalizeWsjf } from "../../wsjf/normalize.ts";
import { assertValidReport } from "../../wsjf/validate.ts";
import { attr, childrenNamed, parseXml, textOf, type XmlElement, xmlRoot } from "../xml.ts";
import { wrmlRoot, wsxfStep } from "./wsxf/steps.ts";
import { compact, int, num, type Obj, str } from "./wsxf/values.ts";

/** WSXF namespace. */
export const WSXF_NS = "http://wats.virinco.com/schemas/WATS/Report/wsxf";
/** WRML (legacy WATS XML) namespace. */
export const WRML_NS = "http://wats.virinco.com/schemas/WATS/Report";

const paramsSchema = converterParams();

function reportType(v: string | undefined): string | undefined {
  const t = (v ?? "").trim().toUpperCase();
  return t === "UUT" || t === "T" ? "T" : t === "UUR" || t === "R" ? "R" : v;
}

function subUnitOf(el: XmlElement): Obj {
  return compact({
    partType: attr(el, "PartType"),
    pn: attr(el, "PN") ?? "",
    sn: attr(el, "SN") ?? "",
    rev: attr(el, "Rev"),
    idx: int(attr(el, "Idx") ?? attr(el, "idx")),
    parentIdx: int(attr(el, "ParentIDX") ?? attr(el, "ParentIdx")),
    replacedIdx: int(attr(el, "ReplacedIDX") ?? attr(el, "ReplacedIdx")),
    position: int(attr(el, "Position")),
  });
}

function failureOf(el: XmlElement): Obj {
  return compact({
    category: attr(el, "Category") ?? "",
    code: attr(el, "Code") ?? "",
    comment: str(textOf(childrenNamed(el, "Comment")[0])),
    comRef: attr(el, "CompRef") ?? attr(el, "ComRef"),
    funcBlock: attr(el, "FunctionBlock"),
    refStepId: int(attr(el, "StepID")),
    refStepName: attr(el, "StepName"),
    artNumber: attr(el, "ArticleNumber"),
    artRev: attr(el, "ArticleRevision") ?? attr(el, "ArticleRev"),
    artVendor: attr(el, "ArticleVendor"),
    artDescription: attr(el, "ArticleDescription"),
  });
}

/** Maps one `<Report>` to a WSJF-shaped object (before normalisation). */
export function mapReport(
  report: XmlElement,
  dialect: "wsxf" | "wrml",
  file: string,
  params: Partial<CommonParams>,
): Obj {
  const type = reportType(attr(report, "type"));
  const r: Obj = compact({
    type,
    id: attr(report, "ID"),
    pn: attr(report, "PN"),
    sn: attr(report, "SN"),
    rev: attr(report, "Rev"),
    result: attr(report, "Result") ?? (type === "R" ? "P" : undefined),
    machineName: attr(report, "MachineName"),
    location: attr(report, "Location"),
    purpose: attr(report, "Purpose"),
    start: attr(report, "Start"),
  });
  const misc: Obj[] = [];
  const subUnits: Obj[] = [];
  const assets: Obj[] = [];
  const failures: Array<[number | undefined, Obj]> = [];
  const binary: Obj[] = [];
  for (const c of report.children) {
    switch (c.local) {
      case "UUT": {
        r.uut = compact({
          user: attr(c, "UserLoginName"),
          comment: str(textOf(childrenNamed(c, "Comment")[0])),
          execTime: num(attr(c, "ExecutionTime")),
          fixtureId: attr(c, "FixtureId"),
          batchSN: attr(c, "BatchSN"),
          testSocketIndex: int(attr(c, "TestSocketIndex")),
          errorCode: int(attr(c, "ErrorCode")),
          errorMessage: attr(c, "ErrorMessage"),
          batchFailCount: int(attr(c, "BatchFailCount")),
          batchLoopIndex: int(attr(c, "BatchLoopIndex")),
          stepIdCausedUUTFailure: int(attr(c, "StepIdCausedUUTFailure")),
        });
        break;
      }
      case "UUR": {
        const proc = childrenNamed(c, "Process")[0];
        r.uur = compact({
          user: attr(c, "UserLoginName"),
          comment: str(textOf(childrenNamed(c, "Comment")[0])),
          processCode: proc ? int(attr(proc, "Code")) : undefined,
          refUUT: attr(c, "ReferencedUUT"),
          confirmDate: attr(c, "ConfirmDate"),
          finalizeDate: attr(c, "FinalizeDate"),
          execTime: num(attr(c, "ExecutionTime")),
          parent: str(attr(c, "Parent")),
        });
        break;
      }
      case "Process": {
        const code = int(attr(c, "Code"));
        const name = attr(c, "Name");
        const map = params.processCodes ?? {};
        const key = name === undefined
          ? undefined
          : Object.keys(map).find((k) => k.toLowerCase() === name.toLowerCase());
        r.processCode = code ?? (key !== undefined ? map[key] : undefined);
        break;
      }
      case "MiscInfo":
        misc.push(compact({
          description: attr(c, "Description") ?? "",
          text: str(c.text.trim()),
          numeric: int(attr(c, "Numeric")),
          typedef: str(attr(c, "Typedef")),
          id: str(attr(c, "Id")),
        }));
        break;
      case "ReportUnitHierarchy":
      case "PartInfo": {
        const u = subUnitOf(c);
        subUnits.push(u);
        for (const f of childrenNamed(c, "Failures")) {
          failures.push([u.idx as number | undefined, failureOf(f)]);
        }
        break;
      }
      case "Failures":
        failures.push([int(attr(c, "PartIdx") ?? attr(c, "Idx")), failureOf(c)]);
        break;
      case "Binary":
        for (const d of childrenNamed(c, "Data")) {
          binary.push(compact({
            name: attr(d, "FileName"),
            contentType: attr(d, "ContentType"),
            id: str(attr(d, "BinaryDataGUID")),
            data: d.text.replace(/\s+/g, ""),
          }));
        }
        break;
      case "Asset":
        assets.push(
          compact({ assetSN: attr(c, "AssetSN") ?? "", usageCount: int(attr(c, "UsageCount")) }),
        );
        break;
    }
  }
  for (const [idx, f] of failures) {
    const target = subUnits.find((u) => u.idx === idx) ?? subUnits[0];
    if (!target) {
      throw new ConversionError(
        `${file}: a <Failures> element has no sub unit (ReportUnitHierarchy) to belong to`,
      );
    }
    ((target.failures as Obj[] | undefined) ?? (target.failures = []) as Obj[]).push(f);
  }
  if (misc.length > 0) r.miscInfos = misc;
  if (subUnits.length > 0) r.subUnits = subUnits;
  if (assets.length > 0) r.assets = assets;
  if (binary.length > 0) r.binaryData = binary;
  if (type !== "R") {
    const root = dialect === "wsxf"
      ? childrenNamed(report, "Step").map((s) => wsxfStep(s, 1))
      : [wrmlRoot(report, file)].filter((s) => s !== undefined);
    if (root.length > 1) {
      throw new ConversionError(
        `${file}: a report has ${root.length} top-level steps; expected one root`,
      );
    }
    if (root[0]) r.root = root[0];
  }
  return r;
}

/** Which dialect a root element is, or null. */
export function dialectOf(ns: string): "wsxf" | "wrml" | null {
  const n = ns.trim().toLowerCase().replace(/\/+$/, "");
  if (n === WSXF_NS.toLowerCase()) return "wsxf";
  if (n === WRML_NS.toLowerCase()) return "wrml";
  return null;
}

/** Parses a WSXF/WRML document to WSJF-shaped objects (before normalisation). */
export function wsxfToRaw(input: ConvertInput, params: Partial<CommonParams> = {}): Obj[] {
  const doc = parseXml(decodeXml(input.bytes, { encoding: params.encoding }).text, {
    name: input.name,
  });
  const dialect = dialectOf(doc.ns);
  if (doc.local !== "Reports" || dialect === null) {
    throw new ConversionError(
      `${input.name} is not WATS XML: root <${doc.name}> in namespace "${doc.ns}"; expected ` +
        `<Reports xmlns="${WSXF_NS}"> (WSXF) or xmlns="${WRML_NS}" (WRML)`,
      "Route this file to the converter for its format.",
    );
  }
  const reports = childrenNamed(doc, "Report");
  if (reports.length === 0) throw new ConversionError(`${input.name} holds no <Report>`);
  return reports.map((rep) => mapReport(rep, dialect, input.name, params));
}

/** The WSXF/WRML converter. */
export const converter: Converter = {
  name: "wsxf",
  params: paramsSchema,
  description: "WATS Standard XML Format (WSXF) and legacy WATS XML (WRML) reports",
  pattern: "*.xml",
  detect({ head }) {
    const root = xmlRoot(headText(head));
    if (root === null || root.local !== "Reports") return 0;
    return dialectOf(root.ns) === null ? 0 : 0.95;
  },
  convert(input: ConvertInput): WsjfReport[] {
    const params = parseParams(input.params, paramsSchema, "wsxf");
    const raws = wsxfToRaw(input, params);
    return raws.map((raw, index) => {
      const r = normalizeWsjf(raw, { input, params, index });
      const what = raws.length > 1
        ? `report ${index + 1} of ${raws.length} in ${input.name}`
        : input.name;
      return assertValidReport(r, what);
    });
  },
};
