/**
 * One conversion, as it runs inside a pool worker (and nowhere else, so `agent convert` and the
 * pipeline produce the same reports): take the file's bytes (or read the file when none came
 * with the job), pick the converter, convert, fill the station fields, validate every report
 * against the WSJF schema, and serialise the bodies. Bytes in, reports out: what becomes of the
 * reports (the queue) is the caller's business.
 *
 * @module
 */
import { pathToFileURL } from "node:url";
import path from "#path";
import { createHash } from "#crypto";
import { ConversionError } from "./conversion_error.ts";
import { type Converter, type StationContext } from "./contract.ts";
import { builtinConverters, builtinFormats } from "./converters/mod.ts";
import { validateReport } from "../wsjf/validate.ts";
import { fillStationFields } from "../wsjf/fields.ts";

/** What the pool sends a worker. */
export interface ConvertJob {
  /** The config entry's name, for messages. */
  converter: string;
  /** A built-in format, or "auto"; absent when `module` is set. */
  format?: string;
  /** Absolute path of a custom converter module. */
  module?: string;
  /** The file's bytes (transferred to the worker); when absent, the worker reads `path`. */
  bytes?: Uint8Array;
  /** SHA-256 of `bytes` (hex), when the caller has it already; else the worker computes it. */
  sha256?: string;
  name: string;
  path: string;
  station: StationContext;
  params: Record<string, unknown>;
  /**
   * Hand reports on in batches of at most this many reports or bytes (of bodies) as they are
   * made, instead of all at the end; set by the pool when its caller takes batches.
   */
  batch?: BatchLimits;
}

/** The size of one batch of reports handed on during a conversion. */
export interface BatchLimits {
  reports: number;
  bytes: number;
}

/**
 * Takes one batch of reports during a conversion; the conversion goes on only once it resolves
 * (back-pressure). A rejection ends the conversion ("unavailable").
 */
export type BatchSink = (reports: ConvertedReport[]) => Promise<void>;

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
  | "unavailable" // the pool is stopping or broken: not the file's fault
  | "read"; // the file could not be read (gone, locked): not the file's fault, try again later

/** Most warning messages one conversion passes on (all of them are counted). */
export const MAX_WARNINGS = 20;

/** The result of one conversion. */
export type ConvertOutcome =
  | {
    ok: true;
    format: string;
    sha256: string;
    /** The reports not handed on in batches before (all of them without batches). */
    reports: ConvertedReport[];
    /** How many reports were handed on in batches before this outcome (absent: none). */
    handedOn?: number;
    /** Problems the converter recovered from: the first {@link MAX_WARNINGS}, in file order. */
    warnings?: string[];
    /** How many warnings there were in all. */
    warningCount?: number;
  }
  | {
    ok: false;
    kind: FailureKind;
    message: string;
    hint: string;
    /** The error's code or name ("NotFound") for "read". */
    code?: string;
  };

const loaded = new Map<string, Promise<Converter>>();
/** The mtime of each custom module file when this worker loaded it. */
const loadedMtime = new Map<string, number | null>();

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

/** The file types a custom converter module may have. */
export const CUSTOM_MODULE_EXTENSIONS: readonly string[] = [".js", ".mjs", ".ts", ".mts"];

const CUSTOM_HELP = 'See "Custom converters" in the README.';

/**
 * Whether a custom module this worker has loaded changed on disk since (or is gone). Such a
 * worker can't load the new text: an isolate keeps every module it imported, under its URL,
 * until it ends (a failed import too), so the pool gives the job to a fresh worker.
 */
export async function moduleChanged(file: string): Promise<boolean> {
  if (!loadedMtime.has(file)) return false;
  const now = await Deno.stat(file).then((s) => s.mtime?.getTime() ?? null, () => undefined);
  return now !== loadedMtime.get(file);
}

/**
 * Loads a custom converter: an ES module file (JavaScript, or TypeScript whose types are
 * removed, not checked) whose default export, or `converter` export, implements the contract.
 * It is imported by its file URL, in the source run and in a `deno compile` binary alike: the
 * binary's module loader reads files that are not embedded from the disk, and since Deno 2.8.2
 * transpiles TypeScript ones (denoland/deno#34616). It may import `node:` built-ins and files
 * beside it; `npm:`, `jsr:` and `https:` modules are not in the binary, so it must bundle them.
 */
async function loadCustom(file: string): Promise<Converter> {
  const ext = path.extname(file).toLowerCase();
  if (!CUSTOM_MODULE_EXTENSIONS.includes(ext)) {
    throw new ConversionError(
      `custom converter ${file}: expected an ES module file ending in ` +
        `${CUSTOM_MODULE_EXTENSIONS.join(", ")}, found ${ext ? `"${ext}"` : "no extension"}`,
      `Point "module" at the converter's .js (or .ts) file. ${CUSTOM_HELP}`,
    );
  }
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(file);
  } catch (e) {
    throw new ConversionError(
      `custom converter ${file} can't be read: ${(e as Error).message}`,
      'Check "module" in the config (a relative path is relative to the config file).',
    );
  }
  if (!info.isFile) {
    throw new ConversionError(
      `custom converter ${file} is not a file`,
      'Point "module" at the converter\'s module file, not a folder.',
    );
  }
  loadedMtime.set(file, info.mtime?.getTime() ?? null);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (e) {
    throw importFailure(file, e);
  }
  const c = (mod.default ?? mod.converter) as Partial<Converter> | undefined;
  if (!c || typeof c !== "object" || typeof c.convert !== "function") {
    throw new ConversionError(
      `custom converter ${file} has no converter: expected a default (or "converter") export ` +
        `with a convert(input) function, found exports ${Object.keys(mod).join(", ") || "none"}`,
      `Add \`export default { name, description, convert(input) { ... } }\`. ${CUSTOM_HELP}`,
    );
  }
  const convert = c.convert.bind(c);
  return {
    name: typeof c.name === "string" && c.name ? c.name : path.basename(file),
    description: typeof c.description === "string" ? c.description : "custom converter",
    convert,
    ...(typeof c.convertStream === "function" ? { convertStream: c.convertStream.bind(c) } : {}),
  };
}

/** Says why importing a custom module failed, and what to do about it. */
function importFailure(file: string, e: unknown): ConversionError {
  const msg = (e instanceof Error ? e.message : String(e)).split("\n")[0];
  if (
    /SyntaxError|Expected|Expression expected|Unexpected token/i.test(msg) ||
    e instanceof SyntaxError
  ) {
    return new ConversionError(
      `custom converter ${file} is not a valid ES module: ${msg}`,
      "Fix the syntax error. The module must be an ES module (`export default ...`, not " +
        "`module.exports`); TypeScript is accepted, its types are removed but not checked. " +
        CUSTOM_HELP,
    );
  }
  if (
    /Module not found|Cannot find module|not a dependency|Relative import path|Unsupported scheme/i
      .test(msg)
  ) {
    return new ConversionError(
      `custom converter ${file} imports a module that is not available: ${msg}`,
      "A custom converter may import only node: built-ins (node:path, node:crypto, ...) and " +
        "files beside it by relative path (./helpers.js). npm:, jsr: and https: modules are " +
        `not in the agent binary: bundle them into the converter file. ${CUSTOM_HELP}`,
    );
  }
  return new ConversionError(
    `custom converter ${file} failed while loading: ${msg}`,
    "Its top-level code threw (it runs once in each converter worker, before the first file). " +
      CUSTOM_HELP,
  );
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
export async function runConversion(
  job: ConvertJob,
  onBatch?: BatchSink,
): Promise<ConvertOutcome> {
  let bytes: Uint8Array;
  try {
    bytes = job.bytes ?? await Deno.readFile(job.path);
  } catch (e) {
    return {
      ok: false,
      kind: "read",
      message: (e as Error).message,
      hint: "The file stays in the drop folder and is tried again.",
      code: errorCode(e),
    };
  }
  const sha256 = job.sha256 ?? createHash("sha256").update(bytes).digest("hex");
  return await convertBytes(job, bytes, sha256, job.batch && onBatch ? onBatch : undefined);
}

async function convertBytes(
  job: ConvertJob,
  bytes: Uint8Array,
  sha256: string,
  onBatch: BatchSink | undefined,
): Promise<ConvertOutcome> {
  let converter: Converter;
  try {
    converter = job.format === "auto" && !job.module
      ? await detectFormat(bytes, job.name)
      : await loadConverter(job);
  } catch (e) {
    return failure(e, job.format === "auto" ? "conversion" : "load");
  }
  let raw: unknown;
  const warnings: string[] = [];
  let warningCount = 0;
  const warn = (message: unknown) => {
    warningCount++;
    if (warnings.length < MAX_WARNINGS) warnings.push(String(message));
  };
  try {
    const input = {
      bytes,
      name: job.name,
      path: job.path,
      sha256,
      station: job.station,
      params: job.params,
      warn,
    };
    raw = converter.convertStream ? converter.convertStream(input) : await converter.convert(input);
  } catch (e) {
    return failure(e, "converter-error");
  }
  const streamed = !Array.isArray(raw) && isAsyncIterable(raw);
  if (!Array.isArray(raw) && !streamed) {
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
  /** Every id so far (the bodies may be handed on, the ids stay to check they are unique). */
  const ids = new Set<string>();
  let duplicateId = false;
  let handedOn = 0;
  let pendingBytes = 0;
  /** The batch handed on last, until its sink resolves (one in flight while the next fills). */
  let inFlight: Promise<void> = Promise.resolve();
  const limits = job.batch;
  /** Hands `reports` on as a batch once the one before was taken; a failure when it can't be. */
  const handOn = async (): Promise<ConvertOutcome | undefined> => {
    try {
      await inFlight;
    } catch (e) {
      return sinkFailure(e);
    }
    const batch = reports.splice(0);
    handedOn += batch.length;
    pendingBytes = 0;
    inFlight = onBatch!(batch);
    inFlight.catch(() => {}); // seen at the next hand-on or at the end
  };
  const full = () =>
    onBatch !== undefined && limits !== undefined &&
    (reports.length >= limits.reports || pendingBytes >= limits.bytes);
  const total = Array.isArray(raw) ? ` of ${raw.length}` : "";
  /** Validates and serialises one report; a failure outcome when it is not valid WSJF. */
  const take = (item: unknown, i: number): ConvertOutcome | undefined => {
    const what = `report ${i + 1}${total} from converter "${converter.name}"`;
    try {
      if (item !== null && typeof item === "object") fillStationFields(item, job.station);
      const checked = validateReport(item);
      if (!checked.ok) {
        return {
          ok: false,
          kind: "invalid-output",
          message: `${what} is not valid WSJF: ${checked.problems.slice(0, 5).join("; ")}` +
            (checked.problems.length > 5 ? ` (and ${checked.problems.length - 5} more)` : ""),
          hint: "The file may hold values the converter does not expect; check it. If the file " +
            "is right, this is a bug in the converter.",
        };
      }
      const r = checked.report;
      const body = encoder.encode(JSON.stringify(r));
      if (ids.has(r.id)) duplicateId = true;
      ids.add(r.id);
      pendingBytes += body.length;
      reports.push({ id: r.id, sn: r.sn, pn: r.pn, result: r.result ?? "", body });
    } catch (e) {
      // A report whose getters throw, or that can't be serialised (a cycle, a BigInt).
      return {
        ok: false,
        kind: "invalid-output",
        message: `${what} can't be checked or serialised: ${(e as Error)?.message ?? String(e)}`,
        hint: "This is a bug in the converter (reports must be plain JSON data); report it " +
          "with the file.",
      };
    }
  };
  const sameId = (): ConvertOutcome => ({
    ok: false,
    kind: "invalid-output",
    message: `converter "${converter.name}" gave two reports of this file the same id`,
    hint: "This is a bug in the converter (ids must be unique per unit); report it with the file.",
  });
  if (Array.isArray(raw)) {
    for (let i = 0; i < raw.length; i++) {
      const failed = take(raw[i], i);
      if (failed) return failed;
      if (duplicateId) return sameId();
      if (full()) {
        const stopped = await handOn();
        if (stopped) return stopped;
      }
    }
  } else {
    // A streaming converter (thousands of units per file): each report is serialised as it
    // comes, so only its compact body is kept, never the whole set of report objects.
    try {
      for await (const item of raw as AsyncIterable<unknown>) {
        const failed = take(item, handedOn + reports.length);
        if (failed) return failed;
        if (duplicateId) return sameId();
        if (full()) {
          const stopped = await handOn();
          if (stopped) return stopped;
        }
      }
    } catch (e) {
      return failure(e, "converter-error");
    }
  }
  try {
    await inFlight; // the last batch taken before the outcome (which follows it) is sent
  } catch (e) {
    return sinkFailure(e);
  }
  const outcome: ConvertOutcome = { ok: true, format: converter.name, sha256, reports };
  if (handedOn > 0) Object.assign(outcome, { handedOn });
  if (warningCount > 0) Object.assign(outcome, { warnings, warningCount });
  return outcome;
}

/** The outcome when the batch sink refused a batch: the caller stopped this conversion. */
function sinkFailure(e: unknown): ConvertOutcome {
  return {
    ok: false,
    kind: "unavailable",
    message: `the reports could not be handed on: ${(e as Error)?.message ?? String(e)}`,
    hint: "The file stays in the drop folder and is tried again.",
  };
}

/** An error's code ("EACCES") or, for Deno's errors without one, its name ("NotFound"). */
function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === "string") return code;
  return e instanceof Error ? e.name : undefined;
}

/**
 * Whether `e` is a ConversionError. A custom module can't import the agent's class, so any error
 * named "ConversionError" counts, with its `hint` when it has one.
 */
export function isConversionError(e: unknown): e is { message: string; hint?: unknown } {
  if (e instanceof ConversionError) return true;
  return typeof e === "object" && e !== null && (e as Error).name === "ConversionError" &&
    typeof (e as Error).message === "string";
}

function failure(e: unknown, kind: FailureKind): ConvertOutcome {
  if (isConversionError(e)) {
    return {
      ok: false,
      kind: kind === "load" ? "load" : "conversion",
      message: e.message,
      hint: typeof e.hint === "string" && e.hint
        ? e.hint
        : "Check that the file is complete and in the configured format.",
    };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    ok: false,
    kind,
    message: `${kind === "load" ? "loading the converter" : "the converter"} failed: ${
      err.message.replace(/\.$/, "")
    }`,
    hint: kind === "load"
      ? "Check the converter module named in the config."
      : "The file is probably malformed in a way the converter does not report clearly; check it. " +
        "If the file is right, this is a bug in the converter.",
  };
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return typeof v === "object" && v !== null &&
    typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function";
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}
