/**
 * Health that never lies, with the real agent process: each reason is caused for real, seen in
 * GET /health, `agent status` and its exit code, then its cause is removed and it clears.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";
import {
  expectCleared,
  expectReason,
  health,
  logRecords,
  PASSTHROUGH_CONVERTER,
  STUCK_CONVERTER,
  waitLog,
} from "./_ops.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

type Report = ReturnType<typeof makeSampleReports>[number];

async function dropAll(h: AgentHarness, reports: Report[], conv = "json") {
  for (const r of reports) await h.drop(conv, `${r.sn}.json`, JSON.stringify(r));
}

function onServer(h: AgentHarness, reports: Report[]): () => boolean {
  return () => reports.every((r) => h.server.store.get(r.id) !== undefined);
}

Deno.test("health: server down → breaker open and an old backlog (unhealthy); server back → both clear", async () => {
  await using h = await AgentHarness.create({
    config: { health: { oldestQueuedMinutes: 0.05, maxErrorRate: 1 } },
  });
  await h.server.stop();
  await h.start();
  const reports = makeSampleReports(2, { seed: 21 });
  await dropAll(h, reports);
  const text = await expectReason(h, /server unreachable .*circuit breaker open/, "unhealthy");
  assert.match(text, /circuit breaker open/);
  await expectReason(h, /oldest report waiting to upload was queued/, "unhealthy");
  await h.server.start();
  await h.waitFor(onServer(h, reports), "reports uploaded once the server is back");
  await expectCleared(h, /server unreachable|oldest report/, "healthy");
});

Deno.test("health: an idle agent without a server is not healthy: degraded from the start-up check, and again when the server goes away while idle", async () => {
  await using h = await AgentHarness.create({
    config: { server: { checkSeconds: 0.5, breaker: { probeSeconds: 0.5 } } },
  });
  await h.server.stop();
  await h.start();
  // Nothing to upload, so no upload fails and the breaker stays closed: only the check tells.
  await expectReason(h, /can't reach the WATS server/, "degraded");
  await h.server.start();
  await expectCleared(h, /can't reach the WATS server/, "healthy");
  // Idle checks repeat every 0.5 s here; they log only what changes.
  const checks = () => h.server.log.entries().filter((e) => e.path.endsWith("/api/App/Version"));
  const seen = checks().length;
  await h.waitFor(() => checks().length >= seen + 3, "three more idle checks");
  const connected = (await logRecords(h)).filter((l) => l.message.startsWith("Connected to WATS"));
  assert.equal(connected.length, 1, connected.map((l) => l.message).join("\n"));
  await h.server.stop();
  await expectReason(h, /can't reach the WATS server/, "degraded");
  await h.server.start();
  const reports = makeSampleReports(1, { seed: 29 });
  await dropAll(h, reports);
  await h.waitFor(onServer(h, reports), "the report uploaded once the server is back");
  await expectCleared(h, /can't reach the WATS server/, "healthy");
});

Deno.test("health: token rejected (unhealthy, uploads paused); a config edit with the right token clears it", async () => {
  await using h = await AgentHarness.create();
  const good = h.token;
  const bad = "wrong-token-" + crypto.randomUUID();
  (h.config.server as Record<string, unknown>).token = bad;
  await h.writeConfig();
  await h.start();
  const reports = makeSampleReports(2, { seed: 22 });
  await dropAll(h, reports);
  const text = await expectReason(h, /uploads paused: token rejected.*401/, "unhealthy");
  assert.ok(!text.includes(bad), "agent status never prints the token");
  (h.config.server as Record<string, unknown>).token = good;
  await h.writeConfig();
  await h.waitFor(onServer(h, reports), "reports uploaded after the token was fixed");
  await expectCleared(h, /token rejected/, "healthy");
});

Deno.test("health: nothing uploaded for N minutes while reports wait (a hanging server, no errors) → unhealthy; clears when they land", async () => {
  await using h = await AgentHarness.create({
    config: { server: { timeoutSeconds: 60 }, health: { stallMinutes: 0.05 } },
  });
  // Every report upload hangs 15 s, then is stored: no error, no open breaker, just no progress.
  h.server.setFaults({ next: ["slow:15000", "slow:15000"] });
  await h.start();
  const reports = makeSampleReports(2, { seed: 23 });
  await dropAll(h, reports);
  const text = await expectReason(
    h,
    /nothing uploaded for [\d.]+ min while 2 report\(s\) wait/,
    "unhealthy",
  );
  assert.match(
    text,
    /circuit breaker closed/,
    "the stall is the only signal: the breaker is closed",
  );
  const hh = await health(h);
  assert.equal(hh.reasons.length, 1, `the stall alone: ${hh.reasons.join("; ")}`);
  await h.waitFor(onServer(h, reports), "the slow uploads land", 30_000);
  await expectCleared(h, /nothing uploaded/, "healthy");
});

Deno.test("health: upload error rate above the limit → degraded; successes bring it back under", async () => {
  await using h = await AgentHarness.create({
    config: {
      server: { breaker: { failures: 1000, probeSeconds: 0.5 } },
      health: { maxErrorRate: 0.5 },
    },
  });
  h.server.setFaults({ p5xx: 1, statuses5xx: [500] });
  await h.start();
  const reports = makeSampleReports(2, { seed: 24 });
  await dropAll(h, reports);
  await expectReason(
    h,
    /\d+% of \d+ uploads failed in the last 5 min \(last: the server answered HTTP 500/,
    "degraded",
  );
  h.server.clearFaults();
  await h.waitFor(onServer(h, reports), "the failing reports go through once the server is fixed");
  const s = await h.status();
  const failed = Math.round(s.upload.errorRate5m * s.upload.attempts5m);
  // Enough good uploads that failures are no longer the majority of the last 5 minutes.
  const more = makeSampleReports(failed + 2, { seed: 124 });
  await dropAll(h, more);
  await h.waitFor(onServer(h, more), `${more.length} more reports uploaded`, 30_000);
  await expectCleared(h, /uploads failed in the last 5 min/, "healthy");
});

Deno.test("health: queue full (queue.maxReports, server down) pauses intake → degraded; uploads make room → clears", async () => {
  await using h = await AgentHarness.create({
    config: { queue: { maxReports: 3 }, health: { maxErrorRate: 1 } },
  });
  await h.server.stop();
  await h.start();
  const reports = makeSampleReports(5, { seed: 25 });
  await dropAll(h, reports.slice(0, 3));
  await expectReason(
    h,
    /intake paused: queue full: \d+ reports waiting \(queue\.maxReports is 3\)/,
    "unhealthy",
  );
  await waitLog(
    h,
    (rs) => rs.some((r) => r.level === "ERROR" && /queue full/.test(r.message)),
    "queue full, as an ERROR",
  );
  await dropAll(h, reports.slice(3));
  await h.waitForRescans(2);
  const waiting = await h.files(h.dropDir("json"));
  assert.equal(
    waiting.length,
    2,
    `the 2 files dropped while full wait in the drop folder: ${waiting}`,
  );
  await h.server.start();
  await h.waitFor(onServer(h, reports), "all 5 reports uploaded after the queue made room", 30_000);
  await expectCleared(h, /queue full/, "healthy");
});

Deno.test("health: disk space low (queue.minFreeDiskMb above the free space) → degraded; lowering it by a config edit clears it", async () => {
  await using h = await AgentHarness.create({ config: { queue: { minFreeDiskMb: 1e12 } } });
  await h.start();
  const reports = makeSampleReports(1, { seed: 26 });
  await dropAll(h, reports);
  await expectReason(
    h,
    /intake paused: disk space low: \d+ MB free .*queue\.minFreeDiskMb is 1000000000000/,
    "degraded",
  );
  assert.deepEqual(await h.files(h.dropDir("json")), [`${reports[0].sn}.json`], "the file waits");
  h.config.queue = { minFreeDiskMb: 0 };
  await h.writeConfig();
  await h.waitFor(onServer(h, reports), "the waiting file is taken and uploaded");
  await expectCleared(h, /disk space low/, "healthy");
});

Deno.test("health: intake paused by a person (POST /pause, token needed) → degraded; POST /resume clears it", async () => {
  await using h = await AgentHarness.create();
  await h.start();
  assert.equal((await h.control("/pause", { method: "POST" })).status, 401, "no token, no pause");
  assert.equal((await h.control("/pause", { method: "POST", auth: true })).status, 200);
  await expectReason(h, /intake paused: paused by a person/, "degraded");
  const [r] = makeSampleReports(1, { seed: 27 });
  await dropAll(h, [r]);
  await h.waitForRescans(2);
  assert.equal(h.server.store.get(r.id), undefined, "nothing taken while paused");
  assert.equal((await h.control("/resume", { method: "POST", auth: true })).status, 200);
  await h.waitFor(onServer(h, [r]), "the file is taken after resume");
  await expectCleared(h, /intake paused/, "healthy");
});

Deno.test("health: a watch folder missing → degraded; created again → clears and its files flow", async () => {
  await using h = await AgentHarness.create();
  await h.start();
  await Deno.remove(h.dropDir("json"), { recursive: true });
  await expectReason(h, /watch folder missing: .*drop[\\/]json/, "degraded");
  await Deno.mkdir(h.dropDir("json"));
  const [r] = makeSampleReports(1, { seed: 28 });
  await dropAll(h, [r]);
  await h.waitFor(onServer(h, [r]), "a file in the re-created folder is uploaded");
  await expectCleared(h, /watch folder missing/, "healthy");
});

Deno.test("health: a converter that can't be loaded (files can't be converted) → unhealthy; fixing its module clears it", async () => {
  await using h = await AgentHarness.create({
    converters: [{ name: "custom", module: "./conv/passthrough.js" }],
  });
  await h.start();
  const [r] = makeSampleReports(1, { seed: 29 });
  await dropAll(h, [r], "custom");
  await expectReason(h, /converter custom can't be loaded: .*passthrough\.js/, "unhealthy");
  assert.deepEqual(
    await h.files(h.dropDir("custom")),
    [`${r.sn}.json`],
    "the file stays in the drop folder",
  );
  await Deno.mkdir(path.join(h.dir, "conv"));
  await Deno.writeTextFile(path.join(h.dir, "conv", "passthrough.js"), PASSTHROUGH_CONVERTER);
  await h.waitFor(
    onServer(h, [r]),
    "the file converted and uploaded once the module exists",
    30_000,
  );
  await expectCleared(h, /can't be loaded/, "healthy");
});

Deno.test("health: converter pool can't recover (a stuck worker) → exits 75; status then says why (unhealthy, exit 2); a fixed restart clears it", async () => {
  await using h = await AgentHarness.create({
    converters: [{ name: "custom", module: "./conv/stuck.js" }],
    config: { pool: { min: 1, max: 1, timeoutSeconds: 1, maxLostWorkers: 1 } },
  });
  await Deno.mkdir(path.join(h.dir, "conv"));
  const module = path.join(h.dir, "conv", "stuck.js");
  await Deno.writeTextFile(module, STUCK_CONVERTER);
  await h.start();
  const [r] = makeSampleReports(1, { seed: 30 });
  await dropAll(h, [r], "custom");
  assert.equal(await h.exited(30_000), 75, "the agent exits with the restart code");
  const out = await h.cli(["status", "--config", h.configFile]);
  assert.equal(out.code, 2, out.stdout + out.stderr);
  assert.match(out.stdout, /not running/);
  assert.match(
    out.stdout,
    /stopped itself last time: converters can't run: 1 converter worker\(s\) are stuck/,
  );
  // What the service manager does: start it again (here with the converter fixed, and a time
  // limit that a loaded machine can't overrun).
  await Deno.writeTextFile(module, PASSTHROUGH_CONVERTER);
  h.config.pool = { min: 1, max: 1, timeoutSeconds: 30, maxLostWorkers: 1 };
  await h.writeConfig();
  await h.start();
  const [next] = makeSampleReports(1, { seed: 130 });
  await dropAll(h, [next], "custom");
  await h.waitFor(onServer(h, [next]), "a file converted after the restart", 30_000);
  // The file that hung is in Error, and that failure is remembered across the restart: it is
  // all that is left (degraded until it is an hour old).
  await expectCleared(h, /stopped itself|converters can't run/, "degraded");
  const { health: after } = await h.status();
  assert.equal(after.reasons.length, 1, after.reasons.join("\n"));
  assert.match(after.reasons[0], /1 file\(s\) failed to convert in the last hour/);
});

Deno.test("health: a file that can't be converted → degraded; the fixed file dropped again under its name clears it", async () => {
  await using h = await AgentHarness.create();
  await h.start();
  await h.drop("json", "unit-7.json", '{ "type": "T", "sn": "7", ');
  await expectReason(h, /1 file\(s\) failed to convert in the last hour/, "degraded");
  const [fixed] = makeSampleReports(1, { seed: 31 });
  await h.drop("json", "unit-7.json", JSON.stringify(fixed));
  await h.waitFor(onServer(h, [fixed]), "the fixed file uploaded");
  await expectCleared(h, /failed to convert/, "healthy");
});

Deno.test("health: reports rejected by the server wait for a person → degraded; fixed and requeued → clears", async () => {
  await using h = await AgentHarness.create();
  const [r] = makeSampleReports(1, { seed: 31 });
  h.server.setFaults({
    rules: [{ sn: r.sn, fault: { kind: "status", status: 400, message: "Unknown process code" } }],
  });
  await h.start();
  await dropAll(h, [r]);
  const text = await expectReason(
    h,
    /1 report\(s\) rejected by the server wait for a person/,
    "degraded",
  );
  assert.match(text, new RegExp(`${r.sn}\\.json: .*rejected.*400.*Unknown process code`));
  h.server.clearFaults();
  const flush = await h.cli(["flush", "--errors", "--config", h.configFile]);
  assert.equal(flush.code, 0, flush.stdout + flush.stderr);
  assert.ok(h.server.store.get(r.id));
  await expectCleared(h, /rejected/, "healthy");
});

Deno.test(
  "status: exit 3 (cannot tell) when the agent holds the data directory but does not answer",
  {
    // SIGSTOP/SIGCONT freeze the agent: POSIX only.
    ignore: Deno.build.os === "windows",
  },
  async () => {
    await using h = await AgentHarness.create();
    await h.start();
    Deno.kill(h.pid!, "SIGSTOP");
    try {
      const out = await h.cli(["status", "--config", h.configFile]);
      assert.equal(out.code, 3, out.stdout + out.stderr);
      assert.match(
        out.stderr,
        /cannot tell: an agent holds .* but its control endpoint .* does not answer/,
      );
      const json = await h.cli(["status", "--json", "--config", h.configFile]);
      assert.equal(json.code, 3);
      assert.equal(JSON.parse(json.stdout).health, null);
    } finally {
      Deno.kill(h.pid!, "SIGCONT");
    }
    assert.equal((await h.cli(["status", "--config", h.configFile])).code, 0);
  },
);
