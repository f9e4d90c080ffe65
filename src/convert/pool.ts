/**
 * The converter pool: `node:worker_threads` workers that run converters, isolated from the agent.
 *
 * Why `node:worker_threads` and not Web Workers: in Deno 2.9 a Web Worker that runs out of
 * memory aborts the whole process, while a worker_threads worker with `resourceLimits` just
 * dies with an error event (see shared/reference/deno-notes.md §2.4). Neither kind can be
 * stopped when stuck in a synchronous loop: `terminate()` returns but the thread keeps
 * spinning (§2.3). So a job that overruns its time limit gets its worker terminated and, unless
 * the thread is seen to be gone (Linux: /proc/self/task), counted as lost. When more workers are
 * lost than `maxLostWorkers`, the pool reports itself unrecoverable and the agent exits with
 * the restart code so its service manager starts a clean process (the queue makes that safe).
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import type { ConvertJob, ConvertOutcome } from "./run.ts";

/** Pool sizing and limits. */
export interface PoolOptions {
  /** Workers kept even when idle. */
  min: number;
  /** Workers at most; more are started while jobs wait. */
  max: number;
  /** Milliseconds one job may take. */
  timeoutMs: number;
  /** Heap limit of each worker (MiB). */
  memoryMb: number;
  /** Lost (unreclaimable) workers tolerated before the pool gives up. */
  maxLostWorkers: number;
  /** Idle workers above `min` stop after this many ms. */
  idleMs?: number;
  /** Called once when the pool can no longer be trusted to convert. */
  onUnrecoverable?: (reason: string) => void;
}

/** Counters and gauges for status and metrics. */
export interface PoolStats {
  workers: number;
  busy: number;
  waiting: number;
  lost: number;
  timeouts: number;
  crashes: number;
  unrecoverable: string | null;
}

interface Pending {
  job: ConvertJob;
  resolve: (o: ConvertOutcome) => void;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  job: (Pending & { timer: ReturnType<typeof setTimeout> }) | null;
  idleTimer?: ReturnType<typeof setTimeout>;
  dead: boolean;
}

const workerUrl = new URL("./worker.ts", import.meta.url);

/** A pool of converter workers. */
export class ConverterPool {
  #opts: PoolOptions;
  #slots = new Set<Slot>();
  #waiting: Pending[] = [];
  #lost = 0;
  #timeouts = 0;
  #crashes = 0;
  #unrecoverable: string | null = null;
  #closed = false;

  /** @param opts sizing and limits */
  constructor(opts: PoolOptions) {
    this.#opts = { idleMs: 30_000, ...opts };
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

  /** Converts one file in a worker. Never rejects: failures come back as outcomes. */
  convert(job: ConvertJob): Promise<ConvertOutcome> {
    if (this.#closed || this.#unrecoverable) {
      return Promise.resolve({
        ok: false,
        kind: "unavailable",
        message: this.#unrecoverable ?? "the converter pool is shutting down",
        hint: "The file stays in the drop folder and is taken again after the agent restarts.",
      });
    }
    return new Promise((resolve) => {
      this.#waiting.push({ job, resolve });
      this.#dispatch();
    });
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (this.#waiting.length === 0) return;
      if (!slot.job && !slot.dead) this.#run(slot, this.#waiting.shift()!);
    }
    // Grow by backlog, capped at max: min(), not max() (the seed's bug).
    const toStart = Math.min(this.#waiting.length, this.#opts.max - this.#slots.size);
    for (let i = 0; i < toStart; i++) this.#run(this.#spawn(), this.#waiting.shift()!);
  }

  #spawn(): Slot {
    const worker = new Worker(workerUrl, {
      resourceLimits: { maxOldGenerationSizeMb: this.#opts.memoryMb },
    });
    const slot: Slot = { worker, ready: Promise.resolve(), job: null, dead: false };
    worker.on("message", (msg: { jobId?: number; outcome?: ConvertOutcome }) => {
      if (!slot.job || !msg.outcome) return;
      this.#finish(slot, msg.outcome);
    });
    worker.on("error", (err: Error) => this.#onWorkerDeath(slot, err.message));
    worker.on("exit", (code: number) => {
      if (!slot.dead) this.#onWorkerDeath(slot, `the worker exited with code ${code}`);
    });
    this.#slots.add(slot);
    return slot;
  }

  #run(slot: Slot, pending: Pending): void {
    clearTimeout(slot.idleTimer);
    const timer = setTimeout(() => this.#onTimeout(slot), this.#opts.timeoutMs);
    slot.job = { ...pending, timer };
    const bytes = pending.job.bytes;
    // Transfer, don't copy, the file's bytes (a copy of a large file costs ~100x more).
    const transferable = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    slot.worker.postMessage(
      { job: pending.job },
      transferable ? [bytes.buffer as ArrayBuffer] : [],
    );
  }

  #finish(slot: Slot, outcome: ConvertOutcome): void {
    const job = slot.job!;
    clearTimeout(job.timer);
    slot.job = null;
    job.resolve(outcome);
    if (!this.#closed) this.#dispatch();
    if (!slot.job && !slot.dead && this.#slots.size > this.#opts.min) {
      slot.idleTimer = setTimeout(() => this.#retire(slot), this.#opts.idleMs);
    }
  }

  #retire(slot: Slot): void {
    if (slot.job || slot.dead || this.#slots.size <= this.#opts.min) return;
    slot.dead = true;
    this.#slots.delete(slot);
    slot.worker.terminate();
  }

  #onWorkerDeath(slot: Slot, why: string): void {
    if (slot.dead) return;
    slot.dead = true;
    this.#slots.delete(slot);
    if (slot.job) {
      this.#crashes++;
      const outOfMemory = /memory limit|out of memory/i.test(why);
      const job = slot.job;
      clearTimeout(job.timer);
      slot.job = null;
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
    if (!this.#closed) {
      if (this.#slots.size < this.#opts.min) this.#spawn();
      this.#dispatch();
    }
  }

  async #onTimeout(slot: Slot): Promise<void> {
    const job = slot.job;
    if (!job || slot.dead) return;
    this.#timeouts++;
    slot.dead = true;
    slot.job = null;
    this.#slots.delete(slot);
    const seconds = Math.round(this.#opts.timeoutMs / 100) / 10;
    job.resolve({
      ok: false,
      kind: "timeout",
      message: `the converter did not finish within ${seconds} s`,
      hint: "The file may be malformed (a converter stuck on it) or very large. Check it; " +
        "raise pool.timeoutSeconds if such files are normal.",
    });
    const threadId = slot.worker.threadId;
    await slot.worker.terminate();
    if (!(await threadGone(threadId))) {
      this.#lost++;
      if (this.#lost >= this.#opts.maxLostWorkers && !this.#unrecoverable) {
        this.#unrecoverable = `${this.#lost} converter worker(s) are stuck and can't be stopped`;
        this.#opts.onUnrecoverable?.(this.#unrecoverable);
      }
    }
    if (!this.#closed && !this.#unrecoverable) {
      if (this.#slots.size < this.#opts.min) this.#spawn();
      this.#dispatch();
    }
  }

  /** Stops all workers. Waiting jobs come back as "unavailable". */
  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#waiting.splice(0)) {
      p.resolve({
        ok: false,
        kind: "unavailable",
        message: "the converter pool is shutting down",
        hint: "",
      });
    }
    const all = [...this.#slots];
    this.#slots.clear();
    for (const s of all) {
      s.dead = true;
      clearTimeout(s.idleTimer);
      if (s.job) {
        clearTimeout(s.job.timer);
        s.job.resolve({
          ok: false,
          kind: "unavailable",
          message: "the agent is stopping",
          hint: "",
        });
      }
    }
    await Promise.all(all.map((s) => s.worker.terminate()));
  }
}

/**
 * Whether a terminated worker's thread is really gone. On Linux the thread is visible as
 * /proc/self/task/<tid> named `worker-<threadId>`; elsewhere we can't tell, so assume not.
 */
async function threadGone(threadId: number): Promise<boolean> {
  if (Deno.build.os !== "linux") return false;
  const name = `worker-${threadId}`;
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 50));
    let found = false;
    try {
      for await (const t of Deno.readDir("/proc/self/task")) {
        const comm = await Deno.readTextFile(`/proc/self/task/${t.name}/comm`).catch(() => "");
        if (comm.trim() === name) found = true;
      }
    } catch {
      return false;
    }
    if (!found) return true;
  }
  return false;
}
