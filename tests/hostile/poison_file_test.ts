/**
 * The poison-file breaker with the real agent process: a file whose conversion kills the agent
 * (SIGKILL of its own process, as the kernel's OOM killer does it) is converted alone after the
 * first death and goes to Error after the third, while a service manager restarts the agent;
 * every other file, in its folder and in another, reaches the server; the same name dropped
 * again with fixed content converts. A clean stop that cuts a conversion short blames nothing.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { logRecords, waitLog } from "../e2e/_ops.ts";
import { makeSampleReport } from "../../wats_test_server/sample_reports.ts";
import { POISON_DEATHS } from "../../src/watch/poison.ts";
import { answers, installScripted, installScriptedStarted, started } from "./_scripted.ts";
import { cgroupUnavailable, MemoryCgroup } from "./_cgroup.ts";

const report = (i: number) => makeSampleReport(i, { seed: 12 });

/**
 * Runs the agent the way a service manager does (restart whenever it dies) until `done` holds;
 * returns how many times it died.
 */
async function superviseUntil(
  h: AgentHarness,
  done: () => Promise<boolean>,
  maxRuns: number,
  via: string[] = [],
): Promise<number> {
  let deaths = 0;
  for (let run = 1; run <= maxRuns; run++) {
    try {
      await h.start({}, via);
    } catch (e) {
      if (!/exited/.test((e as Error).message)) throw e;
      await h.exited(10_000); // it died while starting: reap it and restart
      deaths++;
      continue;
    }
    for (;;) {
      if (await done()) return deaths;
      if (!await answers(h)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const code = await h.exited(10_000);
    assert.notEqual(code, 0, "the agent died abnormally");
    deaths++;
  }
  throw new Error(`not done after ${maxRuns} runs (${deaths} deaths)\n${h.output.slice(-3000)}`);
}

Deno.test("poison file: a file that kills the agent goes to Error after 3 deaths; every other file converts", async () => {
  await using h = await AgentHarness.create({
    converters: [
      { name: "scripted", module: "./scripted.js" },
      { name: "json", format: "wsjf" },
    ],
    config: { pool: { min: 1, max: 2, timeoutSeconds: 20 } },
  });
  await installScripted(h);
  const good = Array.from({ length: 12 }, (_, i) => report(i));
  const other = Array.from({ length: 4 }, (_, i) => report(100 + i));
  await h.drop("scripted", "poison.json", JSON.stringify({ ...report(50), "KILL-THE-AGENT": 1 }));
  for (const [i, r] of good.entries()) {
    await h.drop("scripted", `good-${i}.json`, JSON.stringify(r));
  }
  for (const [i, r] of other.entries()) await h.drop("json", `other-${i}.json`, JSON.stringify(r));

  const errorDir = path.join(h.dropDir("scripted"), "Error");
  const ids = [...good, ...other].map((r) => r.id);
  const deaths = await superviseUntil(
    h,
    async () =>
      ids.every((id) => h.server.store.get(id)) &&
      // The note goes first, then the file; then the source leaves the drop folder.
      await h.inError(errorDir, "poison.json") &&
      (await h.files(h.dropDir("scripted"))).length === 0,
    POISON_DEATHS + 3,
  );
  assert.equal(deaths, POISON_DEATHS, "the agent died once per conversion of the poison file");
  const note = await Deno.readTextFile(path.join(errorDir, "poison.json.error.txt"));
  assert.match(note, /the agent stopped while converting this file 3 times/);
  assert.match(note, /move it back into the drop folder/);
  assert.deepEqual(await h.files(h.dropDir("scripted")), [], "nothing left in the drop folder");
  assert.deepEqual(await h.files(h.dropDir("json")), []);
  const status = await h.status();
  assert.ok(
    status.recentErrors.some((f: { file: string; reason: string }) =>
      f.file.endsWith("poison.json") && /stopped while converting this file 3 times/.test(f.reason)
    ),
    `status lists the poison file's failure: ${JSON.stringify(status.recentErrors)}`,
  );
  await waitLog(
    h,
    (rs) => rs.some((r) => r.level === "WARNING" && /stopped abnormally/.test(r.message)),
    "a restart after a death says which files were converting",
  );

  // The same name with fixed content is another file: not blamed.
  const fixed = report(51);
  await h.drop("scripted", "poison.json", JSON.stringify(fixed));
  await h.waitFor(() => h.server.store.get(fixed.id) !== undefined, "the fixed file converted");
  assert.equal(await h.stop(), 0);
});

Deno.test("poison file: a clean stop that cuts a conversion short does not count", async () => {
  await using h = await AgentHarness.create({
    converters: [{
      name: "scripted",
      module: "./scripted.js",
      params: { startedDir: "./started", slowMs: 4000 },
    }],
    config: { pool: { min: 1, max: 1, timeoutSeconds: 20 } },
  });
  const startedDir = await installScriptedStarted(h);
  const r = report(7);
  await h.drop("scripted", "slow.json", JSON.stringify(r));
  // More stops than deaths would condemn it, each while the file converts: SIGTERM (a clean
  // stop begins), then a second SIGTERM (the agent exits at once, the conversion cut short).
  for (let i = 1; i <= POISON_DEATHS + 1; i++) {
    await h.start();
    await h.waitFor(async () => (await started(startedDir)).length === i, `conversion ${i}`);
    const exited = h.stop("SIGTERM");
    await h.waitFor(
      () => /SIGTERM received/.test(h.output),
      "the agent saying it stops",
    );
    await new Promise((res) => setTimeout(res, 200));
    try {
      Deno.kill(h.pid!, "SIGTERM");
    } catch { /* already gone */ }
    assert.equal(await exited, 1, "the second signal ends the agent at once");
  }
  await h.start();
  await h.waitFor(() => h.server.store.get(r.id) !== undefined, "the file converted");
  assert.deepEqual(await h.files(path.join(h.dropDir("scripted"), "Error")), []);
  const records = await logRecords(h);
  assert.ok(
    !records.some((x) => /stopped abnormally/.test(x.message)),
    "no stop counted as a death",
  );
});

Deno.test({
  name:
    "poison file: a file whose conversion gets the agent OOM-killed (real 400 MiB cgroup) goes to Error after 3 kills",
  ignore: cgroupUnavailable !== null,
  async fn() {
    await using cg = await MemoryCgroup.create(400 * 1024 * 1024);
    await using h = await AgentHarness.create({
      converters: [{ name: "scripted", module: "./scripted.js" }],
      config: { pool: { min: 1, max: 2, timeoutSeconds: 30, memoryMb: 128 } },
    });
    await installScripted(h);
    const good = Array.from({ length: 6 }, (_, i) => report(200 + i));
    await h.drop("scripted", "bomb.json", JSON.stringify({ ...report(250), "EAT-MEMORY": 1 }));
    for (const [i, r] of good.entries()) {
      await h.drop("scripted", `good-${i}.json`, JSON.stringify(r));
    }
    const errorDir = path.join(h.dropDir("scripted"), "Error");
    const deaths = await superviseUntil(
      h,
      async () =>
        good.every((r) => h.server.store.get(r.id)) &&
        await h.inError(errorDir, "bomb.json"),
      POISON_DEATHS + 3,
      cg.via(),
    );
    assert.equal(deaths, POISON_DEATHS);
    assert.equal(await cg.oomKills(), POISON_DEATHS, "each death was the kernel's OOM kill");
    const note = await Deno.readTextFile(path.join(errorDir, "bomb.json.error.txt"));
    assert.match(note, /the agent stopped while converting this file 3 times/);
    assert.equal(await h.stop(), 0);
  },
});
