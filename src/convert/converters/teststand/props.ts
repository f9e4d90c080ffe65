/**
 * Reading TestStand's serialised property objects, as the XML report and the WATS add-on dump
 * write them:
 *
 * ```xml
 * <Prop Name='TS' Type='Obj' Flags='0x0'>
 *   <Prop Name='StepName' Type='String' Flags='0x0'><Value>Video Test</Value></Prop>
 *   <Prop Name='ResultList' Type='Array' LBound='[0]' HBound='[2]' ElementType='Obj'>
 *     <Value ID='[0]'><Prop Type='TEResult'>…</Prop></Value>
 *   </Prop>
 * </Prop>
 * ```
 *
 * Paths are dotted property names (`TS.SequenceCall.ResultList`), looked up child by child.
 *
 * @module
 */
import { parseNumber } from "../../number.ts";
import type { XmlElement } from "../../xml.ts";
import type { AdditionalData, AdditionalDataProperty } from "../../../wsjf/report.ts";

/** The child `<Prop Name='name'>` of an element, or undefined. */
export function prop(el: XmlElement | undefined, name: string): XmlElement | undefined {
  if (el === undefined) return undefined;
  for (const c of el.children) if (c.local === "Prop" && c.attrs.Name === name) return c;
  return undefined;
}

/** The property at a dotted path (`TS.SequenceCall`), or undefined. */
export function propAt(el: XmlElement | undefined, path: string): XmlElement | undefined {
  let cur = el;
  for (const name of path.split(".")) {
    cur = prop(cur, name);
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** The child `<Prop>` elements of an element. */
export function propChildren(el: XmlElement | undefined): XmlElement[] {
  return el === undefined ? [] : el.children.filter((c) => c.local === "Prop");
}

/** The text of a property's `<Value>`, or undefined when it has none. */
export function propValue(p: XmlElement | undefined): string | undefined {
  if (p === undefined) return undefined;
  for (const c of p.children) if (c.local === "Value") return c.text;
  return undefined;
}

/** A string property at a path; undefined when absent. */
export function str(el: XmlElement | undefined, path: string): string | undefined {
  return propValue(propAt(el, path));
}

/** A string property at a path, trimmed; undefined when absent or blank. */
export function text(el: XmlElement | undefined, path: string): string | undefined {
  const v = str(el, path)?.trim();
  return v === undefined || v === "" ? undefined : v;
}

/** A number property at a path (hex, Infinity and NaN as TestStand writes them). */
export function num(el: XmlElement | undefined, path: string): number | undefined {
  const v = str(el, path);
  return v === undefined ? undefined : parseNumber(v);
}

/** A finite number property at a path, else undefined. */
export function finite(el: XmlElement | undefined, path: string): number | undefined {
  const v = num(el, path);
  return v !== undefined && Number.isFinite(v) ? v : undefined;
}

/** An integer property at a path (a whole finite number), else undefined. */
export function int(el: XmlElement | undefined, path: string): number | undefined {
  const v = num(el, path);
  return v !== undefined && Number.isInteger(v) && Math.abs(v) <= 2147483647 ? v : undefined;
}

/** A Boolean property at a path (True/False, 1/0), else undefined. */
export function bool(el: XmlElement | undefined, path: string): boolean | undefined {
  const v = str(el, path)?.trim().toLowerCase();
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  return undefined;
}

/** The `<Value>` elements of an array property (in file order). */
export function arrayValues(p: XmlElement | undefined): XmlElement[] {
  return p === undefined ? [] : p.children.filter((c) => c.local === "Value");
}

/** The object in each element of an array property of objects. */
export function arrayObjects(p: XmlElement | undefined): XmlElement[] {
  const out: XmlElement[] = [];
  for (const v of arrayValues(p)) {
    const o = v.children.find((c) => c.local === "Prop");
    if (o !== undefined) out.push(o);
  }
  return out;
}

function flagsOf(p: XmlElement): number | undefined {
  const f = p.attrs.Flags;
  if (f === undefined) return undefined;
  const n = parseNumber(f);
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= 2147483647 ? n : undefined;
}

/** Deepest property nesting copied into additional results / data. */
const MAX_PROP_DEPTH = 32;

/**
 * A property (any type) → a WSJF additional-data property (`{name, type, flags, value, props,
 * array}`), the shape the WATS server stores TestStand properties in.
 */
export function toDataProperty(p: XmlElement, depth = 0): AdditionalDataProperty {
  const type = p.attrs.Type ?? "";
  const out: AdditionalDataProperty = { name: p.attrs.Name ?? "" };
  if (type !== "") out.type = type;
  const flags = flagsOf(p);
  if (flags !== undefined) out.flags = flags;
  if (depth >= MAX_PROP_DEPTH) return out;
  if (type === "Array") {
    const values = arrayValues(p);
    out.array = {
      dimension: (p.attrs.HBound?.match(/\[/g) ?? ["["]).length,
      type: p.attrs.ElementType ?? "",
      indexes: values.map((v) => {
        const id = v.attrs.ID ?? "";
        const inner = v.children.find((c) => c.local === "Prop");
        return {
          text: id,
          indexes: (id.match(/-?\d+/g) ?? []).map(Number),
          value: inner !== undefined
            ? toDataProperty(inner, depth + 1)
            : { name: id, type: p.attrs.ElementType ?? "", value: v.text },
        };
      }),
    };
    return out;
  }
  const kids = propChildren(p);
  if (kids.length > 0) {
    out.props = kids.map((k) => toDataProperty(k, depth + 1));
    return out;
  }
  const v = propValue(p);
  if (v !== undefined) out.value = v;
  return out;
}

/**
 * The children of an object property (`AdditionalResults`, `UUT.AdditionalData`) → named
 * additional-data trees: an object child becomes `{name, props: its children}`, a value child
 * `{name, props: [itself]}`.
 */
export function toAdditionalData(container: XmlElement | undefined): AdditionalData[] {
  const out: AdditionalData[] = [];
  for (const p of propChildren(container)) {
    const name = p.attrs.Name ?? "";
    if ((p.attrs.Type ?? "") === "Obj" || (p.attrs.Type === undefined && propChildren(p).length)) {
      out.push({ name, props: propChildren(p).map((k) => toDataProperty(k, 1)) });
    } else {
      out.push({ name, props: [toDataProperty(p, 1)] });
    }
  }
  return out;
}
