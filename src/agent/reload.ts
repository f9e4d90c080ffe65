/**
 * Hot reload of the config file: the agent watches the file's folder, and a valid edit is
 * applied without a restart and kept as the last good copy; an invalid one is rejected with
 * the reason (in the log, in `agent status`, in health) and the running config stays.
 *
 * @module
 */
import path from "#path";
import { readCaCerts } from "../config/ca_certs.ts";
import {
  type Config,
  ConfigError,
  configWarnings,
  parseConfig,
  readConfigText,
} from "../config/load.ts";
import { lastGoodFile, saveLastGood } from "../data_dir/last_good.ts";
import { addSecrets, logger } from "../log/log.ts";
import { checkSandbox } from "../service/sandbox.ts";
import type { ReloadStatus } from "../status/sources.ts";

const log = logger("agent");

/** Waits this long after the last change event before reading the file (editors write twice). */
const SETTLE_MS = 300;

/** What a reload works on: the running agent. */
export interface ReloadTarget {
  /** The config in force. */
  config(): Config;
  /** Puts `next` in force (converters start and stop, server settings and limits change). */
  apply(next: Config, old: Config): Promise<void>;
}

/** Watches the config file and reloads it on each edit. */
export class ConfigReloader {
  #target: ReloadTarget;
  #watcher: Deno.FsWatcher | null = null;
  #last: ReloadStatus | null = null;
  /** The reload running now, if any (the next waits for it). */
  #running: Promise<unknown> = Promise.resolve();

  constructor(target: ReloadTarget) {
    this.#target = target;
  }

  /** The outcome of the last reload; null before the first edit. */
  get last(): ReloadStatus | null {
    return this.#last;
  }

  /**
   * Keeps the config file as the last good copy at start-up, if it still reads as the config in
   * force. One edited since the agent read it (before the watcher started) is reloaded now:
   * applied and saved, or rejected with its reason, like any edit.
   */
  saveStarted(): Promise<void> {
    // In the reloads' line: a reload the watcher starts meanwhile must not write the copy too.
    const run = this.#running.then(async () => {
      const running = this.#target.config();
      const text = await readConfigText(running.file);
      let same = false;
      try {
        same = JSON.stringify(parseConfig(text, running.file)) === JSON.stringify(running);
      } catch { /* invalid now: the reload says why */ }
      if (same) await saveLastGood(running.dataDir, text);
      else await this.#reload();
    });
    this.#running = run.catch(() => {});
    return run;
  }

  /** Starts watching the config file's folder (a watcher that can't start is a warning). */
  watch(): void {
    const file = () => this.#target.config().file;
    // A config that is a link is edited where it points: watch that folder, and take its events.
    let real = file();
    try {
      real = Deno.realPathSync(file());
    } catch { /* missing now: its own folder is watched, as for a plain file */ }
    const names = new Set([file(), real]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let w: Deno.FsWatcher;
    try {
      const folders = [...new Set([path.dirname(file()), path.dirname(real)])];
      w = this.#watcher = Deno.watchFs(folders, { recursive: false });
    } catch (e) {
      log.warn("Can't watch the config file for changes ({error}); restart to apply edits", {
        error: (e as Error).message,
      });
      return;
    }
    (async () => {
      try {
        for await (const ev of w) {
          if (!ev.paths.some((p) => names.has(path.resolve(p)))) continue;
          clearTimeout(timer);
          timer = setTimeout(() => {
            this.reload().catch((e) =>
              log.error("Config reload failed: {error}", { error: (e as Error).message })
            );
          }, SETTLE_MS);
        }
      } catch { /* closed */ }
    })();
  }

  /** Stops watching. */
  close(): void {
    try {
      this.#watcher?.close();
    } catch { /* closed */ }
  }

  /**
   * Re-reads the config file: a valid edit is applied without a restart and saved as the last
   * good copy; an invalid one is rejected with the reason and the running config stays.
   * `dataDir` and `control` change only at the next restart.
   */
  reload(): Promise<boolean> {
    // One at a time: two saves in a row must not apply (and save as last good) out of order.
    const run = this.#running.then(() => this.#reload());
    this.#running = run.catch(() => {});
    return run;
  }

  async #reload(): Promise<boolean> {
    const old = this.#target.config();
    const backup = lastGoodFile(old.dataDir);
    let next: Config;
    let text: string;
    try {
      text = await readConfigText(old.file); // read once: what is applied is what is saved
      next = parseConfig(text, old.file);
      checkSandbox(next);
      await readCaCerts(next);
    } catch (e) {
      const why = e instanceof ConfigError ? e.problems.join("; ") : (e as Error).message;
      log.error(
        "Config edit rejected, still running the previous config: {why}. The last good copy is {backup}.",
        { why, backup },
      );
      this.#last = { at: new Date().toISOString(), ok: false, error: why, lastGood: backup };
      return false;
    }
    if (next.dataDir !== old.dataDir) {
      // The queue lives in dataDir: a restart on the new one leaves the old one's reports behind.
      log.warn(
        "dataDir changed from {old} to {next}: that takes effect at the next restart, and the " +
          "reports still queued in {old} are not uploaded from {next}. The agent commands " +
          "already look in {next}: to keep those reports, set dataDir back, run `agent flush` " +
          "until the queue is empty, then change it and restart",
        { old: old.dataDir, next: next.dataDir },
      );
    }
    if (JSON.stringify(next.control) !== JSON.stringify(old.control)) {
      log.warn("control changes take effect at the next restart");
    }
    next = { ...next, dataDir: old.dataDir, control: old.control };
    addSecrets([next.server.token]);
    await this.#target.apply(next, old);
    try {
      await saveLastGood(old.dataDir, text);
    } catch (e) {
      // Applied all the same: the copy is only the fallback for a person.
      log.warn("Can't save the last good copy of the config ({backup}): {error}", {
        backup,
        error: (e as Error).message,
      });
    }
    this.#last = { at: new Date().toISOString(), ok: true, error: null, lastGood: backup };
    log.info("Config reloaded from {file}", { file: next.file });
    for (const w of configWarnings(next)) log.warn("Config: {warning}", { warning: w });
    return true;
  }
}
