/**
 * Queue benchmark: enqueue and dequeue rates next to the raw write+fsync+rename rate on the same
 * disk in the same run; then restart time and memory with 100,000 queued entries, and the time
 * from starting the real agent to its first upload.
 *
 * `deno run -A scripts/bench/queue.ts [--n 2000] [--big 100000] [--dir DIR]`
 * (--dir: a folder on the disk to measure; default a temp folder)
 *
 * @module
 */
import path from "#path";
import { parseArgs } from "#util";
import { Queue } from "../../src/queue/queue.ts";
import { encodeEntry, makeEnvelope, type NewEntry } from "../../src/queue/entry.ts";
import { makeSampleReports, startWatsServer } from "../../wats_test_server/mod.ts";
import { rate, rawWriteFsyncRename } from "./raw_fsync.ts";
import { selfCommand } from "../../src/runtime.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { n: { type: "string" }, big: { type: "string" }, dir: { type: "string" } },
});
const N = Number(values.n ?? 2000);
const BIG = Number(values.big ?? 100_000);
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

// 100,000 queued entries: write them fast (no fsync: this only sets the stage).
const bigDir = path.join(base, "big");
const qd = path.join(bigDir, "queue", "queued");
await Deno.mkdir(qd, { recursive: true });
const server = await startWatsServer({ port: 0, tokens: ["bench"] });
{
  const t0 = performance.now();
  const now = Date.now();
  for (let i = 0; i < BIG; i++) {
    const e = entry(i);
    const key = `${String(now).padStart(13, "0")}-${String(i % 10000).padStart(4, "0")}-${e.id}`;
    const [head, body] = encodeEntry(makeEnvelope(e, new Date(now)), e.body);
    const bytes = new Uint8Array(head.length + body.length);
    bytes.set(head);
    bytes.set(body, head.length);
    await Deno.writeFile(path.join(qd, key + ".json"), bytes);
  }
  console.log(
    `\nset up ${BIG} queued entries in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}
{
  const t0 = performance.now();
  const q = await Queue.open(bigDir);
  const open = performance.now() - t0;
  await q.claim();
  const first = performance.now() - t0;
  await q.loaded();
  const all = performance.now() - t0;
  console.log(
    `  in-process: open ${open.toFixed(0)} ms, first claim ${first.toFixed(0)} ms, all ` +
      `${q.counts().queued + 1} listed and ordered ${all.toFixed(0)} ms`,
  );
}
// The real agent on that data dir: time to first upload, and its memory.
const cfg = path.join(bigDir, "agent.json");
await Deno.writeTextFile(
  cfg,
  JSON.stringify({
    server: { url: server.url, token: "bench" },
    dataDir: ".",
    control: { port: 0 },
    log: { level: "warning" },
    converters: [],
  }),
);
const t0 = performance.now();
const self = selfCommand(["run", "--config", cfg]);
const child = new Deno.Command(self.cmd, {
  args: self.args,
  stdout: "null",
  stderr: "inherit",
}).spawn();
while (server.stats().reports === 0) {
  if (performance.now() - t0 > 60_000) break;
  await new Promise((r) => setTimeout(r, 10));
}
const firstUpload = performance.now() - t0;
await new Promise((r) => setTimeout(r, 3000));
/** RSS in MiB, and the part of it that is mapped files (the executable's code pages). */
const rss = () => {
  const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]);
  return { total: kb("VmRSS") / 1024, files: kb("RssFile") / 1024 };
};
const rss3 = rss();
const uploaded3 = server.stats().reports;
await new Promise((r) => setTimeout(r, 5000));
const rss8 = rss();
const uploaded8 = server.stats().reports;
child.kill("SIGTERM");
await child.status;
await server.stop();
console.log(
  `  agent process with ${BIG} queued: first upload ${firstUpload.toFixed(0)} ms after spawn ` +
    `(goal < 2000 ms; includes Deno start-up)`,
);
console.log(
  `  agent RSS ${rss3.total.toFixed(0)} MiB after 3 s, ${rss8.total.toFixed(0)} MiB after 8 s ` +
    `(goal < 100 MiB; of it ${
      rss8.files.toFixed(0)
    } MiB mapped files, mostly the deno executable); ` +
    `${uploaded3} then ${uploaded8} uploaded (${
      ((uploaded8 - uploaded3) / 5).toFixed(0)
    } /s draining)`,
);
await Deno.remove(base, { recursive: true });
