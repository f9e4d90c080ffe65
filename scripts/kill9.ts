/**
 * The kill -9 torture: feed files to the real agent while it uploads to the test server, kill it
 * with SIGKILL at random moments, restart it, and at the end check that every input report is
 * on the server, none corrupted, and that duplicates are only re-sends of the same report id.
 *
 * `deno run -A scripts/kill9.ts [--kills 200] [--reports 1000] [--seed N]` for a long run; the
 * test suite runs it with 20 kills.
 *
 * @module
 */
import { parseArgs } from "#util";
import { AgentHarness } from "../tests/e2e/_harness.ts";
import { makeSampleReports } from "../wats_test_server/mod.ts";
import { seededRandom } from "../wats_test_server/prng.ts";

/** What a run found. */
export interface KillRunResult {
  kills: number;
  reports: number;
  onServer: number;
  missing: string[];
  corrupted: string[];
  unknownOnServer: string[];
  duplicateReceives: number;
  leftInDrop: number;
  inError: number;
  seconds: number;
}

/** JSON with object keys sorted, so content compares regardless of key order. */
function canonical(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, val) =>
      val && typeof val === "object" && !Array.isArray(val)
        ? Object.fromEntries(
          Object.keys(val).sort().map((k) => [k, (val as Record<string, unknown>)[k]]),
        )
        : val,
  );
}

/** Runs the torture; `log` gets one line per kill. */
export async function runKillTest(opts: {
  kills: number;
  reports: number;
  seed?: number;
  log?: (line: string) => void;
}): Promise<KillRunResult> {
  const t0 = performance.now();
  const seed = opts.seed ?? Date.now() % 1_000_000;
  const random = seededRandom(seed);
  const log = opts.log ?? (() => {});
  await using h = await AgentHarness.create({
    converters: [{ name: "json", format: "wsjf", afterSuccess: "delete" }],
    config: {
      log: { level: "info" },
      intake: { stableSeconds: 0.05, rescanSeconds: 0.5, emptyFileSeconds: 5 },
      server: { concurrency: 4 },
    },
  });
  const reports = makeSampleReports(opts.reports, { seed });
  const perKill = Math.ceil(reports.length / opts.kills);
  let next = 0;
  log(`seed ${seed}: ${reports.length} reports, ${opts.kills} kills, ${perKill} files per round`);
  for (let k = 0; k < opts.kills; k++) {
    await h.start();
    // Drop this round's files in small groups with random gaps, and kill at a random moment.
    const round = reports.slice(next, next + perKill);
    next += round.length;
    const killAfter = random() * 800;
    const started = performance.now();
    let dropped = 0;
    for (const r of round) {
      await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
      dropped++;
      if (random() < 0.3) await new Promise((res) => setTimeout(res, random() * 30));
      if (performance.now() - started > killAfter) break;
    }
    // Files not dropped before the kill are dropped after it (the station keeps writing).
    const rest = round.slice(dropped);
    const wait = killAfter - (performance.now() - started);
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    await h.kill9();
    for (const r of rest) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
    log(
      `kill ${k + 1}/${opts.kills} after ${
        Math.round(killAfter)
      } ms; ${h.server.store.list().length} on server`,
    );
  }
  for (const r of reports.slice(next)) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  // Final run: let it drain, then stop it cleanly.
  await h.start();
  const ids = new Set(reports.map((r) => r.id));
  await h.waitFor(
    async () => {
      if (![...ids].every((id) => h.server.store.get(id))) return false;
      const s = await h.status();
      return s.queue.queued + s.queue.processing + s.queue.error === 0;
    },
    "every report on the server and the queue empty",
    120_000,
  ).catch((e) => log(String(e).slice(0, 400)));
  const status = await h.status();
  await h.stop();

  const missing: string[] = [];
  const corrupted: string[] = [];
  for (const r of reports) {
    const stored = h.server.store.get(r.id);
    if (!stored) {
      missing.push(r.id);
      continue;
    }
    const s = stored.report as Record<string, unknown>;
    if (
      s.sn !== r.sn || s.pn !== r.pn || s.result !== r.result ||
      canonical(s.root) !== canonical(r.root)
    ) {
      corrupted.push(r.id);
    }
  }
  const unknownOnServer = h.server.store.list().map((e) => e.id).filter((id) => !ids.has(id));
  const stats = h.server.stats();
  return {
    kills: opts.kills,
    reports: reports.length,
    onServer: reports.length - missing.length,
    missing,
    corrupted,
    unknownOnServer,
    duplicateReceives: stats.duplicateReceives,
    leftInDrop: (await h.files(h.dropDir("json"))).length,
    inError: status.queue.error + (await h.files(`${h.dropDir("json")}/Error`)).length,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { kills: { type: "string" }, reports: { type: "string" }, seed: { type: "string" } },
  });
  const result = await runKillTest({
    kills: Number(values.kills ?? 100),
    reports: Number(values.reports ?? 500),
    seed: values.seed ? Number(values.seed) : undefined,
    log: (l) => console.log(l),
  });
  console.log(JSON.stringify(result, null, 2));
  const ok = !result.missing.length && !result.corrupted.length && !result.unknownOnServer.length &&
    !result.leftInDrop && !result.inError;
  console.log(ok ? "OK: nothing lost, nothing corrupted" : "FAILED");
  Deno.exit(ok ? 0 : 1);
}
