/**
 * A drop-folder writer who swaps the Done or Error folder (or a subfolder of Done) for a
 * symbolic link must not make the agent, which runs as root/SYSTEM, write anywhere else. The
 * real agent process, real symlinks: the file stays in the drop folder, the problem is in the
 * log and in health, and once the folder is put back the file is moved on its own. A link the
 * operator configured (present when the agent starts) is where the agent writes.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";

const moody = path.resolve(import.meta.dirname!, "../fixtures/converters/moody.js");

async function entries(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

Deno.test("hostile: an Error folder swapped for a symlink gets nothing; the file stays until it is put back", async () => {
  const elsewhere = await Deno.makeTempDir({ prefix: "hostile-target-" });
  try {
    await using h = await AgentHarness.create({ converters: [{ name: "moody", module: moody }] });
    await h.start(); // the agent pins <drop>/Error (not there yet) as a plain folder
    const drop = h.dropDir("moody");
    const errorDir = path.join(drop, "Error");
    await Deno.symlink(elsewhere, errorDir);
    const file = await h.drop("moody", "bad.txt", "THROW swapped");
    await h.waitFor(() => /bad\.txt can't be converted/.test(h.output), "the failure dealt with");
    assert.deepEqual(await entries(elsewhere), [], "nothing written through the link");
    assert.equal(await Deno.readTextFile(file), "THROW swapped", "the file stays where it is");
    assert.match(h.output, /Error folder .*Error.* refused/);
    await h.waitFor(async () => {
      const s = await h.status();
      return s.health.reasons.some((r: string) => r.includes(errorDir));
    }, "health naming the Error folder");
    const s = await h.status();
    assert.equal(s.health.state, "degraded", s.health.reasons.join("; "));
    assert.match(s.health.reasons.join("\n"), /symbolic link/);

    // Put back by a person: the file goes to the real Error folder with its note, on its own.
    await Deno.remove(errorDir);
    await h.waitFor(
      async () => (await h.files(errorDir)).includes("bad.txt"), // the note goes first
      "the file in the real Error folder once the link is gone",
    );
    assert.deepEqual(await h.files(errorDir), ["bad.txt", "bad.txt.error.txt"]);
    assert.deepEqual(await entries(elsewhere), []);
    await h.waitFor(async () => {
      const st = await h.status();
      return !st.health.reasons.some((r: string) => r.includes(errorDir));
    }, "the health reason gone");
  } finally {
    await Deno.remove(elsewhere, { recursive: true });
  }
});

Deno.test("hostile: a symlinked subfolder inside Done is refused; the reports still go out", async () => {
  const elsewhere = await Deno.makeTempDir({ prefix: "hostile-target-" });
  try {
    await using h = await AgentHarness.create({
      converters: [{ name: "moody", module: moody, afterSuccess: "move", recursive: true }],
    });
    const done = path.join(h.dropDir("moody"), "Done");
    await Deno.mkdir(done);
    await h.start();
    await Deno.symlink(elsewhere, path.join(done, "line2"));
    const file = await h.drop("moody", "line2/unit.txt", "OK SUBLINK-1");
    await h.waitFor(
      () => h.server.store.list().some((r) => r.report.sn === "SUBLINK-1"),
      "the report on the server",
    );
    await h.waitFor(
      async () => /refused/.test(h.output) || (await entries(path.dirname(file))).length === 0,
      "the move dealt with",
    );
    assert.deepEqual(await entries(elsewhere), [], "nothing moved through the link");
    assert.equal(await Deno.readTextFile(file), "OK SUBLINK-1", "the file stays where it is");
    await h.waitFor(async () => {
      const st = await h.status();
      return st.health.reasons.some((r: string) => r.includes(path.join(done, "line2")));
    }, "health naming the linked subfolder");
    await new Promise((r) => setTimeout(r, 2500)); // two rescans
    assert.doesNotMatch(h.output, /identical to a file already queued/, "held, not taken again");
    assert.equal(h.server.store.totalReceives, 1);
  } finally {
    await Deno.remove(elsewhere, { recursive: true });
  }
});

Deno.test("hostile: a Done folder the operator configured as a symlink is used", async () => {
  const target = await Deno.makeTempDir({ prefix: "operator-done-" });
  try {
    await using h = await AgentHarness.create({
      converters: [{ name: "moody", module: moody, afterSuccess: "move" }],
    });
    await Deno.symlink(target, path.join(h.dropDir("moody"), "Done"));
    await h.start();
    await h.drop("moody", "good.txt", "OK CONFIGURED-LINK");
    await h.waitFor(
      async () => (await h.files(target)).includes("good.txt"),
      "the file in the linked Done folder",
    );
    const s = await h.status();
    assert.equal(s.health.state, "healthy", s.health.reasons.join("; "));
  } finally {
    await Deno.remove(target, { recursive: true });
  }
});
