/**
 * The converter pool: `node:worker_threads` workers that run converters, isolated from the agent.
 *
 * Why `node:worker_threads` and not Web Workers (measured on Deno 2.9.6, see
 * docs/runtime.md#converter-workers and tests/convert/pool_test.ts):
 * - Memory. Only worker_threads take `resourceLimits`. A Web Worker that runs out of memory
 *   aborts the whole process ("Fatal JavaScript out of memory", exit 133); a worker_threads
 *   worker that hits `maxOldGenerationSizeMb` dies alone, the agent lives on. It dies in one of
 *   two ways. With an `error` event ("Worker terminated due to reaching memory limit") when the
 *   allocation runs in a timer callback or a module's top-level code. Silently when it runs in
 *   the message handler or after an `await` (most converters): V8 stops the converter, the
 *   worker lives on idle, the job never ends; its time limit ends it, and `terminate()` then
 *   reclaims the thread.
 * - Errors. An uncaught error in a worker_threads worker, and `Deno.exit()` or `process.exit()`
 *   called in one, end only that worker (`exit` event); an uncaught error in a Web Worker
 *   without an `onerror` handler ends the agent.
 * - Neither kind can be stopped in a synchronous endless loop: `terminate()` returns, but the
 *   thread keeps spinning at 100 % of a core (denoland/deno#35657). So when a job overruns its
 *   time limit, its file gets the timeout as its outcome, the worker is terminated and replaced,
 *   and, unless its thread is seen to be gone (Linux: no `worker-<threadId>` thread left in
 *   /proc/self/task; elsewhere we can't tell and assume it is not), it counts as lost. At
 *   `maxLostWorkers` lost workers the pool reports itself unrecoverable, and the agent drains
 *   and exits with the restart code (75) so its service manager starts a clean process; the
 *   queue on disk makes that safe, and the file that hung is already in the Error folder.
 *
 * Sizing: `min` workers are kept; the first job starts one if there is none, and one more
 * starts (up to `max`) whenever a job has waited `growAfterMs` for a worker that was ready. A
 * small file converts in about a millisecond, so one worker gets through a burst of them with
 * nobody waiting long, and a second would add only its memory (~20 MiB) and its start; a large
 * file makes those behind it wait, and then another worker helps. A worker above `min` idle for
 * `idleMs` stops, one above `min + 1` already after `extraIdleMs`: a station converts a file
 * now and then, which one warm worker serves without the 100–300 ms start each time, while the
 * others a burst started are given back soon after it.
 *
 * The pool is a sandbox that turns bytes into reports: a job brings the file's bytes
 * (transferred, not copied), the outcome brings the serialised reports back (transferred too).
 * A caller that takes batches ({@link BatchOptions}) gets a file's reports while it converts,
 * a batch at a time, and the worker goes on only once the caller took the last one: a file of
 * thousands of reports is never held whole, in the worker or here.
 * It knows nothing of the files' origin or of the queue. A worker converts one job at a time,
 * so a stuck or crashing converter is that job's.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import type { BatchLimits, BatchSink, ConvertJob, ConvertOutcome } from "./conversion.ts";
import {
  wellFormed,
  wellFormedReports,
  type WorkerReply,
  type WorkerRequest,
} from "./worker_protocol.ts";
import { threadGone } from "./worker_thread.ts";
import type { PoolOptions, PoolStats } from "./pool_types.ts";

/** How a caller takes a file's reports in batches while it converts. */
export interface BatchOptions {
  /** Takes one batch; the worker goes on once it resolves. A rejection ends the conversion. */
  onBatch: BatchSink;
  /** The size of a batch (default {@link DEFAULT_BATCH}). */
  limits?: BatchLimits;
}

/** A batch: 500 reports or 4 MiB of bodies, whichever comes first. */
export const DEFAULT_BATCH: BatchLimits = { reports: 500, bytes: 4 * 1024 * 1024 };

interface Pending {
  /** When it was asked for (performance.now()). */
  since: number;
  job: ConvertJob;
  resolve: (o: ConvertOutcome) => void;
  onBatch?: BatchSink;
}

interface Running extends Pending {
  id: number;
  timer: ReturnType<typeof setTimeout>;
  /** When the timer was last started, and for how long. */
  startedAt: number;
  runsFor: number;
}

interface Slot {
  worker: Worker;
  /** The worker said it is ready; before that, its death is not the job's fault. */
  ready: boolean;
  /** The job being converted (one at a time: a stuck or crashing converter is this job's). */
  job: Running | null;
  idleTimer?: ReturnType<typeof setTimeout>;
  /** When it was started (performance.now()). */
  spawnedAt: number;
  /** When its last job ended (performance.now()); 0 while it has one or never had one. */
  idleSince: number;
  retireAfterJob: boolean;
  dead: boolean;
  /** Set while a ping waits for its answer. */
  onPong?: () => void;
}

/** A worker not ready this long after its start no longer holds back another (see Sizing). */
const START_GRACE_MS = 5_000;
/** Workers that die before they are ready, in a row, before the pool gives up. */
const MAX_START_FAILURES = 3;
/** Whether a slot has no job. */
function idle(slot: Slot): boolean {
  return !slot.job;
}

const workerUrl = new URL("./worker.ts", import.meta.url);

/** A pool of converter workers. */
export class ConverterPool {
  #opts: Required<Omit<PoolOptions, "onUnrecoverable">> & Pick<PoolOptions, "onUnrecoverable">;
  #slots = new Set<Slot>();
  #waiting: Pending[] = [];
  #nextJobId = 1;
  #lost = 0;
  #timeouts = 0;
  #crashes = 0;
  #startFailures = 0;
  #unrecoverable: string | null = null;
  #closed = false;
  /** Set while jobs wait and the pool may grow: looks again when the oldest has waited enough. */
  #growTimer?: ReturnType<typeof setTimeout>;
  /** When a worker last became ready (performance.now()). */
  #readyAt = 0;
  #checks = new Set<Promise<void>>();

  /** @param opts sizing and limits */
  constructor(opts: PoolOptions) {
    // Starting a worker blocks the event loop for 100–300 ms: keep idle ones a while.
    this.#opts = { idleMs: 300_000, extraIdleMs: 30_000, growAfterMs: 500, ...opts };
    for (let i = 0; i < opts.min; i++) this.#spawn();
  }

  /** Current numbers, for status and metrics. */
  stats(): PoolStats {
    let busy = 0;
    for (const s of this.#slots) if (s.job) busy++;
    return {
      workers: this.#slots.size,
      busy,
      waiting: this.#waiting.length,
      lost: this.#lost,
      timeouts: this.#timeouts,
      crashes: this.#crashes,
      unrecoverable: this.#unrecoverable,
    };
  }

  /**
   * Converts one file's bytes in a worker. Never rejects: failures come back as outcomes.
   * `job.bytes` are handed over (transferred to the worker): the caller must not use them after.
   */
  convert(job: ConvertJob, batches?: BatchOptions): Promise<ConvertOutcome> {
    if (this.#closed || this.#unrecoverable) {
      return Promise.resolve(unavailable(
        this.#unrecoverable ?? "the converter pool is shutting down",
        "The file stays in the drop folder and is taken again after the agent restarts.",
      ));
    }
    const onBatch = batches?.onBatch;
    if (onBatch) job = { ...job, batch: batches.limits ?? DEFAULT_BATCH };
    return new Promise((resolve) => {
      this.#waiting.push({ since: performance.now(), job, resolve, onBatch });
      this.#dispatch();
    });
  }

  #dispatch(): void {
    if (this.#closed || this.#unrecoverable) return;
    for (const slot of this.#slots) {
      if (this.#waiting.length === 0) return;
      if (!slot.job && !slot.dead && !slot.retireAfterJob) this.#run(slot, this.#waiting.shift()!);
    }
    if (this.#slots.size === 0 && this.#waiting.length > 0) {
      this.#run(this.#spawn(), this.#waiting.shift()!); // max is at least 1
    }
    if (this.#waiting.length === 0 || this.#slots.size >= this.#opts.max) return;
    // How long the oldest job has waited for a worker that was there to take it: a worker still
    // starting takes the next job soon (but one that hangs at start counts after a while).
    const now = performance.now();
    let from = Math.max(this.#waiting[0].since, this.#readyAt);
    for (const s of this.#slots) if (!s.ready) from = Math.max(from, s.spawnedAt + START_GRACE_MS);
    const waited = now - from;
    // One more at a time: once it is ready, those still waiting are timed from then.
    clearTimeout(this.#growTimer);
    if (waited >= this.#opts.growAfterMs) this.#run(this.#spawn(), this.#waiting.shift()!);
    else {
      this.#growTimer = setTimeout(() => {
        this.#growTimer = undefined;
        this.#dispatch();
      }, this.#opts.growAfterMs - waited);
    }
  }

  #spawn(): Slot {
    const worker = new Worker(workerUrl, {
      resourceLimits: { maxOldGenerationSizeMb: this.#opts.memoryMb },
    });
    const slot: Slot = {
      worker,
      ready: false,
      job: null,
      spawnedAt: performance.now(),
      idleSince: 0,
      retireAfterJob: false,
      dead: false,
    };
    worker.on("message", (msg: WorkerReply) => this.#onMessage(slot, msg));
    worker.on("error", (err: Error) => this.#onWorkerDeath(slot, err?.message ?? String(err)));
    worker.on("exit", (code: number) => {
      if (!slot.dead) this.#onWorkerDeath(slot, `the worker exited with code ${code}`);
    });
    this.#slots.add(slot);
    return slot;
  }

  #run(slot: Slot, pending: Pending): void {
    clearTimeout(slot.idleTimer);
    const id = this.#nextJobId++;
    const running: Running = {
      ...pending,
      id,
      timer: setTimeout(() => this.#onTimeout(slot, running), this.#opts.timeoutMs),
      startedAt: Date.now(),
      runsFor: this.#opts.timeoutMs,
    };
    slot.job = running;
    const bytes = pending.job.bytes;
    // Transfer, don't copy, the file's bytes (a copy of a large file costs ~100x more).
    const transferable = bytes !== undefined && bytes.buffer instanceof ArrayBuffer;
    try {
      slot.worker.postMessage(
        { jobId: id, job: pending.job } satisfies WorkerRequest,
        transferable ? [bytes.buffer as ArrayBuffer] : [],
      );
    } catch (e) {
      slot.job = null;
      // Ended like any job: the worker is free again (its idle timer armed, the next job
      // served), a turn later so that a run of jobs that can't be handed over is no recursion.
      queueMicrotask(() =>
        this.#finish(
          slot,
          running,
          unavailable(
            `the file could not be handed to a converter worker: ${(e as Error).message}`,
            "The file stays in the drop folder and is tried again.",
          ),
        )
      );
    }
  }

  #onMessage(slot: Slot, msg: WorkerReply): void {
    if (msg?.ready) {
      slot.ready = true;
      this.#startFailures = 0;
      this.#readyAt = performance.now();
      return this.#dispatch();
    }
    if (msg?.pong) return slot.onPong?.();
    if (slot.dead || typeof msg?.jobId !== "number") return;
    // Only the reply to the job this worker runs now counts (a converter could post too).
    const job = slot.job;
    if (!job || msg.jobId !== job.id) return;
    if (msg.batch !== undefined) return this.#onBatch(slot, job, msg.batch);
    if (msg.rerun) {
      clearTimeout(job.timer);
      slot.job = null;
      const bytes = msg.bytes instanceof Uint8Array ? msg.bytes : undefined;
      this.#waiting.unshift({ since: job.since, job: { ...job.job, bytes }, resolve: job.resolve });
      slot.retireAfterJob = true;
      this.#retire(slot, true);
      return this.#dispatch();
    }
    if (msg.retire) slot.retireAfterJob = true;
    slot.job = null;
    this.#finish(slot, job, wellFormed(msg.outcome));
  }

  /**
   * Gives a batch of the job's reports to its caller. The job's time limit stops meanwhile (the
   * worker waits for the caller, it is not converting), and runs on with the time left once the
   * caller took the batch; then the worker is told to go on, or to stop when the caller failed.
   */
  #onBatch(slot: Slot, job: Running, batch: unknown): void {
    const answer = (stop: boolean) => {
      if (slot.dead || slot.job !== job) return; // it died, timed out or ended meanwhile
      try {
        slot.worker.postMessage({ ack: job.id, stop } satisfies WorkerRequest);
      } catch { /* its death is seen by the exit event */ }
    };
    if (!job.onBatch || !wellFormedReports(batch)) {
      // A job that asked for no batches, or a batch of the wrong shape: the converter's doing.
      answer(true);
      return;
    }
    clearTimeout(job.timer);
    const left = Math.max(0, job.runsFor - (Date.now() - job.startedAt));
    job.onBatch(batch).then(() => false, () => true).then((stop) => {
      if (slot.dead || slot.job !== job) return;
      job.startedAt = Date.now();
      job.runsFor = left;
      job.timer = setTimeout(() => this.#onTimeout(slot, job), left);
      answer(stop);
    });
  }

  /** Ends `job` (no longer in `slot`) with `outcome`. */
  #finish(slot: Slot, job: Running, outcome: ConvertOutcome): void {
    clearTimeout(job.timer);
    job.resolve(outcome);
    if (slot.retireAfterJob) this.#retire(slot, true);
    this.#dispatch();
    if (idle(slot) && !slot.dead) {
      slot.idleSince = performance.now();
      this.#armIdle(slot);
    }
  }

  /** Stops `slot` once it has been idle long enough for its rank (see Sizing above). */
  #armIdle(slot: Slot): void {
    clearTimeout(slot.idleTimer);
    if (this.#slots.size <= this.#opts.min) return;
    const { min, idleMs, extraIdleMs } = this.#opts;
    const extra = Math.min(extraIdleMs, idleMs);
    const due = slot.idleSince + (this.#slots.size > min + 1 ? extra : idleMs);
    slot.idleTimer = setTimeout(() => {
      if (!idle(slot) || slot.dead) return;
      if (this.#slots.size > min + 1 || performance.now() >= slot.idleSince + idleMs) {
        this.#retire(slot, false);
      } else this.#armIdle(slot); // the others stopped meanwhile: this one is kept warm
    }, Math.max(0, due - performance.now()));
  }

  /** Stops an idle worker (`force`: even when that leaves fewer than `min`; they respawn). */
  #retire(slot: Slot, force: boolean): void {
    if (!idle(slot) || slot.dead || (!force && this.#slots.size <= this.#opts.min)) return;
    slot.dead = true;
    clearTimeout(slot.idleTimer);
    this.#slots.delete(slot);
    slot.worker.terminate();
    this.#replenish();
  }

  #replenish(): void {
    if (this.#closed || this.#unrecoverable) return;
    while (this.#slots.size < this.#opts.min) this.#spawn();
  }

  #onWorkerDeath(slot: Slot, why: string): void {
    if (slot.dead) return;
    slot.dead = true;
    clearTimeout(slot.idleTimer);
    this.#slots.delete(slot);
    const job = slot.job;
    slot.job = null;
    if (job) clearTimeout(job.timer);
    if (!slot.ready) {
      // The worker never started (its module failed to load): not the file's fault. Its bytes
      // went to the dead worker, so the file is not retried here but taken again later.
      this.#startFailures++;
      job?.resolve(unavailable(
        `a converter worker could not start: ${why}`,
        "The file stays in the drop folder and is tried again.",
      ));
      if (this.#startFailures >= MAX_START_FAILURES) {
        return this.#giveUp(`converter workers can't start: ${why}`);
      }
    } else if (job) {
      this.#crashes++;
      const outOfMemory = /memory limit|out of memory/i.test(why);
      job.resolve({
        ok: false,
        kind: "crash",
        message: outOfMemory
          ? `the converter ran out of memory (limit ${this.#opts.memoryMb} MiB)`
          : `the converter crashed: ${why}`,
        hint: outOfMemory
          ? "The file may be far larger than usual or malformed. Check it, or raise pool.memoryMb."
          : "Check the file; if others of this format convert, this one is malformed.",
      });
    }
    this.#replenish();
    this.#dispatch();
  }

  async #onTimeout(slot: Slot, job: Running): Promise<void> {
    if (slot.dead) return;
    const seconds = Math.round(this.#opts.timeoutMs / 100) / 10;
    if (slot.job !== job) return;
    this.#timeouts++;
    slot.dead = true;
    slot.job = null;
    this.#slots.delete(slot);
    const limit = `${this.#opts.memoryMb} MiB`;
    const idle = await answersPing(slot);
    job.resolve({
      ok: false,
      kind: "timeout",
      message: `the converter did not finish within ${seconds} s` +
        (idle
          ? " (it had stopped working: it waits for something that never comes, or it ran out " +
            "of memory)"
          : " (it was still computing: stuck in a loop, or short of memory)"),
      hint: `The converter is stuck on this file, or it ran out of memory (limit ${limit}), ` +
        "or the file is very large. Check the file; raise pool.timeoutSeconds or " +
        "pool.memoryMb if such files are normal.",
    });
    // A replacement starts now; the stuck thread is checked in the background.
    this.#replenish();
    this.#dispatch();
    const check = this.#reclaim(slot.worker);
    this.#checks.add(check);
    await check;
    this.#checks.delete(check);
  }

  /** Terminates a timed-out worker and counts it as lost unless its thread is seen to end. */
  async #reclaim(worker: Worker): Promise<void> {
    const threadId = worker.threadId;
    try {
      await worker.terminate();
      if (await threadGone(threadId)) return;
    } catch { /* can't tell: count it as lost */ }
    this.#lost++;
    if (this.#lost >= this.#opts.maxLostWorkers) {
      this.#giveUp(`${this.#lost} converter worker(s) are stuck and can't be stopped`);
    }
  }

  /** Resolves when every timed-out worker has been found reclaimed or lost (for tests). */
  async settled(): Promise<void> {
    while (this.#checks.size > 0) await Promise.all(this.#checks);
  }

  #giveUp(reason: string): void {
    if (this.#unrecoverable || this.#closed) return;
    this.#unrecoverable = reason;
    for (const p of this.#waiting.splice(0)) {
      p.resolve(unavailable(
        reason,
        "The file stays in the drop folder and is taken again " +
          "after the agent restarts.",
      ));
    }
    this.#opts.onUnrecoverable?.(reason);
  }

  /** Stops all workers. Waiting jobs come back as "unavailable". */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#growTimer);
    for (const p of this.#waiting.splice(0)) {
      p.resolve(unavailable("the converter pool is shutting down", ""));
    }
    const all = [...this.#slots];
    this.#slots.clear();
    for (const s of all) {
      s.dead = true;
      clearTimeout(s.idleTimer);
      if (s.job) {
        clearTimeout(s.job.timer);
        s.job.resolve(unavailable("the agent is stopping", ""));
      }
    }
    await Promise.all(all.map((s) => s.worker.terminate()));
  }
}

function unavailable(message: string, hint: string): ConvertOutcome {
  return { ok: false, kind: "unavailable", message, hint };
}

/**
 * Whether a worker that overran its time limit still answers: its event loop is free when the
 * converter awaits something that never comes, and also after V8 stopped the converter at the
 * heap limit without an error event (both measured); it is not when the converter computes.
 */
function answersPing(slot: Slot): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 500);
    slot.onPong = () => {
      clearTimeout(timer);
      resolve(true);
    };
    try {
      slot.worker.postMessage({ ping: true } satisfies WorkerRequest);
    } catch { /* a closed port does not answer */ }
  });
}
