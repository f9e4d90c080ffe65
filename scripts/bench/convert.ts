/**
 * Converter throughput: MB/s and reports/s per converter over its sample files (the shared
 * fixtures when present, else the project's own), run in-process on one core, printed as a
 * table. "convert" is `converter.convert()` alone; "+validate" adds what the pool does to every
 * report (`fillStationFields` + `validateReport`).
 *
 * Then the peak RSS of one large STDF conversion (`--stdf-mb`, default 100; 0 skips it): a
 * synthetic lot of that size (four sites, 33 PTRs a part, written to a temporary file) is
 * converted in a fresh process, twice: the converter alone (`convertStream`, each report
 * dropped as it comes) and the pool worker's path (`runConversion`: every report validated and
 * serialised, handed on in batches as the pool hands them to intake). The peak is the process's VmHWM (Linux), else the
 * highest `Deno.memoryUsage().rss` seen.
 *
 *   deno run -A scripts/bench/convert.ts [--only wsjf,wstf] [--seconds 1] [--stdf-mb 100]
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
import { runConversion } from "../../src/convert/conversion.ts";
import { DEFAULT_BATCH } from "../../src/convert/pool.ts";
import { ConversionError } from "../../src/convert/conversion_error.ts";
import { type Converter, type ConvertInput } from "../../src/convert/contract.ts";
import { builtinConverters } from "../../src/convert/converters/mod.ts";
import { sha256Hex } from "../../src/convert/ids.ts";
import { fillStationFields } from "../../src/wsjf/fields.ts";
import { validateReport } from "../../src/wsjf/validate.ts";
import { ownFixture, sharedFixturesDir } from "../../tests/_fixtures.ts";
import { station } from "../../tests/convert/_station.ts";
import { StdfWriter } from "../../tests/convert/_stdf_writer.ts";

/** One converter's benchmark inputs. */
export interface BenchEntry {
  /** Built-in format name (key of builtinConverters). */
  format: string;
  /** The row's name when a format has more than one (default: the format). */
  label?: string;
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
  { format: "saki-aoi", shared: ["stations/saki-aoi-xml"], own: "saki-aoi" },
  { format: "viscom-aoi", shared: ["stations/viscom-aoi-xml"], own: "viscom-aoi" },
  { format: "yestech-aoi", shared: ["stations/yestech-aoi-txt"], own: "yestech-aoi" },
  { format: "virinco-xml", shared: ["stations/virinco-example-xml"], own: "virinco-xml" },
  // The header .txt; its curve folder (already settled) is read with it.
  {
    format: "klippel-qc",
    shared: ["stations/klippel-qc-log"],
    own: "klippel-qc",
    params: { partNumber: "BENCH", settleSeconds: 0, waitSeconds: 0 },
  },
  {
    format: "soundcheck",
    label: "soundcheck (US)",
    shared: ["stations/listen-soundcheck-txt/US"],
    own: "soundcheck",
  },
  {
    format: "soundcheck",
    label: "soundcheck (EU)",
    shared: ["stations/listen-soundcheck-txt/EU"],
    own: "soundcheck",
    params: { decimalSeparator: ",", dateOrder: "dmy" },
  },
  { format: "sigmaquest", shared: ["stations/sigmaquest-unitreport-xml"], own: "sigmaquest" },
  { format: "stepwize", shared: ["stations/stepwize-xspc"], own: "stepwize" },
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
      format: entry.label ?? entry.format,
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
    format: entry.label ?? entry.format,
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

/** Writes a synthetic STDF lot of about `mb` MB to `file` (four sites, 33 PTRs a part). */
export function writeLargeStdf(file: string, mb: number): { bytes: number; parts: number } {
  const f = Deno.openSync(file, { write: true, create: true, truncate: true });
  let bytes = 0;
  let parts = 0;
  try {
    let w = new StdfWriter("little");
    w.far().mir({ lotId: "BIG", partType: "PN-BIG", nodeName: "ate", startT: 1_700_000_000 });
    while (bytes < mb * 1e6) {
      for (const site of [1, 2, 3, 4]) w.pir(1, site);
      for (let t = 0; t < 33; t++) {
        for (const site of [1, 2, 3, 4]) {
          w.ptr({ num: t, site, result: t + site / 10, text: `test ${t}`, low: 0, high: 100 });
        }
      }
      for (const site of [1, 2, 3, 4]) {
        w.prr({ site, flag: (parts + site) % 7 === 0 ? 0x08 : 0, x: parts, y: site });
      }
      parts += 4;
      if (parts % 400 === 0) {
        const chunk = w.bytes();
        f.writeSync(chunk);
        bytes += chunk.length;
        w = new StdfWriter("little");
      }
    }
    const last = w.mrr().bytes();
    f.writeSync(last);
    bytes += last.length;
  } finally {
    f.close();
  }
  return { bytes, parts };
}

/** The process's peak resident set so far, in bytes (VmHWM on Linux), or undefined. */
function peakRss(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(Deno.readTextFileSync("/proc/self/status"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** In a fresh process: converts `file` one way and prints what it cost, as JSON. */
async function rssChild(file: string, mode: "converter" | "worker"): Promise<void> {
  let highest = Deno.memoryUsage().rss;
  const sample = setInterval(() => highest = Math.max(highest, Deno.memoryUsage().rss), 50);
  const t0 = performance.now();
  let reports = 0;
  const bytes = await Deno.readFile(file);
  if (mode === "converter") {
    const converter = await builtinConverters["stdf"]();
    const input: ConvertInput = {
      bytes,
      name: path.basename(file),
      path: file,
      sha256: sha256Hex(bytes),
      station,
      params: {},
    };
    for await (const _ of converter.convertStream!(input)) {
      reports++;
      if (reports % 1000 === 0) highest = Math.max(highest, Deno.memoryUsage().rss);
    }
  } else {
    // As the pool runs it for intake: the reports handed on in batches, each taken (dropped here,
    // queued by the agent) before the conversion goes on.
    const o = await runConversion({
      converter: "bench",
      format: "stdf",
      bytes,
      name: path.basename(file),
      path: file,
      station,
      params: {},
      batch: DEFAULT_BATCH,
    }, (batch) => {
      reports += batch.length;
      return Promise.resolve();
    });
    if (!o.ok) throw new Error(`${file}: ${o.message}`);
    reports += o.reports.length;
  }
  clearInterval(sample);
  highest = Math.max(highest, Deno.memoryUsage().rss);
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ reports, seconds, peak: peakRss() ?? highest }));
}

/** The peak RSS rows: a large STDF file converted in a fresh process, each way. */
async function stdfRss(mb: number): Promise<string[][]> {
  const dir = Deno.makeTempDirSync({ prefix: "bench-stdf-" });
  try {
    const file = path.join(dir, "large.stdf");
    const { bytes, parts } = writeLargeStdf(file, mb);
    const rows: string[][] = [];
    for (const mode of ["converter", "worker"] as const) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--frozen", import.meta.filename!, "--rss-child", file, "--mode", mode],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      if (!out.success) throw new Error(`the ${mode} run failed (exit ${out.code})`);
      const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
      rows.push([
        mode === "converter" ? "convertStream, reports dropped" : "runConversion (pool worker)",
        (bytes / 1e6).toFixed(1),
        String(parts),
        String(r.reports),
        r.seconds.toFixed(1),
        (bytes / 1e6 / r.seconds).toFixed(2),
        (r.peak / 1024 / 1024).toFixed(0),
      ]);
    }
    return rows;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** Prints a table: the first two columns left-aligned, the rest right-aligned. */
function printTable(header: string[], body: string[][], left = 2): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < left ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const b of body) console.log(line(b));
}

/** Runs the benchmarks and prints the table. */
export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      only: { type: "string" },
      seconds: { type: "string", default: "1" },
      "stdf-mb": { type: "string", default: "100" },
      "rss-child": { type: "string" },
      mode: { type: "string", default: "converter" },
    },
  });
  if (values["rss-child"] !== undefined) {
    return await rssChild(values["rss-child"], values.mode === "worker" ? "worker" : "converter");
  }
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
  printTable(header, body);
  const mb = Number(values["stdf-mb"]);
  if (mb > 0 && (only === null || only.has("stdf"))) {
    console.log(`\nPeak RSS of one ${mb} MB STDF file, converted in a fresh process:`);
    printTable(
      ["path", "MB", "parts", "reports", "s", "MB/s", "peak RSS MiB"],
      await stdfRss(mb),
      1,
    );
  }
}

if (import.meta.main) await main(Deno.args);
