/**
 * A station back online after weeks: the real agent restarted on a data folder holding a large
 * backlog (1,000,000 queued reports by default, `queue.maxReports` raised to match), draining
 * to the local WATS-compatible server.
 *
 * Goals (issue #13): first upload ≤ 2 s after start, RSS ≤ 100 MiB while draining, drain ≥
 * 1,000 reports/s, `GET /status` ≤ 50 ms at that size. Printed: time to first upload (from
 * spawn, Deno's start-up included), the drain rate over a window, RSS (now and peak) through
 * it, /status latency (median and max of polls during the drain), and the CPU per uploaded
 * report. The backlog is not drained to the end (that is n / rate seconds); `--drain-seconds`
 * sets the window.
 *
 * `deno run -A scripts/bench/backlog.ts [--n 1000000] [--drain-seconds 30] [--dir DIR]
 * [--v8-flags=--optimize-for-size]` (`--v8-flags` replaces the agent's own, from source only)
 *
 * @module
 */
import path from "#path";
import { parseArgs } from "#util";
import { encodeEntry, makeEnvelope } from "../../src/queue/entry.ts";
import { makeSampleReports, startWatsServer } from "../../wats_test_server/mod.ts";
import { MALLOC_ENV } from "../../src/service/malloc.ts";
import { selfCommand } from "../../src/runtime.ts";
import { peakRss, rssNow } from "./proc.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    n: { type: "string" },
    "drain-seconds": { type: "string" },
    dir: { type: "string" },
    "v8-flags": { type: "string" },
  },
});
const N = Number(values.n ?? 1_000_000);
const DRAIN_SECONDS = Number(values["drain-seconds"] ?? 30);
const base = await Deno.makeTempDir({ dir: values.dir, prefix: "bench-backlog-" });
const enc = new TextEncoder();

// The backlog, written fast (no fsync: this only sets the stage), in the queue's entry format
// and key order: `<ms>-<seq>-<id>.json`, the oldest first.
const qd = path.join(base, "queue", "queued");
await Deno.mkdir(qd, { recursive: true });
const samples = makeSampleReports(200, { seed: 7 });
let bodyBytes = 0;
{
  const t0 = performance.now();
  const start = Date.now() - N; // one per ms, in the past
  for (let i = 0; i < N; i++) {
    const r = samples[i % samples.length];
    const id = crypto.randomUUID();
    const body = enc.encode(JSON.stringify({ ...r, id, sn: `${r.sn}-${i}` }));
    bodyBytes += body.length;
    const at = new Date(start + i);
    const envelope = makeEnvelope({
      id,
      correlationId: "backlog" + i,
      source: `/drop/${i}.json`,
      converter: "bench",
      sourceSha256: "0".repeat(64),
      unit: 0,
      units: 1,
      firstSeen: at.toISOString(),
      sn: r.sn,
      pn: r.pn,
      result: r.result,
      body,
    }, at);
    const [head] = encodeEntry(envelope, body);
    const bytes = new Uint8Array(head.length + body.length);
    bytes.set(head);
    bytes.set(body, head.length);
    const key = `${String(at.getTime()).padStart(13, "0")}-${String(i % 10000).padStart(4, "0")}`;
    Deno.writeFileSync(path.join(qd, `${key}-${id}.json`), bytes);
  }
  console.log(
    `backlog benchmark: ${N} queued reports of ~${Math.round(bodyBytes / N)} B set up in ` +
      `${((performance.now() - t0) / 1000).toFixed(0)} s on ${base}`,
  );
}

const server = await startWatsServer({ port: 0, tokens: ["bench"], keepBodies: false });
const cfg = path.join(base, "agent.json");
await Deno.writeTextFile(
  cfg,
  JSON.stringify({
    server: { url: server.url, token: "bench" },
    dataDir: ".",
    control: { port: 0 },
    log: { level: "warning" },
    queue: { maxReports: N + 100_000 },
    converters: [],
  }),
);

const self = selfCommand(["run", "--config", cfg]);
if (values["v8-flags"] !== undefined) {
  self.args = self.args.filter((a) => !a.startsWith("--v8-flags="));
  if (values["v8-flags"]) self.args.splice(1, 0, `--v8-flags=${values["v8-flags"]}`);
}
const t0 = performance.now();
// The environment the systemd unit gives it.
const child = new Deno.Command(self.cmd, {
  args: self.args,
  env: { ...MALLOC_ENV },
  stdout: "null",
  stderr: "inherit",
}).spawn();
const received = () => server.stats().receives;
while (received() === 0) {
  if (performance.now() - t0 > 120_000) throw new Error("no upload within 120 s");
  await new Promise((r) => setTimeout(r, 5));
}
const firstUpload = performance.now() - t0;

/** The process's RSS and peak RSS (MiB), and its CPU ticks so far (Linux /proc). */
const proc = () => {
  const stat = Deno.readTextFileSync(`/proc/${child.pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    ...rssNow(child.pid)!,
    peak: peakRss(child.pid)!,
    ticks: Number(f[11]) + Number(f[12]),
  };
};

// The control endpoint's port, once the agent has written it (it may upload before that).
let info: { port: number } | null = null;
while (info === null) {
  try {
    info = JSON.parse(await Deno.readTextFile(path.join(base, "control.json")));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound) || performance.now() - t0 > 120_000) throw e;
    await new Promise((r) => setTimeout(r, 20));
  }
}
const statusMs: number[] = [];
let maxRss = { total: 0, anon: 0, files: 0 };
const rates: number[] = [];
const d0 = { at: performance.now(), n: received(), ticks: proc().ticks };
while (performance.now() - d0.at < DRAIN_SECONDS * 1000) {
  const before = received();
  await new Promise((r) => setTimeout(r, 500));
  rates.push((received() - before) * 2);
  const p = proc();
  if (p.total > maxRss.total) maxRss = p;
  const s0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${info!.port}/status`);
  await res.arrayBuffer();
  statusMs.push(performance.now() - s0);
}
const d1 = { at: performance.now(), n: received(), ticks: proc().ticks };
const end = proc();
child.kill("SIGTERM");
await child.status;
await server.stop();

const drained = d1.n - d0.n;
const rate = drained / ((d1.at - d0.at) / 1000);
statusMs.sort((a, b) => a - b);
const ms = (x: number) => `${x.toFixed(0)} ms`;
console.log(`  first upload ${ms(firstUpload)} after spawn (goal ≤ 2000 ms)`);
console.log(
  `  drain ${rate.toFixed(0)} reports/s over ${DRAIN_SECONDS} s (goal ≥ 1000), ` +
    `${((d1.ticks - d0.ticks) * 10 / Math.max(1, drained)).toFixed(2)} ms agent CPU per report`,
);
const third = Math.floor(rates.length / 3);
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
console.log(
  `  drain rate by third of the window: ${
    [rates.slice(0, third), rates.slice(third, 2 * third), rates.slice(2 * third)]
      .map((xs) => avg(xs).toFixed(0)).join(", ")
  } reports/s`,
);
console.log(
  `  RSS while draining: max ${maxRss.total.toFixed(0)} MiB (anonymous ${
    maxRss.anon.toFixed(0)
  }, mapped files ${maxRss.files.toFixed(0)}), peak since start ${
    end.peak.toFixed(0)
  } MiB (goal ≤ 100 MiB)`,
);
console.log(
  `  GET /status: median ${ms(statusMs[statusMs.length >> 1])}, max ${
    ms(statusMs[statusMs.length - 1])
  } over ${statusMs.length} polls (goal ≤ 50 ms)`,
);
await Deno.remove(base, { recursive: true });
