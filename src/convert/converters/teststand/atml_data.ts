/**
 * The values inside ATML elements as TestStand writes them: element paths, the `value`
 * attribute of TestStand's extension elements, `c:Datum` text and numbers, outcome words, and
 * `c:Item` / `c:Collection` / `c:IndexedArray` trees as additional-data properties. Shared by
 * the ATML reader (atml_reader.ts) and its step reader (atml_steps.ts).
 *
 * @module
 */
import { parseNumber } from "../../number.ts";
import type { AdditionalDataProperty } from "../../../wsjf/report.ts";
import { child, type XmlElement } from "../../xml.ts";
import { nonEmpty } from "./step_tree.ts";

/** The `value` attribute of a child element (TestStand's extension elements use it). */
export function valueOf(el: XmlElement | undefined, local: string): string | undefined {
  const c = el === undefined ? undefined : child(el, local);
  return c === undefined ? undefined : nonEmpty(c.attrs.value) ?? nonEmpty(c.text);
}

/** The `value` of a child element as a finite number. */
export function finiteOf(el: XmlElement | undefined, local: string): number | undefined {
  const v = valueOf(el, local);
  const n = v === undefined ? undefined : parseNumber(v);
  return n !== undefined && Number.isFinite(n) ? n : undefined;
}

/** The `value` of a child element as a 32-bit integer. */
export function intOf(el: XmlElement | undefined, local: string): number | undefined {
  const n = finiteOf(el, local);
  return n !== undefined && Number.isInteger(n) && Math.abs(n) <= 2147483647 ? n : undefined;
}

/** The element reached by a path of local names, or undefined. */
export function path(el: XmlElement | undefined, ...locals: string[]): XmlElement | undefined {
  let cur = el;
  for (const l of locals) {
    if (cur === undefined) return undefined;
    cur = child(cur, l);
  }
  return cur;
}

const STEP_ELEMENTS = new Set(["Test", "SessionAction", "TestGroup"]);

/** Whether an element is a step result (Test, SessionAction, TestGroup). */
export function isStepElement(el: XmlElement): boolean {
  return STEP_ELEMENTS.has(el.local);
}

/** A step's `TSStepProperties` extension element. */
export function stepProperties(el: XmlElement): XmlElement | undefined {
  return path(el, "Extension", "TSStepProperties");
}

/**
 * An outcome element → a verdict word for the builder. Aborted and UserDefined carry the real
 * TestStand status in `qualifier`; NotStarted is Skipped; Aborted alone is Terminated.
 */
export function outcomeWord(outcome: XmlElement | undefined): string | undefined {
  if (outcome === undefined) return undefined;
  const value = nonEmpty(outcome.attrs.value);
  const qualifier = nonEmpty(outcome.attrs.qualifier);
  switch (value?.toLowerCase()) {
    case undefined:
      return qualifier;
    case "aborted":
      return qualifier ?? "Terminated";
    case "userdefined":
      return qualifier;
    case "notstarted":
      return "Skipped";
    default:
      return value;
  }
}

/** A datum's type (`xsi:type`), lower case. */
export function xsiType(datum: XmlElement): string {
  return (datum.attrs["xsi:type"] ?? datum.attrs.type ?? "").toLowerCase();
}

/** A datum's text: the `value` attribute, else its `<c:Value>` child. */
export function datumText(datum: XmlElement | undefined): string | undefined {
  if (datum === undefined) return undefined;
  if (datum.attrs.value !== undefined) return datum.attrs.value;
  const v = child(datum, "Value");
  return v === undefined ? undefined : v.text;
}

/** A datum's text as a number. */
export function datumNumber(datum: XmlElement | undefined): number | undefined {
  const t = datumText(datum);
  return t === undefined ? undefined : parseNumber(t);
}

/** How deep `c:Collection`s nest before their items are left out. */
const MAX_ITEM_DEPTH = 32;

/** A `c:Item` (name + Datum / Collection / IndexedArray) → an additional-data property. */
export function itemProperty(item: XmlElement, depth: number): AdditionalDataProperty {
  const name = item.attrs.name ?? "";
  const inner = item.children.find((c) =>
    c.local === "Datum" || c.local === "Collection" || c.local === "IndexedArray"
  );
  return inner === undefined ? { name } : valueProperty(name, inner, depth);
}

/** A Datum / Collection / IndexedArray under a name → an additional-data property. */
export function valueProperty(name: string, v: XmlElement, depth: number): AdditionalDataProperty {
  const flags = v.attrs.flags === undefined ? undefined : parseNumber(v.attrs.flags);
  const base: AdditionalDataProperty = { name };
  if (flags !== undefined && Number.isInteger(flags) && flags >= 0 && flags <= 2147483647) {
    base.flags = flags;
  }
  if (v.local === "Collection") {
    base.type = "Obj";
    if (depth < MAX_ITEM_DEPTH) {
      base.props = v.children.filter((c) => c.local === "Item").map((c) =>
        itemProperty(c, depth + 1)
      );
    }
    return base;
  }
  if (v.local === "IndexedArray") {
    base.type = "Array";
    const elementType = tsType(xsiType(v).replace(/array$/, ""));
    base.array = {
      dimension: (v.attrs.dimensions?.match(/\d+/g) ?? ["1"]).length,
      type: elementType,
      indexes: v.children.filter((c) => c.local === "Element").map((e) => {
        const pos = e.attrs.position ?? "";
        return {
          text: pos,
          indexes: (pos.match(/-?\d+/g) ?? []).map(Number),
          value: { name: pos, type: elementType, value: datumText(e) ?? e.text },
        };
      }),
    };
    return base;
  }
  base.type = tsType(xsiType(v));
  const t = datumText(v);
  if (t !== undefined) base.value = t;
  return base;
}

/** An ATML/TestStand datum type (`ts:TS_double`, `c:string`, …) → a TestStand type name. */
function tsType(xsi: string): string {
  const t = xsi.replace(/^.*:/, "").replace(/^ts_/, "");
  if (/double|integer|long|float|decimal|short|byte/.test(t)) return "Number";
  if (t.includes("bool")) return "Boolean";
  if (t.includes("string")) return "String";
  return t === "" ? "String" : t;
}
