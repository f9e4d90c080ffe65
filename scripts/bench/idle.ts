/**
 * The agent at rest: threads and resident memory of the real agent process with the demo's
 * three converters (WSJF, WSTF and CSV drop folders) and the default intake, pool and log
 * settings, against the test server, after `--seconds` with nothing to do. A second phase
 * drops a WSJF and a WSTF file and looks again once their reports are answered by the server (a converter
 * worker is then alive until the pool retires it, 300 s later by default); a third drops 500
 * WSJF files at once and looks again once they are uploaded.
 *
 * Goals (issue #13): idle RSS ≤ 60 MiB, threads when idle ≤ 8.
 *
 * `deno run -A scripts/bench/idle.ts [--seconds 30]`
 *
 * @module
 */
import { parseArgs } from "#util";
import { MALLOC_ENV } from "../../src/service/malloc.ts";
import { AgentHarness } from "../../tests/e2e/_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import { peakRss, rssNow, type RssSample, sampleRss, threadNames } from "./proc.ts";

/** WSJF files dropped at once in the third phase. */
const BURST = 500;

/** What one look at the resting agent saw. */
interface Rest {
  threads: string[] | null;
  rss: RssSample | null;
  /** The largest RSS sampled (once a second) while waiting. */
  maxRss: RssSample | null;
}

/** Waits `seconds`, sampling RSS once a second, then looks at threads and RSS. */
async function rest(pid: number, seconds: number): Promise<Rest> {
  const sampler = sampleRss(pid, 1000);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return { threads: threadNames(pid), rss: rssNow(pid), maxRss: sampler.stop() };
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { seconds: { type: "string" } } });
  const seconds = Number(values.seconds ?? 30);
  await using h = await AgentHarness.create({
    converters: [
      { name: "wsjf-drop", format: "wsjf", pattern: "*.json" },
      { name: "wstf-drop", format: "wstf", pattern: "*.txt", params: { decimalSeparator: "," } },
      { name: "csv-drop", format: "csv", pattern: "*.csv", params: { processCode: 10 } },
    ],
    // The harness's quick test settings, set back to the defaults.
    config: {
      log: { level: "info" },
      intake: { stableSeconds: 1, rescanSeconds: 5, emptyFileSeconds: 60 },
      pool: { min: 0, max: Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 2)) },
    },
  });
  await h.start({ ...MALLOC_ENV }); // as the systemd unit starts it
  const atStart = await rest(h.pid!, seconds);

  const [report] = makeSampleReports(1, { seed: 7 });
  await h.drop("wsjf-drop", "a.json", JSON.stringify(report));
  await h.drop(
    "wstf-drop",
    "a.txt",
    await Deno.readTextFile(
      new URL("../../tests/fixtures/convert/wstf/two-units.txt", import.meta.url),
    ),
  );
  // The test server knows no WSTF process code: those two are answered 400, which is enough.
  const answered = () => (h.output.match(/Uploaded report|rejected by the server/g) ?? []).length;
  await h.waitFor(() => answered() >= 3, "3 reports answered by the server", 60_000);
  const afterWork = await rest(h.pid!, seconds);
  // A burst: the runtime starts more I/O threads while many files are in flight.
  const burst = makeSampleReports(BURST, { seed: 8 });
  for (const r of burst) await h.drop("wsjf-drop", `${r.sn}.json`, JSON.stringify(r));
  await h.waitFor(
    () => h.server.store.totalReceives >= 1 + BURST,
    "the burst on the server",
    120_000,
  );
  const afterBurst = await rest(h.pid!, seconds);
  const peak = peakRss(h.pid!);
  await h.stop();

  const mib = (s: RssSample | null) =>
    s
      ? `${s.total.toFixed(0)} MiB (${s.anon.toFixed(0)} anonymous + ${
        s.files.toFixed(0)
      } mapped files)`
      : "?";
  const threads = (t: string[] | null) => {
    if (!t) return "?";
    const byName = new Map<string, number>();
    for (const n of t) byName.set(n, (byName.get(n) ?? 0) + 1);
    return `${t.length} (${[...byName].map(([n, k]) => k > 1 ? `${n} ×${k}` : n).join(", ")})`;
  };
  console.log(`idle benchmark: the demo's three converters, default intake/pool/log settings`);
  for (
    const [what, r] of [
      ["after start", atStart],
      ["after two files", afterWork],
      [`after ${BURST} more`, afterBurst],
    ] as const
  ) {
    console.log(
      `  ${what}, ${seconds} s idle: threads ${threads(r.threads)} (goal ≤ 8); RSS ${
        mib(r.rss)
      }, ` +
        `max while idle ${mib(r.maxRss)} (goal ≤ 60 MiB)`,
    );
  }
  console.log(`  peak RSS since start ${peak?.toFixed(0) ?? "?"} MiB`);
}
