/**
 * `intake.maxFileMb` with the real agent process: a sparse 1.5 GB `.json` (cheap on disk, would
 * take 1.5 GB of memory to read) goes to Error unread, with the size, the limit and the setting
 * in its note, while a good file beside it converts; a file that grows past the limit after the
 * gate approved it is never read past the approved version, and goes to Error once it is stable. And the
 * reader itself: it never returns more than the limit, and only the file the gate approved.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { makeSampleReport } from "../../wats_test_server/sample_reports.ts";
import { identityOf, readApproved } from "../../src/watch/source_file.ts";
import { installScriptedStarted, started } from "./_scripted.ts";

const MB = 1024 * 1024;

/** A file of `bytes` that holds no data blocks (a hole), as a broken tester might leave. */
async function sparse(file: string, bytes: number): Promise<void> {
  using f = await Deno.open(file, { write: true, create: true });
  await f.truncate(bytes);
}

Deno.test("max file size: a sparse 1.5 GB file goes to Error unread (default limit); the file beside it converts", async () => {
  await using h = await AgentHarness.create({ converters: [{ name: "json", format: "wsjf" }] });
  await h.start();
  const good = makeSampleReport(1, { seed: 77 });
  await sparse(path.join(h.dropDir("json"), "huge.json"), 1536 * MB);
  await h.drop("json", "good.json", JSON.stringify(good));
  const errorDir = path.join(h.dropDir("json"), "Error");
  await h.waitFor(
    () => h.inError(errorDir, "huge.json"),
    "the huge file in Error",
  );
  const note = await Deno.readTextFile(path.join(errorDir, "huge.json.error.txt"));
  assert.match(note, /the file is 1536\.0 MB: intake\.maxFileMb allows 256\.0 MB; not converted/);
  assert.match(note, /raise intake\.maxFileMb/);
  await h.waitFor(() => h.server.store.get(good.id) !== undefined, "the good file on the server");
  const s = await h.status();
  assert.ok(
    s.recentErrors.some((e: { reason: string }) => /intake\.maxFileMb/.test(e.reason)),
    "status names the setting",
  );
});

Deno.test("max file size: a file that grows past the limit after the gate: only the approved version is read; the grown one goes to Error", async () => {
  await using h = await AgentHarness.create({
    converters: [{
      name: "scripted",
      module: "./scripted.js",
      params: { startedDir: "./started", slowMs: 4000 },
    }],
    config: { intake: { maxFileMb: 1 }, pool: { min: 1, max: 1, timeoutSeconds: 20 } },
  });
  const startedDir = await installScriptedStarted(h);
  await h.start();
  const blocker = makeSampleReport(1, { seed: 78 });
  await h.drop("scripted", "blocker.json", JSON.stringify(blocker));
  await h.waitFor(async () => (await started(startedDir)).length === 1, "the blocker converting");
  // Approved at a few KB while the only worker is busy; then it grows to 3 MB.
  const small = makeSampleReport(2);
  const grower = await h.drop("scripted", "grower.json", JSON.stringify(small));
  await h.waitFor(async () => {
    const st = await (await h.control("/status")).json();
    return st.converters[0].taken === 2;
  }, "the small file approved and handed on");
  await sparse(grower, 3 * MB);

  const errorDir = path.join(h.dropDir("scripted"), "Error");
  await h.waitFor(
    () => h.inError(errorDir, "grower.json"),
    "the grown file in Error",
  );
  const note = await Deno.readTextFile(path.join(errorDir, "grower.json.error.txt"));
  assert.match(note, /the file is 3\.0 MB: intake\.maxFileMb allows 1\.0 MB/);
  // Intake reads the approved version at once: when that came before the growth (the usual
  // order), those few KB were converted and queued; the grown version never reached the converter.
  const given = await started(startedDir);
  assert.ok(given.length <= 2, given.join(", "));
  if (given.length === 2) {
    assert.ok(given[1].startsWith("grower.json"), given.join(", "));
    assert.equal(
      await Deno.readTextFile(path.join(startedDir, given[1])),
      JSON.stringify(small),
      "only the approved version was read",
    );
    await h.waitFor(() => h.server.store.get(small.id) !== undefined, "the version read queued");
  }
  await h.waitFor(() => h.server.store.get(blocker.id) !== undefined, "the blocker converted");
});

Deno.test("max file size: the reader returns at most the limit, and only the approved file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agent-read-" });
  try {
    const file = path.join(dir, "a.bin");
    await Deno.writeFile(file, new Uint8Array(3000).fill(7));
    const id = identityOf(await Deno.lstat(file));

    const ok = await readApproved(file, id, 3000);
    assert.ok(ok.ok && ok.bytes.length === 3000 && ok.bytes.every((b) => b === 7));

    const big = await readApproved(file, id, 2999);
    assert.ok(!big.ok && big.kind === "too-large", JSON.stringify(big));
    assert.match(big.ok ? "" : big.message, /intake\.maxFileMb allows/);

    await Deno.writeFile(file, new Uint8Array(10), { append: true }); // grew after the gate
    const grown = await readApproved(file, id, 1 * MB);
    assert.ok(!grown.ok && grown.kind === "changed", JSON.stringify(grown));
    assert.match(grown.ok ? "" : grown.message, /size changed from 3000 to 3010 bytes/);

    const other = path.join(dir, "b.bin");
    await Deno.copyFile(file, other);
    await Deno.remove(file);
    await Deno.symlink(other, file); // swapped for a link to another file
    const swapped = await readApproved(file, identityOf(await Deno.stat(other)), 1 * MB);
    assert.ok(swapped.ok, "a link to the very file approved (links followed) reads");
    const sneaky = await readApproved(file, { ...id, size: 3010 }, 1 * MB);
    assert.ok(!sneaky.ok && sneaky.kind === "changed", JSON.stringify(sneaky));
    assert.match(sneaky.ok ? "" : sneaky.message, /it is another file now/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
