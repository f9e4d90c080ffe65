/**
 * FolderSource on real folders: the stability gate, empty files, bursts, renames into the
 * folder, new subfolders, a deleted and re-created folder, and exactly-once hand-over.
 */
import assert from "#assert";
import path from "#path";
import { FolderSource } from "../../src/watch/source.ts";
import type { ReadyFile, SourceOptions } from "../../src/watch/source_types.ts";
import { waitFor } from "../_wait.ts";

interface Rig {
  dir: string;
  source: FolderSource;
  ready: ReadyFile[];
  empty: ReadyFile[];
  [Symbol.asyncDispose](): Promise<void>;
}

async function rig(o: Partial<SourceOptions> = {}): Promise<Rig> {
  const dir = await Deno.makeTempDir({ prefix: "source-" });
  const ready: ReadyFile[] = [];
  const empty: ReadyFile[] = [];
  const source = new FolderSource({
    name: "t",
    root: dir,
    pattern: "*",
    recursive: true,
    ignore: [],
    followSymlinks: false,
    exclude: [path.join(dir, "Done"), path.join(dir, "Error")],
    rescanMs: 1000,
    stableMs: 300,
    emptyFileMs: 1500,
    onReady: (f) => ready.push(f),
    onEmpty: (f) => empty.push(f),
    accepting: () => true,
    ...o,
  });
  await source.start();
  return {
    dir,
    source,
    ready,
    empty,
    async [Symbol.asyncDispose]() {
      source.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

const names = (files: ReadyFile[]) => files.map((f) => f.rel).sort();

Deno.test("source: a file still being written is taken only when complete (stability gate)", async () => {
  await using r = await rig({ stableMs: 400 });
  const file = path.join(r.dir, "slow.txt");
  const f = await Deno.open(file, { write: true, createNew: true });
  const enc = new TextEncoder();
  for (let i = 0; i < 20; i++) { // 20 bytes, one every 100 ms: 2 s of writing
    await f.write(enc.encode(String(i % 10)));
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(r.ready.length, 0, `taken after ${i + 1} bytes, while still being written`);
  }
  f.close();
  await waitFor(() => r.ready.length === 1, "the finished file");
  assert.equal(r.ready[0].size, 20, "handed on with its full size");
  assert.equal(r.source.status().waiting, 0);
});

Deno.test("source: an empty file waits, then goes to onEmpty; one that fills up in time is taken", async () => {
  await using r = await rig();
  await Deno.writeTextFile(path.join(r.dir, "stays_empty.txt"), "");
  await Deno.writeTextFile(path.join(r.dir, "fills_up.txt"), "");
  await new Promise((res) => setTimeout(res, 600));
  await Deno.writeTextFile(path.join(r.dir, "fills_up.txt"), "content");
  await waitFor(() => r.empty.length === 1 && r.ready.length === 1, "one empty, one ready");
  assert.deepEqual(names(r.empty), ["stays_empty.txt"]);
  assert.deepEqual(names(r.ready), ["fills_up.txt"]);
  assert.equal(r.ready[0].size, 7);
});

Deno.test("source: a burst, a rename into the folder and a new subfolder are all taken, once each", async () => {
  await using r = await rig({ stableMs: 100 });
  const outside = await Deno.makeTempDir({ prefix: "outside-" });
  try {
    for (let i = 0; i < 500; i++) { // synchronous: the watcher's queue overflows
      Deno.writeTextFileSync(path.join(r.dir, `burst-${i}.txt`), `file ${i}`);
    }
    await Deno.writeTextFile(path.join(outside, "moved_in.txt"), "from elsewhere");
    await Deno.rename(path.join(outside, "moved_in.txt"), path.join(r.dir, "moved_in.txt"));
    for (let d = 0; d < 20; d++) { // files written right after their folder is made
      Deno.mkdirSync(path.join(r.dir, `new-${d}`, "deeper"), { recursive: true });
      Deno.writeTextFileSync(path.join(r.dir, `new-${d}`, "deeper", "inner.txt"), `inner ${d}`);
    }
    await waitFor(() => r.ready.length >= 521, `521 files (have ${r.ready.length})`, {
      timeoutMs: 60_000,
    });
    await new Promise((res) => setTimeout(res, 1500)); // a rescan later: nothing offered twice
    const all = names(r.ready);
    assert.equal(all.length, 521);
    assert.equal(new Set(all).size, 521, "no file handed on twice");
    assert.ok(all.includes("moved_in.txt"));
    assert.ok(all.includes("new-19/deeper/inner.txt"));
    assert.equal(
      new Set(r.ready.map((f) => f.correlationId)).size,
      521,
      "one correlation id per file",
    );
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("source: a deleted and re-created folder is reported missing, then watched again", async () => {
  await using r = await rig({ rescanMs: 300 });
  await Deno.writeTextFile(path.join(r.dir, "before.txt"), "x");
  await waitFor(() => r.ready.length === 1, "the first file");
  await Deno.remove(r.dir, { recursive: true });
  await waitFor(() => r.source.status().missing, "the folder reported missing");
  assert.equal(r.source.status().watching, false);
  await Deno.mkdir(r.dir);
  await waitFor(() => !r.source.status().missing && r.source.status().watching, "watched again");
  await Deno.writeTextFile(path.join(r.dir, "after.txt"), "y");
  await waitFor(() => r.ready.length === 2, "the file dropped after it came back");
  assert.equal(r.ready[1].rel, "after.txt");
});

Deno.test("source: a released file is offered again with the same correlation id; done files are not", async () => {
  const done = new Set<string>();
  await using r = await rig({ isDone: (p) => done.has(p) });
  const kept = path.join(r.dir, "kept.txt");
  await Deno.writeTextFile(kept, "keep me");
  await Deno.writeTextFile(path.join(r.dir, "retry.txt"), "try again");
  await waitFor(() => r.ready.length === 2, "both files");
  const first = r.ready.find((f) => f.rel === "retry.txt")!;
  done.add(kept);
  r.source.release(kept);
  r.source.release(first.path);
  await waitFor(() => r.ready.length === 3, "the released file again", { timeoutMs: 10_000 });
  await new Promise((res) => setTimeout(res, 1500));
  assert.equal(r.ready.length, 3, "the done file was not offered again");
  assert.equal(r.ready[2].rel, "retry.txt");
  assert.equal(r.ready[2].correlationId, first.correlationId);
  assert.equal(r.source.status().seen, 2, "seen counts files, not offers");
});

Deno.test("source: events for new subfolders honour anchored patterns and ignored folders", async () => {
  await using r = await rig({ pattern: "line*/**/*.txt", rescanMs: 60_000, stableMs: 100 });
  for (const rel of ["line1/new/x.txt", "other/y.txt", "line2/.cache/z.txt", "line3/w.tmp"]) {
    Deno.mkdirSync(path.dirname(path.join(r.dir, rel)), { recursive: true });
    Deno.writeTextFileSync(path.join(r.dir, rel), "data");
  }
  await waitFor(() => r.ready.length >= 1, "the matching file (events only: no rescan in time)");
  await new Promise((res) => setTimeout(res, 1000));
  assert.deepEqual(names(r.ready), ["line1/new/x.txt"]);
});
