/**
 * The steps of a WATS XML report as WSJF-shaped objects, in both dialects: WSXF nests `<Step>`
 * elements with their measurements as children ({@link wsxfStep}); WRML lists `<Step StepID
 * ParentStepID>` flat, with sibling elements that refer back by `StepID` ({@link wrmlRoot}
 * rebuilds the tree and refuses duplicate ids, unknown parents, cycles and several roots).
 * Measurement and payload elements (`<SequenceCall>`, `<NumericLimit>`, `<PassFail>`,
 * `<StringValue>`, `<Chart>`, …) map 1:1 onto the step; WRML chart series are base64
 * little-endian doubles, x and y interleaved ({@link decodeXy}), and a chart of type
 * ATTACHMENT is a step attachment.
 *
 * @module
 */
import { ConversionError } from "../../conversion_error.ts";
import { attr, childrenNamed, textOf, type XmlElement } from "../../xml.ts";
import { bool, compact, int, num, type Obj, str } from "./values.ts";

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

/** A WSXF `<Step>` and the steps nested in it. */
export function wsxfStep(el: XmlElement, depth: number): Obj {
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
export function wrmlRoot(report: XmlElement, file: string): Obj | undefined {
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
