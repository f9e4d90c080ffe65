/**
 * Intake limits: the queue's size and the free disk space. When either is hit, intake pauses
 * (source files stay untouched in their drop folders), uploads go on, and intake resumes by
 * itself once there is room again. Nothing is dropped.
 *
 * @module
 */
import { statfs } from "#fs/promises";

/** Free bytes for this process on the disk holding `dir` (quota-aware on Windows). */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/** Why intake is paused, or null when it may take files. */
export interface LimitState {
  paused: boolean;
  reason: string | null;
  freeMb: number | null;
}

/** Checks the limits; free space at most once per `minIntervalMs` (a burst would statfs per file). */
export class Limits {
  #state: LimitState = { paused: false, reason: null, freeMb: null };
  #checkedAt = 0;

  /**
   * @param dataDir where the queue lives
   * @param backlog reports still to upload
   * @param maxReports the queue size limit
   * @param minFreeMb the free-space limit
   */
  constructor(
    private dataDir: string,
    private backlog: () => number,
    public maxReports: number,
    public minFreeMb: number,
    private minIntervalMs = 200,
  ) {}

  /** The last known state (cheap). */
  get state(): LimitState {
    return this.#state;
  }

  /** Re-checks (unless checked within `maxAgeMs`) and returns the state. */
  async check(force = false, maxAgeMs = this.minIntervalMs): Promise<LimitState> {
    const now = Date.now();
    if (!force && now - this.#checkedAt < maxAgeMs) {
      // The backlog is cheap to read every time; disk space is not.
      return this.#evaluate(this.#state.freeMb);
    }
    this.#checkedAt = now;
    let freeMb: number | null = null;
    try {
      freeMb = (await freeBytes(this.dataDir)) / (1024 * 1024);
    } catch {
      freeMb = null; // statfs unsupported here: the size limit still applies
    }
    return this.#evaluate(freeMb);
  }

  #evaluate(freeMb: number | null): LimitState {
    const backlog = this.backlog();
    let reason: string | null = null;
    if (backlog >= this.maxReports) {
      reason = `queue full: ${backlog} reports waiting (queue.maxReports is ${this.maxReports}); ` +
        "intake paused until uploads make room";
    } else if (freeMb !== null && freeMb < this.minFreeMb) {
      reason = `disk space low: ${freeMb.toFixed(0)} MB free on the data directory's disk ` +
        `(queue.minFreeDiskMb is ${this.minFreeMb}); intake paused until there is room`;
    }
    this.#state = { paused: reason !== null, reason, freeMb };
    return this.#state;
  }
}
