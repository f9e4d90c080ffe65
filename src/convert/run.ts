/**
 * One conversion, as it runs inside a pool worker (and nowhere else, so `agent convert` and the
 * pipeline produce the same reports): pick the converter, convert, fill the station fields,
 * validate every report against the WSJF schema, and serialise the bodies the queue will store.
 *
 * @module
 */
import { pathToFileURL } from "node:url";
import { createHash } from "#crypto";
import { ConversionError, type Converter, type StationContext } from "./contract.ts";
import { builtinConverters, builtinFormats } from "./converters/mod.ts";
import { validateReport } from "./wsjf/schema.ts";
import { fillStationFields } from "./wsjf/builder.ts";

/** What the pool sends a worker. */
export interface ConvertJob {
  /** The config entry's name, for messages. */
  converter: string;
  /** A built-in format, or "auto"; absent when `module` is set. */
  format?: string;
  /** Absolute path of a custom converter module. */
  module?: string;
  bytes: Uint8Array;
  name: string;
  path: string;
  station: StationContext;
  params: Record<string, unknown>;
}

/** One converted report, serialised as it will be queued and uploaded. */
export interface ConvertedReport {
  id: string;
  sn: string;
  pn: string;
  result: string;
  /** The report as UTF-8 JSON. */
  body: Uint8Array;
}

/** Why a conversion failed. */
export type FailureKind =
  | "conversion" // the converter said the file is bad
  | "invalid-output" // the converter returned something that is not valid WSJF
  | "converter-error" // the converter threw something other than a ConversionError
  | "load" // the converter module could not be loaded
  | "crash" // the worker died (out of memory, uncaught error)
  | "timeout" // the time limit passed
  | "unavailable"; // the pool is stopping or broken: not the file's fault

/** The result of one conversion. */
export type ConvertOutcome =
  | { ok: true; format: string; sha256: string; reports: ConvertedReport[] }
  | { ok: false; kind: FailureKind; message: string; hint: string };

const loaded = new Map<string, Promise<Converter>>();

/** Loads a built-in converter by name, or a custom module by path (cached per worker). */
export function loadConverter(job: Pick<ConvertJob, "format" | "module">): Promise<Converter> {
  const key = job.module ?? job.format ?? "";
  let p = loaded.get(key);
  if (!p) {
    p = job.module ? loadCustom(job.module) : loadBuiltin(job.format!);
    loaded.set(key, p);
    p.catch(() => loaded.delete(key));
  }
  return p;
}

function loadBuiltin(format: string): Promise<Converter> {
  const load = builtinConverters[format];
  if (!load) {
    return Promise.reject(
      new ConversionError(
        `unknown format "${format}"`,
        `Use one of: ${builtinFormats.join(", ")}, auto; or name a custom converter in "module".`,
      ),
    );
  }
  return load();
}

/**
 * Loads a custom converter module: its default export or its `converter` export. The module is
 * imported from its file URL; inside a compiled binary, where files outside the binary can't be
 * imported, it is imported from its source text instead (so it must be self-contained JS).
 */
async function loadCustom(file: string): Promise<Converter> {
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (first) {
    let source: string;
    try {
      source = await Deno.readTextFile(file);
    } catch (e) {
      throw new ConversionError(
        `custom converter ${file} can't be read: ${(e as Error).message}`,
        "Check the converter's `module` path in the config.",
      );
    }
    try {
      mod = await import(`data:text/javascript;base64,${btoa(unescapeUtf8(source))}`);
    } catch (second) {
      throw new ConversionError(
        `custom converter ${file} can't be loaded: ${(first as Error).message}; ` +
          `from its text: ${(second as Error).message}`,
        "A custom converter must be a self-contained JavaScript ES module (no imports) " +
          "whose default export implements the converter contract (see README).",
      );
    }
  }
  const c = (mod.default ?? mod.converter) as Partial<Converter> | undefined;
  if (!c || typeof c.convert !== "function") {
    throw new ConversionError(
      `custom converter ${file} has no converter: expected a default (or "converter") export ` +
        `with a convert(input) function, found exports ${Object.keys(mod).join(", ") || "none"}`,
      "See the README section on custom converters.",
    );
  }
  return {
    name: c.name ?? file,
    description: c.description ?? "custom converter",
    ...c,
  } as Converter;
}

/** btoa takes Latin-1; turn UTF-8 text into its byte string first. */
function unescapeUtf8(s: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(s)) out += String.fromCharCode(b);
  return out;
}

/** Picks the built-in converter whose `detect` is most confident (at least 0.5). */
export async function detectFormat(bytes: Uint8Array, name: string): Promise<Converter> {
  const head = bytes.subarray(0, 8192);
  let best: { c: Converter; score: number } | null = null;
  for (const format of builtinFormats) {
    const c = await loadBuiltin(format);
    const score = c.detect?.({ head, name }) ?? 0;
    if (score > (best?.score ?? 0)) best = { c, score };
  }
  if (!best || best.score < 0.5) {
    throw new ConversionError(
      `the format of ${name} was not recognised by any built-in converter`,
      'Set "format" for this folder in the config to the converter that reads these files.',
    );
  }
  return best.c;
}

const encoder = new TextEncoder();

/** Runs one conversion. Never throws: every failure is an outcome with a reason and a hint. */
export async function runConversion(job: ConvertJob): Promise<ConvertOutcome> {
  let converter: Converter;
  try {
    converter = job.format === "auto" && !job.module
      ? await detectFormat(job.bytes, job.name)
      : await loadConverter(job);
  } catch (e) {
    return failure(e, job.format === "auto" ? "conversion" : "load");
  }
  const sha256 = createHash("sha256").update(job.bytes).digest("hex");
  let raw: unknown;
  try {
    raw = await converter.convert({
      bytes: job.bytes,
      name: job.name,
      path: job.path,
      sha256,
      station: job.station,
      params: job.params,
    });
  } catch (e) {
    return failure(e, "converter-error");
  }
  if (!Array.isArray(raw)) {
    return {
      ok: false,
      kind: "invalid-output",
      message: `converter "${converter.name}" returned ${
        describe(raw)
      } instead of an array of reports`,
      hint: "This is a bug in the converter; report it with the file.",
    };
  }
  const reports: ConvertedReport[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== null && typeof raw[i] === "object") fillStationFields(raw[i], job.station);
    const checked = validateReport(raw[i]);
    if (!checked.ok) {
      return {
        ok: false,
        kind: "invalid-output",
        message:
          `report ${i + 1} of ${raw.length} from converter "${converter.name}" is not valid ` +
          `WSJF: ${checked.problems.slice(0, 5).join("; ")}` +
          (checked.problems.length > 5 ? ` (and ${checked.problems.length - 5} more)` : ""),
        hint: "The file may hold values the converter does not expect; check it. If the file is " +
          "right, this is a bug in the converter.",
      };
    }
    const r = checked.report;
    reports.push({
      id: r.id,
      sn: r.sn,
      pn: r.pn,
      result: r.result ?? "",
      body: encoder.encode(JSON.stringify(r)),
    });
  }
  const ids = new Set(reports.map((r) => r.id));
  if (ids.size !== reports.length) {
    return {
      ok: false,
      kind: "invalid-output",
      message: `converter "${converter.name}" gave two reports of this file the same id`,
      hint:
        "This is a bug in the converter (ids must be unique per unit); report it with the file.",
    };
  }
  return { ok: true, format: converter.name, sha256, reports };
}

function failure(e: unknown, kind: FailureKind): ConvertOutcome {
  if (e instanceof ConversionError) {
    return {
      ok: false,
      kind: kind === "load" ? "load" : "conversion",
      message: e.message,
      hint: e.hint,
    };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    ok: false,
    kind,
    message: `${
      kind === "load" ? "loading the converter" : "the converter"
    } failed: ${err.message.replace(/\.$/, "")}`,
    hint: kind === "load"
      ? "Check the converter module named in the config."
      : "The file is probably malformed in a way the converter does not report clearly; check it. " +
        "If the file is right, this is a bug in the converter.",
  };
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}
