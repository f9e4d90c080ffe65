/**
 * The spine, end to end with the real agent process and the real test server: a dropped file
 * reaches the server exactly once, the source is handled, and `agent status` shows it.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

Deno.test("spine: dropped WSJF files reach the server once each, sources handled, status shows them", async () => {
  await using h = await AgentHarness.create({
    converters: [
      { name: "json", format: "wsjf", afterSuccess: "delete" },
      { name: "moved", format: "wsjf", afterSuccess: "move", recursive: true },
    ],
  });
  await h.start();
  const reports = makeSampleReports(4, { seed: 7 });
  for (const r of reports.slice(0, 3)) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  await h.drop("moved", "sub/dir/last.json", JSON.stringify(reports[3]));
  await h.waitFor(
    () => reports.every((r) => h.server.store.get(r.id)),
    "all 4 reports on the server",
  );

  for (const r of reports) {
    const stored = h.server.store.get(r.id)!;
    assert.equal(stored.receiveCount, 1, `report ${r.id} received once`);
    assert.equal(stored.report.sn, r.sn);
    assert.equal(stored.report.pn, r.pn);
    assert.equal(stored.report.machineName, r.machineName, "the file's station name is kept");
  }
  const log = h.server.log.entries().filter((e) => e.path.endsWith("/api/Report/WSJF"));
  assert.ok(
    log.every((e) => e.authorization === `Basic ${h.token}`),
    "token sent as given after Basic",
  );

  await h.waitFor(async () => (await h.files(h.dropDir("json"))).length === 0, "sources deleted");
  const done = path.join(h.dropDir("moved"), "Done", "sub", "dir", "last.json");
  await h.waitFor(
    () => Deno.stat(done).then(() => true, () => false),
    "source moved to Done/sub/dir",
  );

  await h.waitFor(async () => (await h.status()).queue.completed === 4, "status shows 4 completed");
  const s = await h.status();
  assert.equal(s.running, true);
  assert.equal(s.exitCode, 0);
  assert.deepEqual(s.health, { state: "healthy", reasons: [] });
  assert.equal(s.queue.queued, 0);
  assert.equal(s.queue.error, 0);
  const json = s.converters.find((c: { name: string }) => c.name === "json");
  assert.equal(json.converted, 3);

  assert.equal(await h.stop(), 0, "SIGTERM stops it with exit 0");
  const offline = await h.status();
  assert.equal(offline.running, false);
  assert.equal(
    offline.queue.completed,
    4,
    "status reads the data directory when the agent is not running",
  );
  assert.equal(offline.health.state, "unhealthy");
  assert.equal(offline.exitCode, 2);
});

Deno.test("spine: server down → files stay queued and status says why; after it starts, flush empties the queue", async () => {
  await using h = await AgentHarness.create();
  await h.server.stop();
  await h.start();
  const reports = makeSampleReports(6, { seed: 11 });
  for (const r of reports) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  await h.waitFor(async () => {
    const s = await h.status();
    return s.queue.queued + s.queue.error === 6 && s.upload.breaker !== "closed";
  }, "6 reports waiting with the breaker open");
  const s = await h.status();
  assert.equal(s.health.state, "unhealthy");
  assert.equal(s.exitCode, 2);
  assert.ok(
    s.health.reasons.some((r: string) => /server unreachable/.test(r)),
    s.health.reasons.join("; "),
  );

  const down = await h.cli(["flush", "--config", h.configFile, "--timeout", "3"]);
  assert.equal(down.code, 1, "flush fails while the server is down");
  assert.match(down.stderr, /server unreachable|not finished/);

  await h.server.start();
  const up = await h.cli(["flush", "--config", h.configFile, "--json", "--timeout", "30"]);
  const result = JSON.parse(up.stdout);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  assert.equal(result.flushed, true);
  for (const r of reports) assert.equal(h.server.store.get(r.id)?.report.sn, r.sn);
});

Deno.test("spine: flush with no agent running uploads in-process", async () => {
  await using h = await AgentHarness.create();
  await h.server.stop();
  await h.start();
  const reports = makeSampleReports(3, { seed: 12 });
  for (const r of reports) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  await h.waitFor(async () =>
    (await h.status()).queue.completed + (await h.status()).queue.queued +
        (await h.status()).queue.error === 3, "3 reports queued");
  assert.equal(await h.stop(), 0);
  await h.server.start();
  const r = await h.cli(["flush", "--config", h.configFile]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Queue empty: 3 report\(s\) uploaded \(in-process\)/);
  for (const rep of reports) assert.ok(h.server.store.get(rep.id));
});

Deno.test("spine: an invalid JSON drop file ends in Error with a reason beside it; others still flow", async () => {
  await using h = await AgentHarness.create();
  await h.start();
  await h.drop("json", "broken.json", '{"type": "T", "id": ');
  const [good] = makeSampleReports(1, { seed: 3 });
  await h.drop("json", "good.json", JSON.stringify(good));
  await h.waitFor(() => h.server.store.get(good.id) !== undefined, "the good report on the server");
  const errDir = path.join(h.dropDir("json"), "Error");
  await h.waitFor(
    () => h.inError(errDir, "broken.json"),
    "broken.json in Error",
  );
  const reason = await Deno.readTextFile(path.join(errDir, "broken.json.error.txt"));
  assert.match(reason, /What happened: .*JSON/);
  assert.match(reason, /What to do: /);
  // Recorded for status once the move is finished (the file shows up in Error a moment before).
  let s = await h.status();
  await h.waitFor(async () => {
    s = await h.status();
    return s.recentErrors.some((e: { file: string }) => e.file.endsWith("broken.json"));
  }, "broken.json among the recent errors");
  assert.equal(s.health.state, "degraded");
});
