/** The saved state file: what a damaged or hand-edited one still gives. */
import assert from "#assert";
import path from "#path";
import { readSavedState } from "../../src/data_dir/state_file.ts";

Deno.test("saved state: missing, not JSON or not an object → null; malformed list entries left out", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = path.join(dir, "state.json");
    assert.equal(await readSavedState(dir), null, "no file");
    await Deno.writeTextFile(file, "{ torn");
    assert.equal(await readSavedState(dir), null, "not JSON");
    await Deno.writeTextFile(file, "42");
    assert.equal(await readSavedState(dir), null, "not an object");
    const good = {
      at: "2026-01-01T00:00:00Z",
      file: "/drop/a.json",
      reason: "bad",
      converter: "c",
    };
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        pid: 1,
        lastSuccessAt: "2026-01-01T00:00:00Z",
        recentFailures: [null, 5, "x", { at: 1, file: "f", reason: "r" }, good],
        history: "nope",
      }),
    );
    const s = await readSavedState(dir);
    assert.deepEqual(s?.recentFailures, [good]);
    assert.deepEqual(s?.history, []);
    assert.equal(s?.lastSuccessAt, "2026-01-01T00:00:00Z");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
