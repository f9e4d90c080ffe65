/**
 * The yardstick every queue benchmark is compared with: the raw rate of write + fsync + rename
 * of the same files on the same disk, measured in the same run.
 *
 * @module
 */
import path from "#path";
import { realFsOps } from "../../src/queue/fs_ops.ts";

/** Options for {@link rawWriteFsyncRename}. */
export interface RawOptions {
  /**
   * Write the files in this folder (default: a new `tmp` folder in `dir`). The end-to-end
   * benchmark uses the agent's own `queue/tmp`: on ext4 the cost of creating a file depends on
   * its folder (new inodes are taken from the folder's block group, and without a journal
   * every inode deleted there in the last minutes is skipped one by one), so the yardstick
   * should create its files where the agent creates its entries.
   */
  tmpDir?: string;
  /**
   * Leave the files (the caller removes `dir` later). Deleting a thousand files right before
   * the measured system runs would make its file creations slower than the yardstick's were
   * (see `tmpDir`): the clean-up would bill the system for the yardstick.
   */
  keep?: boolean;
}

/** Files per second for write(tmp) + fsync + rename(tmp → dir), one after another. */
export async function rawWriteFsyncRename(
  dir: string,
  bodies: Uint8Array[],
  opts: RawOptions = {},
): Promise<number> {
  const base = await Deno.makeTempDir({ dir, prefix: "raw-" });
  const tmp = opts.tmpDir ?? path.join(base, "tmp");
  const dst = path.join(base, "dst");
  await Deno.mkdir(tmp, { recursive: true });
  await Deno.mkdir(dst, { recursive: true });
  const prefix = path.basename(base);
  const t0 = performance.now();
  for (let i = 0; i < bodies.length; i++) {
    const name = `${prefix}-${i}.json`;
    await realFsOps.writeNew(path.join(tmp, name), [bodies[i]]);
    await Deno.rename(path.join(tmp, name), path.join(dst, name));
  }
  const s = (performance.now() - t0) / 1000;
  if (!opts.keep) await Deno.remove(base, { recursive: true });
  return bodies.length / s;
}

/** Formats a rate. */
export function rate(n: number): string {
  return n >= 100 ? Math.round(n).toString() : n.toFixed(1);
}
