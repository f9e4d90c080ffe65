/**
 * Intake benchmarks, printed as numbers:
 *
 * 1. Burst: N small WSJF files written into a drop folder as fast as one synchronous loop can
 *    (the watcher drops most events), with the real agent process at its default intake
 *    settings (stableSeconds 1, rescanSeconds 5): time until every file is seen, until every
 *    report is committed to the queue ("queued"), and until all are on the test server.
 * 2. Gate: what the stability gate adds to one file's latency. FolderSource in-process, files
 *    renamed into the folder one at a time, time from the rename to the hand-over, with
 *    stableSeconds 0 and 1 (the default).
 *
 * `deno run -A scripts/bench/intake.ts [--n 10000] [--gate-files 20]`
 *
 * @module
 */
import { parseArgs } from "#util";
import path from "#path";
import { AgentHarness } from "../../tests/e2e/_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import { FolderSource } from "../../src/watch/source.ts";
import { rate, rawWriteFsyncRename } from "./raw_fsync.ts";

interface BurstResult {
  n: number;
  bytes: number;
  writeMs: number;
  allSeenMs: number;
  firstQueuedMs: number;
  allQueuedMs: number;
  allUploadedMs: number;
  /** Files/s of write + fsync + rename, one after another, on the same disk (the yardstick). */
  raw: number;
}

/** Writes `n` files in one burst into the agent's drop folder and times the stages. */
export async function benchBurst(n: number): Promise<BurstResult> {
  await using h = await AgentHarness.create({
    converters: [{ name: "json", format: "wsjf", afterSuccess: "delete" }],
    config: {
      log: { level: "warning" },
      intake: { stableSeconds: 1, rescanSeconds: 5, emptyFileSeconds: 60 },
    },
  });
  const reports = makeSampleReports(n, { seed: 4242 });
  const bodies = reports.map((r) => new TextEncoder().encode(JSON.stringify(r)));
  const raw = await rawWriteFsyncRename(h.dir, bodies.slice(0, Math.min(n, 1000)));
  await h.start();
  const drop = h.dropDir("json");
  const t0 = performance.now();
  for (let i = 0; i < n; i++) Deno.writeFileSync(path.join(drop, `r-${i}.json`), bodies[i]);
  const writeMs = performance.now() - t0;

  let allSeenMs = 0;
  let firstQueuedMs = 0;
  let allQueuedMs = 0;
  while (true) {
    const res = await h.control("/status");
    const s = await res.json();
    const c = s.converters[0];
    const now = performance.now() - t0;
    if (!allSeenMs && c.seen >= n) allSeenMs = now;
    if (!firstQueuedMs && c.converted > 0) firstQueuedMs = now;
    if (c.converted + c.failed >= n) {
      allQueuedMs = now;
      if (c.failed) throw new Error(`${c.failed} files failed to convert`);
      break;
    }
    if (now > 900_000) throw new Error(`not all queued after 15 min: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await h.waitFor(() => h.server.store.size >= n, `${n} reports on the server`, 900_000);
  const allUploadedMs = performance.now() - t0;
  await h.stop();
  return {
    n,
    bytes: Math.round(bodies.reduce((s, b) => s + b.length, 0) / n),
    writeMs,
    allSeenMs,
    firstQueuedMs,
    allQueuedMs,
    allUploadedMs,
    raw,
  };
}

/** Latencies (ms) from renaming a file into a watched folder to its hand-over, one at a time. */
export async function benchGate(stableMs: number, files: number): Promise<number[]> {
  const dir = await Deno.makeTempDir({ prefix: "bench-gate-" });
  const drop = path.join(dir, "drop");
  await Deno.mkdir(drop);
  let onReady: (() => void) | null = null;
  const source = new FolderSource({
    name: "bench",
    root: drop,
    pattern: "*",
    recursive: false,
    ignore: [],
    followSymlinks: false,
    exclude: [],
    rescanMs: 5000,
    stableMs,
    emptyFileMs: 60_000,
    onReady: (f) => {
      source.release(f.path);
      onReady?.();
    },
    onEmpty: () => {},
    accepting: () => true,
  });
  await source.start();
  const latencies: number[] = [];
  try {
    for (let i = 0; i < files; i++) {
      await Deno.writeTextFile(path.join(dir, "staged"), `file ${i}`);
      const ready = new Promise<void>((r) => onReady = r);
      const t0 = performance.now();
      await Deno.rename(path.join(dir, "staged"), path.join(drop, `f-${i}.txt`));
      await ready;
      latencies.push(performance.now() - t0);
      await Deno.remove(path.join(drop, `f-${i}.txt`));
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    source.stop();
    await Deno.remove(dir, { recursive: true });
  }
  return latencies;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const ms = (x: number) => `${Math.round(x).toLocaleString("en-US")} ms`;

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { n: { type: "string" }, "gate-files": { type: "string" } },
  });
  const n = Number(values.n ?? 10_000);
  const gateFiles = Number(values["gate-files"] ?? 20);

  console.log(
    `intake benchmark (Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs)`,
  );
  console.log(
    `\n1. burst of ${
      n.toLocaleString("en-US")
    } WSJF files, agent defaults (stable 1 s, rescan 5 s)`,
  );
  const b = await benchBurst(n);
  console.log(
    `  files of ~${b.bytes} B written in          ${ms(b.writeMs).padStart(10)}  ` +
      `(${Math.round(n / (b.writeMs / 1000)).toLocaleString("en-US")} files/s)`,
  );
  console.log(`  all seen after                      ${ms(b.allSeenMs).padStart(10)}`);
  console.log(`  first report queued after           ${ms(b.firstQueuedMs).padStart(10)}`);
  console.log(
    `  all ${n} queued after              ${ms(b.allQueuedMs).padStart(10)}  ` +
      `(${Math.round(n / (b.allQueuedMs / 1000)).toLocaleString("en-US")} files/s overall)`,
  );
  console.log(`  all on the server after             ${ms(b.allUploadedMs).padStart(10)}`);
  console.log(
    `  (yardstick: write+fsync+rename one after another on this disk: ${rate(b.raw)} files/s)`,
  );

  console.log(
    `\n2. stability gate: rename into the folder → handed on (${gateFiles} files, one at a time)`,
  );
  const base = await benchGate(0, gateFiles);
  const gated = await benchGate(1000, gateFiles);
  console.log(
    `  stableSeconds 0:   median ${ms(quantile(base, 0.5))}, p95 ${ms(quantile(base, 0.95))}`,
  );
  console.log(
    `  stableSeconds 1:   median ${ms(quantile(gated, 0.5))}, p95 ${ms(quantile(gated, 0.95))}`,
  );
  console.log(
    `  the gate adds:     ${ms(quantile(gated, 0.5) - quantile(base, 0.5))} (median), ` +
      "i.e. stableSeconds plus one stat and one open; if the watcher lost the file's event, " +
      "add up to rescanSeconds",
  );
  Deno.exit(0);
}
