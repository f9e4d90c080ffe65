/**
 * End-to-end throughput: reports per second from drop to server acknowledgement for N small
 * WSJF reports through the real agent process and the test server, printed beside the raw rate
 * of write + fsync + rename of the same files on the same disk, measured in the same run.
 * Goal: at least 0.5 × raw.
 *
 * The raw rate is measured in the folder where the agent creates its queue entries, right
 * before and right after the agent's run, and the agent is compared with both: the disk is
 * shared and noisy, and on ext4 creating files in a folder gets faster with its later rounds. `--cpu` also prints the CPU time the agent
 * spent per report, by thread (Linux): a number that, unlike the rates, does not depend much on
 * what else runs on the machine.
 *
 * `deno run -A scripts/bench/e2e.ts [--n 1000] [--cpu]`
 *
 * @module
 */
import path from "#path";
import { parseArgs } from "#util";
import { AgentHarness } from "../../tests/e2e/_harness.ts";
import { makeSampleReports } from "../wats_server/mod.ts";
import { rate, rawWriteFsyncRename } from "./raw_fsync.ts";

/** What {@link benchE2e} measured. */
export interface E2eResult {
  /** Reports per second, drop to server acknowledgement. */
  e2e: number;
  /** Raw write+fsync+rename rate before and after the agent's run. */
  rawBefore: number;
  rawAfter: number;
  /** Average report size in bytes. */
  bytes: number;
  /** Agent CPU milliseconds per report by thread kind (Linux only; else empty). */
  cpuMs: Record<string, number>;
  /** Of that CPU time, milliseconds per report spent in the kernel (fsync, renames, sockets). */
  kernelMs: number;
}

/** The agent this benchmark (and the profiler) runs: one WSJF folder, a short gate, 2 workers. */
export const E2E_AGENT = {
  converters: [{ name: "json", format: "wsjf", afterSuccess: "delete" as const }],
  config: {
    log: { level: "warning" },
    intake: { stableSeconds: 0.1, rescanSeconds: 1 },
    pool: { min: 2, max: 2 },
  },
};

/** Runs the benchmark. */
export async function benchE2e(n: number): Promise<E2eResult> {
  await using h = await AgentHarness.create(E2E_AGENT);
  const reports = makeSampleReports(n, { seed: 99 });
  const bodies = reports.map((r) => new TextEncoder().encode(JSON.stringify(r)));
  const bytes = Math.round(bodies.reduce((s, b) => s + b.length, 0) / n);
  // Where the agent creates its queue entries; the files stay until the harness removes its
  // folder (see RawOptions).
  const raw = { tmpDir: path.join(h.dataDir, "queue", "tmp"), keep: true };
  const rawBefore = await rawWriteFsyncRename(h.dir, bodies, raw);

  await h.start();
  // Stage the files next to the drop folder, then move them all in at once (a burst).
  const stage = `${h.dir}/stage`;
  await Deno.mkdir(stage);
  for (let i = 0; i < n; i++) await Deno.writeFile(`${stage}/${reports[i].sn}.json`, bodies[i]);
  const cpu0 = threadCpu(h.pid!);
  const t0 = performance.now();
  for (const r of reports) {
    await Deno.rename(`${stage}/${r.sn}.json`, `${h.dropDir("json")}/${r.sn}.json`);
  }
  await h.waitFor(() => h.server.stats().reports >= n, `${n} reports on the server`, 600_000);
  const seconds = (performance.now() - t0) / 1000;
  const { byKind: cpuMs, kernel: kernelMs } = cpuPerReport(cpu0, threadCpu(h.pid!), n);
  await h.stop();
  const rawAfter = await rawWriteFsyncRename(h.dir, bodies, raw);
  return { e2e: n / seconds, rawBefore, rawAfter, bytes, cpuMs, kernelMs };
}

/** CPU ticks (1/100 s) of each thread of process `pid`, by thread id; empty when unknown. */
function threadCpu(pid: number): Map<string, { kind: string; ticks: number; sys: number }> {
  const out = new Map<string, { kind: string; ticks: number; sys: number }>();
  if (Deno.build.os !== "linux") return out;
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const comm = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/comm`).trim();
      const stat = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const kind = Number(t.name) === pid
        ? "main"
        : comm.startsWith("worker-")
        ? "converter workers"
        : comm.startsWith("tokio")
        ? "I/O threads"
        : comm.startsWith("V8")
        ? "V8 helpers (GC)"
        : "other";
      out.set(t.name, { kind, ticks: Number(f[11]) + Number(f[12]), sys: Number(f[12]) });
    } catch { /* the thread ended */ }
  }
  return out;
}

/** CPU ms per report by thread kind, plus `kernel`: the part of the total spent in the kernel. */
function cpuPerReport(
  before: Map<string, { kind: string; ticks: number; sys: number }>,
  after: Map<string, { kind: string; ticks: number; sys: number }>,
  n: number,
): { byKind: Record<string, number>; kernel: number } {
  const byKind: Record<string, number> = {};
  let kernel = 0;
  for (const [tid, { kind, ticks, sys }] of after) {
    const was = before.get(tid);
    byKind[kind] = (byKind[kind] ?? 0) + (ticks - (was?.ticks ?? 0)) * 10 / n;
    kernel += (sys - (was?.sys ?? 0)) * 10 / n;
  }
  return { byKind, kernel };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { n: { type: "string" }, cpu: { type: "boolean" } },
  });
  const n = Number(values.n ?? 1000);
  const r = await benchE2e(n);
  console.log(`e2e benchmark: ${n} WSJF reports of ~${r.bytes} B, drop → server ack`);
  console.log(
    `  raw write+fsync+rename (same files, same disk)  ${rate(r.rawBefore).padStart(7)} /s ` +
      `before the agent's run, ${rate(r.rawAfter)} /s after`,
  );
  console.log(
    `  agent end to end (incl. the 0.1 s stability gate)  ${rate(r.e2e).padStart(7)} /s   ` +
      `${(r.e2e / r.rawBefore).toFixed(2)} × raw before, ${(r.e2e / r.rawAfter).toFixed(2)} × ` +
      "raw after (goal ≥ 0.5)",
  );
  if (values.cpu) {
    const total = Object.values(r.cpuMs).reduce((a, b) => a + b, 0);
    const parts = Object.entries(r.cpuMs).sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");
    console.log(
      `  agent CPU per report: ${total.toFixed(2)} ms (${parts}); ` +
        `${r.kernelMs.toFixed(2)} ms of it in the kernel`,
    );
  }
}
