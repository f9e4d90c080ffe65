/**
 * Reads a zod schema as reference: every key with its path, type, default and description.
 * The config schema and the converter parameter schemas carry their descriptions
 * (`.describe(…)`, or `.meta({ description, defaultText })` when the default is computed on the
 * station, like the host name); `deno task docs` and `agent init` read them through here, so
 * the reference is written once, beside the key it describes.
 *
 * @module
 */
import { z } from "zod";

/** One key of a schema, ready to be written down. */
export interface KeyDoc {
  /** Dotted path; array elements are `[]`: "server.retry.maxSeconds", "converters[].name". */
  path: string;
  /** The last segment of the path. */
  name: string;
  /** What the key is for (from the schema; "" when it has none). */
  description: string;
  /** The accepted values in words: "integer, 1 to 64", "one of "skip", "send"". */
  type: string;
  /** Neither optional nor defaulted. */
  required: boolean;
  /** The default as JSON, when the schema has a fixed one. */
  default?: unknown;
  /** The default in words, for one computed on the station ("this computer's name"). */
  defaultText?: string;
  /** An object whose keys follow this entry, each with this path as prefix. */
  section: boolean;
}

type Def = z.core.$ZodTypeDef & Record<string, unknown>;
const defOf = (s: z.core.$ZodType): Def => s._zod.def as Def;

/** A schema's own keys (through wrappers), or null when it is not an object. */
export function shapeOf(schema: z.core.$ZodType): Record<string, z.core.$ZodType> | null {
  const core = unwrap(schema).core;
  const def = defOf(core);
  return def.type === "object" ? def.shape as Record<string, z.core.$ZodType> : null;
}

/** The description of a schema, looked for on every wrapper layer (outermost first). */
export function descriptionOf(schema: z.core.$ZodType): string {
  return unwrap(schema).meta.description ?? "";
}

/** Every key of an object schema, depth first in declaration order. */
export function describeKeys(schema: z.core.$ZodType, prefix = ""): KeyDoc[] {
  const shape = shapeOf(schema);
  if (!shape) throw new Error(`describeKeys: expected an object schema at "${prefix || "(root)"}"`);
  const out: KeyDoc[] = [];
  for (const [name, child] of Object.entries(shape)) {
    const path = prefix ? `${prefix}.${name}` : name;
    const u = unwrap(child);
    const def = defOf(u.core);
    const element = def.type === "array" ? def.element as z.core.$ZodType : null;
    const childShape = shapeOf(element ?? u.core);
    out.push({
      path: element && childShape ? `${path}[]` : path,
      name,
      description: u.meta.description ?? "",
      type: typeText(u.core),
      required: !u.optional && !u.hasDefault,
      ...(u.meta.defaultText === undefined && u.hasDefault ? { default: u.defaultValue } : {}),
      ...(u.meta.defaultText !== undefined ? { defaultText: u.meta.defaultText } : {}),
      section: childShape !== null,
    });
    if (childShape) out.push(...describeKeys(element ?? u.core, element ? `${path}[]` : path));
  }
  return out;
}

interface Unwrapped {
  core: z.core.$ZodType;
  optional: boolean;
  hasDefault: boolean;
  defaultValue?: unknown;
  meta: { description?: string; defaultText?: string };
}

/** Peels optional/default/prefault/pipe layers, keeping the first description and default. */
function unwrap(schema: z.core.$ZodType): Unwrapped {
  const r: Unwrapped = { core: schema, optional: false, hasDefault: false, meta: {} };
  let s: z.core.$ZodType = schema;
  while (true) {
    const m = z.globalRegistry.get(s) as Record<string, unknown> | undefined;
    if (r.meta.description === undefined && typeof m?.description === "string") {
      r.meta.description = m.description;
    }
    if (r.meta.defaultText === undefined && typeof m?.defaultText === "string") {
      r.meta.defaultText = m.defaultText;
    }
    const def = defOf(s);
    if (def.type === "optional" || def.type === "nullable" || def.type === "readonly") {
      if (def.type === "optional") r.optional = true;
      s = def.innerType as z.core.$ZodType;
    } else if (def.type === "default" || def.type === "prefault") {
      if (!r.hasDefault) {
        r.hasDefault = true;
        r.defaultValue = def.defaultValue;
      }
      s = def.innerType as z.core.$ZodType;
    } else if (def.type === "pipe") {
      // A transform feeding a schema (trim, then an enum): the values are the output side's.
      const out = def.out as z.core.$ZodType;
      s = defOf(out).type === "transform" ? def.in as z.core.$ZodType : out;
    } else {
      r.core = s;
      return r;
    }
  }
}

/** The accepted values of a (unwrapped) schema, in words. */
function typeText(schema: z.core.$ZodType): string {
  const def = defOf(schema);
  switch (def.type) {
    case "string":
      return def.format === "url" ? "URL" : "text";
    case "number": {
      const base = isInteger(schema) ? "integer" : "number";
      const range = rangeText(schema);
      return range ? `${base}, ${range}` : base;
    }
    case "boolean":
      return "true or false";
    case "enum":
      return `one of ${
        Object.values(def.entries as Record<string, unknown>).map((v) => JSON.stringify(v))
          .join(", ")
      }`;
    case "literal":
      return (def.values as unknown[]).map((v) => JSON.stringify(v)).join(" or ");
    case "array":
      return `list of ${plural(typeText(unwrap(def.element as z.core.$ZodType).core))}`;
    case "record":
      return `object of ${plural(typeText(unwrap(def.valueType as z.core.$ZodType).core))}`;
    case "object":
      return "object";
    case "union":
      return (def.options as z.core.$ZodType[]).map((o) => typeText(unwrap(o).core)).join(" or ");
    case "unknown":
    case "any":
      return "any";
    default:
      return def.type;
  }
}

function plural(type: string): string {
  if (type === "any") return "values";
  if (type === "text") return "texts";
  if (type === "true or false") return "booleans";
  return type.replace(/^(integer|number|URL|object)\b/, "$1s");
}

/** `z.int()` sets a format; `z.number().int()` adds a format check. */
function isInteger(schema: z.core.$ZodType): boolean {
  const def = defOf(schema);
  const formats = ((def.checks ?? []) as z.core.$ZodCheck[]).map((c) =>
    (c._zod.def as { format?: string }).format
  );
  return [def.format, ...formats].some((f) => f === "safeint" || f === "int32");
}

/** "> 0", ">= 1", "1 to 64" from a number schema's checks. */
function rangeText(schema: z.core.$ZodType): string {
  let lo: { value: number; inclusive: boolean } | undefined;
  let hi: { value: number; inclusive: boolean } | undefined;
  for (const check of (defOf(schema).checks ?? []) as z.core.$ZodCheck[]) {
    const c = check._zod.def as { check: string; value?: number; inclusive?: boolean };
    if (c.check === "greater_than") lo = { value: c.value!, inclusive: c.inclusive ?? false };
    if (c.check === "less_than") hi = { value: c.value!, inclusive: c.inclusive ?? false };
  }
  if (lo && hi && lo.inclusive && hi.inclusive) return `${lo.value} to ${hi.value}`;
  const parts = [
    lo ? `${lo.inclusive ? ">=" : ">"} ${lo.value}` : "",
    hi ? `${hi.inclusive ? "<=" : "<"} ${hi.value}` : "",
  ].filter(Boolean);
  return parts.join(", ");
}

/**
 * Words into lines of at most `width` characters (a longer word gets a line of its own). A word
 * that would read as markdown at the start of a line (`-`, `1.`, `#`, `>`) stays on the line
 * before.
 */
export function wrapWords(text: string, width: number, indent = ""): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of words(text)) {
    if (!line) line = (lines.length ? indent : "") + word;
    else if (line.length + 1 + word.length <= width || /^([-+*>#]|\d+[.)])/.test(word)) {
      line += ` ${word}`;
    } else {
      lines.push(line);
      line = indent + word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** The words of a text, a code span with spaces in it (`"a b"`) as one. */
function words(text: string): string[] {
  const out: string[] = [];
  for (const w of text.split(/\s+/).filter(Boolean)) {
    const open = out.length > 0 && (out[out.length - 1].match(/`/g) ?? []).length % 2 === 1;
    if (open) out[out.length - 1] += ` ${w}`;
    else out.push(w);
  }
  return out;
}
