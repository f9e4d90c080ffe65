/**
 * What the scans of one drop folder had to leave out (subfolders that can't be read, FIFOs,
 * sockets and devices, names that are not valid UTF-8): each is said once in the log when it
 * appears, and stays a health reason while it is there. A full rescan renews the list.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { ScanProblem } from "./scan.ts";

/** The scan problems of one source (one converter's watch folder). */
export class ScanProblems {
  #known = new Map<string, ScanProblem>();

  /**
   * @param log the source's logger
   * @param name the converter's name, for the reasons
   * @param root its watch folder
   */
  constructor(
    private readonly log: Logger,
    private readonly name: string,
    private readonly root: string,
  ) {}

  /** A full scan's problems replace the last ones; those not known before are logged. */
  renew(found: Iterable<ScanProblem>): void {
    const before = this.#known;
    this.#known = new Map();
    for (const p of found) this.add(p, before);
  }

  /** Records one problem; says it once (not again while it stays). */
  add(p: ScanProblem, known: ReadonlyMap<string, ScanProblem> = this.#known): void {
    const news = !known.has(p.path);
    this.#known.set(p.path, p);
    if (!news) return;
    if (p.kind === "unreadable") {
      this.log.warn(
        "Subfolder {folder} of {root} can't be read ({error}); it is skipped, files in it are " +
          "not taken. Give the agent access, shorten or flatten the folder, or remove it.",
        { folder: p.path, root: this.root, error: p.error },
      );
    } else if (p.kind === "special") {
      this.log.warn(
        "{file} is a FIFO, socket or device: it is never taken, and a FIFO blocks the folder " +
          "watcher (Deno opens what its events name). Remove it, then restart the agent.",
        { file: p.path },
      );
    } else {
      this.log.warn(
        "{file}: its name is not valid UTF-8 (shown with U+FFFD), so the agent can't open, " +
          "move or delete it; it is not taken. Rename it (a UTF-8 or ASCII name).",
        { file: p.path },
      );
    }
  }

  /** Health reasons, one per kind of problem. */
  reasons(): string[] {
    const { name, root } = this;
    const out: string[] = [];
    const of = (kind: ScanProblem["kind"]) =>
      [...this.#known.values()].filter((p) => p.kind === kind);
    const more = (n: number) => (n > 1 ? ` and ${n - 1} more` : "");
    const unreadable = of("unreadable") as Extract<ScanProblem, { kind: "unreadable" }>[];
    if (unreadable.length) {
      const [first] = unreadable;
      out.push(
        `${unreadable.length} subfolder(s) of ${root} (converter ${name}) can't be read, so ` +
          `files in them are not taken: ${first.path} (${first.error})${
            more(unreadable.length)
          }. ` +
          "Give the agent access, shorten or flatten the folder, or remove it",
      );
    }
    const special = of("special");
    if (special.length) {
      out.push(
        `${special.length} FIFO(s), socket(s) or device(s) in ${root} (converter ${name}), e.g. ` +
          `${special[0].path}: never taken, and a FIFO blocks the folder watcher (files are then ` +
          "found by rescans only, config edits are not seen, and the agent no longer stops on " +
          "a signal or `agent stop`). Remove them, then restart the agent through its service " +
          "manager (or end it with kill -9; the queue on disk is safe)",
      );
    }
    const unnamable = of("unnamable");
    if (unnamable.length) {
      out.push(
        `${unnamable.length} file(s) in ${root} (converter ${name}) have names that are not ` +
          `valid UTF-8, e.g. ${JSON.stringify(unnamable[0].path)}: the agent can't open, move ` +
          "or delete them, so they are not taken. Rename them (UTF-8 or ASCII names)",
      );
    }
    return out;
  }
}
