/**
 * Source post-actions with the real agent process, after the reports are durably queued: move
 * into Done (subfolders kept, nothing overwritten), keep (and not taken again, also after a
 * restart, until the file changes), and every log line about a file carrying its correlation id.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";

const moody = path.resolve(import.meta.dirname!, "../fixtures/converters/moody.js");

const serials = (h: AgentHarness) => h.server.store.list().map((r) => r.report.sn as string).sort();

Deno.test("intake post-action: move into Done keeps the subfolder and never overwrites", async () => {
  await using h = await AgentHarness.create({
    converters: [{ name: "moody", module: moody, afterSuccess: "move", recursive: true }],
  });
  const done = path.join(h.dropDir("moody"), "Done", "line2");
  await Deno.mkdir(done, { recursive: true });
  await Deno.writeTextFile(path.join(done, "unit.txt"), "an older file of the same name");
  await h.start();
  await h.drop("moody", "line2/unit.txt", "OK MOVED-1");
  await h.waitFor(
    async () => (await h.files(done)).length === 2,
    "the file moved next to the old one",
  );
  assert.deepEqual(await h.files(done), ["unit (1).txt", "unit.txt"]);
  assert.equal(await Deno.readTextFile(path.join(done, "unit (1).txt")), "OK MOVED-1");
  assert.equal(
    await Deno.readTextFile(path.join(done, "unit.txt")),
    "an older file of the same name",
  );
  await h.waitFor(() => serials(h).includes("MOVED-1"), "the report on the server");
});

Deno.test("intake post-action: keep takes a file once, also across a restart, and again when it changes", async () => {
  await using h = await AgentHarness.create({
    converters: [{ name: "moody", module: moody, afterSuccess: "keep" }],
    config: { intake: { stableSeconds: 0.2, rescanSeconds: 0.5, emptyFileSeconds: 2 } },
  });
  await h.start();
  const file = await h.drop("moody", "kept.txt", "OK KEPT-1");
  await h.waitFor(() => serials(h).includes("KEPT-1"), "the report on the server");
  await h.waitForRescans(2);
  assert.equal(h.server.store.totalReceives, 1, "not taken again while it stays");
  assert.equal(await h.stop(), 0);

  await h.start();
  await h.waitForRescans(2);
  const s = await h.status();
  assert.equal(s.converters[0].converted, 0, "not taken again after the restart");
  assert.equal(h.server.store.totalReceives, 1);
  assert.equal(await Deno.readTextFile(file), "OK KEPT-1", "the source is still there");

  await Deno.writeTextFile(file, "OK KEPT-2"); // the tester rewrote it: a new result
  await h.waitFor(() => serials(h).includes("KEPT-2"), "the changed file converted");
});

Deno.test("intake: every log line about a file carries its correlation id, from first seen to uploaded", async () => {
  await using h = await AgentHarness.create({ converters: [{ name: "moody", module: moody }] });
  await h.start();
  await h.drop("moody", "traced.txt", "OK TRACED");
  await h.drop("moody", "broken.txt", "THROW traced");
  await h.waitFor(() => serials(h).includes("TRACED"), "the report on the server");
  await h.waitFor(
    async () => (await h.files(path.join(h.dropDir("moody"), "Error"))).length === 2,
    "broken.txt in Error",
  );
  assert.equal(await h.stop(), 0); // flushes the log file

  const lines = (await Deno.readTextFile(path.join(h.dataDir, "logs", "agent.log"))).split("\n")
    .filter(Boolean).map((l) => JSON.parse(l));
  const reportId = h.server.store.list()[0].report.id as string;
  for (const [name, extra] of [["traced.txt", reportId], ["broken.txt", "\u0000"]]) {
    const about = lines.filter((l) => l.message.includes(name) || l.message.includes(extra));
    const ids = new Set(about.map((l) => l.properties.correlationId));
    assert.equal(
      ids.size,
      1,
      `one correlation id on every line about ${name}:\n${
        about.map((l) => JSON.stringify(l)).join("\n")
      }`,
    );
    assert.match([...ids][0], /^[0-9a-z]{10}$/);
    const messages = about.map((l) => l.message).join("\n");
    if (name === "traced.txt") {
      assert.match(messages, /Seen .*traced\.txt/);
      assert.match(messages, /Queued report/);
      assert.match(messages, /Uploaded report/);
    } else {
      assert.match(messages, /can't be converted/);
      const note = await Deno.readTextFile(
        path.join(h.dropDir("moody"), "Error", "broken.txt.error.txt"),
      );
      assert.ok(note.includes(`Correlation: ${[...ids][0]}`), "the Error note names the same id");
    }
  }
});
