/**
 * The real file-system calls of post-actions (post_action.ts; tests inject others through
 * {@link PostEnv}): names created only as new ones, copies and small reads from a handle opened
 * without following a link and without waiting, each compared with what was looked at.
 *
 * @module
 */
import nodePath from "#path";
import type { Stats } from "#fs";
import { constants, type FileHandle, open } from "#fs/promises";
import { READ_NO_WAIT, shownPath } from "./no_links.ts";
import { DirSyncer, realFsOps } from "../queue/fs_ops.ts";
import type { PostEnv } from "./fs_env.ts";

async function createNew(
  file: string,
  write: (f: Deno.FsFile) => Promise<void>,
  mode?: number,
): Promise<Deno.FileInfo> {
  // `mode` is narrowed by the umask, never widened.
  const f = await Deno.open(file, { write: true, createNew: true, mode });
  try {
    await write(f);
    await f.sync();
    return await f.stat();
  } catch (e) {
    await Deno.remove(file).catch(() => {}); // a partial copy or note is worse than none
    throw e;
  } finally {
    try {
      f.close();
    } catch { /* closed by pipeTo */ }
  }
}

/** What post-actions compare of an opened file (node's fstat, in Deno's words). */
export type OpenedInfo = Pick<Deno.FileInfo, "isFile" | "ino" | "dev" | "size" | "mtime" | "mode">;

function opened_(st: Stats): OpenedInfo {
  return {
    isFile: st.isFile(),
    ino: st.ino ?? null,
    dev: st.dev ?? null,
    size: st.size,
    mtime: st.mtime ?? null,
    mode: st.mode ?? null,
  };
}

/** Copies `file`, opened as `src` (it must be `expect`), into the new file `to`; its fstat. */
async function copyOpened(
  src: FileHandle,
  file: string,
  to: string,
  expect: Deno.FileInfo,
): Promise<Deno.FileInfo> {
  const opened = opened_(await src.stat());
  SourceSwapped.check(file, expect, opened, "(opened for the copy)");
  // Never readable by more than the source was (a private file stays private).
  const mode = (opened.mode ?? 0o600) & 0o644;
  return await createNew(to, async (dst) => {
    const buf = new Uint8Array(64 * 1024);
    let copied = 0;
    for (;;) {
      const { bytesRead } = await src.read(buf, 0, buf.length, copied);
      if (bytesRead === 0) break;
      let off = 0;
      while (off < bytesRead) off += await dst.write(buf.subarray(off, bytesRead));
      copied += bytesRead;
    }
    if (copied !== opened.size) {
      throw new SourceSwapped(
        file,
        `it changed while it was copied (${copied} bytes copied)`,
      );
    }
  }, mode);
}

/** Folder syncs of post-actions running at once are shared (a burst costs a few, not one each). */
const dirSyncer = new DirSyncer(realFsOps);

/** The real file system. */
export const realPostEnv: PostEnv = {
  fs: {
    lstat: (p) => Deno.lstat(p),
    realPath: (p) => Deno.realPath(p),
    mkdir: (p) => Deno.mkdir(p),
    readLink: (p) => Deno.readLink(p),
    link: (from, to) => Deno.link(from, to),
    rename: (from, to) => Deno.rename(from, to),
    copyNew: async (from, to, expect, follow) => {
      // Opening follows a link swapped in after the last look (unless the source is a followed
      // link, never a last one) and never waits (a FIFO): what was opened is compared with what
      // was looked at, and only the open handle is read.
      const src = await open(
        from,
        follow ? READ_NO_WAIT & ~(constants.O_NOFOLLOW ?? 0) : READ_NO_WAIT,
      )
        .catch((e: { code?: string }) => {
          throw e.code === "ELOOP"
            ? new SourceSwapped(from, "it is a symbolic link now; nothing was copied")
            : e;
        });
      try {
        return await copyOpened(src, from, to, expect);
      } catch (e) {
        // Said with the file's real path, not the handle's it was reached through.
        if (e instanceof SourceSwapped) throw new SourceSwapped(await shownPath(from), e.problem);
        throw e;
      } finally {
        await src.close().catch(() => {});
      }
    },
    list: (dir) => Array.fromAsync(Deno.readDir(dir)),
    writeNew: (file, data) =>
      createNew(file, async (f) => {
        let off = 0;
        while (off < data.length) off += await f.write(data.subarray(off));
      }),
    readSmall: async (file, max) => {
      // Never through a link at the name, never waiting on a FIFO swapped in after the look.
      const f = await open(file, READ_NO_WAIT);
      try {
        const info = opened_(await f.stat());
        if (!info.isFile) return { info, data: new Uint8Array(0) };
        const buf = new Uint8Array(Math.min(info.size, max) + 1);
        let n = 0;
        while (n < buf.length) {
          const { bytesRead } = await f.read(buf, n, buf.length - n, n);
          if (bytesRead === 0) break;
          n += bytesRead;
        }
        return { info, data: buf.subarray(0, n) };
      } finally {
        await f.close().catch(() => {});
      }
    },
    remove: (file) => Deno.remove(file),
    syncDir: (dir) => dirSyncer.sync(dir),
  },
  os: Deno.build.os,
  path: nodePath,
  uid: Deno.uid(),
};

/** The source opened for a copy is not the file looked at (a link or file swapped in). */
export class SourceSwapped extends Error {
  /**
   * @param file the source path; @param problem how it differs; @param outcome what was left
   * undone
   */
  constructor(readonly file: string, readonly problem: string, outcome = "nothing was copied") {
    super(`${file} is not the file the agent checked: ${problem}; ${outcome}`);
    this.name = "SourceSwapped";
  }

  /** Throws unless `opened` (fstat) is the file `expect` (lstat) describes. */
  static check(file: string, expect: Deno.FileInfo, opened: OpenedInfo, when: string): void {
    const known = (a: number | null, b: number | null) => a !== null && b !== null && a !== b;
    const diff: string[] = [];
    if (!expect.isFile || expect.isSymlink) diff.push("it was not a regular file when checked");
    if (!opened.isFile) diff.push("what was opened is not a regular file");
    if (known(expect.ino, opened.ino) || known(expect.dev, opened.dev)) {
      diff.push("what was opened is another file (device/inode)");
    }
    if (expect.size !== opened.size) diff.push(`its size is ${opened.size}, not ${expect.size}`);
    if (expect.mtime?.getTime() !== opened.mtime?.getTime()) diff.push("it was modified");
    if (diff.length) throw new SourceSwapped(file, `${diff.join(", ")} ${when}`.trim());
  }
}
