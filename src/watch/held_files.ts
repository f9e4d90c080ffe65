/**
 * Source files whose post-action (delete, move into Done or Error) has to wait: the folder was
 * refused (a symbolic link where a plain folder should be) or Windows says another program
 * still has the file open. They stay taken, so they are not converted (and sent) again, and the
 * action alone is tried again every few seconds; a file that changed or went meanwhile is given
 * back to its folder, to be taken anew. Refused folders are a health reason until they clear.
 *
 * @module
 */
import { logger } from "../log/log.ts";
import { FileBusy, FolderRefused } from "./post_action.ts";

const log = logger("intake");

/** One held file. */
export interface Held {
  converter: string;
  file: string;
  size: number;
  mtimeMs: number;
  /** Done or Error, for messages. */
  kind: "Done" | "Error" | "delete";
  why: FolderRefused | FileBusy;
  /** Tries the action again (it re-holds the file if it still can't be done). */
  retry: () => Promise<void>;
  /** Gives the file back to its folder (changed, gone, or its converter restarted). */
  giveBack: () => void;
}

/** Busy files are a health reason once they wait this long. */
const BUSY_HEALTH_MS = 10 * 60_000;

/** The held files of one intake. */
export class HeldFiles {
  #held = new Map<string, Held & { since: number }>();
  #timer?: ReturnType<typeof setInterval>;
  #ticking = false;

  /** @param periodMs how often to retry; @param stopped whether intake stopped (no retries) */
  constructor(readonly periodMs: () => number, readonly stopped: () => boolean) {}

  /**
   * Holds a file; true when this is news (not the same reason as the last time it was held),
   * so the caller logs it loudly once, not at every retry.
   */
  hold(h: Held): boolean {
    const before = this.#held.get(h.file);
    this.#held.set(h.file, { ...h, since: before?.since ?? Date.now() });
    this.#arm();
    return before?.why.message !== h.why.message;
  }

  /** The file's action went through (or it is not held). */
  drop(file: string): void {
    this.#held.delete(file);
    if (this.#held.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /**
   * Gives back now every file held for `converter` (it stopped: its config changed or it was
   * removed), so that its watch folder is let go and the restarted converter takes them anew.
   */
  giveBackAll(converter: string): void {
    for (const h of [...this.#held.values()]) {
      if (h.converter !== converter) continue;
      this.drop(h.file);
      h.giveBack();
    }
  }

  /** How many files wait. */
  get size(): number {
    return this.#held.size;
  }

  /** Health reasons: each refused folder, and files busy for long. */
  problems(now = Date.now()): string[] {
    const refused = new Map<string, { why: FolderRefused; kind: string; files: string[] }>();
    const busy = new Map<string, string[]>();
    for (const h of this.#held.values()) {
      if (h.why instanceof FolderRefused) {
        const key = `${h.converter}\u0000${h.why.folder}`;
        const r = refused.get(key) ?? { why: h.why, kind: h.kind, files: [] };
        r.files.push(h.file);
        refused.set(key, r);
      } else if (now - h.since >= BUSY_HEALTH_MS) {
        busy.set(h.converter, [...(busy.get(h.converter) ?? []), h.file]);
      }
    }
    const out: string[] = [];
    for (const [key, r] of refused) {
      out.push(
        `${r.kind} folder ${r.why.folder} (converter ${key.split("\u0000")[0]}) refused: ` +
          `${r.why.problem}; ${r.files.length} file(s) wait in the drop folder and are moved ` +
          "once it is a plain folder again (if it was moved on purpose, restart the agent)",
      );
    }
    for (const [converter, files] of busy) {
      out.push(
        `${files.length} file(s) of converter ${converter} in use by another program for over ` +
          `${BUSY_HEALTH_MS / 60_000} min (e.g. ${files[0]}); their delete or move waits ` +
          "until the program closes them",
      );
    }
    return out;
  }

  #arm(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), this.periodMs());
    Deno.unrefTimer(this.#timer); // waiting files never keep the agent from stopping
  }

  async #tick(): Promise<void> {
    if (this.#ticking || this.stopped()) return;
    this.#ticking = true;
    try {
      for (const h of [...this.#held.values()]) {
        if (this.stopped()) return;
        let st: Deno.FileInfo | null = null;
        try {
          st = await Deno.stat(h.file);
        } catch { /* gone */ }
        if (!st || st.size !== h.size || (st.mtime?.getTime() ?? 0) !== h.mtimeMs) {
          this.drop(h.file); // gone, or a new result: taken anew
          h.giveBack();
          continue;
        }
        try {
          await h.retry();
        } catch (e) {
          log.error("Unexpected error (a bug) retrying the post-action of {file}: {error}", {
            file: h.file,
            error: (e as Error).stack ?? String(e),
          });
        }
      }
    } finally {
      this.#ticking = false;
    }
  }
}
