/**
 * Who may choose where the agent (root/SYSTEM) writes Done and Error files. A drop-folder
 * writer who plants `<watch>/Error -> /anywhere` before the agent (re)starts must not have it
 * taken as the operator's link: a link is followed only when it belongs to root or the agent's
 * user, in a folder nobody else can write to. And a Done/Error folder that others could swap
 * while the agent writes into it is warned about at start, with the command that closes it,
 * where folders are reached by path (Linux writes through the folder held open).
 * The real agent process, real links, real owners (chown -h; needs root).
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";

const moody = path.resolve(import.meta.dirname!, "../fixtures/converters/moody.js");
// Needs root: the links are given to another user with chown -h.
const notRoot = Deno.uid() !== 0;

async function chownLink(owner: string, link: string): Promise<void> {
  const r = await new Deno.Command("chown", { args: ["-h", owner, link] }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
}

async function entries(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test({
  name: "hostile: an Error link planted by another user before the start is refused, not pinned; " +
    "once root owns it the waiting file goes there",
  ignore: notRoot,
  fn: async () => {
    const elsewhere = await Deno.makeTempDir({ prefix: "hostile-planted-" });
    try {
      await using h = await AgentHarness.create({ converters: [{ name: "moody", module: moody }] });
      const errorDir = path.join(h.dropDir("moody"), "Error");
      await Deno.symlink(elsewhere, errorDir);
      await chownLink("nobody", errorDir); // the drop-folder writer's link
      const nobody = (await Deno.lstat(errorDir)).uid;
      await h.start();
      await h.waitFor(() => /Error is refused: .*uid \d+/.test(h.output), "the refusal at start");
      assert.match(h.output, new RegExp(`belongs to uid ${nobody}, not root`));
      assert.match(h.output, /set the converter's doneFolder\/errorFolder to the folder it leads/);
      const file = await h.drop("moody", "bad.txt", "THROW planted");
      await h.waitFor(async () => {
        const s = await h.status();
        return s.health.reasons.some((r: string) => r.includes(errorDir) && r.includes("uid"));
      }, "health naming the link and its owner");
      const s = await h.status();
      assert.equal(s.health.state, "degraded", s.health.reasons.join("; "));
      assert.deepEqual(await entries(elsewhere), [], "nothing written through the planted link");
      assert.equal(await Deno.readTextFile(file), "THROW planted", "the file stays");

      // The operator vouches for the link (root owns it now): no restart needed.
      await chownLink("root", errorDir);
      await h.waitFor(
        async () => (await entries(elsewhere)).includes("bad.txt"), // the note goes first
        "the file in the link's target once root owns the link",
      );
      assert.deepEqual(await entries(elsewhere), ["bad.txt", "bad.txt.error.txt"]);
    } finally {
      await Deno.remove(elsewhere, { recursive: true });
    }
  },
});

Deno.test({
  name: "hostile: a root-owned Done link in a drop folder anyone can write to is refused; " +
    "the reports still go out",
  ignore: notRoot,
  fn: async () => {
    const elsewhere = await Deno.makeTempDir({ prefix: "hostile-planted-" });
    try {
      await using h = await AgentHarness.create({
        converters: [{ name: "moody", module: moody, afterSuccess: "move" }],
      });
      const drop = h.dropDir("moody");
      await Deno.chmod(drop, 0o777); // anyone could have put (or hard-linked) a link here
      await Deno.symlink(elsewhere, path.join(drop, "Done"));
      await h.start();
      await h.waitFor(() => /Done is refused: /.test(h.output), "the refusal at start");
      assert.match(h.output, /the folder holding it, .*others can write to it \(mode 777/);
      await h.drop("moody", "good.txt", "OK PLANTED-DONE");
      await h.waitFor(
        () => h.server.store.list().some((r) => r.report.sn === "PLANTED-DONE"),
        "the report on the server",
      );
      await h.waitFor(() => /Done folder .* was refused/.test(h.output), "the move held");
      assert.deepEqual(await entries(elsewhere), [], "nothing moved through the link");
    } finally {
      await Deno.remove(elsewhere, { recursive: true });
    }
  },
});

Deno.test({
  name: "hostile: an Error folder in a drop folder others can write to is warned about at start, " +
    "with the fix (where folders are reached by path)",
  // Linux holds the Error folder open and writes through the handle: no race to warn about
  // (the test below).
  ignore: Deno.build.os === "linux",
  fn: async () => {
    await using h = await AgentHarness.create({ converters: [{ name: "moody", module: moody }] });
    const drop = h.dropDir("moody");
    await Deno.chmod(drop, 0o777);
    await h.start();
    await h.waitFor(() => /can be swapped by others/.test(h.output), "the warning");
    const line = h.output.split("\n").find((l) => /can be swapped by others/.test(l)) ?? "";
    assert.ok(line.includes(path.join(drop, "Error")), line);
    assert.ok(line.includes(`chmod +t ${drop}`), line);
    assert.equal(h.output.split("\n").filter((l) => /can be swapped by others/.test(l)).length, 1);

    // The sticky bit closes it (only a file's owner can rename it): no warning after a restart.
    await h.stop();
    await Deno.chmod(drop, 0o1777);
    await h.start(); // its output starts afresh
    await h.drop("moody", "bad.txt", "THROW sticky");
    await h.waitFor(() => /bad\.txt can't be converted/.test(h.output), "a failure");
    assert.doesNotMatch(h.output, /can be swapped by others/);
  },
});

Deno.test({
  name: "hostile (Linux): an Error folder in a drop folder others can write to is written " +
    "through its open handle: no swap warning, and a failed file lands there with its note",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await using h = await AgentHarness.create({ converters: [{ name: "moody", module: moody }] });
    const drop = h.dropDir("moody");
    await Deno.chmod(drop, 0o777);
    await h.start();
    await h.drop("moody", "bad.txt", "THROW open");
    const errorDir = path.join(drop, "Error");
    await h.waitFor(() => h.inError(errorDir, "bad.txt"), "the file in Error with its note");
    assert.doesNotMatch(h.output, /can be swapped by others/);
  },
});
