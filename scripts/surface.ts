/**
 * The agent's public surface, written out as text so a test can hold it still: the shape of
 * `agent status --json` and `GET /status` (key paths and value types) from a real running
 * agent, the metric names and label names of its `/metrics`, the CLI help, the config keys
 * with their defaults, and the reports the project's own fixtures convert to.
 *
 * `deno task surface` rewrites tests/surface/snapshots/ from the current code; tests/surface/
 * surface_test.ts fails when the code no longer matches them. Update them only for a deliberate
 * change, in a commit of its own that says why.
 *
 * @module
 */
import path from "#path";
import { createHash } from "#crypto";
import { z } from "zod";
import { AgentHarness } from "../tests/e2e/_harness.ts";
import { checkExposition } from "../tests/control/_prom.ts";
import { ownFixture, sharedFixture } from "../tests/_fixtures.ts";
import { configSchema } from "../src/config/schema.ts";
import { ConverterPool } from "../src/convert/pool.ts";

const root = path.resolve(import.meta.dirname!, "..");

/** Where the committed snapshots live. */
export const snapshotDir: string = path.join(root, "tests", "surface", "snapshots");

/** Snapshot files by name (relative to {@link snapshotDir}), with their expected text. */
export type Snapshot = Map<string, string>;

// ---------------------------------------------------------------------------------------------
// Shapes

/** Each key path of a JSON value with the types seen there, one `path: type|type` a line. */
export function shapeOf(value: unknown): string {
  const seen = new Map<string, Set<string>>();
  const walk = (v: unknown, at: string) => {
    const type = v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
    let types = seen.get(at);
    if (!types) seen.set(at, types = new Set());
    types.add(type);
    if (Array.isArray(v)) { for (const e of v) walk(e, `${at}[]`); }
    else if (type === "object") {
      for (const [k, e] of Object.entries(v as object)) walk(e, at === "" ? k : `${at}.${k}`);
    }
  };
  walk(value, "");
  return [...seen].filter(([p]) => p !== "").map(([p, t]) => `${p}: ${[...t].sort().join("|")}`)
    .sort().join("\n") + "\n";
}

/** Metric names with their type and label names, one a line, from a Prometheus exposition. */
export function metricNames(text: string): string {
  const exp = checkExposition(text);
  if (exp.problems.length > 0) {
    throw new Error(`/metrics is not valid Prometheus text:\n${exp.problems.join("\n")}`);
  }
  const labels = new Map<string, Set<string>>();
  for (const s of exp.samples) {
    let set = labels.get(s.name);
    if (!set) labels.set(s.name, set = new Set());
    for (const l of Object.keys(s.labels)) set.add(l);
  }
  const typeOf = (name: string) =>
    exp.types.get(name) ?? exp.types.get(name.replace(/_(bucket|sum|count|total)$/, "")) ??
      "untyped";
  return [...labels].map(([n, l]) => `${n} ${typeOf(n)} {${[...l].sort().join(",")}}`).sort()
    .join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// Config

/**
 * Defaults that depend on the machine the schema is loaded on, so the snapshot names the rule
 * instead of this machine's value.
 */
const machineDefaults: Record<string, string> = {
  "station.name": "(this machine's host name)",
  "station.timeZone": "(this machine's time zone)",
  "pool.max": "(from the CPU count)",
};

/** Every config key with its type and default, one `path: type [= default]` a line. */
export function configKeys(schema: z.ZodType = configSchema): string {
  const lines: string[] = [];
  // deno-lint-ignore no-explicit-any -- zod's internal definition, read to describe the schema
  const walk = (s: any, at: string, note: string) => {
    const def = s._zod.def;
    switch (def.type) {
      case "default":
      case "prefault": {
        const inner = def.innerType._zod.def.type;
        const value = machineDefaults[at] ??
          (inner === "object" ? "" : JSON.stringify(def.defaultValue));
        return walk(def.innerType, at, value === "" ? note : `${note} = ${value}`);
      }
      case "optional":
        return walk(def.innerType, at, `${note} (optional)`);
      case "object":
        lines.push(`${at || "(root)"}: object${def.catchall ? "" : " (strict)"}${note}`);
        for (const [k, v] of Object.entries(def.shape)) walk(v, at ? `${at}.${k}` : k, "");
        return;
      case "array":
        lines.push(`${at}: array${note}`);
        return walk(def.element, `${at}[]`, "");
      case "record":
        lines.push(
          `${at}: record<${def.keyType._zod.def.type}, ${def.valueType._zod.def.type}>${note}`,
        );
        return;
      case "enum":
        lines.push(`${at}: enum(${Object.values(def.entries).join("|")})${note}`);
        return;
      case "number":
        lines.push(`${at}: ${def.format === "safeint" ? "int" : "number"}${note}`);
        return;
      case "string":
        lines.push(`${at}: ${def.format ? `string(${def.format})` : "string"}${note}`);
        return;
      default:
        lines.push(`${at}: ${def.type}${note}`);
    }
  };
  walk(schema, "", "");
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// A running agent: status, /status, /metrics, CLI help

const decoder = new TextDecoder();

async function runCli(h: AgentHarness, args: string[]): Promise<string> {
  const r = await h.cli(args);
  if (r.code !== 0) throw new Error(`agent ${args.join(" ")} exited ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

/** The CLI help: `agent help`, then each listed command's `--help`. */
async function cliHelp(h: AgentHarness): Promise<string> {
  const top = await runCli(h, ["help"]);
  const names = [...top.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]).filter((n) =>
    n !== "help"
  );
  if (names.length === 0) throw new Error(`agent help lists no commands:\n${top}`);
  const parts = [`$ agent help\n${top}`];
  for (const name of names) {
    parts.push(`$ agent ${name} --help\n${await runCli(h, [name, "--help"])}`);
  }
  return parts.join("\n");
}

/**
 * Starts a real agent, gives it one report that uploads and one file that can't be converted,
 * waits for both to settle, and reads its status and metrics.
 */
async function agentSurface(): Promise<Snapshot> {
  await using h = await AgentHarness.create({
    converters: [{ name: "json", format: "wsjf" }],
    config: { queue: { keepCompletedCount: 10 } },
  });
  await h.start();
  const report = await Deno.readTextFile(ownFixture("convert", "wsjf", "minimal.json"));
  const id = JSON.parse(report).id as string;
  await h.drop("json", "good.json", report);
  await h.drop("json", "bad.json", "{ not json");
  await h.waitFor(() => h.server.store.get(id) !== undefined, "the good report on the server");
  await h.waitFor(
    async () => (await h.files(path.join(h.dropDir("json"), "Error"))).includes("bad.json"),
    "bad.json in the Error folder",
  );
  await h.waitFor(async () => {
    const s = await h.status();
    return s.totals?.filesFailed === 1 && s.totals?.reportsUploaded === 1 &&
      s.recentErrors?.length === 1;
  }, "agent status to count the upload and the failed file");
  const { exitCode: _, ...status } = await h.status();
  const http = await (await h.control("/status")).json();
  const metricsRes = await h.control("/metrics", { auth: true });
  if (!metricsRes.ok) throw new Error(`GET /metrics: ${metricsRes.status}`);
  const metrics = await metricsRes.text();
  const help = await cliHelp(h);
  await h.stop();
  return new Map([
    ["agent_status_json.txt", shapeOf(status)],
    ["http_status.txt", shapeOf(http)],
    ["metrics.txt", metricNames(metrics)],
    ["cli_help.txt", help],
  ]);
}

// ---------------------------------------------------------------------------------------------
// Conversions

/** Reports larger than this are kept as a hash and a summary, not in full. */
const MAX_INLINE_BYTES = 24 * 1024;

/** The fixed station the fixtures are converted for (the default one depends on the machine). */
const station = {
  name: "SURFACE-ST",
  location: "Lab",
  purpose: "Surface",
  timeZone: "Europe/Oslo",
  operator: "operator",
};

const PN = { partNumber: "SURFACE-PN" };

/**
 * The converter parameters a fixture needs to convert (the ones its converter's tests use);
 * the others convert with none. Keyed by the path below the fixture root.
 */
export const fixtureParams: Record<string, Record<string, unknown>> = {
  "atml/atml202_failed_crlf.xml": PN,
  "csv/A%PN-77%20240110%SN0042_NG_20240315101112.csv": { preset: "nano51e" },
  "csv/kv_decimal_comma_crlf.csv": { decimalSeparator: ",", dateOrder: "dmy" },
  "csv/rows_two_serials.csv": { datePattern: "MM/dd/yyyy hh:mm:ss tt" },
  "klippel-qc/DUT WF8-0042 2023-11-24 23-59-58-0 UTC-0500.txt": PN,
  "sigmaquest/namespaced_mixed.xml": { decimalSeparator: "," },
  "spea-3030/testlog_SYN.csv": PN,
  "teststand-xml/classic_failed_crlf.xml": PN,
  "wstf/two-units.txt": { decimalSeparator: "," },
  "xjtag/run1_fail.xml": PN,
  "xjtag/run2_aborted.xml": PN,
  // The shared fixtures (converted with format "auto").
  "atml-teststand/Parallel Testing Strategies_BatchReport.6 45 31 AM..9 13 2022.xml": PN,
  "klippel-qc-log/DUT xyz115 2020-05-14 10-01-37-5 UTC+0200.txt": PN,
  "listen-soundcheck-txt/EU/Data logging example 12-01-2021.txt": { decimalSeparator: "," },
  "spea-3030-csv/testdata_SN9871234012.csv": PN,
  "xjtag-xjlog/1234_14_25_32_10.08.2018_Pass.xjlog": PN,
  "xjtag-xjlog/55804022_XJT_2019-06-20_12-55-57_lumi_Pass.xjlog": PN,
  "xjtag-xjlog/567567_14_29_24_17_06_2020_Pass.xjlog": PN,
  "xjtag-xjlog/567567_14_29_24_17_06_2020_Pass.xml": PN,
  "xjtag-xjlog/Demonstration hardware--28_10_2019.xjlog": PN,
};

/**
 * Files of a fixture folder, in sorted order, without dotfiles and notes. A subfolder is
 * entered unless a file beside it has its name (a Klippel unit's curve folder belongs to it).
 */
export function filesIn(dir: string): string[] {
  const entries = [...Deno.readDirSync(dir)].filter((e) => !e.name.startsWith("."))
    .sort((a, b) => a.name < b.name ? -1 : 1);
  const stems = new Set(entries.filter((e) => e.isFile).map((e) => path.parse(e.name).name));
  const out: string[] = [];
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isFile && !e.name.endsWith(".md")) out.push(p);
    else if (e.isDirectory && !stems.has(e.name)) out.push(...filesIn(p));
  }
  return out;
}

/**
 * What one file converts to through the pool, as `agent convert` runs it: the reports in full,
 * or (when large, or `hashOnly`) their identity, step count and SHA-256.
 */
async function convertOne(
  pool: ConverterPool,
  file: string,
  rel: string,
  format: string,
  hashOnly: boolean,
): Promise<string> {
  const params = fixtureParams[rel.replaceAll(path.sep, "/")] ?? {};
  const bytes = await Deno.readFile(file);
  const outcome = await pool.convert({
    converter: "surface",
    format,
    bytes,
    name: path.basename(file),
    path: file,
    station,
    params,
  });
  if (!outcome.ok) {
    return JSON.stringify(
      { params, ok: false, kind: outcome.kind, message: outcome.message },
      null,
      2,
    ) + "\n";
  }
  const reports = outcome.reports.map((r) => JSON.parse(decoder.decode(r.body)));
  const full = JSON.stringify(
    { params, ok: true, format: outcome.format, warnings: outcome.warnings ?? [], reports },
    null,
    2,
  ) + "\n";
  if (!hashOnly && full.length <= MAX_INLINE_BYTES) return full;
  const summaries = outcome.reports.map((r, i) => ({
    id: r.id,
    sn: r.sn,
    pn: r.pn,
    result: r.result,
    steps: countSteps(reports[i].root),
    sha256: sha256(r.body),
  }));
  const head = {
    params,
    ok: true,
    format: outcome.format,
    warningCount: outcome.warningCount ?? 0,
  };
  if (summaries.length <= MAX_LISTED_REPORTS) {
    return JSON.stringify({ ...head, reports: summaries }, null, 2) + "\n";
  }
  const results: Record<string, number> = {};
  for (const r of summaries) results[r.result] = (results[r.result] ?? 0) + 1;
  return JSON.stringify(
    {
      ...head,
      reportCount: summaries.length,
      results,
      steps: summaries.reduce((n, r) => n + r.steps, 0),
      sha256OfReportHashes: sha256(
        new TextEncoder().encode(summaries.map((r) => r.sha256).join("\n")),
      ),
    },
    null,
    2,
  ) + "\n";
}

/** Above this many reports from one file, only their totals and one hash are kept. */
const MAX_LISTED_REPORTS = 20;

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

// deno-lint-ignore no-explicit-any -- a WSJF step read back from JSON
function countSteps(step: any): number {
  if (!step) return 0;
  return 1 + (step.steps ?? []).reduce((n: number, s: unknown) => n + countSteps(s), 0);
}

/**
 * Converts every file of each folder of `dir`: as the format the folder is named after, or, for
 * the shared fixtures (folders not named after formats; not ours, so only hashes are kept), as
 * "auto".
 */
async function conversions(dir: string, prefix: string, detect: boolean): Promise<Snapshot> {
  const pool = new ConverterPool({
    min: 0,
    max: 1,
    timeoutMs: 120_000,
    memoryMb: 512,
    maxLostWorkers: 1,
  });
  const out: Snapshot = new Map();
  try {
    for (
      const folder of [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name)
        .sort()
    ) {
      for (const file of filesIn(path.join(dir, folder))) {
        const rel = path.relative(dir, file);
        const name = `${prefix}/${rel.replaceAll(path.sep, "__").replaceAll(" ", "_")}.json`;
        out.set(name, await convertOne(pool, file, rel, detect ? "auto" : folder, detect));
      }
    }
  } finally {
    await pool.close();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The parts

/** A named part of the surface and how to collect it. */
export interface Part {
  name: string;
  /** Null when it can't be collected on this machine (the shared fixtures are absent). */
  available: boolean;
  collect(): Promise<Snapshot>;
}

const sharedStations = sharedFixture("stations");

/** The parts, in the order the test checks them. */
export const parts: Part[] = [
  { name: "running agent", available: true, collect: agentSurface },
  {
    name: "config",
    available: true,
    collect: () => Promise.resolve(new Map([["config.txt", configKeys()]])),
  },
  {
    name: "own fixtures",
    available: true,
    collect: () => conversions(ownFixture("convert"), "convert", false),
  },
  {
    name: "shared fixtures",
    available: sharedStations !== null,
    collect: () => conversions(sharedStations!, "shared", true),
  },
];

/** The committed snapshot files under `prefix` (or at the top level for ""). */
export function committed(names: Iterable<string>): Snapshot {
  const out: Snapshot = new Map();
  for (const n of names) {
    try {
      out.set(n, Deno.readTextFileSync(path.join(snapshotDir, n)));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return out;
}

/** The committed files in one snapshot subfolder ("" for the top level). */
export function committedIn(sub: string): string[] {
  try {
    return [...Deno.readDirSync(path.join(snapshotDir, sub))].filter((e) => e.isFile)
      .map((e) => sub ? `${sub}/${e.name}` : e.name).sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

async function update(): Promise<void> {
  for (const part of parts) {
    if (!part.available) {
      console.warn(`${part.name}: not available here, its snapshot is left as it is`);
      continue;
    }
    const snap = await part.collect();
    const subs = new Set([...snap.keys()].map((n) => n.includes("/") ? n.split("/")[0] : ""));
    for (const sub of subs) {
      if (sub === "") continue;
      for (const old of committedIn(sub)) {
        if (!snap.has(old)) await Deno.remove(path.join(snapshotDir, old));
      }
    }
    for (const [name, text] of snap) {
      const file = path.join(snapshotDir, name);
      await Deno.mkdir(path.dirname(file), { recursive: true });
      await Deno.writeTextFile(file, text);
    }
    console.log(`${part.name}: ${snap.size} file(s) written`);
  }
  console.log(
    `Snapshots written to ${path.relative(root, snapshotDir)}. Review \`git diff\` and commit ` +
      "them on their own, saying why the surface changed.",
  );
}

if (import.meta.main) {
  if (!Deno.args.includes("--update")) {
    console.error("Usage: deno task surface   (runs scripts/surface.ts --update)");
    Deno.exit(2);
  }
  await update();
}
