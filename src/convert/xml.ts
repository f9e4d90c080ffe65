/**
 * XML for converters: a strict, safe parser producing a small ordered element tree.
 *
 * - Built on `saxes` (a strict XML 1.0 SAX parser, the one jsdom uses): a truncated or
 *   malformed file fails with line and column instead of yielding half a report.
 * - **No entity expansion**: a DOCTYPE that declares entities (billion laughs, external
 *   entities) is refused before anything is expanded; only the five predefined entities and
 *   character references are decoded. Nothing is ever fetched.
 * - Element and attribute order is the document's (children arrays; attribute objects keep
 *   insertion order), which TestStand/ATML step trees need.
 * - Characters XML 1.0 forbids (stray control characters, seen in real station files) are
 *   removed before parsing instead of failing the file.
 * - Nesting deeper than `maxDepth` (default 256) is refused, so converters may recurse.
 *
 * Bytes → text: use `decodeXml` (text.ts) first, or {@link parseXmlBytes}.
 *
 * @module
 */
import { SaxesParser } from "saxes";
import { ConversionError } from "./conversion_error.ts";
import { type DecodeOptions, decodeXml, stripControlChars } from "./text.ts";

/** One element. */
export interface XmlElement {
  /** Qualified name as written, e.g. `tr:TestResults`. */
  name: string;
  /** Name without prefix, e.g. `TestResults`. */
  local: string;
  /** Namespace URI ("" when none). */
  ns: string;
  /** Attributes by qualified name, in document order. */
  attrs: Record<string, string>;
  /** Child elements in document order. */
  children: XmlElement[];
  /**
   * Character data directly inside (text and CDATA, concatenated, as written). Whitespace-only
   * text of an element that has child elements is dropped.
   */
  text: string;
  /** Line of the start tag (1-based), for messages. */
  line: number;
}

/** Parser options. */
export interface XmlOptions {
  /** Deepest element nesting accepted (default 256). */
  maxDepth?: number;
  /** File name for messages. */
  name?: string;
}

const ENTITY_DECL_RE = /<!ENTITY/i;

/**
 * Parses an XML document into its root element. Throws {@link ConversionError} for malformed
 * XML (with line/column), entity declarations, or nesting deeper than `maxDepth`.
 */
export function parseXml(text: string, options: XmlOptions = {}): XmlElement {
  const maxDepth = options.maxDepth ?? 256;
  const where = options.name ? ` in ${options.name}` : "";
  // Refuse entity declarations before the parser sees them (fast, no expansion possible).
  const doctypeAt = text.search(/<!DOCTYPE/i);
  if (doctypeAt >= 0 && ENTITY_DECL_RE.test(text.slice(doctypeAt, doctypeAt + 1_000_000))) {
    throw new ConversionError(
      `XML${where} declares entities in its DOCTYPE; the agent refuses entity declarations ` +
        "(they can expand to gigabytes or read other files)",
      "Write the file without a DOCTYPE/ENTITY declarations.",
    );
  }
  // (saxes counts lines whatever `position` says; the option only adds them to its messages.)
  const parser = new SaxesParser({ position: true });
  const top: XmlElement = {
    name: "",
    local: "",
    ns: "",
    attrs: {},
    children: [],
    text: "",
    line: 0,
  };
  const stack: XmlElement[] = [top];
  // Namespace bindings in scope, one entry per open element; shared until an element declares.
  const scopes: Array<ReadonlyMap<string, string>> = [new Map()];
  let root: XmlElement | null = null;
  // Attributes come one by one before their tag: collected into a plain object here (saxes'
  // own attribute object has a null prototype and is slow to copy).
  let attrs: Record<string, string> = {};
  let declares = false;
  parser.on("attribute", (a) => {
    if (a.name === "__proto__") {
      // An own key like any other, not the object's prototype.
      Object.defineProperty(attrs, a.name, {
        value: a.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else attrs[a.name] = a.value;
    if (a.name.startsWith("xmlns") && (a.name.length === 5 || a.name[5] === ":")) declares = true;
  });
  parser.on("opentag", (tag) => {
    if (stack.length > maxDepth) {
      throw new ConversionError(
        `XML${where} nests elements more than ${maxDepth} levels deep (line ${parser.line})`,
      );
    }
    let scope = scopes[scopes.length - 1];
    if (declares) {
      const own = new Map(scope);
      for (const k in attrs) {
        if (k === "xmlns") own.set("", attrs[k]);
        else if (k.startsWith("xmlns:")) own.set(k.slice(6), attrs[k]);
      }
      scope = own;
    }
    const colon = tag.name.indexOf(":");
    const prefix = colon < 0 ? "" : tag.name.slice(0, colon);
    scopes.push(scope);
    const el: XmlElement = {
      name: tag.name,
      local: colon < 0 ? tag.name : tag.name.slice(colon + 1),
      ns: scope.get(prefix) ?? (prefix === "xml" ? XML_NS : ""),
      attrs,
      children: [],
      text: "",
      line: parser.line,
    };
    attrs = {};
    declares = false;
    const parent = stack[stack.length - 1];
    parent.children.push(el);
    if (parent === top) root = el;
    stack.push(el);
  });
  parser.on("closetag", () => {
    const el = stack.pop()!;
    scopes.pop();
    if (el.children.length > 0 && el.text.trim() === "") el.text = "";
  });
  parser.on("text", (t) => {
    if (stack.length > 1) stack[stack.length - 1].text += t;
  });
  parser.on("cdata", (t) => {
    if (stack.length > 1) stack[stack.length - 1].text += t;
  });
  try {
    parser.write(stripControlChars(text)).close();
  } catch (e) {
    if (e instanceof ConversionError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw new ConversionError(
      `not well-formed XML${where}: ${
        msg.replace(/^(?:undefined:)?(\d+):(\d+): /, "line $1, column $2: ")
      }`,
      "Check that the file is complete (not cut off while being written) and is XML.",
    );
  }
  if (root === null) {
    throw new ConversionError(`no XML element${where}`, "Check that the file is XML.");
  }
  return root;
}

const XML_NS = "http://www.w3.org/XML/1998/namespace";

/** Decodes bytes ({@link decodeXml}: BOM, declaration, fallbacks) and parses them. */
export function parseXmlBytes(
  bytes: Uint8Array,
  options: XmlOptions & { encoding?: DecodeOptions["encoding"] } = {},
): XmlElement {
  return parseXml(decodeXml(bytes, { encoding: options.encoding }).text, options);
}

/** Root element facts for `detect`: name, local name, namespace, attributes. */
export interface XmlRootInfo {
  name: string;
  local: string;
  ns: string;
  attrs: Record<string, string>;
}

/**
 * The root element of a document from its first bytes (a cut head is fine), or null when the
 * text does not start like XML. Meant for `detect` functions; never throws.
 */
export function xmlRoot(text: string): XmlRootInfo | null {
  const parser = new SaxesParser();
  let found: XmlRootInfo | null = null;
  const stop = new Error("stop");
  parser.on("opentag", (tag) => {
    const attrs: Record<string, string> = { ...(tag.attributes as Record<string, string>) };
    const colon = tag.name.indexOf(":");
    const prefix = colon < 0 ? "" : tag.name.slice(0, colon);
    const nsAttr = prefix === "" ? attrs["xmlns"] : attrs[`xmlns:${prefix}`];
    found = {
      name: tag.name,
      local: colon < 0 ? tag.name : tag.name.slice(colon + 1),
      ns: nsAttr ?? "",
      attrs,
    };
    throw stop;
  });
  try {
    parser.write(stripControlChars(text.replace(/^\uFEFF/, "")));
  } catch {
    // Either our stop signal or not XML; `found` tells which.
  }
  return found;
}

/** The first child element with this local name, or undefined. */
export function child(el: XmlElement, local: string): XmlElement | undefined {
  for (const c of el.children) if (c.local === local) return c;
  return undefined;
}

/** All child elements with this local name, in order. */
export function childrenNamed(el: XmlElement, local: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) if (c.local === local) out.push(c);
  return out;
}

/** All descendants with this local name, depth-first in document order. */
export function descendants(el: XmlElement, local: string): XmlElement[] {
  const out: XmlElement[] = [];
  const stack = [...el.children].reverse();
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (e.local === local) out.push(e);
    for (let i = e.children.length - 1; i >= 0; i--) stack.push(e.children[i]);
  }
  return out;
}

/**
 * An attribute by name; matches the qualified name first, then the local name (so `type`
 * finds `xsi:type` only when no plain `type` exists). Returns undefined when absent.
 */
export function attr(el: XmlElement, name: string): string | undefined {
  const v = el.attrs[name];
  if (v !== undefined) return v;
  for (const k in el.attrs) {
    const colon = k.indexOf(":");
    if (colon >= 0 && k.slice(colon + 1) === name && !k.startsWith("xmlns")) return el.attrs[k];
  }
  return undefined;
}

/** An attribute that must be there; throws a {@link ConversionError} naming element and line. */
export function requireAttr(el: XmlElement, name: string, file?: string): string {
  const v = attr(el, name);
  if (v === undefined) {
    throw new ConversionError(
      `<${el.name}> on line ${el.line}${file ? ` of ${file}` : ""} has no ${name} attribute`,
    );
  }
  return v;
}

/** The element's own text, trimmed. */
export function textOf(el: XmlElement | undefined): string {
  return el === undefined ? "" : el.text.trim();
}
