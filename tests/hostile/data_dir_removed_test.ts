/**
 * Hostile: the data directory is deleted (or replaced) while the agent runs. The agent must not
 * keep running on a lock that no longer guards anything (a second agent could then lock a new
 * data directory and take the same drop folders): it stops with code 75 and says why, and the
 * next start recreates the folders and works.
 *
 * @module
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { makeSampleReport } from "../../wats_test_server/sample_reports.ts";

/**
 * Removes a folder the running agent keeps writing in: a file it creates while the removal runs
 * makes that fail with "directory not empty", so try again (as a person would) until it is gone.
 */
async function removeWhileWritten(dir: string): Promise<void> {
  for (let i = 0;; i++) {
    try {
      await Deno.remove(dir, { recursive: true });
      return;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      if (i >= 50) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

Deno.test("hostile: data directory deleted while running → agent stops (75), restart recreates it", async () => {
  await using h = await AgentHarness.create({ converters: [{ name: "json", format: "wsjf" }] });
  await h.start();
  await removeWhileWritten(h.dataDir);
  const code = await h.exited(20_000);
  assert.equal(code, 75, h.output);
  assert.match(h.output, /data directory .* was removed or changed while the agent ran/);

  // Started again (as a service manager would): fresh folders, and files flow.
  await h.start();
  const report = makeSampleReport(0, { serialPrefix: "DD" });
  await h.drop("json", "a.json", JSON.stringify(report));
  await h.waitFor(() => h.server.store.get(report.id) !== undefined, "the report on the server");
  assert.ok((await Deno.stat(path.join(h.dataDir, "agent.lock"))).isFile);
  assert.equal(await h.stop(), 0);
});

Deno.test("hostile: lock file replaced while running → agent stops (75) before a second agent can share its folders", async () => {
  await using h = await AgentHarness.create({ converters: [{ name: "json", format: "wsjf" }] });
  await h.start();
  const lock = path.join(h.dataDir, "agent.lock");
  await Deno.rename(lock, lock + ".old");
  await Deno.writeTextFile(lock, "");
  const code = await h.exited(20_000);
  assert.equal(code, 75, h.output);
  assert.match(h.output, /agent\.lock was replaced by another file/);
});
