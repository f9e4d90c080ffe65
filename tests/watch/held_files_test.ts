import assert from "#assert";
import path from "#path";
import { HeldFiles } from "../../src/watch/held_files.ts";
import { FileBusy, FolderRefused } from "../../src/watch/post_action.ts";
import { waitFor } from "../_wait.ts";

Deno.test("held files: retried while unchanged, given back when the file changes; said once per reason", async () => {
  const dir = await Deno.makeTempDir({ prefix: "held-" });
  let stopped = false;
  const held = new HeldFiles(() => 20, () => stopped);
  try {
    const file = path.join(dir, "r.txt");
    await Deno.writeTextFile(file, "one");
    const st = await Deno.stat(file);
    let retries = 0;
    let givenBack = 0;
    const why = new FolderRefused("/d/Error", "/d/Error is now a symbolic link");
    const entry = {
      converter: "c",
      file,
      size: st.size,
      mtimeMs: st.mtime!.getTime(),
      kind: "Error" as const,
      why,
      retry: () => {
        retries++;
        held.hold(entry); // still refused: held again (as intake does)
        return Promise.resolve();
      },
      giveBack: () => void givenBack++,
    };
    assert.equal(held.hold(entry), true, "news the first time");
    assert.equal(held.hold(entry), false, "not news again for the same reason");
    await waitFor(() => retries >= 2, "retried");
    const [problem] = held.problems();
    assert.match(problem, /^Error folder \/d\/Error \(converter c\) refused: .*symbolic link/);
    assert.match(problem, /1 file\(s\) wait/);

    await Deno.writeTextFile(file, "two, longer"); // a new result: taken anew, not retried
    await waitFor(() => givenBack === 1, "given back");
    assert.equal(held.size, 0);
    assert.deepEqual(held.problems(), []);

    // Busy files are no health reason at first.
    held.hold({
      ...entry,
      why: new FileBusy(file, new Error("EBUSY")),
      size: 11,
      retry: () => Promise.resolve(),
    });
    assert.deepEqual(held.problems(), []);
    assert.equal(held.problems(Date.now() + 11 * 60_000).length, 1);
  } finally {
    stopped = true;
    held.drop(path.join(dir, "r.txt"));
    await Deno.remove(dir, { recursive: true });
  }
});
