/**
 * A careless operator in the queue's folders while the agent runs: a state folder removed, an
 * entry removed from processing/ while it uploads. The queue must make its folders again rather
 * than take a missing folder for a missing entry (which silently dropped every report from the
 * upload list until a restart), and must not count a removed in-flight entry forever.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

for (const folder of ["processing", "queued", "completed"]) {
  Deno.test(`queue folders: ${folder}/ removed while running → made again, every report uploaded`, async () => {
    await using h = await AgentHarness.create({ converters: [{ name: "json", format: "wsjf" }] });
    await h.start();
    await Deno.remove(path.join(h.dataDir, "queue", folder), { recursive: true });
    const reports = makeSampleReports(5, { seed: 9 });
    for (const r of reports) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
    await h.waitFor(
      () => reports.every((r) => h.server.store.get(r.id) !== undefined),
      "every report on the server",
    );
    await h.waitFor(async () => {
      const q = (await h.status()).queue;
      return q.queued === 0 && q.processing === 0;
    }, "nothing queued or in flight");
    assert.ok((await Deno.stat(path.join(h.dataDir, "queue", folder))).isDirectory);
  });
}

Deno.test("queue folders: an entry removed from processing/ while it uploads is not counted forever", async () => {
  await using h = await AgentHarness.create({
    converters: [{ name: "json", format: "wsjf" }],
    config: { log: { level: "info" } },
  });
  h.server.setFaults({ next: [{ kind: "slow", delayMs: 3000 }] });
  await h.start();
  const pd = path.join(h.dataDir, "queue", "processing");
  const [r] = makeSampleReports(1, { seed: 4 });
  await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  await h.waitFor(() => [...Deno.readDirSync(pd)].length > 0, "the entry in processing/");
  for (const e of Deno.readDirSync(pd)) Deno.removeSync(path.join(pd, e.name));
  await h.waitFor(() => h.server.store.get(r.id) !== undefined, "the report on the server");
  await h.waitFor(async () => (await h.status()).queue.processing === 0, "nothing in flight");
  assert.match(h.output, /was removed from queue\/processing by someone while the agent used it/);
  assert.deepEqual([...Deno.readDirSync(path.join(h.dataDir, "queue", "error"))], []);
});

Deno.test("queue folders: error/ removed while the server fails → made again, retried, uploaded", async () => {
  await using h = await AgentHarness.create({ converters: [{ name: "json", format: "wsjf" }] });
  h.server.setFaults({ failNext: { count: 2, fault: "503" } });
  await h.start();
  await Deno.remove(path.join(h.dataDir, "queue", "error"), { recursive: true });
  const [r] = makeSampleReports(1, { seed: 11 });
  await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  await h.waitFor(() => h.server.store.get(r.id) !== undefined, "the report on the server", 60_000);
  assert.ok((await Deno.stat(path.join(h.dataDir, "queue", "error"))).isDirectory);
  assert.doesNotMatch(h.output, /Recording the upload of report/, "no queue error around it");
});

Deno.test("queue folders: queue/ removed as a whole → nothing taken, health says why, a restart makes it again", async () => {
  await using h = await AgentHarness.create({ converters: [{ name: "json", format: "wsjf" }] });
  await h.start();
  await Deno.remove(path.join(h.dataDir, "queue"), { recursive: true });
  const reports = makeSampleReports(3, { seed: 12 });
  for (const r of reports) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  await h.waitFor(async () => (await h.status()).intake.paused, "intake paused");
  const s = await h.status();
  assert.notEqual(s.health.state, "healthy", JSON.stringify(s.health));
  assert.equal((await h.files(h.dropDir("json"))).length, 3, "the sources stay in the drop folder");
  await h.stop();
  await h.start();
  await h.waitFor(
    () => reports.every((r) => h.server.store.get(r.id) !== undefined),
    "every report on the server after the restart",
  );
});
