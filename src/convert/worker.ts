/**
 * The pool worker's entry point (a `node:worker_threads` worker): says it is ready, then converts
 * one job at a time and posts the outcome back under the job's id. A job that asks for batches
 * posts its reports as they are made, a batch at a time, and goes on once the pool answers
 * (so a file of thousands of reports never has them all in memory). The file's bytes come
 * transferred, and the report bodies go back transferred: no copy either way.
 *
 * It talks through its global scope's `postMessage` and `message` event, not through
 * `parentPort`: in Deno 2.9.6 a `parentPort` round trip costs about 2.3 ms of CPU, the global
 * scope's 0.15 ms (measured, 10 KB transferred each way), and the host's `node:worker_threads`
 * `Worker` (its resource limits, its `error` and `exit` events) receives both alike.
 *
 * A worker whose custom converter module failed to load, or changed on disk since it was
 * loaded, asks to be retired: the module cache of an isolate keeps a failed or old module for
 * good, so only a fresh worker can load the fixed or edited file.
 *
 * @module
 */
import { type ConvertedReport, moduleChanged, runConversion } from "./conversion.ts";
import type { WorkerReply, WorkerRequest } from "./worker_protocol.ts";

/** A marker that the compile test finds in the binary, proving this module is embedded. */
export const WORKER_ID = "wats-agent/convert-worker@1";

/** The worker's global scope, as far as messages go. */
const port = globalThis as unknown as {
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (e: MessageEvent<WorkerRequest>) => void): void;
};

/** The batch of each job waiting for the pool's answer. */
const waitingAck = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

port.addEventListener("message", async ({ data: msg }) => {
  if ("ping" in msg) return port.postMessage({ pong: true } satisfies WorkerReply);
  if ("ack" in msg) {
    const w = waitingAck.get(msg.ack);
    waitingAck.delete(msg.ack);
    if (msg.stop) w?.reject(new Error("the agent stopped taking this file's reports"));
    else w?.resolve();
    return;
  }
  const { jobId, job } = msg;
  if (job.module && await moduleChanged(job.module)) {
    const reply: WorkerReply = { jobId, rerun: true, bytes: job.bytes };
    return port.postMessage(reply, job.bytes ? [job.bytes.buffer as ArrayBuffer] : []);
  }
  // A batch goes with its bodies transferred; the conversion waits for the pool's answer.
  const onBatch = (reports: ConvertedReport[]) =>
    new Promise<void>((resolve, reject) => {
      waitingAck.set(jobId, { resolve, reject });
      port.postMessage(
        { jobId, batch: reports } satisfies WorkerReply,
        reports.map((r) => r.body.buffer as ArrayBuffer),
      );
    });
  const outcome = await runConversion(job, onBatch);
  waitingAck.delete(jobId);
  const reply: WorkerReply = { jobId, outcome, retire: !outcome.ok && outcome.kind === "load" };
  port.postMessage(
    reply,
    outcome.ok ? outcome.reports.map((r) => r.body.buffer as ArrayBuffer) : [],
  );
});

port.postMessage({ ready: true } satisfies WorkerReply);
