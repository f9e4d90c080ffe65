/**
 * The upload loops: `concurrency` loops that each take the next report from the queue and hand
 * it to the sender. A loop that may not take one (held, paused, nothing queued) sleeps until it
 * is woken or a timeout passes. A loop whose index is at or above a lowered concurrency retires
 * once its report is done. A queue I/O error around a send puts the entry back: a re-send is an
 * idempotent upsert on the server.
 *
 * @module
 */
import type { Claimed, Queue } from "../queue/queue.ts";
import { logger } from "../log/log.ts";

const log = logger("upload");

/** What the loops ask of the uploader. */
export interface Sender {
  /** Whether a loop may take a report now, while `inFlight` loops hold (or are taking) one. */
  mayClaim(inFlight: number): boolean;
  /** How long a loop that may not take a report sleeps before asking again, ms. */
  holdMs(): number;
  /** Sends a report a loop took, and records its outcome in the queue. */
  send(c: Claimed): Promise<void>;
}

/** The loops that send queued reports. */
export class UploadLoops {
  #queue: Queue;
  #sender: Sender;
  #concurrency: () => number;
  #stopped = true;
  /** Loops that hold (or are taking) a report. Counted before `claim` so a trial stays single. */
  #inFlight = 0;
  #loops = new Map<number, Promise<void>>();
  #waiters: (() => void)[] = [];

  /** @param concurrency the current server.concurrency (read again by every loop turn) */
  constructor(queue: Queue, sender: Sender, concurrency: () => number) {
    this.#queue = queue;
    this.#sender = sender;
    this.#concurrency = concurrency;
  }

  /** Loops that hold (or are taking) a report. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** False once `stop` was called (and before `start`). */
  get running(): boolean {
    return !this.#stopped;
  }

  /** Starts the loops. */
  start(): void {
    this.#stopped = false;
    this.resize();
  }

  /** Starts the loops missing for the current concurrency (none once stopped). */
  resize(): void {
    for (let i = 0; i < this.#concurrency() && !this.#stopped; i++) {
      if (!this.#loops.has(i)) this.#loops.set(i, this.#loop(i));
    }
  }

  /** Stops taking reports; resolves when every loop has recorded the outcome of its report. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake();
    await Promise.all(this.#loops.values());
  }

  /** Wakes the sleeping loops: something was queued, or a hold or pause ended. */
  wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#waiters.push(done);
    });
  }

  async #loop(index: number): Promise<void> {
    await Promise.resolve(); // let the caller register this loop before it can exit
    while (!this.#stopped && index < this.#concurrency()) {
      if (!this.#sender.mayClaim(this.#inFlight)) {
        await this.#wait(Math.max(50, Math.min(1000, this.#sender.holdMs())));
        continue;
      }
      this.#inFlight++;
      let claimed: Claimed | null = null;
      let pauseMs = 1000; // nothing queued: sleep until woken
      try {
        claimed = await this.#queue.claim();
      } catch (e) {
        log.error("Can't take the next report from the queue: {error}; retrying in 5 s", {
          error: (e as Error).message,
        });
        pauseMs = 5000;
      }
      if (!claimed) {
        this.#inFlight--;
        await this.#wait(pauseMs);
        continue;
      }
      try {
        await this.#sender.send(claimed);
      } catch (e) {
        await this.#onSendError(claimed, e as Error);
      } finally {
        this.#inFlight--;
      }
    }
    this.#loops.delete(index);
  }

  /** A queue I/O error around an upload: put the entry back. */
  async #onSendError(c: Claimed, e: Error): Promise<void> {
    const clog = log.with({ correlationId: c.envelope.correlationId, reportId: c.envelope.id });
    clog.error(
      "Recording the upload of report {id} failed: {error}; putting it back in the queue",
      { id: c.envelope.id, error: e.message },
    );
    try {
      await this.#queue.release(c.key);
    } catch (e2) {
      clog.error(
        "Can't put report {id} back in the queue ({error}); it stays in queue/processing and " +
          "is queued again at the next start-up",
        { id: c.envelope.id, error: (e2 as Error).message },
      );
    }
    await this.#wait(1000);
  }
}
