/**
 * The yardstick every queue benchmark is compared with: the raw rate of write + fsync + rename
 * of the same files on the same disk, measured in the same run.
 *
 * @module
 */
import path from "#path";
import { realFsOps } from "../../src/queue/fs_ops.ts";

/** Files per second for write(tmp) + fsync + rename(tmp → dir), one after another. */
export async function rawWriteFsyncRename(dir: string, bodies: Uint8Array[]): Promise<number> {
  const tmp = path.join(dir, "raw-tmp");
  const dst = path.join(dir, "raw-dst");
  await Deno.mkdir(tmp, { recursive: true });
  await Deno.mkdir(dst, { recursive: true });
  const t0 = performance.now();
  for (let i = 0; i < bodies.length; i++) {
    const name = `${i}.json`;
    await realFsOps.writeNew(path.join(tmp, name), [bodies[i]]);
    await Deno.rename(path.join(tmp, name), path.join(dst, name));
  }
  const s = (performance.now() - t0) / 1000;
  await Deno.remove(tmp, { recursive: true });
  await Deno.remove(dst, { recursive: true });
  return bodies.length / s;
}

/** Formats a rate. */
export function rate(n: number): string {
  return n >= 100 ? Math.round(n).toString() : n.toFixed(1);
}
