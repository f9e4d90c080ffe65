/**
 * zod's copy of a report that is valid and already in the form validation gives it, made
 * without zod: a check compiled from the schema (schema.ts) walks the report once and copies it
 * as zod would (objects and arrays copied, known fields in the schema's order, then unknown
 * fields as they are). zod's own pass makes a result object and a closure call per field (about
 * 0.25 ms of a 10 KB report, most of a WSJF file's conversion); this is a fraction of that. A
 * report it can't vouch for (an invalid one, or a valid one validation would change: `compOp`
 * in lower case, an id in upper case, a control character in a string) gets no copy and goes
 * through zod, which changes or explains it.
 *
 * The check is derived from the schema, not written beside it, so the two can't drift apart: a
 * field added to the schema is checked here too. It is stricter than the schema, never looser:
 * a schema construct it does not know (a new zod check, a refinement) makes that part never
 * pass, and the report takes zod's way (tests/convert/canonical_test.ts holds the two side by side
 * on mutated reports, and fails if real reports stop passing).
 *
 * What "already in form" means, node by node:
 * - string: no character that `stripControlChars` would remove, and every regex check passes;
 * - number: finite (zod rejects NaN and ±Infinity); `int32`: an integer in range;
 * - a transform: gives back the very value (`s.toLowerCase()` of a lower-case id);
 * - object: a plain object; each shape key absent (when optional) or valid; unknown keys (kept
 *   by a loose object) hold only clean strings, deep; `__proto__` or a key holding `undefined`
 *   is left to zod.
 *
 * @module
 */
import type { z } from "zod";
import { hasControlChars } from "../convert/text.ts";

/** Not in validated form: zod decides. */
const FAIL: unique symbol = Symbol("not canonical");

/** A value's validated copy (itself for a primitive), or {@link FAIL}. */
type Copier = (value: unknown) => unknown;

const never: Copier = () => FAIL;

/** Whether a string is free of characters validation would strip. */
function cleanString(s: string): boolean {
  return !hasControlChars(s);
}

/** Whether every string inside `value` (any JSON-like value, walked without recursion) is clean. */
function cleanDeep(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (!cleanString(v)) return false;
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push(v[i]);
    } else if (v !== null && typeof v === "object") {
      if (!plain(v)) return false;
      for (const k in v) stack.push((v as Record<string, unknown>)[k]);
    }
  }
  return true;
}

/** A plain object (what JSON.parse and object literals make), without a `__proto__` key. */
function plain(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && !Object.hasOwn(v, "__proto__");
}

// deno-lint-ignore no-explicit-any
type Def = any;

/**
 * Compiles `schema` into a function that returns what `schema.parse(value)` would (a copy) when
 * `value` is already in validated form, else undefined. The same schema object compiles once
 * (recursive schemas refer back to themselves).
 */
export function compileCanonical(schema: z.ZodType): (value: unknown) => unknown | undefined {
  const compiled = new Map<unknown, Copier>();
  const compile = (s: z.ZodType): Copier => {
    const known = compiled.get(s);
    if (known) return known;
    let copy: Copier = never;
    // Registered before its parts compile: a schema that contains itself calls the final one.
    compiled.set(s, (v) => copy(v));
    copy = build(s._zod.def, compile);
    compiled.set(s, copy);
    return copy;
  };
  const top = compile(schema);
  return (value) => {
    try {
      const out = top(value);
      return out === FAIL ? undefined : out;
    } catch {
      return undefined; // a getter or a Proxy trap that throws: zod meets it as before
    }
  };
}

function build(def: Def, compile: (s: z.ZodType) => Copier): Copier {
  switch (def.type) {
    case "string": {
      const patterns: RegExp[] = [];
      for (const c of def.checks ?? []) {
        const d = c._zod.def;
        if (d.check !== "string_format" || d.format !== "regex" || !(d.pattern instanceof RegExp)) {
          return never;
        }
        patterns.push(d.pattern);
      }
      return (v) => {
        if (typeof v !== "string" || !cleanString(v)) return FAIL;
        for (const p of patterns) {
          p.lastIndex = 0;
          if (!p.test(v)) return FAIL;
        }
        return v;
      };
    }
    case "number": {
      if ((def.checks ?? []).length > 0) return never;
      if (def.format === "int32") {
        return (v) =>
          Number.isInteger(v) && (v as number) >= -2147483648 && (v as number) <= 2147483647
            ? v
            : FAIL;
      }
      if (def.format !== undefined) return never;
      return (v) => typeof v === "number" && Number.isFinite(v) ? v : FAIL;
    }
    case "boolean":
      return (v) => typeof v === "boolean" ? v : FAIL;
    case "literal": {
      const values: unknown[] = def.values;
      return (v) => values.includes(v) ? v : FAIL;
    }
    case "enum": {
      const values = new Set(Object.values(def.entries));
      return (v) => values.has(v) ? v : FAIL;
    }
    case "unknown":
      return (v) => cleanDeep(v) ? v : FAIL; // zod keeps the value itself
    case "array": {
      if ((def.checks ?? []).length > 0) return never;
      const element = compile(def.element);
      return (v) => {
        if (!Array.isArray(v)) return FAIL;
        const out = new Array(v.length);
        for (let i = 0; i < v.length; i++) {
          const x = element(v[i]);
          if (x === FAIL) return FAIL;
          out[i] = x;
        }
        return out;
      };
    }
    case "optional":
      // A key that is present must hold a valid value (a key holding undefined is left to zod).
      return compile(def.innerType);
    case "transform": {
      const fn = def.transform as (v: unknown, ctx: unknown) => unknown;
      return (v) => {
        try {
          return fn(v, { issues: [], value: v }) === v ? v : FAIL;
        } catch {
          return FAIL;
        }
      };
    }
    case "pipe": {
      // Only pipes of values that pass unchanged (strings into a transform, into an enum).
      const first = compile(def.in);
      const second = compile(def.out);
      return (v) => {
        if (v !== null && typeof v === "object") return FAIL;
        return first(v) === v ? second(v) : FAIL;
      };
    }
    case "object":
      return buildObject(def, compile);
    default:
      return never;
  }
}

function buildObject(def: Def, compile: (s: z.ZodType) => Copier): Copier {
  if ((def.checks ?? []).length > 0) return never;
  const loose = def.catchall?._zod.def.type === "unknown";
  if (def.catchall && !loose) return never;
  const fields: { key: string; optional: boolean; copy: Copier }[] = [];
  const keys = new Set<string>();
  // Each shape getter (a recursive field) is read once here: it makes a new schema per read.
  for (const key of Object.keys(def.shape)) {
    const field = def.shape[key] as z.ZodType;
    fields.push({
      key,
      optional: field._zod.def.type === "optional",
      copy: compile(field),
    });
    keys.add(key);
  }
  // Generated, as zod does for its own objects: a property read per field at its own site is
  // several times faster than a loop over the fields with computed keys. The keys are the
  // schema's (JSON-quoted), never the data's.
  const lines = [
    "return function copyObject(v) {",
    "  if (v === null || typeof v !== 'object' || Array.isArray(v) || !plain(v)) return FAIL;",
    "  const out = {};",
    "  let x, c;",
  ];
  fields.forEach((f, i) => {
    const k = JSON.stringify(f.key);
    lines.push(
      `  x = v[${k}];`,
      `  if (x !== undefined) {`,
      `    c = copies[${i}](x);`,
      `    if (c === FAIL) return FAIL;`,
      `    out[${k}] = c;`,
      // Absent is fine when optional; a key holding undefined is left to zod.
      `  } else if (${f.optional ? `Object.hasOwn(v, ${k})` : "true"}) return FAIL;`,
    );
  });
  lines.push(
    // As zod builds it: the schema's keys in its order, then the unknown ones as they come.
    "  for (const k in v) {",
    "    if (known.has(k)) continue;",
    "    if (!loose || k === '__proto__') return FAIL;",
    "    x = v[k];",
    "    if (x === undefined || !cleanDeep(x)) return FAIL;",
    "    out[k] = x;",
    "  }",
    "  return out;",
    "};",
  );
  const copies = fields.map((f) => f.copy);
  // Code made from the schema's own keys (see above).
  return new Function("FAIL", "plain", "copies", "known", "cleanDeep", "loose", lines.join("\n"))(
    FAIL,
    plain,
    copies,
    keys,
    cleanDeep,
    loose,
  ) as Copier;
}
