import assert from "#assert";
import path from "#path";
import { PinnedFolder, realFolderEnv, UntrustedLink } from "../../src/watch/pinned_folder.ts";

async function inTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "pin-" }));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function chownLink(owner: string, link: string): Promise<void> {
  const r = await new Deno.Command("chown", { args: ["-h", owner, link] }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
}

Deno.test({
  name: "pinned folder: every link on the way is checked, also one inside another link's target",
  ignore: Deno.uid() !== 0, // chown -h to another user needs root
  fn: () =>
    inTemp(async (dir) => {
      const real = path.join(dir, "real");
      await Deno.mkdir(real);
      await Deno.mkdir(path.join(dir, "b"));
      await Deno.symlink(path.join(dir, "b"), path.join(dir, "a")); // root's
      await Deno.symlink("../real", path.join(dir, "b", "c")); // relative, root's
      const configured = path.join(dir, "a", "c", "Error");
      const pin = await PinnedFolder.pin(configured);
      assert.equal(pin.real, path.join(real, "Error"), "trusted links are followed");

      await chownLink("nobody", path.join(dir, "b", "c"));
      const e = await PinnedFolder.pin(configured).catch((e) => e);
      assert.ok(e instanceof UntrustedLink, String(e));
      assert.equal(e.link, path.join(dir, "b", "c"));
      assert.match(e.message, /belongs to uid \d+, not root/);

      // A second name of root's link (a hard link of a symlink) is not root's choice.
      await chownLink("root", path.join(dir, "b", "c"));
      await Deno.link(path.join(dir, "b", "c"), path.join(dir, "Done"));
      const h = await PinnedFolder.pin(path.join(dir, "Done")).catch((e) => e);
      assert.ok(h instanceof UntrustedLink, String(h));
      assert.match(h.message, /has 2 names/);

      // Without owners (Windows), a link present at start is taken as the operator's.
      await chownLink("nobody", path.join(dir, "b", "c"));
      const w = await PinnedFolder.pin(configured, { ...realFolderEnv, uid: null });
      assert.equal(w.real, path.join(real, "Error"));
    }),
});
