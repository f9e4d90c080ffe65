/**
 * Deno's folder watcher on one drop folder, as hints: each event only names a path for the
 * source to look at (the file system decides, not the event). Events are dropped under load,
 * missed in just-created subfolders, and stop when the folder is deleted
 * (docs/runtime.md#watching-folders): an overflow or a failed watcher asks for a full rescan,
 * and a folder re-created under the same name (a new inode) gets a new watcher.
 *
 * @module
 */
import path from "#path";
import type { Logger } from "@logtape/logtape";

/** What the watcher is for. */
export interface FolderWatcherOptions {
  root: string;
  recursive: boolean;
  /** The rescan period (for the message when the folder can't be watched). */
  rescanMs: number;
  log: Logger;
  /** A path an event named. */
  onPath: (p: string) => void;
  /** Events were lost (overflow) or the watcher ended: look at everything. */
  onRescan: () => void;
  /** Whether the source has stopped (then an ending watcher is no news). */
  stopped: () => boolean;
}

/** The watcher of one folder; armed by the source's scans, closed when it can't be trusted. */
export class FolderWatcher {
  #o: FolderWatcherOptions;
  #watcher: Deno.FsWatcher | null = null;
  /** The inode of the folder watched. */
  #ino: number | null = null;
  /** Why the last arming failed (said once). */
  #armError: string | null = null;

  constructor(opts: FolderWatcherOptions) {
    this.#o = opts;
  }

  /** Whether events come in. */
  get watching(): boolean {
    return this.#watcher !== null;
  }

  /**
   * Watches the folder whose inode is `ino` now: arms a watcher when there is none, and
   * replaces one on a folder deleted and re-created between two scans (it is deaf).
   */
  ensure(ino: number | null): void {
    if (this.#watcher && ino !== null && ino !== this.#ino) this.close();
    if (!this.#watcher) this.#arm(ino);
  }

  /** Stops the watcher (the folder is gone or refused, or the source stops). */
  close(): void {
    const w = this.#watcher;
    this.#watcher = null;
    try {
      w?.close();
    } catch { /* already closed */ }
  }

  #arm(ino: number | null): void {
    try {
      this.#watcher = Deno.watchFs(this.#o.root, { recursive: this.#o.recursive });
      this.#ino = ino;
    } catch (e) {
      const error = (e as Error).message;
      if (this.#armError !== error) {
        this.#o.log.warn(
          "Can't watch {folder} ({error}); relying on rescans every {s} s. On Linux, raise " +
            "fs.inotify.max_user_watches if the error is about watches or space.",
          { folder: this.#o.root, error, s: this.#o.rescanMs / 1000 },
        );
      }
      this.#armError = error;
      return;
    }
    if (this.#armError) {
      this.#o.log.info("Watching {folder} again", { folder: this.#o.root });
      this.#armError = null;
    }
    const w = this.#watcher;
    (async () => {
      try {
        for await (const ev of w) {
          if (ev.flag === "rescan") {
            this.#o.log.debug("Watcher overflowed; rescanning {folder}", { folder: this.#o.root });
            this.#o.onRescan();
            continue;
          }
          for (const p of ev.paths) {
            // A removed file needs no look (its gate check finds it gone, and most removals
            // are the agent's own post-actions); the removed folder itself does.
            if (ev.kind === "remove" && path.relative(this.#o.root, p) !== "") continue;
            this.#o.onPath(p);
          }
        }
      } catch (e) {
        if (!this.#o.stopped()) {
          this.#o.log.warn("Watcher on {folder} failed ({error}); rescanning", {
            folder: this.#o.root,
            error: (e as Error).message,
          });
        }
      }
      if (this.#watcher === w) this.#watcher = null;
      if (!this.#o.stopped()) this.#o.onRescan();
    })();
  }
}
