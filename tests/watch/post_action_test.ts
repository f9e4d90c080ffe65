import assert from "#assert";
import path from "#path";
import { moveNoOverwrite, moveToError } from "../../src/watch/post_action.ts";

Deno.test("post action: move keeps the subfolder path and never overwrites", async () => {
  const dir = await Deno.makeTempDir({ prefix: "post-" });
  try {
    const done = path.join(dir, "Done");
    await Deno.mkdir(path.join(done, "line1"), { recursive: true });
    await Deno.writeTextFile(path.join(done, "line1", "r.json"), "older");
    await Deno.writeTextFile(path.join(done, "line1", "r (1).json"), "older still");
    for (const text of ["new", "newer"]) {
      await Deno.mkdir(path.join(dir, "in", "line1"), { recursive: true });
      await Deno.writeTextFile(path.join(dir, "in", "line1", "r.json"), text);
    }
    const to = await moveNoOverwrite(path.join(dir, "in", "line1", "r.json"), done, "line1/r.json");
    assert.equal(to, path.join(done, "line1", "r (2).json"));
    assert.equal(await Deno.readTextFile(to), "newer");
    assert.equal(
      await Deno.readTextFile(path.join(done, "line1", "r.json")),
      "older",
      "not overwritten",
    );
    await assert.rejects(
      () => Deno.stat(path.join(dir, "in", "line1", "r.json")),
      Deno.errors.NotFound,
    );

    await Deno.writeTextFile(path.join(dir, "plain"), "no extension");
    const plain = await moveNoOverwrite(path.join(dir, "plain"), done, "deep/er/plain");
    assert.equal(plain, path.join(done, "deep", "er", "plain"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("post action: a failed file goes to Error with <name>.error.txt saying why and what to do", async () => {
  const dir = await Deno.makeTempDir({ prefix: "post-" });
  try {
    await Deno.mkdir(path.join(dir, "sub"));
    await Deno.writeTextFile(path.join(dir, "sub", "bad.csv"), "broken");
    const moved = await moveToError(
      path.join(dir, "sub", "bad.csv"),
      path.join(dir, "Error"),
      "sub/bad.csv",
      {
        reason: "line 3: no serial number",
        hint: "Add the serial number.",
        converter: "line2",
        format: "csv",
        correlationId: "abc123defg",
        source: path.join(dir, "sub", "bad.csv"),
      },
    );
    assert.equal(moved, path.join(dir, "Error", "sub", "bad.csv"));
    const note = await Deno.readTextFile(moved + ".error.txt");
    assert.match(note, /What happened: line 3: no serial number/);
    assert.match(note, /What to do: Add the serial number\./);
    assert.match(note, /Correlation: abc123defg/);
    assert.match(note, /move it back into the drop folder/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
