/**
 * Config hot reload with the real process: a valid edit is applied without a restart (new
 * converters start, removed ones stop) and saved as the last good copy; an invalid edit is
 * rejected with the reason (log, health, status) while the last good config keeps running.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness, type HarnessConverter } from "./_harness.ts";
import { expectCleared, expectReason, type LogLine, waitLog } from "./_ops.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

const lastGood = (h: AgentHarness) => path.join(h.dataDir, "agent.json.last-good");

Deno.test("reload: a new converter starts and a removed one stops, without a restart", async () => {
  await using h = await AgentHarness.create({ converters: [{ name: "json", format: "wsjf" }] });
  await h.start();
  const pid = h.pid;
  assert.equal(
    JSON.parse(await Deno.readTextFile(lastGood(h))).converters.length,
    1,
    "start-up saves a last good copy",
  );
  if (Deno.build.os !== "windows") {
    assert.equal((await Deno.stat(lastGood(h))).mode! & 0o777, 0o600);
  }

  const convs = h.config.converters as HarnessConverter[];
  convs.push({
    name: "extra",
    format: "wsjf",
    watch: "./drop/extra",
    pattern: "*",
    afterSuccess: "delete",
  });
  await Deno.mkdir(path.join(h.dir, "drop", "extra"));
  await h.writeConfig();
  await h.waitFor(
    async () => (await h.status()).converters.some((c: { name: string }) => c.name === "extra"),
    "extra listed",
  );
  const [a, b] = makeSampleReports(2, { seed: 51 });
  await h.drop("extra", "a.json", JSON.stringify(a));
  await h.waitFor(
    () => h.server.store.get(a.id) !== undefined,
    "a file in the new converter's folder is uploaded",
  );

  const jsonDir = h.dropDir("json");
  h.config.converters = convs.filter((c) => c.name !== "json");
  await h.writeConfig();
  await h.waitFor(
    async () => !(await h.status()).converters.some((c: { name: string }) => c.name === "json"),
    "json gone",
  );
  await Deno.writeTextFile(path.join(h.dir, "b.tmp"), JSON.stringify(b));
  await Deno.rename(path.join(h.dir, "b.tmp"), path.join(jsonDir, "b.json"));
  await new Promise((r) => setTimeout(r, 2500)); // two rescans of a folder nobody watches now
  assert.equal(h.server.store.get(b.id), undefined, "the removed converter takes nothing");
  assert.deepEqual(await h.files(jsonDir), ["b.json"]);

  assert.equal(h.pid, pid, "same process");
  const has = (re: RegExp) => (rs: LogLine[]) => rs.some((r) => re.test(r.message));
  await waitLog(h, has(/Converter "?json"? stopped/), "the stop of converter json");
  await waitLog(h, has(/Config reloaded/), "the reload");
  const saved = JSON.parse(await Deno.readTextFile(lastGood(h)));
  assert.deepEqual(
    saved.converters.map((c: { name: string }) => c.name),
    ["extra"],
    "the last good copy follows valid edits",
  );
});

Deno.test("reload: an invalid edit is rejected with its reason; the last good config keeps running; fixing it clears", async () => {
  await using h = await AgentHarness.create();
  await h.start();
  const good = await Deno.readTextFile(h.configFile);

  // 1. Not even JSON.
  await h.writeConfig(good.replace('"converters"', '"converters" oops'));
  const text = await expectReason(
    h,
    /config edit rejected, the last good config keeps running: line \d+, column \d+/,
    "degraded",
  );
  assert.match(text, /config edit rejected/);
  const [a, b] = makeSampleReports(2, { seed: 52 });
  await h.drop("json", "a.json", JSON.stringify(a));
  await h.waitFor(() => h.server.store.get(a.id) !== undefined, "still converting and uploading");
  assert.equal(await Deno.readTextFile(lastGood(h)), good, "the last good copy is untouched");

  // 2. Valid JSON, wrong value: the reason names the key, what was expected and what was found.
  const bad = structuredClone(h.config) as { converters: Record<string, unknown>[] };
  bad.converters[0].afterSuccess = "shred";
  await h.writeConfig(JSON.stringify(bad, null, 2));
  await expectReason(
    h,
    /config edit rejected.*converters\[0\]\.afterSuccess: expected one of .*"delete".*found "shred"/,
    "degraded",
  );
  const rejectedEdits = (rs: LogLine[]) => rs.filter((r) => /Config edit rejected/.test(r.message));
  const records = await waitLog(h, (rs) => rejectedEdits(rs).length >= 2, "both rejected edits");
  assert.ok(rejectedEdits(records).every((r) => r.level === "ERROR"), "logged as errors");

  // 3. Fixed: applied, and the reason clears.
  h.config.converters = [{
    ...(h.config.converters as HarnessConverter[])[0],
    afterSuccess: "keep",
  }];
  await h.writeConfig();
  await expectCleared(h, /config edit rejected/, "healthy");
  await h.drop("json", "b.json", JSON.stringify(b));
  await h.waitFor(() => h.server.store.get(b.id) !== undefined, "uploads after the fix");
  await h.waitFor(
    async () => (await h.files(h.dropDir("json"))).includes("b.json"),
    "afterSuccess keep applies",
  );
  assert.equal(JSON.parse(await Deno.readTextFile(lastGood(h))).converters[0].afterSuccess, "keep");
  const s = await h.status();
  assert.equal(s.reload.ok, true);
});

Deno.test("reload: a dataDir edit waits for the restart and warns that the old queue stays behind", async () => {
  await using h = await AgentHarness.create({ converters: [{ name: "json", format: "wsjf" }] });
  await h.start();
  h.config.dataDir = "./other-data";
  await h.writeConfig();
  const warned = await waitLog(
    h,
    (rs) => rs.some((r) => /dataDir changed from/.test(r.message)),
    "the dataDir warning",
  );
  const line = warned.find((r) => /dataDir changed from/.test(r.message))!;
  assert.equal(line.level, "WARNING", line.message);
  assert.match(line.message, /agent flush/, "it says what to do");
  // The running agent keeps its queue where it was: a report dropped now is still taken.
  const [a] = makeSampleReports(1, { seed: 52 });
  await h.drop("json", "a.json", JSON.stringify(a));
  await h.waitFor(() => h.server.store.get(a.id) !== undefined, "a report after the edit");
  // The commands read the edited file: each finds the running agent through the drop folder's
  // claim and says where it runs, instead of "not running" or an in-process flush of nothing.
  const cfg = ["--config", h.configFile];
  const status = await h.cli(["status", ...cfg]);
  assert.equal(status.code, 3, status.stdout + status.stderr);
  assert.ok(status.stderr.includes(`runs on data directory ${h.dataDir}`), status.stderr);
  const flush = await h.cli(["flush", ...cfg]);
  assert.equal(flush.code, 1, flush.stdout + flush.stderr);
  assert.match(flush.stderr, /set dataDir back/, flush.stderr);
  const stop = await h.cli(["stop", ...cfg]);
  assert.equal(stop.code, 1, stop.stdout + stop.stderr);
  assert.match(stop.stderr, /is held by pid \d+/, stop.stderr);
  const health = await h.control("/health");
  await health.body?.cancel();
  assert.ok(health.status === 200 || health.status === 503, "the agent still answers");
  await assert.rejects(Deno.stat(path.join(h.dir, "other-data")), Deno.errors.NotFound);
});

Deno.test({
  name: "reload: a config file that is a symbolic link is reloaded when its target is edited",
  ignore: Deno.build.os === "windows", // links need a privilege there
  async fn() {
    await using h = await AgentHarness.create({ converters: [{ name: "json", format: "wsjf" }] });
    // The config lives elsewhere (a shared folder, a deploy tool's checkout); the agent is given
    // the link.
    const realDir = path.join(h.dir, "deployed");
    await Deno.mkdir(realDir);
    const real = path.join(realDir, "agent.json");
    await Deno.writeTextFile(real, await Deno.readTextFile(h.configFile));
    await Deno.remove(h.configFile);
    await Deno.symlink(real, h.configFile);
    await h.start();
    const edited = (await Deno.readTextFile(real)).replace('"E2E-ST"', '"E2E-ST-EDITED"');
    assert.notEqual(edited, await Deno.readTextFile(real), "the station name is in the config");
    await Deno.writeTextFile(path.join(realDir, "agent.json.tmp"), edited);
    await Deno.rename(path.join(realDir, "agent.json.tmp"), real); // how editors and tools save
    await waitLog(h, (rs) => rs.some((r) => /Config reloaded/.test(r.message)), "the reload");
    assert.match(await Deno.readTextFile(lastGood(h)), /E2E-ST-EDITED/, "the edit is in force");
  },
});
