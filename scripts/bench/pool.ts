/**
 * Conversion in the agent's workers against in-process: N WSJF reports of ~10 KB (the e2e
 * benchmark's files) converted by `runConversion` on this thread, then through a
 * `ConverterPool` of `--workers` (default 2) with `--concurrency` jobs at once (default 4, as
 * intake keeps several in flight), each as intake asks (bytes transferred, reports handed on in
 * batches). Prints wall and CPU milliseconds per file (user + kernel, whole process), the pool's
 * CPU by thread kind (Linux), and the pool's CPU per file over in-process (the goal: ≤ 1.2).
 *
 * V8 flags are process-wide: the agent runs with `--optimize-for-size` (src/runtime.ts), so
 * measure what its workers get with
 * `deno run -A --v8-flags=--optimize-for-size scripts/bench/pool.ts`.
 *
 * `deno run -A scripts/bench/pool.ts [--n 1500] [--workers 2] [--concurrency 4]`
 *
 * @module
 */
import { parseArgs } from "#util";
import { runConversion } from "../../src/convert/conversion.ts";
import type { ConvertJob } from "../../src/convert/conversion.ts";
import { ConverterPool } from "../../src/convert/pool.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import { station } from "../../tests/convert/_station.ts";
import { EXTRA_STEPS } from "./e2e.ts";
import { type CpuPerReport, cpuPerReport, threadCpu } from "./proc.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    n: { type: "string", default: "1500" },
    workers: { type: "string", default: "2" },
    concurrency: { type: "string", default: "4" },
  },
});
const n = Number(values.n);
const encoder = new TextEncoder();
const files = makeSampleReports(n, { seed: 99, extraNumericSteps: EXTRA_STEPS })
  .map((r) => encoder.encode(JSON.stringify(r)));

function job(i: number): ConvertJob {
  return {
    converter: "json",
    format: "wsjf",
    bytes: files[i].slice(), // transferred to the worker: a copy per job
    name: `unit${i}.json`,
    path: `/drop/unit${i}.json`,
    station,
    params: {},
  };
}

/** Runs `f`; wall ms per file, and CPU ms per file by thread kind (Linux; else empty). */
async function measure(
  f: () => Promise<void>,
): Promise<{ wall: number; cpu: Record<string, CpuPerReport> }> {
  const before = threadCpu(Deno.pid);
  const t0 = performance.now();
  await f();
  const wall = (performance.now() - t0) / n;
  return { wall, cpu: cpuPerReport(before, threadCpu(Deno.pid), n) };
}

/** User and kernel CPU ms per file over all threads, or null where threads can't be read. */
function total(cpu: Record<string, CpuPerReport>): CpuPerReport | null {
  const kinds = Object.values(cpu);
  if (kinds.length === 0) return null;
  return {
    user: kinds.reduce((a, k) => a + k.user, 0),
    kernel: kinds.reduce((a, k) => a + k.kernel, 0),
  };
}

function fail(what: string, o: { ok: boolean }): never {
  throw new Error(`${what}: the sample did not convert: ${JSON.stringify(o).slice(0, 300)}`);
}

const fmt = (m: { wall: number; cpu: Record<string, CpuPerReport> }) => {
  const t = total(m.cpu);
  return `${m.wall.toFixed(3)} ms wall per file` +
    (t
      ? `, CPU ${(t.user + t.kernel).toFixed(3)} ms (user ${t.user.toFixed(3)} + kernel ${
        t.kernel.toFixed(3)
      })`
      : "");
};

// In-process, after a warm-up pass (the workers warm up too: their first job is not counted).
for (let i = 0; i < Math.min(n, 200); i++) await runConversion(job(i));
const inProcess = await measure(async () => {
  for (let i = 0; i < n; i++) {
    const o = await runConversion(job(i));
    if (!o.ok) fail("in-process", o);
  }
});

const workers = Number(values.workers);
const pool = new ConverterPool({
  min: workers,
  max: workers,
  timeoutMs: 60_000,
  memoryMb: 256,
  maxLostWorkers: 3,
});
await Promise.all(Array.from({ length: workers }, (_, i) => pool.convert(job(i))));
let next = 0;
const pooled = await measure(async () => {
  await Promise.all(Array.from({ length: Number(values.concurrency) }, async () => {
    while (next < n) {
      const o = await pool.convert(job(next++), { onBatch: () => Promise.resolve() });
      if (!o.ok) fail("pool", o);
    }
  }));
});
await pool.close();

console.log(`converter pool benchmark: ${n} WSJF files of ~${files[0].length} B`);
console.log(`  in-process            ${fmt(inProcess)}`);
console.log(`  pool of ${workers} (${values.concurrency} at once) ${fmt(pooled)}`);
const split = Object.entries(pooled.cpu).map(([k, c]) => `${k} ${(c.user + c.kernel).toFixed(3)}`);
if (split.length) console.log(`  pool CPU per file by thread: ${split.join(", ")}`);
const [a, b] = [total(inProcess.cpu), total(pooled.cpu)];
if (a && b) {
  console.log(
    `  pool CPU / in-process CPU: ${((b.user + b.kernel) / (a.user + a.kernel)).toFixed(2)} ` +
      "(goal ≤ 1.2)",
  );
}
