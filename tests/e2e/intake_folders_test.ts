/**
 * Drop folders with the real agent process: a watch folder deleted and re-created (as network
 * shares do) is reported missing, then watched again; ignored names and symbolic links are
 * left alone unless links are to be followed.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";

const moody = path.resolve(import.meta.dirname!, "../fixtures/converters/moody.js");

type Converter = { name: string; missing: boolean; watching: boolean; converted: number };
const conv = async (h: AgentHarness, name: string): Promise<Converter> =>
  (await h.status()).converters.find((c: Converter) => c.name === name);

Deno.test("intake folders: a deleted and re-created watch folder is reported missing, then watched again", async () => {
  await using h = await AgentHarness.create({
    converters: [{ name: "moody", module: moody }],
    config: { intake: { stableSeconds: 0.2, rescanSeconds: 1, emptyFileSeconds: 2 } },
  });
  await h.start();
  const drop = h.dropDir("moody");
  assert.equal((await conv(h, "moody")).watching, true);
  await Deno.remove(drop, { recursive: true });
  await h.waitFor(async () => (await conv(h, "moody")).missing, "the folder reported missing");
  const s = await h.status();
  assert.notEqual(s.health.state, "healthy");
  assert.ok(s.health.reasons.some((r: string) => r.includes(drop)), s.health.reasons.join("; "));
  assert.equal((await conv(h, "moody")).watching, false);

  await Deno.mkdir(drop);
  await h.waitFor(async () => {
    const c = await conv(h, "moody");
    return !c.missing && c.watching;
  }, "the folder watched again");
  await h.drop("moody", "after.txt", "OK AFTER");
  await h.waitFor(
    () => h.server.store.list().some((r) => r.report.sn === "AFTER"),
    "a file dropped after",
  );
  assert.match(h.output, /Watch folder .* is back/);
});

Deno.test("intake folders: temp, partial, Office lock and dot files and links are left alone; followed links convert", async () => {
  const elsewhere = await Deno.makeTempDir({ prefix: "linked-" });
  try {
    await using h = await AgentHarness.create({
      converters: [
        { name: "plain", module: moody },
        { name: "follows", module: moody, followSymlinks: true },
      ],
    });
    await Deno.writeTextFile(path.join(elsewhere, "target.txt"), "OK LINKED");
    await Deno.writeTextFile(path.join(elsewhere, "target2.txt"), "OK LINKED-2");
    const plain = h.dropDir("plain");
    await Deno.symlink(path.join(elsewhere, "target.txt"), path.join(plain, "link.txt"));
    await Deno.symlink(
      path.join(elsewhere, "target2.txt"),
      path.join(h.dropDir("follows"), "link.txt"),
    );
    const ignored = ["r.tmp", "r.part", "~$r.txt", ".r.txt"];
    for (const name of ignored) await Deno.writeTextFile(path.join(plain, name), "OK IGNORED");
    await h.start();
    await h.drop("plain", "real.txt", "OK REAL");
    await h.waitFor(() => h.server.store.size === 2, "the real file and the followed link");
    await new Promise((r) => setTimeout(r, 2500)); // two more rescans
    assert.deepEqual(h.server.store.list().map((r) => r.report.sn).sort(), ["LINKED-2", "REAL"]);
    assert.deepEqual(await h.files(plain), ignored.sort(), "ignored files left in place");
    assert.ok((await Deno.lstat(path.join(plain, "link.txt"))).isSymlink, "the link left in place");
    assert.equal(
      await Deno.readTextFile(path.join(elsewhere, "target2.txt")),
      "OK LINKED-2",
      "the link's target is kept",
    );
  } finally {
    await Deno.remove(elsewhere, { recursive: true });
  }
});
