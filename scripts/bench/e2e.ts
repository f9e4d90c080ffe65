/**
 * End-to-end throughput: reports per second from drop to server acknowledgement for N small
 * WSJF reports through the real agent process and the test server, printed beside the raw rate
 * of write + fsync + rename of the same files on the same disk, measured in the same run.
 * Goal: at least 0.5 × raw.
 *
 * `deno run -A scripts/bench/e2e.ts [--n 1000]`
 *
 * @module
 */
import { parseArgs } from "#util";
import { AgentHarness } from "../../tests/e2e/_harness.ts";
import { makeSampleReports } from "../wats_server/mod.ts";
import { rate, rawWriteFsyncRename } from "./raw_fsync.ts";

/** Runs the benchmark and returns the two rates. */
export async function benchE2e(n: number): Promise<{ e2e: number; raw: number; bytes: number }> {
  await using h = await AgentHarness.create({
    converters: [{ name: "json", format: "wsjf", afterSuccess: "delete" }],
    config: {
      log: { level: "warning" },
      intake: { stableSeconds: 0.1, rescanSeconds: 1 },
      pool: { min: 2, max: 2 },
    },
  });
  const reports = makeSampleReports(n, { seed: 99 });
  const bodies = reports.map((r) => new TextEncoder().encode(JSON.stringify(r)));
  const bytes = Math.round(bodies.reduce((s, b) => s + b.length, 0) / n);
  const raw = await rawWriteFsyncRename(h.dir, bodies);

  await h.start();
  // Stage the files next to the drop folder, then move them all in at once (a burst).
  const stage = `${h.dir}/stage`;
  await Deno.mkdir(stage);
  for (let i = 0; i < n; i++) await Deno.writeFile(`${stage}/${reports[i].sn}.json`, bodies[i]);
  const t0 = performance.now();
  for (const r of reports) await Deno.rename(`${stage}/${r.sn}.json`, `${h.dropDir("json")}/${r.sn}.json`);
  await h.waitFor(() => h.server.stats().reports >= n, `${n} reports on the server`, 600_000);
  const seconds = (performance.now() - t0) / 1000;
  await h.stop();
  return { e2e: n / seconds, raw, bytes };
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { n: { type: "string" } } });
  const n = Number(values.n ?? 1000);
  const r = await benchE2e(n);
  console.log(`e2e benchmark: ${n} WSJF reports of ~${r.bytes} B, drop → server ack`);
  console.log(`  raw write+fsync+rename (same files, same disk)  ${rate(r.raw).padStart(7)} /s`);
  console.log(`  agent end to end (incl. the ${0.1} s stability gate)  ${rate(r.e2e).padStart(7)} /s   ` +
    `${(r.e2e / r.raw).toFixed(2)} × raw (goal ≥ 0.5)`);
}
