/**
 * Queue benchmark: enqueue and dequeue rates next to the raw write+fsync+rename rate on the same
 * disk in the same run. (A restart with a large backlog is scripts/bench/backlog.ts.)
 *
 * `deno run -A scripts/bench/queue.ts [--n 2000] [--dir DIR]`
 * (--dir: a folder on the disk to measure; default a temp folder)
 *
 * @module
 */
import path from "#path";
import { parseArgs } from "#util";
import { Queue } from "../../src/queue/queue.ts";
import type { NewEntry } from "../../src/queue/entry.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import { rate, rawWriteFsyncRename } from "./raw_fsync.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { n: { type: "string" }, dir: { type: "string" } },
});
const N = Number(values.n ?? 2000);
const base = await Deno.makeTempDir({ dir: values.dir, prefix: "bench-queue-" });
const enc = new TextEncoder();

const reports = makeSampleReports(Math.min(N, 500), { seed: 1 });
function entry(i: number): NewEntry {
  const r = reports[i % reports.length];
  const id = crypto.randomUUID();
  return {
    id,
    correlationId: "bench" + i,
    source: `/drop/${i}.json`,
    converter: "bench",
    sourceSha256: "0".repeat(64),
    unit: 0,
    units: 1,
    firstSeen: new Date().toISOString(),
    sn: r.sn,
    pn: r.pn,
    result: r.result,
    body: enc.encode(JSON.stringify({ ...r, id })),
  };
}
const entries = Array.from({ length: N }, (_, i) => entry(i));
const avgBytes = Math.round(entries.reduce((n, e) => n + e.body.length, 0) / N);

console.log(`queue benchmark: ${N} reports of ~${avgBytes} B on ${base}`);
const raw = await rawWriteFsyncRename(base, entries.map((e) => e.body));

const results: [string, number][] = [["raw write+fsync+rename (sequential)", raw]];
{
  const q = await Queue.open(path.join(base, "seq"));
  const t0 = performance.now();
  for (const e of entries) await q.enqueue([e]);
  results.push(["enqueue, one at a time", N / ((performance.now() - t0) / 1000)]);
}
{
  const q = await Queue.open(path.join(base, "conc"));
  const t0 = performance.now();
  let i = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (i < N) await q.enqueue([entries[i++]]);
  }));
  results.push(["enqueue, 8 concurrent (as intake does)", N / ((performance.now() - t0) / 1000)]);
  const t1 = performance.now();
  let n = 0;
  for (let c = await q.claim(); c; c = await q.claim()) {
    await q.readBody(c);
    await q.complete(c.key);
    n++;
  }
  results.push(["dequeue: claim + read + complete", n / ((performance.now() - t1) / 1000)]);
}
for (const [what, r] of results) {
  console.log(`  ${what.padEnd(42)} ${rate(r).padStart(7)} /s   ${(r / raw).toFixed(2)} × raw`);
}

await Deno.remove(base, { recursive: true });
