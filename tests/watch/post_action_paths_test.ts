/**
 * Post-actions run on `/proc/self/fd/N/<name>` (WatchRoot.use on Linux), but what they say
 * names the real folders: NotDurable's folder and a copy's SourceSwapped (they were the
 * handle's paths, useless to an operator); and a source swapped for a link or a FIFO just
 * before link(2) leaves nothing of it in Done.
 */
import assert from "#assert";
import path from "#path";
import { WatchRoot } from "../../src/watch/watch_root.ts";
import { PinnedFolder, realFolderEnv } from "../../src/watch/pinned_folder.ts";
import { moveNoOverwrite, NotDurable, realPostEnv } from "../../src/watch/post_action.ts";
import type { PostEnv } from "../../src/watch/fs_env.ts";

const ignore = Deno.build.os !== "linux";

async function setup() {
  const base = await Deno.makeTempDir({ prefix: "proc-" });
  const watch = path.join(base, "watch");
  await Deno.mkdir(watch);
  await Deno.writeTextFile(path.join(watch, "x.json"), "{}");
  const root = await WatchRoot.pin(watch, false);
  const done = await PinnedFolder.pin(path.join(watch, "Done"), realFolderEnv);
  return { base, watch, root, done };
}

Deno.test({
  name:
    "post action (held, Linux): NotDurable (drop folder not synced) names the drop folder, not /proc/self/fd",
  ignore,
  sanitizeResources: false,
  fn: async () => {
    const { base, watch, root, done } = await setup();
    const env: PostEnv = {
      ...realPostEnv,
      handles: realFolderEnv.handles,
      fs: {
        ...realPostEnv.fs,
        syncDir: async (d) => {
          if (Deno.realPathSync(d) === watch) throw new Error("EIO (injected)");
          await realPostEnv.fs.syncDir(d);
        },
      },
    };
    const e = await root.use("x.json", (at) => moveNoOverwrite(at, done, "x.json", { env }))
      .then(() => null, (e) => e);
    assert.ok(e instanceof NotDurable, String(e));
    assert.ok(!e.message.includes("/proc/self/fd"), e.message);
    await Deno.remove(base, { recursive: true });
  },
});

Deno.test({
  name:
    "post action (held, Linux): a copy (Done on another volume) of a file changed meanwhile: message names the file",
  ignore,
  sanitizeResources: false,
  fn: async () => {
    const { base, watch, root, done } = await setup();
    const env: PostEnv = {
      ...realPostEnv,
      handles: realFolderEnv.handles,
      fs: {
        ...realPostEnv.fs,
        // Another volume (EXDEV); the writer appends to their file just then.
        link: async () => {
          await Deno.writeTextFile(path.join(watch, "x.json"), " ", { append: true });
          throw Object.assign(new Error("cross-device link (injected)"), { code: "EXDEV" });
        },
      },
    };
    const e = await root.use("x.json", (at) => moveNoOverwrite(at, done, "x.json", { env }))
      .then(() => null, (e) => e as Error);
    if (!e) throw new Error("moved: not refused");
    assert.ok(!e.message.includes("/proc/self/fd"), e.message);
    await Deno.remove(base, { recursive: true });
  },
});

Deno.test({
  name:
    "post action (held, Linux): the source swapped for a link (or FIFO) just before link(2): nothing of it left in Done",
  ignore,
  sanitizeResources: false,
  fn: async () => {
    const { base, watch, root, done } = await setup();
    const src = path.join(watch, "x.json");
    const env: PostEnv = {
      ...realPostEnv,
      handles: realFolderEnv.handles,
      fs: {
        ...realPostEnv.fs,
        // The writer wins the race between moveThrough's lstat(source) and link(2).
        link: async (from, to) => {
          await Deno.rename(src, path.join(base, "x.moved"));
          await Deno.symlink("/etc/shadow", src);
          await realPostEnv.fs.link(from, to);
        },
      },
    };
    const e = await root.use("x.json", (at) => moveNoOverwrite(at, done, "x.json", { env }))
      .then(() => null, (e) => e as Error);
    const left = [...Deno.readDirSync(path.join(watch, "Done"))].map((d) =>
      `${d.name}${d.isSymlink ? " -> " + Deno.readLinkSync(path.join(watch, "Done", d.name)) : ""}`
    );
    assert.deepEqual(left, [], `what the writer swapped in stays in Done (${e?.message})`);
    assert.match(
      e?.message ?? "moved",
      /x\.json is not the file the agent checked: it was replaced by a symbolic link while it was moved; nothing was moved/,
    );
    assert.ok(!e?.message.includes("/proc/self/fd"), e?.message);
    await Deno.remove(base, { recursive: true });
  },
});
