/**
 * Reading the curve folder that belongs to a Klippel QC header file: the sibling folder named
 * like the header without `.txt` (`DUT xyz115 … UTC+0200.txt` → `DUT xyz115 … UTC+0200/`).
 *
 * The header is the unit's trigger; the folder is read here, safely:
 * - only that one folder, a direct child of the header's own folder (so inside the drop
 *   folder); a name that would point elsewhere (`..`) is refused;
 * - no symbolic links: neither the folder nor any file in it may be one, and each file opened
 *   must be the file listed (same device and inode), so a link swapped in is refused;
 * - the folder is the same folder (device and inode, not a link) before and after the listing
 *   and after the last read, and every file is on its device, so a folder swapped for a link
 *   (to a private folder) while it is read is refused. Deno has no openat: a swap in and back
 *   between two of these checks, to a folder on the same device, is the residual window;
 * - no hard links (a second name for a file elsewhere, perhaps one the writer can't read);
 * - no FIFO or device: one swapped in after the listing would block the open (and the worker)
 *   for ever; an open that takes longer than {@link OPEN_TIMEOUT_MS} is given up, and the FIFO
 *   opened for writing as well so that the blocked open ends (when the account may);
 * - bounded: at most `maxFiles` files, `maxFileBytes` each, `maxTotalBytes` in all;
 * - settled: Klippel writes the header and the curve files one after another, so the folder is
 *   read only when nothing in it changed for `settleMs`, waiting at most `waitMs` (for the
 *   folder to appear, too). The wait happens inside the conversion, so keep it well below
 *   `pool.timeoutSeconds`.
 *
 * @module
 */
import path from "#path";
import { ConversionError } from "../../conversion_error.ts";

/** How long opening a listed curve file may take before it is taken for a FIFO swapped in. */
export const OPEN_TIMEOUT_MS = 2000;

/** Limits and timing. */
export interface CurveFolderOptions {
  maxFiles: number;
  maxFileBytes: number;
  maxTotalBytes: number;
  settleMs: number;
  waitMs: number;
  /** Injected by tests that must not depend on the clock. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** One file of the folder. */
export interface CurveFile {
  name: string;
  bytes: Uint8Array;
}

/** What was found. */
export type CurveFolder =
  | { found: true; dir: string; files: CurveFile[]; skipped: string[] }
  | { found: false; dir: string };

/** The folder a header file's curves are in (same folder, the header's name without `.txt`). */
export function curveFolderOf(headerPath: string, headerName: string): string {
  const stem = headerName.replace(/\.txt$/i, "");
  if (stem === headerName || stem === "" || stem === "." || stem === ".." || /[\\/]/.test(stem)) {
    throw new ConversionError(
      `${headerName}: the curve folder's name can't be derived from this file name (expected ` +
        '"<name>.txt" beside a folder "<name>")',
      "Klippel QC names its header files *.txt; rename nothing, and check the folder's pattern.",
    );
  }
  return path.join(path.dirname(headerPath), stem);
}

/** Reads the settled curve folder, or says it is not there (after waiting for it). */
export async function readCurveFolder(
  dir: string,
  header: string,
  o: CurveFolderOptions,
): Promise<CurveFolder> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
  const until = now() + o.waitMs;
  for (;;) {
    const listed = await list(dir, header, o);
    const left = until - now();
    if (listed === null) {
      if (left <= 0) return { found: false, dir };
      await sleep(Math.min(left, 250));
      continue;
    }
    const quiet = now() - listed.newest;
    if (quiet < o.settleMs && left > 0) {
      await sleep(Math.min(left, o.settleMs - quiet, 250));
      continue;
    }
    if (quiet < o.settleMs) {
      throw new ConversionError(
        `${header}: the curve folder ${dir} was still changing after waiting ` +
          `${Math.round(o.waitMs / 1000)} s`,
        "Klippel QC was still writing the unit. Drop the header file again once the folder is " +
          'complete, or raise the "waitSeconds" converter parameter.',
      );
    }
    const files: CurveFile[] = [];
    for (const e of listed.files) files.push({ name: e.name, bytes: await readListed(e, o) });
    await stillTheFolder(dir, header, listed.folder);
    return { found: true, dir, files, skipped: listed.skipped };
  }
}

interface Listed {
  name: string;
  path: string;
  info: Deno.FileInfo;
}

async function list(
  dir: string,
  header: string,
  o: CurveFolderOptions,
): Promise<{ files: Listed[]; skipped: string[]; newest: number; folder: Deno.FileInfo } | null> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw readError(header, dir, e);
  }
  if (st.isSymlink) {
    throw new ConversionError(
      `${header}: the curve folder ${dir} is a symbolic link; the agent reads curve data only ` +
        "from a real folder beside the header",
      "Let Klippel QC write its log folder into the drop folder itself.",
    );
  }
  if (!st.isDirectory) {
    throw new ConversionError(`${header}: ${dir} is not a folder (the unit's curve folder)`);
  }
  const files: Listed[] = [];
  const skipped: string[] = [];
  let newest = st.mtime?.getTime() ?? 0;
  let total = 0;
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    throw readError(header, dir, e);
  }
  await stillTheFolder(dir, header, st);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isSymlink) {
      throw new ConversionError(
        `${header}: ${p} in the curve folder is a symbolic link; the agent does not follow ` +
          "links out of the drop folder",
        "Remove the link; Klippel QC writes plain files.",
      );
    }
    if (!e.isFile || !/\.txt$/i.test(e.name)) {
      skipped.push(e.name);
      continue;
    }
    if (files.length >= o.maxFiles) {
      throw new ConversionError(
        `${header}: the curve folder ${dir} has more than ${o.maxFiles} files`,
        'If this is a genuine Klippel log, raise "maxCurveFiles" in the converter params.',
      );
    }
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(p);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue; // removed while listing: settles below
      throw readError(header, p, err);
    }
    if (!info.isFile || (st.dev !== null && info.dev !== null && info.dev !== st.dev)) {
      throw replaced(header, dir);
    }
    if ((info.nlink ?? 1) > 1) {
      throw new ConversionError(
        `${header}: ${p} in the curve folder is a hard link (the file has ${info.nlink} names); ` +
          "the agent reads only files of their own, not a second name for a file elsewhere",
        "Remove the link; Klippel QC writes plain files.",
      );
    }
    if (info.size > o.maxFileBytes) {
      throw new ConversionError(
        `${header}: curve file ${p} has ${info.size} bytes, more than the ${o.maxFileBytes} ` +
          "allowed",
        'If this is a genuine Klippel curve, raise "maxCurveFileMB" in the converter params.',
      );
    }
    total += info.size;
    if (total > o.maxTotalBytes) {
      throw new ConversionError(
        `${header}: the curve folder ${dir} holds more than ${o.maxTotalBytes} bytes`,
        'If this is a genuine Klippel log, raise "maxCurveFolderMB" in the converter params.',
      );
    }
    newest = Math.max(newest, info.mtime?.getTime() ?? 0);
    files.push({ name: e.name, path: p, info });
  }
  return { files, skipped, newest, folder: st };
}

/** Throws when `dir` is no longer the folder `was` (replaced, by a link or another folder). */
async function stillTheFolder(dir: string, header: string, was: Deno.FileInfo): Promise<void> {
  let now: Deno.FileInfo;
  try {
    now = await Deno.lstat(dir);
  } catch {
    throw replaced(header, dir);
  }
  if (!now.isDirectory || now.ino !== was.ino || now.dev !== was.dev) throw replaced(header, dir);
}

function replaced(header: string, dir: string): ConversionError {
  return new ConversionError(
    `${header}: the curve folder ${dir} was replaced or changed while it was read (by a link ` +
      "or another folder); nothing of it was used",
    "Something other than Klippel QC changes the drop folder; convert the header again once " +
      "the folder is Klippel's own.",
  );
}

/** Reads a listed file, checking that the opened file is the one listed (no swap, no growth). */
async function readListed(e: Listed, o: CurveFolderOptions): Promise<Uint8Array> {
  let f: Deno.FsFile | null;
  try {
    f = await openWithin(e.path);
  } catch (err) {
    throw readError(e.name, e.path, err);
  }
  if (!f) {
    throw new ConversionError(
      `${e.path} is not a plain file any more (a FIFO or a device was put in its place after ` +
        "the curve folder was listed); it was not read",
      "Something other than Klippel QC writes into the curve folder; remove what is not a " +
        "curve file and convert the header again.",
    );
  }
  try {
    const st = await f.stat();
    const same = st.isFile && (st.ino === null || e.info.ino === null || st.ino === e.info.ino) &&
      (st.dev === null || e.info.dev === null || st.dev === e.info.dev);
    if (!same) {
      throw new ConversionError(
        `${e.path} was replaced while the curve folder was read`,
        "Something else writes into the curve folder; convert the header again once it is done.",
      );
    }
    const limit = Math.min(o.maxFileBytes, st.size) + 1;
    const buf = new Uint8Array(limit);
    let n = 0;
    for (;;) {
      const r = await f.read(buf.subarray(n));
      if (r === null) break;
      n += r;
      if (n >= limit) {
        throw new ConversionError(
          `${e.path} grew while it was read (the curve folder is still being written)`,
          "Convert the header again once Klippel QC has finished the unit.",
        );
      }
    }
    return buf.subarray(0, n);
  } finally {
    f.close();
  }
}

/**
 * Opens a listed file, or gives up (null) after {@link OPEN_TIMEOUT_MS}: then something that
 * blocks an open (a FIFO) was swapped in. The FIFO is then opened for reading and writing (an
 * open that never blocks), which lets the stuck open finish and be closed; an account that may
 * not do that leaves one I/O thread waiting until someone writes to the FIFO.
 */
async function openWithin(p: string): Promise<Deno.FsFile | null> {
  const opening = Deno.open(p, { read: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((r) => timer = setTimeout(() => r(null), OPEN_TIMEOUT_MS));
  const f = await Promise.race([opening, late]).finally(() => clearTimeout(timer));
  if (f) return f;
  opening.then((stuck) => stuck.close(), () => {});
  try {
    if ((await Deno.lstat(p)).isFifo) (await Deno.open(p, { read: true, write: true })).close();
  } catch { /* not allowed, or gone: the open ends when the FIFO does */ }
  return null;
}

function readError(header: string, p: string, e: unknown): ConversionError {
  return new ConversionError(
    `${header}: can't read ${p} of the curve folder: ${(e as Error).message}`,
    "Check that the agent's account may read the Klippel log folder.",
  );
}
