/**
 * A failed file and its `<name>.error.txt` note, against a crash (kill -9, power cut) at every
 * single file-system step of {@link moveToError}: afterwards the file is still at its source, or
 * it is in Error with its complete note beside it, never in Error without one. Taken again after
 * the "restart", it ends in Error with its note and leaves no note without a file.
 */
import assert from "#assert";
import path from "#path";
import type { ErrorNote } from "../../src/watch/error_note.ts";
import { moveToError, realPostEnv } from "../../src/watch/post_action.ts";
import type { PostEnv, PostFs } from "../../src/watch/fs_env.ts";
import { PinnedFolder } from "../../src/watch/pinned_folder.ts";

const LAST_LINE =
  "To try the file again, move it back into the drop folder (after fixing it or the config).\n";

const noteFor = (source: string): ErrorNote => ({
  reason: "line 3: no serial number",
  hint: "Add the serial number.",
  converter: "line2",
  format: "csv",
  correlationId: "abc123defg",
  source,
});

/**
 * The real file system until call number `limit`, which dies (throws, and every later call
 * throws): nothing after it happens, as after kill -9. A create that dies leaves its file
 * created and empty, as a kill between open and write does.
 */
function dying(base: PostFs, limit: number): { fs: PostFs; calls: () => number } {
  let count = 0;
  let dead = false;
  const step = () => {
    if (dead) throw new Error("process is dead");
    if (count++ >= limit) {
      dead = true;
      return false;
    }
    return true;
  };
  const crash = () => new Error(`injected crash at step ${limit}`);
  const fs = Object.fromEntries(
    Object.entries(base).map(([name, op]) => [name, async (...args: unknown[]) => {
      if (step()) return await (op as (...a: unknown[]) => Promise<unknown>)(...args);
      if (name === "writeNew" || name === "copyNew") {
        const file = String(args[name === "writeNew" ? 0 : 1]);
        await Deno.writeFile(file, new Uint8Array(0), { createNew: true }).catch(() => {});
      }
      throw crash();
    }]),
  ) as unknown as PostFs;
  return { fs, calls: () => count };
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return out;
    throw e;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory) out.push(...await filesUnder(p));
    else out.push(p);
  }
  return out.sort();
}

const exists = (p: string) => Deno.lstat(p).then(() => true, () => false);

/** Every file in Error has its complete note beside it; with `noStale`, every note its file. */
async function checkError(errorDir: string, noStale: boolean, at: string): Promise<string[]> {
  const all = await filesUnder(errorDir);
  const notes = new Map<string, string>(); // the file a complete note is for → the note
  const broken: string[] = [];
  for (const p of all.filter((p) => p.endsWith(".error.txt"))) {
    const text = await Deno.readTextFile(p);
    const moved = /^Moved to: {4}(.*)$/m.exec(text)?.[1];
    if (moved && text.endsWith(LAST_LINE) && /^What happened: /m.test(text)) notes.set(moved, p);
    else broken.push(p);
    if (noStale) {
      assert.ok(moved && await exists(moved), `${at}: ${p} is a note for no file:\n${text}`);
    }
  }
  const files = all.filter((p) => !p.endsWith(".error.txt"));
  for (const f of files) {
    const note = notes.get(f);
    assert.ok(note, `${at}: ${f} is in Error without its note (${all.join(", ")})`);
    assert.equal(path.dirname(note), path.dirname(f), `${at}: the note is beside the file`);
  }
  if (noStale) assert.deepEqual(broken, [], `${at}: unfinished notes left`);
  return files;
}

interface Scenario {
  name: string;
  /** The source's path relative to the drop folder (kept below Error). */
  rel: string;
  /** Prepares the temp folder (the drop folder is `<dir>/drop`, Error `<dir>/drop/Error`). */
  setup?: (dir: string) => Promise<void>;
  env?: (fs: PostFs) => PostEnv;
  /** A copy torn by the crash stays in Error (with its note) beside the one that follows. */
  tornCopy?: true;
}

const scenarios: Scenario[] = [
  { name: "hard link", rel: "bad.csv", setup: (d) => Deno.mkdir(path.join(d, "drop", "Error")) },
  { name: "subfolder created on the way", rel: "line1/bad.csv" },
  {
    name: "name taken by an earlier failure",
    rel: "bad.csv",
    setup: async (d) => {
      const src = path.join(d, "drop", "bad.csv");
      await Deno.writeTextFile(src, "older");
      const pin = await PinnedFolder.pin(path.join(d, "drop", "Error"));
      await moveToError(src, pin, "bad.csv", noteFor(src));
    },
  },
  { name: "long name (shortened note)", rel: "L".repeat(246) + ".csv" },
  {
    name: "another volume (copy)",
    rel: "bad.csv",
    tornCopy: true,
    env: (fs) => ({
      ...realPostEnv,
      fs: {
        ...fs,
        link: () => Promise.reject(Object.assign(new Error("EXDEV (injected)"), { code: "EXDEV" })),
      },
    }),
  },
  {
    name: "rename (the Windows way)",
    rel: "bad.csv",
    env: (fs) => ({ ...realPostEnv, fs, os: "windows" }),
  },
];

for (const s of scenarios) {
  Deno.test(`error note crash: a crash at any step of moving to Error never leaves a file without its note (${s.name})`, async () => {
    const envOf = s.env ?? ((fs: PostFs) => ({ ...realPostEnv, fs }));
    const run = async (fs: PostFs) => {
      const dir = await Deno.makeTempDir({ prefix: "note-crash-" });
      const drop = path.join(dir, "drop");
      await Deno.mkdir(drop);
      await s.setup?.(dir);
      const src = path.join(drop, s.rel);
      await Deno.mkdir(path.dirname(src), { recursive: true });
      await Deno.writeTextFile(src, "broken");
      const errorDir = path.join(drop, "Error");
      const before = (await filesUnder(errorDir)).filter((p) => !p.endsWith(".error.txt"));
      const go = async (fs: PostFs) =>
        moveToError(src, await PinnedFolder.pin(errorDir), s.rel, noteFor(src), envOf(fs));
      return { dir, src, errorDir, before, go: () => go(fs), again: () => go(realPostEnv.fs) };
    };

    // Count the steps of a clean run first.
    const probe = dying(realPostEnv.fs, Infinity);
    const clean = await run(probe.fs);
    const r = await clean.go();
    assert.ok((await Deno.readTextFile(r.note)).includes(`Moved to:    ${r.moved}`));
    await checkError(clean.errorDir, true, "clean run");
    await Deno.remove(clean.dir, { recursive: true });
    const steps = probe.calls();
    assert.ok(steps > 5, `a clean move has ${steps} steps`);

    for (let limit = 0; limit <= steps; limit++) {
      const at = `${s.name}, crash at step ${limit} of ${steps}`;
      const t = await run(dying(realPostEnv.fs, limit).fs);
      // Whatever it throws once dead (a dead process changes nothing more), the disk is what
      // the crash left; dying at the last fsync is reported, not thrown (the file did move).
      const done = await t.go().catch(() => null);
      if (limit === steps) assert.ok(done && !done.unsynced, `${at}: a clean run`);
      else if (done) assert.match(done.unsynced ?? "", /injected crash/, `${at}: finished`);
      const inError = await checkError(t.errorDir, false, at);
      const atSource = await exists(t.src);
      assert.ok(
        atSource ||
          (await Promise.all(inError.map((f) => Deno.readTextFile(f)))).includes("broken"),
        `${at}: the file is neither at its source nor in Error`,
      );
      if (atSource) {
        // Restarted, the agent takes the file again and it fails again.
        assert.equal(await Deno.readTextFile(t.src), "broken", `${at}: the source is intact`);
        const again = await t.again();
        assert.equal(await Deno.readTextFile(again.moved), "broken", at);
        assert.ok(!await exists(t.src), `${at}: moved on the second try`);
      }
      const after = await checkError(t.errorDir, true, `${at}, after the restart`);
      // Not twice: a crash after the link finishes that move when the file is taken again.
      if (!s.tornCopy) assert.equal(after.length, t.before.length + 1, `${at}: ${after}`);
      await Deno.remove(t.dir, { recursive: true });
    }
  });
}
