/**
 * The poison-file breaker. A file that kills the agent while it is converted (a zip bomb that
 * inflates past the machine's memory, a converter that ends the process) would otherwise be taken
 * again at every start: a crash loop in which no other file is ever converted.
 *
 * So the files being converted are written down before their conversion starts and crossed off
 * when it ends (an append-only file in `<dataDir>/index`; appends that arrive together share one
 * write). Written, not fsynced: what the record must outlive is the agent's process dying (the
 * kernel keeps a write through that), and no file can cut the power; after a power cut the files
 * that were converting are simply converted again. The fsync cost 1.6–2.7 ms before each file's
 * conversion when files come one at a time. The clean-stop mark and the compacted file are
 * fsynced (a shutdown's stop must not read as a death). At start-up, files still written down were being converted when
 * the agent died abnormally; a clean stop writes a mark first, and what was converting then is
 * not blamed. Such files are suspects: intake converts each of them alone, so that a second
 * death names its file. A file that was converting at {@link POISON_DEATHS} deaths goes to the
 * Error folder instead of being converted again. Three, not two: a person's or a watchdog's
 * kill -9 that happens to land while a file converts is no reason to reject it.
 *
 * A file is known by its path and identity (size, mtime, device, inode): a fixed file dropped
 * again under the same name starts with a clean record.
 *
 * @module
 */
import path from "#path";
import { realFsOps } from "../queue/fs_ops.ts";
import { logger } from "../log/log.ts";
import { type FileIdentity, identityChange, identityOf, lookAt } from "./source_file.ts";

/** Deaths while a file was converting after which it goes to Error. */
export const POISON_DEATHS = 3;

/** A file as the breaker knows it. */
export type PoisonFile = FileIdentity & { path: string };

const log = logger("intake");
/** Lines after which the file is rewritten with only what is still true. */
const COMPACT_AFTER_LINES = 4096;
const encoder = new TextEncoder();

function keyOf(f: PoisonFile): string {
  return JSON.stringify([f.path, f.size, f.mtimeMs, f.dev, f.ino]);
}

function fileOf(key: string): PoisonFile | null {
  try {
    const [p, size, mtimeMs, dev, ino] = JSON.parse(key);
    if (typeof p !== "string" || typeof size !== "number" || typeof mtimeMs !== "number") {
      return null;
    }
    return { path: p, size, mtimeMs, dev: dev ?? null, ino: ino ?? null };
  } catch {
    return null;
  }
}

/** The record of files being converted, and of the deaths they were converting at. */
export class PoisonBreaker {
  #file: string;
  /** Files whose conversion runs now. */
  #converting = new Set<string>();
  /** Files that were converting when the agent died: how many times. */
  #deaths = new Map<string, number>();
  #lines = 0;
  #buffer = "";
  #next: Promise<void> | null = null;
  #writer: Promise<void> = Promise.resolve();
  #handle: Deno.FsFile | null = null;
  #writeError: string | null = null;
  #stopping = false;
  /** A line waiting in the buffer must be fsynced. */
  #durable = false;

  private constructor(file: string) {
    this.#file = file;
  }

  /**
   * Opens the record at `file`: counts a death for every file that was converting when the
   * last run ended without a clean stop, forgets files that are gone or changed since, and
   * starts a fresh file. A record that can't be read or written is logged and intake runs
   * without the breaker.
   */
  static async open(file: string): Promise<PoisonBreaker | null> {
    const b = new PoisonBreaker(file);
    try {
      await b.#load();
      return b;
    } catch (e) {
      log.error(
        "Can't keep the record of files being converted in {file} ({error}): a file that " +
          "crashes the agent will be taken again after every restart. Check the disk and the " +
          "permissions of the data directory.",
        { file, error: (e as Error).message },
      );
      return null;
    }
  }

  async #load(): Promise<void> {
    await Deno.mkdir(path.dirname(this.#file), { recursive: true });
    let text = "";
    try {
      text = await Deno.readTextFile(this.#file);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const converting = new Set<string>();
    let stopping = false;
    for (const line of text.split("\n")) {
      if (line === "stop") {
        converting.clear(); // a clean stop: what converted then, or started after, is not blamed
        stopping = true;
      }
      const sp = line.indexOf(" ");
      if (sp < 0) continue; // blank, "stop", or a torn last line
      const op = line.slice(0, sp);
      const rest = line.slice(sp + 1);
      if (op === "+") {
        if (!stopping) converting.add(rest);
      } else if (op === "-") converting.delete(rest);
      else if (op === "0") this.#deaths.delete(rest);
      else if (op === "!") {
        const sp2 = rest.indexOf(" ");
        const n = Number(rest.slice(0, sp2));
        if (Number.isInteger(n) && n > 0) this.#deaths.set(rest.slice(sp2 + 1), n);
      }
    }
    for (const key of converting) this.#deaths.set(key, (this.#deaths.get(key) ?? 0) + 1);
    for (const key of [...this.#deaths.keys()]) {
      if (!await this.#stillThere(key)) this.#deaths.delete(key);
    }
    if (converting.size > 0) {
      const suspects = [...converting].map((k) => fileOf(k)?.path ?? k);
      log.warn(
        "The agent stopped abnormally (killed, out of memory, or crashed) while converting " +
          "{count} file(s): {files}. They are converted one at a time now; a file that was " +
          "converting at {max} such stops goes to the Error folder.",
        { count: suspects.length, files: suspects.join(", "), max: POISON_DEATHS },
      );
    }
    await this.#rewrite();
  }

  /** Whether the file a key names is still at its path, unchanged (link followed or not). */
  async #stillThere(key: string): Promise<boolean> {
    const f = fileOf(key);
    if (!f) return false;
    for (const follow of [false, true]) {
      try {
        const st = await lookAt(f.path, follow);
        if (st.isFile && !identityChange(f, identityOf(st))) return true;
      } catch {
        return false;
      }
    }
    return false;
  }

  /** Deaths counted for this file (0: never converting when the agent died). */
  deaths(f: PoisonFile): number {
    return this.#deaths.get(keyOf(f)) ?? 0;
  }

  /** Whether the file was converting when the agent died: it is to be converted alone. */
  suspect(f: PoisonFile): boolean {
    return this.#deaths.has(keyOf(f));
  }

  /** Whether the file is not to be converted again. */
  condemned(f: PoisonFile): boolean {
    return this.deaths(f) >= POISON_DEATHS;
  }

  /** Writes the file down as converting; resolves once the write returned. */
  begin(f: PoisonFile): Promise<void> {
    const key = keyOf(f);
    this.#converting.add(key);
    return this.#append(`+ ${key}\n`);
  }

  /** Crosses the file off (its conversion ended, however). Idempotent. */
  end(f: PoisonFile): void {
    const key = keyOf(f);
    if (this.#converting.delete(key)) this.#append(`- ${key}\n`);
  }

  /**
   * Forgets the file's deaths: it went to Error, or is gone or changed. A suspect that is
   * still there unchanged (released to try again later, or kept) stays a suspect.
   */
  async settle(f: PoisonFile, force = false): Promise<void> {
    const key = keyOf(f);
    if (!this.#deaths.has(key) || (!force && await this.#stillThere(key))) return;
    this.#deaths.delete(key);
    await this.#append(`0 ${key}\n`);
  }

  /** Writes the clean-stop mark: what converts from now on is not blamed for the exit. */
  stopping(): Promise<void> {
    this.#stopping = true;
    return this.#append("stop\n", true);
  }

  /** Waits for pending writes and closes the file. */
  async close(): Promise<void> {
    await this.#writer;
    this.#handle?.close();
    this.#handle = null;
  }

  /** Appends `line`; `durable`: fsynced too (with the lines written together with it). */
  #append(line: string, durable = false): Promise<void> {
    this.#lines++;
    this.#buffer += line;
    this.#durable ||= durable;
    // Lines that arrive while a write runs go out together in the next one.
    this.#next ??= this.#writer = this.#writer.then(async () => {
      this.#next = null;
      const bytes = encoder.encode(this.#buffer);
      const sync = this.#durable;
      this.#buffer = "";
      this.#durable = false;
      try {
        if (this.#lines > COMPACT_AFTER_LINES) await this.#rewrite();
        else {
          this.#handle ??= await Deno.open(this.#file, { append: true, create: true });
          let off = 0;
          while (off < bytes.length) off += await this.#handle.write(bytes.subarray(off));
          if (sync) await this.#handle.sync();
        }
        if (this.#writeError) {
          log.info("The record of files being converted ({file}) is written again", {
            file: this.#file,
          });
          this.#writeError = null;
        }
      } catch (e) {
        const error = (e as Error).message;
        if (error !== this.#writeError) {
          log.error(
            "Can't write the record of files being converted to {file} ({error}): a file that " +
              "crashes the agent now may be taken again after the restart. Check the disk " +
              "holding the data directory.",
            { file: this.#file, error },
          );
        }
        this.#writeError = error;
        this.#handle?.close();
        this.#handle = null;
      }
    });
    return this.#next;
  }

  /** Replaces the file with what is true now (temp file, fsync, rename, folder fsync). */
  async #rewrite(): Promise<void> {
    const lines = [
      ...[...this.#deaths].map(([k, n]) => `! ${n} ${k}\n`),
      ...[...this.#converting].map((k) => `+ ${k}\n`),
      ...(this.#stopping ? ["stop\n"] : []),
    ];
    this.#handle?.close();
    this.#handle = null;
    const tmp = `${this.#file}.tmp`;
    await realFsOps.remove(tmp);
    await realFsOps.writeNew(tmp, [encoder.encode(lines.join(""))]);
    await realFsOps.rename(tmp, this.#file);
    await realFsOps.syncDir(path.dirname(this.#file));
    this.#lines = lines.length;
  }
}
