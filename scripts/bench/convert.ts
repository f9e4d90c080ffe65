/**
 * Converter throughput: MB/s and reports/s per converter over its sample files (the shared
 * fixtures when present, else the project's own), run in-process on one core, printed as a
 * table. "convert" is `converter.convert()` alone; "+validate" adds what the pool does to every
 * report (`fillStationFields` + `validateReport`).
 *
 *   deno run -A scripts/bench/convert.ts [--only wsjf,wstf] [--seconds 1]
 *
 * The agent's workers run with `--v8-flags=--optimize-for-size` (see agentRunFlags in
 * src/runtime.ts); add that flag to measure what they get (1.1–2.7× slower than without).
 *
 * To add a converter, add one line to {@link BENCHES}.
 *
 * @module
 */
import path from "#path";
import { parseArgs } from "#util";
import { ConversionError } from "../../src/convert/conversion_error.ts";
import { type Converter, type ConvertInput } from "../../src/convert/contract.ts";
import { builtinConverters } from "../../src/convert/converters/mod.ts";
import { sha256Hex } from "../../src/convert/ids.ts";
import { fillStationFields } from "../../src/wsjf/fields.ts";
import { validateReport } from "../../src/wsjf/validate.ts";
import { ownFixture, sharedFixturesDir } from "../../tests/_fixtures.ts";
import { station } from "../../tests/convert/_station.ts";

/** One converter's benchmark inputs. */
export interface BenchEntry {
  /** Built-in format name (key of builtinConverters). */
  format: string;
  /** Shared fixture folders (relative to the shared fixtures dir). */
  shared: string[];
  /** Own fixture folder under tests/fixtures/convert/ (used when shared ones are absent). */
  own: string;
  /** Only files whose name matches. */
  match?: RegExp;
  /** Converter params. */
  params?: Record<string, unknown>;
}

/** The benchmark table: one line per converter. */
export const BENCHES: BenchEntry[] = [
  {
    format: "wsjf",
    shared: ["wats/wsjf", "wats/roundtrip", "stations/wats-wsjf"],
    own: "wsjf",
    match: /\.json$/,
  },
  {
    format: "wsxf",
    shared: ["wats/wsxf", "stations/wats-wsxf", "stations/wats-wrml"],
    own: "wsxf",
    match: /\.xml$/i,
  },
  { format: "wstf", shared: ["stations/wats-wstf"], own: "wstf", params: { partNumber: "BENCH" } },
  { format: "i3070", shared: ["stations/keysight-i3070-log"], own: "i3070" },
  {
    format: "takaya",
    shared: ["stations/takaya-atd", "stations/takaya-apt94xx-atd", "stations/takaya-atdx"],
    own: "takaya",
  },
  {
    format: "teststand-xml",
    shared: ["stations/teststand-xml"],
    own: "teststand-xml",
    params: { partNumber: "BENCH" },
  },
  {
    format: "atml",
    shared: ["stations/atml-teststand"],
    own: "atml",
    params: { partNumber: "BENCH" },
  },
  { format: "csv", shared: ["stations/fct-csv-semicolon"], own: "csv", match: /fct|kv_/ },
  {
    format: "xjtag",
    shared: ["stations/xjtag-xjlog"],
    own: "xjtag",
    params: { partNumber: "BENCH" },
  },
  { format: "teradyne-gr228x", shared: ["stations/teradyne-gr228x-log"], own: "teradyne-gr228x" },
  {
    format: "teradyne-spectrum",
    shared: ["stations/teradyne-spectrum-ict"],
    own: "teradyne-spectrum",
  },
  {
    format: "spea-3030",
    shared: ["stations/spea-3030-csv"],
    own: "spea-3030",
    params: { partNumber: "BENCH" },
  },
  // The 33-byte fragment is refused (counted as skipped); lot2 is 1,569 parts, gzip.
  { format: "stdf", shared: ["stations/stdf-v4"], own: "stdf" },
];

function files(entry: BenchEntry): { list: string[]; source: string } {
  const listDir = (dir: string) => {
    try {
      return [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => path.join(dir, e.name));
    } catch {
      return [];
    }
  };
  const keep = (f: string) => !entry.match || entry.match.test(path.basename(f));
  if (sharedFixturesDir !== null) {
    const list = entry.shared.flatMap((d) => listDir(path.join(sharedFixturesDir!, d))).filter(
      keep,
    );
    if (list.length > 0) return { list: list.sort(), source: "shared" };
  }
  return { list: listDir(ownFixture("convert", entry.own)).filter(keep).sort(), source: "own" };
}

interface Row {
  format: string;
  source: string;
  files: number;
  skipped: number;
  bytes: number;
  reports: number;
  mbps: number;
  rps: number;
  mbpsValidated: number;
}

async function run(entry: BenchEntry, seconds: number): Promise<Row> {
  const converter: Converter = await builtinConverters[entry.format]();
  const { list, source } = files(entry);
  const inputs: ConvertInput[] = [];
  let skipped = 0;
  for (const f of list) {
    const bytes = Deno.readFileSync(f);
    const input: ConvertInput = {
      bytes,
      name: path.basename(f),
      path: f,
      sha256: sha256Hex(bytes),
      station,
      params: entry.params ?? {},
    };
    try {
      await converter.convert(input);
      inputs.push(input);
    } catch (e) {
      if (!(e instanceof ConversionError)) throw e;
      skipped++; // files the converter refuses (e.g. a 1900 start date) are not timed
    }
  }
  const pass = async (validate: boolean) => {
    let bytes = 0;
    let reports = 0;
    const t0 = performance.now();
    let rounds = 0;
    while (rounds < 3 || performance.now() - t0 < seconds * 1000) {
      for (const input of inputs) {
        const rs = await converter.convert(input);
        if (validate) {
          for (const r of rs) {
            fillStationFields(r, station);
            if (!validateReport(r).ok) throw new Error(`${input.name}: invalid report`);
          }
        }
        bytes += input.bytes.length;
        reports += rs.length;
      }
      rounds++;
    }
    const s = (performance.now() - t0) / 1000;
    return { mbps: bytes / 1e6 / s, rps: reports / s, bytes, reports };
  };
  if (inputs.length === 0) {
    return {
      format: entry.format,
      source,
      files: 0,
      skipped,
      bytes: 0,
      reports: 0,
      mbps: 0,
      rps: 0,
      mbpsValidated: 0,
    };
  }
  const plain = await pass(false);
  const validated = await pass(true);
  const size = inputs.reduce((n, i) => n + i.bytes.length, 0);
  const reports = (await Promise.all(inputs.map((i) => converter.convert(i)))).reduce(
    (n, r) => n + r.length,
    0,
  );
  return {
    format: entry.format,
    source,
    files: inputs.length,
    skipped,
    bytes: size,
    reports,
    mbps: plain.mbps,
    rps: plain.rps,
    mbpsValidated: validated.mbps,
  };
}

/** Runs the benchmarks and prints the table. */
export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { only: { type: "string" }, seconds: { type: "string", default: "1" } },
  });
  const only = values.only ? new Set(values.only.split(",")) : null;
  const seconds = Number(values.seconds);
  const rows: Row[] = [];
  for (const entry of BENCHES) {
    if (only && !only.has(entry.format)) continue;
    rows.push(await run(entry, seconds));
  }
  const header = [
    "converter",
    "samples",
    "files",
    "skipped",
    "KB",
    "reports",
    "MB/s",
    "reports/s",
    "MB/s +validate",
  ];
  const body = rows.map((r) => [
    r.format,
    r.source,
    String(r.files),
    String(r.skipped),
    (r.bytes / 1024).toFixed(1),
    String(r.reports),
    r.mbps.toFixed(2),
    r.rps.toFixed(0),
    r.mbpsValidated.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const b of body) console.log(line(b));
}

if (import.meta.main) await main(Deno.args);
