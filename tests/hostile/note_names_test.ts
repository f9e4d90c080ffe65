/**
 * The `<name>.error.txt` note beside a failed file, against hostile names, with the real agent
 * process: a planted symlink at the note's name is never written through, a name too long for
 * the note still gets one (and the log tells the truth about where the file went), and the
 * note escapes control characters and masks the server token as the log does.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";

const moody = path.resolve(import.meta.dirname!, "../fixtures/converters/moody.js");

async function notes(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).filter((e) =>
      e.isFile && e.name.endsWith(".error.txt")
    ).map((e) => e.name).sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

Deno.test("hostile: a symlink planted at the note's name is not written through", async () => {
  const elsewhere = await Deno.makeTempDir({ prefix: "hostile-victim-" });
  try {
    const victim = path.join(elsewhere, "victim.conf");
    await Deno.writeTextFile(victim, "precious");
    await using h = await AgentHarness.create({ converters: [{ name: "moody", module: moody }] });
    const errorDir = path.join(h.dropDir("moody"), "Error");
    await Deno.mkdir(errorDir);
    await h.start();
    await Deno.symlink(victim, path.join(errorDir, "bad.txt.error.txt"));
    await Deno.symlink(path.join(elsewhere, "new.conf"), path.join(errorDir, "bad (1).txt"));
    await h.drop("moody", "bad.txt", "THROW planted");
    await h.waitFor(() => /bad\.txt can't be converted/.test(h.output), "the failure dealt with");
    assert.equal(await Deno.readTextFile(victim), "precious", "the link's target untouched");
    await h.waitFor(
      async () => (await notes(errorDir)).length === 1,
      "the failed file's note in Error",
    );
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(elsewhere))).map((e) => e.name),
      ["victim.conf"],
      "nothing created through the dangling link",
    );
    const [note] = await notes(errorDir);
    const text = await Deno.readTextFile(path.join(errorDir, note));
    const moved = /^Moved to: +(.*)$/m.exec(text)?.[1];
    if (!moved) throw new Error(`the note says where the file went:\n${text}`);
    assert.equal(path.dirname(moved), errorDir);
    assert.equal(await Deno.readTextFile(moved), "THROW planted");
    assert.ok((await Deno.lstat(path.join(errorDir, "bad.txt.error.txt"))).isSymlink);
  } finally {
    await Deno.remove(elsewhere, { recursive: true });
  }
});

Deno.test("hostile: a name too long for `.error.txt` still gets a note, and the log is true", async () => {
  await using h = await AgentHarness.create({ converters: [{ name: "moody", module: moody }] });
  await h.start();
  const name = "L".repeat(246) + ".txt"; // 250 bytes: fits, its note name (260) does not
  const file = await h.drop("moody", name, "THROW long");
  const errorDir = path.join(h.dropDir("moody"), "Error");
  await h.waitFor(async () => (await h.files(errorDir)).includes(name), "the file in Error");
  await h.waitFor(async () => (await notes(errorDir)).length === 1, "its note");
  const [note] = await notes(errorDir);
  assert.ok(new TextEncoder().encode(note).length <= 255);
  const text = await Deno.readTextFile(path.join(errorDir, note));
  assert.ok(text.includes(`Moved to:    ${path.join(errorDir, name)}`), text);
  await assert.rejects(() => Deno.stat(file), Deno.errors.NotFound);
  assert.doesNotMatch(h.output, /stays where it is/);
});

Deno.test("hostile: the note escapes control characters in the name and masks the token", async () => {
  await using h = await AgentHarness.create({ converters: [{ name: "moody", module: moody }] });
  await h.start();
  const name = "evil\x1b]0;owned\x07\x1b[2J.txt";
  await h.drop("moody", name, `THROW ${h.token}`);
  const errorDir = path.join(h.dropDir("moody"), "Error");
  await h.waitFor(async () => (await notes(errorDir)).length === 1, "the note");
  const text = await Deno.readTextFile(path.join(errorDir, (await notes(errorDir))[0]));
  assert.ok(!text.includes(h.token), `the token is masked:\n${text}`);
  assert.match(text, /\*\*\*/);
  // deno-lint-ignore no-control-regex -- the point: no raw control character in the note
  assert.doesNotMatch(text, /[\x00-\x08\x0b-\x1f\x7f]/, "no raw control characters");
  assert.ok(text.includes("evil\\x1b]0;owned\\x07\\x1b[2J.txt"), text);
});
