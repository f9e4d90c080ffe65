/**
 * The file operations the queue makes durable state with. They are an interface so the crash
 * test can inject a failure after any single step; the agent uses {@link realFsOps}.
 *
 * @module
 */
import path from "#path";

/** The steps a durable state change is made of. */
export interface FsOps {
  /**
   * Creates `file` (must not exist) with `mode` (default 0o666, less the umask), writes `chunks`,
   * fsyncs and closes it.
   */
  writeNew(file: string, chunks: Uint8Array[], mode?: number): Promise<void>;
  /** Atomically renames `from` to `to` (same volume). */
  rename(from: string, to: string): Promise<void>;
  /** Makes the directory's entries durable (a no-op on Windows, where it isn't possible). */
  syncDir(dir: string): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  remove(file: string): Promise<void>;
}

const isWindows = Deno.build.os === "windows";

/**
 * Whether an error is Windows refusing a file another program holds open (a tester, antivirus,
 * the indexer): a sharing or lock violation (EBUSY), or access denied while it is being closed or
 * deleted (EACCES/EPERM). Such a refusal clears by itself; elsewhere these errors are real.
 */
export function isBusyError(e: unknown, os: string = Deno.build.os): boolean {
  if (os !== "windows") return false;
  const code = (e as { code?: string } | null)?.code;
  return e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.Busy ||
    code === "EBUSY" || code === "EACCES" || code === "EPERM";
}

/** How {@link withBusyRetry} waits and decides; tests inject them. */
export interface BusyRetryOptions {
  os?: string;
  sleep?: (ms: number) => Promise<void>;
  /** Tries after the first (default 6: about 3 s in all). */
  retries?: number;
}

/** Runs `op`, retrying briefly while Windows says the file is busy ({@link isBusyError}). */
export async function withBusyRetry<T>(
  op: () => Promise<T>,
  opts: BusyRetryOptions = {},
): Promise<T> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const retries = opts.retries ?? 6;
  for (let attempt = 0;; attempt++) {
    try {
      return await op();
    } catch (e) {
      if (!isBusyError(e, opts.os) || attempt >= retries) throw e;
      await sleep(50 * 2 ** attempt);
    }
  }
}

/** Renames, retrying briefly on Windows sharing violations (antivirus, indexer). */
function renameWithRetry(from: string, to: string): Promise<void> {
  return withBusyRetry(() => Deno.rename(from, to));
}

/** The real operations, with every fsync checked (an error propagates; nothing pretends). */
export const realFsOps: FsOps = {
  async writeNew(file, chunks, mode) {
    const f = await Deno.open(file, { write: true, createNew: true, mode });
    try {
      for (const chunk of chunks) {
        let off = 0;
        while (off < chunk.length) off += await f.write(chunk.subarray(off));
      }
      await f.sync();
    } finally {
      f.close();
    }
  },
  rename: renameWithRetry,
  async syncDir(dir) {
    if (isWindows) return; // NTFS journals directory metadata; FlushFileBuffers on a dir fails
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  },
  async remove(file) {
    try {
      await Deno.remove(file);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  },
};

/**
 * Coalesces directory fsyncs: callers that ask while one is running share the next one, so a
 * burst of enqueues costs a few directory syncs instead of one each (group commit).
 */
export class DirSyncer {
  #running = new Map<string, Promise<void>>();
  #pending = new Map<string, Promise<void>>();

  /** @param ops the operations to sync with */
  constructor(private readonly ops: FsOps) {}

  /** Resolves once a sync of `dir` that started after this call has finished. */
  sync(dir: string): Promise<void> {
    const pending = this.#pending.get(dir);
    if (pending) return pending;
    const running = this.#running.get(dir);
    const next = (running ? running.catch(() => {}) : Promise.resolve()).then(async () => {
      this.#pending.delete(dir);
      const p = this.ops.syncDir(dir);
      this.#running.set(dir, p);
      try {
        await p;
      } finally {
        if (this.#running.get(dir) === p) this.#running.delete(dir);
      }
    });
    this.#pending.set(dir, next);
    return next;
  }
}

/**
 * Replaces `file` with `data` so that after a crash or power cut it holds either the old or the
 * new content, never a torn or empty file: a temp file written and fsynced, renamed over, then
 * the folder fsynced. `mode` (e.g. 0o600 for files that hold secrets) is applied before the
 * rename, whatever the umask.
 */
export async function replaceDurably(
  file: string,
  data: string | Uint8Array,
  opts: { mode?: number; ops?: FsOps } = {},
): Promise<void> {
  const ops = opts.ops ?? realFsOps;
  const tmp = `${file}.tmp`;
  await ops.remove(tmp); // a temp file a crash left behind
  // Created with the mode (the umask can only take bits away), then chmod'ed to exactly it.
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  await ops.writeNew(tmp, [bytes], opts.mode);
  if (opts.mode !== undefined && !isWindows) await Deno.chmod(tmp, opts.mode);
  await ops.rename(tmp, file);
  await ops.syncDir(path.dirname(file));
}
