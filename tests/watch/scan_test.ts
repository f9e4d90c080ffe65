import assert from "#assert";
import path from "#path";
import { compileGlob, compileGlobs, DEFAULT_IGNORES } from "../../src/watch/glob.ts";
import { scanFolder, type ScanOptions } from "../../src/watch/scan.ts";

async function tree(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "scan-" });
  for (const [rel, text] of Object.entries(files)) {
    await Deno.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await Deno.writeTextFile(path.join(dir, rel), text);
  }
  return dir;
}

function options(root: string, o: Partial<ScanOptions> = {}): ScanOptions {
  return {
    root,
    recursive: true,
    followSymlinks: false,
    include: compileGlob("*"),
    ignore: compileGlobs(DEFAULT_IGNORES),
    exclude: [path.join(root, "Done"), path.join(root, "Error")],
    ...o,
  };
}

const rels = async (o: ScanOptions) => (await scanFolder(o)).map((f) => f.rel).sort();

Deno.test("scan: default ignores, the agent's Done/Error folders, recursion and the pattern", async () => {
  const dir = await tree({
    "a.json": "",
    "b.tmp": "",
    "c.part": "",
    "~$d.json": "",
    ".e.json": "",
    "sub/f.json": "",
    "sub/deeper/g.json": "",
    ".git/h.json": "",
    "Done/old.json": "",
    "Error/bad.json": "",
    "notes.txt": "",
  });
  try {
    assert.deepEqual(await rels(options(dir)), [
      "a.json",
      "notes.txt",
      "sub/deeper/g.json",
      "sub/f.json",
    ]);
    assert.deepEqual(await rels(options(dir, { recursive: false })), ["a.json", "notes.txt"]);
    assert.deepEqual(await rels(options(dir, { include: compileGlob("*.json") })), [
      "a.json",
      "sub/deeper/g.json",
      "sub/f.json",
    ]);
    const extra = compileGlobs([...DEFAULT_IGNORES, "sub/deeper"]);
    assert.deepEqual(await rels(options(dir, { ignore: extra })), [
      "a.json",
      "notes.txt",
      "sub/f.json",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scan: symbolic links are skipped unless followed, and followed links can't loop", async () => {
  const outside = await tree({ "linked.json": "", "dir/in_linked_dir.json": "" });
  const dir = await tree({ "a.json": "", "sub/b.json": "" });
  try {
    await Deno.symlink(path.join(outside, "linked.json"), path.join(dir, "link.json"));
    await Deno.symlink(path.join(outside, "dir"), path.join(dir, "linkdir"));
    await Deno.symlink(dir, path.join(dir, "sub", "loop")); // sub/loop -> the root itself
    await Deno.symlink(path.join(dir, "nowhere.json"), path.join(dir, "dangling.json"));

    assert.deepEqual(
      await rels(options(dir)),
      ["a.json", "sub/b.json"],
      "links not followed by default",
    );
    assert.deepEqual(await rels(options(dir, { followSymlinks: true })), [
      "a.json",
      "link.json",
      "linkdir/in_linked_dir.json",
      "sub/b.json",
    ], "followed once each; the loop back to the root and the dangling link are skipped");
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("scan: a missing root is an error (the source reports the folder missing)", async () => {
  await assert.rejects(() => scanFolder(options("/nonexistent/drop-folder")), Deno.errors.NotFound);
});
