/**
 * A small persistent map kept as an append-only file of `key\tvalue` lines, loaded at start-up
 * and compacted when it grows. Used for the content-hash index (was this file queued before?)
 * and the list of kept source files. Both are relied on after a restart (a kept file must not
 * be converted and sent again; a known duplicate must not be re-sent), so every group of appends
 * is fsynced before the writes it stands for are reported done, and compaction replaces the file
 * durably.
 *
 * @module
 */
import path from "#path";
import { makePrivateDir } from "../private.ts";
import { realFsOps, replaceDurably } from "../queue/fs_ops.ts";

/**
 * Tabs and newlines (a file name may hold them) are written as NUL + "t" / "n": a NUL is in no
 * file name, hash or path, so files written before read the same.
 */
function encode(text: string): string {
  return text.replace(/[\t\n]/g, (c) => c === "\t" ? "\u0000t" : "\u0000n");
}

function decode(text: string): string {
  return text.includes("\u0000")
    // deno-lint-ignore no-control-regex -- the NUL is the escape
    ? text.replace(/\u0000([tn])/g, (_, c) => c === "t" ? "\t" : "\n")
    : text;
}

/** A persistent string → string map. */
export class KeyedLog {
  #file: string;
  #map = new Map<string, string>();
  #lines = 0;
  #maxEntries: number;
  #writer: Promise<void> = Promise.resolve();
  /** Lines waiting for the next write, and that write (not started yet). */
  #buffer = "";
  #next: Promise<void> | null = null;
  #handle: Deno.FsFile | null = null;

  private constructor(file: string, maxEntries: number) {
    this.#file = file;
    this.#maxEntries = maxEntries;
  }

  /** Opens (creating) the log at `file`; beyond `maxEntries` the oldest entries are dropped. */
  static async open(file: string, maxEntries = 200_000): Promise<KeyedLog> {
    const log = new KeyedLog(file, maxEntries);
    await makePrivateDir(path.dirname(file)); // file names from the drop folders
    let text = "";
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    for (const line of text.split("\n")) {
      const tab = line.indexOf("\t");
      if (tab <= 0) continue; // blank, or a torn last line
      const key = decode(line.slice(0, tab));
      const value = line.slice(tab + 1);
      log.#map.delete(key); // re-insert: Map order is age order
      if (value === "\u0000") continue; // deletion mark
      log.#map.set(key, decode(value));
      log.#lines++;
    }
    if (log.#lines > 2 * log.#map.size + 1000 || log.#map.size > maxEntries) await log.compact();
    return log;
  }

  /** The value for `key`, if any. */
  get(key: string): string | undefined {
    return this.#map.get(key);
  }

  /** How many entries. */
  get size(): number {
    return this.#map.size;
  }

  /** Sets a value (appended to the file in order; awaiting is optional). */
  set(key: string, value: string): Promise<void> {
    this.#map.delete(key);
    this.#map.set(key, value);
    return this.#append(`${encode(key)}\t${encode(value)}\n`);
  }

  /** Removes a key. */
  delete(key: string): Promise<void> {
    if (!this.#map.delete(key)) return Promise.resolve();
    return this.#append(`${encode(key)}\t\u0000\n`);
  }

  #append(line: string): Promise<void> {
    this.#lines++;
    this.#buffer += line;
    // Lines that arrive while a write runs go out together in the next one (a burst of files
    // costs a few writes, not one each).
    this.#next ??= this.#writer = this.#writer.catch(() => {}).then(async () => {
      this.#next = null;
      const bytes = new TextEncoder().encode(this.#buffer);
      this.#buffer = "";
      // One handle for all appends (an open and close per line costs more than the write).
      if (this.#handle === null) {
        this.#handle = await Deno.open(this.#file, { append: true, create: true });
        await realFsOps.syncDir(path.dirname(this.#file)); // the file's name, if just created
      }
      let off = 0;
      while (off < bytes.length) off += await this.#handle.write(bytes.subarray(off));
      await this.#handle.sync(); // one fsync for every line that came in during the last one
      if (this.#lines > 2 * this.#map.size + 1000 || this.#map.size > this.#maxEntries) {
        await this.compact();
      }
    });
    return this.#next;
  }

  /** Closes the append handle (reopened on the next write). */
  async close(): Promise<void> {
    await this.#writer.catch(() => {});
    this.#handle?.close();
    this.#handle = null;
  }

  /** Rewrites the file with the live entries only (temp file, fsync, rename, folder fsync). */
  async compact(): Promise<void> {
    while (this.#map.size > this.#maxEntries) this.#map.delete(this.#map.keys().next().value!);
    const body = [...this.#map].map(([k, v]) => `${encode(k)}\t${encode(v)}\n`).join("");
    this.#handle?.close(); // the file is replaced: appends go to the new one
    this.#handle = null;
    await replaceDurably(this.#file, body);
    this.#lines = this.#map.size;
  }

  /** Waits for pending appends. */
  flush(): Promise<void> {
    return this.#writer;
  }
}
