/**
 * A FolderSource stopped (config reload) while its stability-gate checks await their lstat
 * handed files on afterwards (the check looked only at its candidate after the await, not at
 * the stop): such a file went to intake with the old converter config, and its watch folder
 * may already have been let go (so every use() of it threw NotFound "not held").
 */
import assert from "#assert";
import { FolderSource } from "../../src/watch/source.ts";
import type { ReadyFile } from "../../src/watch/source_types.ts";

Deno.test("source: a stopped source hands no file on after stop()", async () => {
  let strays = 0;
  let notHeld = 0;
  const tries = 12;
  for (let t = 0; t < tries && strays === 0; t++) {
    const dir = await Deno.makeTempDir({ prefix: "stop-race-" });
    for (let i = 0; i < 400; i++) await Deno.writeTextFile(`${dir}/f${i}.txt`, "x");
    let stopped = false;
    const after: ReadyFile[] = [];
    // deno-lint-ignore prefer-const
    let src: FolderSource;
    src = new FolderSource({
      name: "c",
      root: dir,
      pattern: "*.txt",
      recursive: false,
      ignore: [],
      followSymlinks: false,
      exclude: [],
      rescanMs: 60_000,
      stableMs: 200,
      emptyFileMs: 60_000,
      accepting: () => true,
      onEmpty: () => {},
      onReady: (f) => {
        if (stopped) after.push(f);
        else src.release(f.path); // dealt with at once: nothing is out when stop() comes
      },
    });
    await src.start();
    await new Promise((r) => setTimeout(r, 200 + t));
    src.stop();
    stopped = true;
    await new Promise((r) => setTimeout(r, 300));
    strays += after.length;
    for (const f of after) {
      try {
        await f.where.root.use(f.where.rel, (at) => Deno.lstat(at));
      } catch (e) {
        if (e instanceof Deno.errors.NotFound && /not held/.test((e as Error).message)) notHeld++;
      }
    }
    await Deno.remove(dir, { recursive: true });
  }
  assert(
    strays === 0,
    `${strays} file(s) handed on by a source after stop() returned; ${notHeld} of them have a ` +
      "watch root that is not held (use() throws NotFound 'not held')",
  );
});
