/**
 * The test server's report store: reports by id (lower-case) with receive counts, in memory and,
 * when a directory is given, also on disk (one JSON file per report, written atomically) so the
 * reports survive a restart of the server process.
 *
 * @module
 */
import path from "#path";

/** One stored report and what the server knows about its submissions. */
export interface StoredReport {
  /** The report id, lower-case. */
  id: string;
  /** The legacy integer id the server returned as `Report_ID` (stable across upserts). */
  reportId: number;
  /** How many times a report with this id was accepted (1 + number of overwrites). */
  receiveCount: number;
  /** ISO time of the first accepted submission. */
  firstReceivedAt: string;
  /** ISO time of the latest accepted submission. */
  lastReceivedAt: string;
  /** The report as the server serves it back (normalised). */
  report: Record<string, unknown>;
  /** Accepted oddities of the latest submission, e.g. unknown fields that were dropped. */
  warnings: string[];
  /** Size of the latest request body in bytes. */
  bodyBytes: number;
  /** Lower-case hex SHA-256 of the latest request body. */
  bodySha256: string;
  /** The latest request body as text, when the server keeps bodies. */
  body?: string;
}

/** What an upsert supplies; the store adds ids, counts and times. */
export type ReportSubmission = Omit<
  StoredReport,
  "reportId" | "receiveCount" | "firstReceivedAt" | "lastReceivedAt"
>;

/** Reports by id, optionally persisted under `<dir>/reports/`. */
export class ReportStore {
  readonly #reports = new Map<string, StoredReport>();
  readonly #dir: string | null;
  readonly #writes = new Map<string, Promise<void>>();
  #nextReportId = 1;

  private constructor(dir: string | null) {
    this.#dir = dir === null ? null : path.join(dir, "reports");
  }

  /**
   * Opens a store. With `dir`, reports already saved there are loaded; a file that cannot be
   * read as a stored report is an error naming the file.
   */
  static async open(dir?: string): Promise<ReportStore> {
    const store = new ReportStore(dir ?? null);
    if (store.#dir !== null) await store.#load(store.#dir);
    return store;
  }

  /** The folder reports are saved in, or null for a memory-only store. */
  get directory(): string | null {
    return this.#dir;
  }

  /** Number of distinct reports. */
  get size(): number {
    return this.#reports.size;
  }

  /** Total accepted submissions over all reports. */
  get totalReceives(): number {
    let n = 0;
    for (const r of this.#reports.values()) n += r.receiveCount;
    return n;
  }

  /** The stored report with this id (any case), if any. */
  get(id: string): StoredReport | undefined {
    return this.#reports.get(id.toLowerCase());
  }

  /** All stored reports, in order of first receipt. */
  list(): StoredReport[] {
    return [...this.#reports.values()];
  }

  /** Receive count per report id. */
  receiveCounts(): Record<string, number> {
    return Object.fromEntries([...this.#reports.values()].map((r) => [r.id, r.receiveCount]));
  }

  /**
   * Inserts or overwrites the report with `submission.id` and bumps its receive count. With a
   * directory, resolves once the file is on disk.
   */
  async upsert(submission: ReportSubmission, now = new Date()): Promise<StoredReport> {
    const id = submission.id.toLowerCase();
    const previous = this.#reports.get(id);
    const entry: StoredReport = {
      ...submission,
      id,
      reportId: previous?.reportId ?? this.#nextReportId++,
      receiveCount: (previous?.receiveCount ?? 0) + 1,
      firstReceivedAt: previous?.firstReceivedAt ?? now.toISOString(),
      lastReceivedAt: now.toISOString(),
    };
    this.#reports.set(id, entry);
    if (this.#dir !== null) await this.#save(this.#dir, entry);
    return entry;
  }

  /** Removes every report (and its file). */
  async clear(): Promise<void> {
    await Promise.all(this.#writes.values());
    this.#reports.clear();
    this.#nextReportId = 1;
    if (this.#dir !== null) {
      await Deno.remove(this.#dir, { recursive: true }).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
  }

  /** Waits for pending file writes. */
  async flush(): Promise<void> {
    await Promise.all(this.#writes.values());
  }

  async #load(dir: string): Promise<void> {
    await Deno.mkdir(dir, { recursive: true });
    for await (const item of Deno.readDir(dir)) {
      const file = path.join(dir, item.name);
      if (item.name.includes(".tmp-")) {
        await Deno.remove(file); // a write cut short by a kill; the previous file is intact
        continue;
      }
      if (!item.isFile || !item.name.endsWith(".json")) continue;
      let entry: StoredReport;
      try {
        entry = JSON.parse(await Deno.readTextFile(file));
      } catch (e) {
        throw new Error(
          `Test server store: ${file} is not a readable stored report (${(e as Error).message}). ` +
            "Delete the file or point --store at an empty folder.",
        );
      }
      if (typeof entry.id !== "string" || typeof entry.reportId !== "number") {
        throw new Error(
          `Test server store: ${file} has no id/reportId; it was not written by this server. ` +
            "Delete the file or point --store at an empty folder.",
        );
      }
      this.#reports.set(entry.id, entry);
      this.#nextReportId = Math.max(this.#nextReportId, entry.reportId + 1);
    }
  }

  #save(dir: string, entry: StoredReport): Promise<void> {
    // Writes for one id are chained so the newest entry is the one left on disk.
    const previous = this.#writes.get(entry.id) ?? Promise.resolve();
    const write = previous.then(async () => {
      await Deno.mkdir(dir, { recursive: true });
      const file = path.join(dir, `${entry.id}.json`);
      const tmp = `${file}.tmp-${crypto.randomUUID().slice(0, 8)}`;
      await Deno.writeTextFile(tmp, JSON.stringify(entry));
      await Deno.rename(tmp, file);
    });
    // The caller gets `write` (and its error); the chain only orders later writes.
    const tracked: Promise<void> = write.catch(() => {}).finally(() => {
      if (this.#writes.get(entry.id) === tracked) this.#writes.delete(entry.id);
    });
    this.#writes.set(entry.id, tracked);
    return write;
  }
}
