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
 * it against.
 *
 * @module
 */
import { ConversionError } from "../conversion_error.ts";
import { type Converter, type ConvertInput, type WsjfReport } from "../contract.ts";
import { parseNumber } from "../number.ts";
import { type CommonParams, converterParams, parseParams } from "../params.ts";
import { decodeXml, headText } from "../text.ts";

import { normalizeWsjf } from "../../wsjf/normalize.ts";
import { assertValidReport } from "../../wsjf/validate.ts";
import { attr, childrenNamed, parseXml, textOf, type XmlElement, xmlRoot } from "../xml.ts";

/** WSXF namespace. */
export const WSXF_NS = "http://wats.virinco.com/schemas/WATS/Report/wsxf";
/** WRML (legacy WATS XML) namespace. */
export const WRML_NS = "http://wats.virinco.com/schemas/WATS/Report";

const paramsSchema = converterParams();

type Obj = Record<string, unknown>;

function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  return parseNumber(v);
}

function int(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === "") return undefined;
  const n = Number(v.trim());
  return Number.isInteger(n) ? n : undefined;
}

function bool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const t = v.trim().toLowerCase();
  if (t === "true" || t === "1") return true;
  if (t === "false" || t === "0") return false;
  return undefined;
}

function str(v: string | undefined): string | undefined {
  return v === undefined || v === "" ? undefined : v;
}

function compact<T extends Obj>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

function reportType(v: string | undefined): string | undefined {
  const t = (v ?? "").trim().toUpperCase();
  return t === "UUT" || t === "T" ? "T" : t === "UUR" || t === "R" ? "R" : v;
}

/** Step fields from a `<Step>`'s attributes (both dialects). */
function stepHeader(el: XmlElement): Obj {
  return compact({
    id: int(attr(el, "Id") ?? attr(el, "StepID")),
    group: attr(el, "Group"),
    stepType: attr(el, "StepType") ?? "",
    name: attr(el, "Name") ?? "",
    status: attr(el, "Status"),
    start: str(attr(el, "Start")),
    totTime: num(attr(el, "total_time")),
    tsGuid: str(attr(el, "TSGuid")),
    errorCode: int(attr(el, "StepErrorCode")),
    errorMessage: str(attr(el, "StepErrorMessage")),
    causedUUTFailure: bool(attr(el, "StepCausedUUTFailure")),
    causedSeqFailure: bool(attr(el, "StepCausedSequenceFailure")),
  });
}

function push(step: Obj, key: string, value: Obj): void {
  const list = (step[key] as Obj[] | undefined) ?? [];
  list.push(value);
  step[key] = list;
}

function appendText(step: Obj, text: string): void {
  step.reportText = step.reportText ? `${step.reportText}\n${text}` : text;
}

/** Adds one measurement/payload element (WSXF child or WRML sibling) to a step. */
function addItem(step: Obj, el: XmlElement): boolean {
  switch (el.local) {
    case "SequenceCall":
      step.seqCall = compact({
        path: attr(el, "Filepath") ?? attr(el, "Filename") ?? attr(el, "Name") ?? "",
        name: attr(el, "Name") ?? "",
        version: attr(el, "Version") ?? "",
      });
      return true;
    case "NumericLimit":
      push(
        step,
        "numericMeas",
        compact({
          name: str(attr(el, "Name")),
          compOp: attr(el, "CompOperator") ?? "LOG",
          status: attr(el, "Status"),
          value: num(attr(el, "NumericValue")),
          unit: str(attr(el, "Units")),
          lowLimit: num(attr(el, "LowLimit")),
          highLimit: num(attr(el, "HighLimit")),
          valueFormat: str(attr(el, "NumericValueFormat")),
          lowLimitFormat: str(attr(el, "LowLimitFormat")),
          highLimitFormat: str(attr(el, "HighLimitFormat")),
        }),
      );
      return true;
    case "PassFail":
      push(
        step,
        "booleanMeas",
        compact({ name: str(attr(el, "Name")), status: attr(el, "Status") }),
      );
      return true;
    case "StringValue":
      push(
        step,
        "stringMeas",
        compact({
          name: str(attr(el, "Name")),
          compOp: attr(el, "CompOperator") ?? "LOG",
          status: attr(el, "Status"),
          value: attr(el, "StringValue"),
          limit: attr(el, "StringLimit"),
        }),
      );
      return true;
    case "ReportText":
      if (el.text !== "") appendText(step, el.text);
      return true;
    case "Loop": {
      const loop = compact({
        idx: int(attr(el, "index")),
        num: int(attr(el, "num")),
        passed: int(attr(el, "passed")),
        failed: int(attr(el, "failed")),
        endingIndex: int(attr(el, "ending_index")),
      });
      if (Object.keys(loop).length > 0) step.loop = loop;
      return true;
    }
    case "Callexe":
      step.callExe = compact({ exitCode: num(attr(el, "ExitCode")) });
      return true;
    case "MessagePopup":
      step.messagePopup = compact({
        button: int(attr(el, "Button")),
        response: str(attr(el, "Response")),
      });
      return true;
    case "Attachment": {
      const data = el.text.replace(/\s+/g, "");
      const name = attr(el, "Name") ?? "attachment";
      if (data === "") {
        appendText(step, `attachment "${name}" had no data in the file`);
      } else {
        step.attachment = {
          name,
          contentType: attr(el, "ContentType") ?? "application/octet-stream",
          data,
        };
      }
      return true;
    }
    case "Chart":
      if (childrenNamed(el, "Series").length > 0 || attr(el, "ChartType") !== undefined) {
        step.chart = compact({
          chartType: attr(el, "ChartType") ?? "Line",
          label: str(attr(el, "Label")),
          xLabel: str(attr(el, "XLabel")),
          xUnit: str(attr(el, "XUnit")),
          yLabel: str(attr(el, "YLabel")),
          yUnit: str(attr(el, "YUnit")),
          series: childrenNamed(el, "Series").map((s) => ({
            dataType: attr(s, "DataType") ?? "XYG",
            name: attr(s, "Name") ?? "",
            xdata: textOf(childrenNamed(s, "xdata")[0]),
            ydata: textOf(childrenNamed(s, "ydata")[0]),
          })),
        });
      }
      return true;
    default:
      return false;
  }
}

/** WRML `<Chart StepID idx>` rows of one step → chart or attachment. */
function wrmlCharts(step: Obj, rows: XmlElement[]): void {
  const head = rows.find((r) => int(attr(r, "idx")) === 0) ?? rows[0];
  const type = attr(head, "ChartType") ?? "Line";
  const data = rows.filter((r) => r !== head);
  if (type.toUpperCase() === "ATTACHMENT") {
    const body = data[0];
    const b64 = body ? textOf(childrenNamed(body, "Data")[0]).replace(/\s+/g, "") : "";
    const name = attr(head, "Label") ?? "attachment";
    if (b64 === "") appendText(step, `attachment "${name}" had no data in the file`);
    else {
      step.attachment = {
        name,
        contentType: (body && attr(body, "PlotName")) || "application/octet-stream",
        data: b64,
      };
    }
    return;
  }
  step.chart = compact({
    chartType: type,
    label: str(attr(head, "Label")),
    xLabel: str(attr(head, "XLabel")),
    xUnit: str(attr(head, "XUnit")),
    yLabel: str(attr(head, "YLabel")),
    yUnit: str(attr(head, "YUnit")),
    series: data.map((r) => {
      const [x, y] = decodeXy(textOf(childrenNamed(r, "Data")[0]), attr(r, "PlotName") ?? "");
      return { dataType: "XYG", name: attr(r, "PlotName") ?? "", xdata: x, ydata: y };
    }),
  });
}

/** Base64 little-endian doubles, x/y interleaved → `;`-joined x and y strings. */
export function decodeXy(b64: string, what: string): [string, string] {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(b64.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  } catch {
    throw new ConversionError(`chart series "${what}": the Data is not base64`);
  }
  if (bytes.length % 16 !== 0) {
    throw new ConversionError(
      `chart series "${what}": ${bytes.length} bytes of data is not a whole number of x/y pairs`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const xs: string[] = [];
  const ys: string[] = [];
  for (let o = 0; o < bytes.length; o += 16) {
    const x = view.getFloat64(o, true);
    const y = view.getFloat64(o + 8, true);
    xs.push(String(Number.isFinite(x) ? x : 0));
    ys.push(String(Number.isFinite(y) ? y : 0));
  }
  return [xs.join(";"), ys.join(";")];
}

function wsxfStep(el: XmlElement, depth: number): Obj {
  if (depth > 256) throw new ConversionError("WSXF steps are nested too deep");
  const step = stepHeader(el);
  const kids: Obj[] = [];
  for (const c of el.children) {
    if (c.local === "Step") kids.push(wsxfStep(c, depth + 1));
    else addItem(step, c);
  }
  if (kids.length > 0) step.steps = kids;
  return step;
}

/** WRML: rebuild the step tree from StepID/ParentStepID and attach the StepID items. */
function wrmlRoot(report: XmlElement, file: string): Obj | undefined {
  const byId = new Map<string, Obj>();
  const roots: Obj[] = [];
  const order: Array<[Obj, string | undefined]> = [];
  const charts = new Map<string, XmlElement[]>();
  for (const c of report.children) {
    if (c.local === "Step") {
      const id = attr(c, "StepID") ?? "";
      if (byId.has(id)) {
        throw new ConversionError(
          `${file}: two <Step> elements have StepID "${id}" (line ${c.line})`,
        );
      }
      const step = stepHeader(c);
      for (const sub of c.children) addItem(step, sub);
      byId.set(id, step);
      order.push([step, attr(c, "ParentStepID")]);
      continue;
    }
    const ref = attr(c, "StepID");
    if (ref === undefined) continue;
    const step = byId.get(ref);
    if (!step) {
      throw new ConversionError(
        `${file}: <${c.name}> on line ${c.line} refers to StepID "${ref}", which no earlier <Step> has`,
      );
    }
    if (c.local === "Chart") {
      const list = charts.get(ref) ?? [];
      list.push(c);
      charts.set(ref, list);
    } else addItem(step, c);
  }
  for (const [id, rows] of charts) wrmlCharts(byId.get(id)!, rows);
  for (const [step, parent] of order) {
    if (parent === undefined || parent === "") {
      roots.push(step);
      continue;
    }
    const p = byId.get(parent);
    if (!p) {
      throw new ConversionError(
        `${file}: step "${step.name}" has unknown ParentStepID "${parent}"`,
      );
    }
    ((p.steps as Obj[] | undefined) ?? (p.steps = []) as Obj[]).push(step);
  }
  // Refuse cycles (a step that is its own ancestor never reaches a root).
  let reachable = 0;
  const stack = [...roots];
  while (stack.length > 0) {
    const s = stack.pop()!;
    reachable++;
    if (reachable > order.length) break;
    for (const k of (s.steps as Obj[] | undefined) ?? []) stack.push(k);
  }
  if (reachable !== order.length) {
    throw new ConversionError(`${file}: the StepID/ParentStepID links do not form a tree`);
  }
  if (roots.length > 1) {
    throw new ConversionError(
      `${file}: ${roots.length} steps have no ParentStepID; expected one root`,
    );
  }
  return roots[0];
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
