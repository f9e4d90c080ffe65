/**
 * Helpers shared by the converter tests: convert and validate as the pool does, walk steps,
 * expect a ConversionError.
 *
 * @module
 */
import assert from "#assert";
import { ConversionError } from "../../src/convert/conversion_error.ts";
import { type Converter, type WsjfReport } from "../../src/convert/contract.ts";
import { fillStationFields } from "../../src/wsjf/fields.ts";
import { type Step } from "../../src/wsjf/report.ts";
import { validateReport } from "../../src/wsjf/validate.ts";
import { type convertInput, station } from "./_station.ts";

type Input = ReturnType<typeof convertInput>;

/** Converts, then fills station fields and validates every report (as the pool does). */
export async function convertValid(converter: Converter, input: Input): Promise<WsjfReport[]> {
  const reports = await converter.convert(input);
  for (const r of reports) {
    fillStationFields(r, station);
    const v = validateReport(r);
    assert.ok(v.ok, v.ok ? "" : v.problems.join("\n"));
  }
  return reports;
}

/** All steps below the root, depth-first in file order. */
export function allSteps(r: WsjfReport): Step[] {
  const out: Step[] = [];
  const walk = (s: Step) => {
    out.push(s);
    for (const c of s.steps ?? []) walk(c);
  };
  walk(r.root!);
  return out.slice(1);
}

/** The first step with this name. */
export function step(r: WsjfReport, name: string): Step {
  const s = allSteps(r).find((x) => x.name === name);
  if (s === undefined) throw new Error(`step "${name}" not found`);
  return s;
}

/** The steps that are not sequence calls (the tests and actions), in file order. */
export function leaves(r: WsjfReport): Step[] {
  return allSteps(r).filter((s) => s.stepType !== "SequenceCall");
}

/** The `nth` (0-based) leaf step with this name. */
export function leaf(r: WsjfReport, name: string, nth = 0): Step {
  const s = leaves(r).filter((x) => x.name === name)[nth];
  if (s === undefined) throw new Error(`step ${name} not found`);
  return s;
}

/** Number of measurements of all kinds in a report. */
export function measurementCount(r: WsjfReport): number {
  return allSteps(r).reduce(
    (n, s) =>
      n + (s.numericMeas?.length ?? 0) + (s.booleanMeas?.length ?? 0) + (s.stringMeas?.length ?? 0),
    0,
  );
}

/** Expects a ConversionError whose message + hint match `re`. */
export async function rejects(
  converter: Converter,
  input: Input,
  re: RegExp,
): Promise<ConversionError> {
  try {
    await converter.convert(input);
  } catch (e) {
    if (!(e instanceof ConversionError)) throw new Error(`expected ConversionError, got ${e}`);
    assert.match(`${e.message} | ${e.hint}`, re);
    return e;
  }
  throw new Error(`expected a ConversionError matching ${re}`);
}

/** The bytes with CRLF line ends turned into LF. */
export function toLf(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10) continue;
    out.push(bytes[i]);
  }
  return new Uint8Array(out);
}

/** The bytes with bare LF line ends turned into CRLF (of an 8-bit or UTF-8 text). */
export function toCrlf(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 10 && bytes[i - 1] !== 13) out.push(13);
    out.push(bytes[i]);
  }
  return new Uint8Array(out);
}

/** A report without its id (for comparing conversions of differently encoded bytes). */
export function withoutId(r: WsjfReport): Omit<WsjfReport, "id"> {
  const { id: _id, ...rest } = r;
  return rest;
}

/** Latin-1 bytes of a string (every char must be ≤ U+00FF). */
export function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** A Latin-1 file as a string (byte = char), for editing fixtures in tests. */
export function fromLatin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return s;
}

/** The byte arrays one after the other, in one new array. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
