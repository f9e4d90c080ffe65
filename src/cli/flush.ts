/**
 * `agent flush`: upload everything queued now. Asks the running agent (ignoring backoff and
 * probing an open breaker); when none runs, does the uploads in this process. Exit 0 only when
 * the queue is empty afterwards.
 *
 * @module
 */
import { heldElsewhere, runsElsewhere } from "../watch/held_elsewhere.ts";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { ExitCode } from "../exit_code.ts";
import { configForCommand, configHelp, configOption } from "./config_arg.ts";
import { contactAgent, fetchStatus, postAction } from "../control/client.ts";
import { Queue } from "../queue/queue.ts";
import { lockDataDir, LockedError } from "../data_dir/lock.ts";
import { Uploader } from "../upload/uploader.ts";
import { Metrics } from "../metrics/registry.ts";
import { readCaCerts } from "../config/ca_certs.ts";
import { inspectQueue } from "../queue/inspect.ts";
import { logOptionsFor, setupLogging, shutdownLogging } from "../log/log.ts";
import type { Config } from "../config/load.ts";

/** What flush watches while it waits. */
export interface FlushProgress {
  queued: number;
  processing: number;
  retrying: number;
  error: number;
  authProblem: string | null;
  breaker: string;
  lastError: string | null;
  /** Reports stored on the server so far (a counter; flush reports the difference). */
  uploaded: number;
}

/** `agent flush [--config FILE] [--json] [--timeout SECONDS] [--errors]` */
export const command: Command = {
  name: "flush",
  summary: "Upload everything queued now; exit 0 when the queue is empty",
  help: `Usage: agent flush [--config FILE] [--json] [--timeout SECONDS] [--errors]

Uploads every queued report now, ignoring backoff and probing the server if the circuit breaker
is open. Talks to the running agent; when none runs, uploads in this process. Shows a progress
bar on a terminal (not when piped or with --json; no colour with NO_COLOR).

Options:
${configHelp}
  --json              Print one JSON object with the result instead of text
  --timeout SECONDS   Give up after this long (default 60)
  --errors            Also requeue reports in error (after fixing what the server rejected)

Exit codes: 0 the queue is empty; 1 reports remain (what and why is printed); 3 invalid config.`,
  async run(argv) {
    const { values } = parseCommandArgs("flush", argv, {
      ...configOption,
      json: { type: "boolean" },
      timeout: { type: "string" },
      errors: { type: "boolean" },
    });
    const json = values.json === true;
    const timeoutS = values.timeout === undefined ? 60 : Number(values.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
      throw new UsageError(
        `--timeout expects a number of seconds > 0, found "${values.timeout}"`,
        "flush",
      );
    }
    const loaded = await configForCommand(values.config as string | undefined, json);
    if ("exit" in loaded) return loaded.exit;
    const { config } = loaded;
    const errors = values.errors === true;
    const bar = !json && Deno.stderr.isTerminal() ? new ProgressBar() : null;
    const contact = await contactAgent(config.dataDir);
    let result: { done: boolean; last: FlushProgress; uploaded: number; via: string };
    if (contact.state === "running") {
      const { info } = contact;
      const poll = async (): Promise<FlushProgress> => {
        const s = await fetchStatus(info);
        return {
          ...s.queue,
          authProblem: s.upload?.authProblem ?? null,
          breaker: s.upload?.breaker ?? "closed",
          lastError: s.upload?.lastError?.message ?? null,
          uploaded: s.totals?.reportsUploaded ?? 0,
        };
      };
      const begin = () => postAction(info, "flush", { errors }).then(() => {});
      result = { ...(await drain(poll, begin, timeoutS * 1000, bar)), via: "agent" };
    } else if (contact.state === "unreachable") {
      const msg = `${contact.why}; can't flush. Check the agent's log in ${config.dataDir}/logs.`;
      if (json) console.log(JSON.stringify({ flushed: false, error: msg }));
      else console.error(`agent flush: ${msg}`);
      return ExitCode.FAILURE;
    } else {
      // No agent here, but one may run on the data directory the config named before an edit.
      const other = await heldElsewhere(config.converters.map((c) => c.watch), config.dataDir);
      if (other) {
        const msg = runsElsewhere(other, config.dataDir);
        if (json) console.log(JSON.stringify({ flushed: false, error: msg }));
        else console.error(`agent flush: ${msg}.`);
        return ExitCode.FAILURE;
      }
      try {
        result = {
          ...(await flushInProcess(config, errors, timeoutS * 1000, bar)),
          via: "in-process",
        };
      } catch (e) {
        if (!(e instanceof LockedError)) throw e;
        if (json) console.log(JSON.stringify({ flushed: false, error: e.message }));
        else console.error(`agent flush: ${e.message}`);
        return ExitCode.FAILURE;
      }
    }
    bar?.clear();
    return report(result, config, json);
  },
};

async function report(
  r: { done: boolean; last: FlushProgress; uploaded: number; via: string },
  config: Config,
  json: boolean,
): Promise<number> {
  const q = await inspectQueue(config.dataDir, 10);
  const remaining = q.counts.queued + q.counts.processing + q.counts.error;
  const reasons: string[] = [];
  if (r.last.authProblem) reasons.push(`uploads paused: ${r.last.authProblem}`);
  else if (r.last.breaker !== "closed") {
    reasons.push(`server unreachable (${r.last.lastError ?? "no answer"})`);
  } else if (r.last.queued + r.last.processing + r.last.retrying > 0) {
    reasons.push(
      `not finished in time${r.last.lastError ? ` (last error: ${r.last.lastError})` : ""}`,
    );
  }
  const permanent = q.counts.error - q.counts.retrying;
  if (permanent > 0) {
    reasons.push(
      `${permanent} report(s) rejected by the server wait in error; fix them, then run ` +
        "`agent flush --errors`",
    );
    for (const e of q.errors.filter((x) => x.permanent).slice(0, 5)) {
      reasons.push(`  ${e.id} (sn ${e.sn}, from ${e.source}): ${e.reason}`);
    }
  }
  const empty = remaining === 0;
  if (json) {
    console.log(JSON.stringify({
      flushed: empty,
      via: r.via,
      uploaded: r.uploaded,
      remaining: q.counts,
      reasons,
    }));
  } else if (empty) {
    console.log(`Queue empty: ${r.uploaded} report(s) uploaded (${r.via}).`);
  } else {
    console.error(
      `Queue not empty: ${q.counts.queued} queued, ${q.counts.processing} uploading, ${q.counts.error} in ` +
        `error (${r.uploaded} uploaded, ${r.via}).\n` + reasons.map((x) => `  ${x}`).join("\n"),
    );
  }
  return empty ? ExitCode.OK : ExitCode.FAILURE;
}

/**
 * Starts the flush (after a first look, so nothing uploaded meanwhile goes uncounted) and polls
 * until nothing is left to upload, uploads stop, or the time is up.
 */
async function drain(
  poll: () => Promise<FlushProgress>,
  begin: () => Promise<void>,
  timeoutMs: number,
  bar: ProgressBar | null,
): Promise<{ done: boolean; last: FlushProgress; uploaded: number }> {
  const start = Date.now();
  const first = await poll();
  await begin();
  let last = await poll();
  const left = (p: FlushProgress) => p.queued + p.processing + p.retrying;
  const total = Math.max(left(first), left(last) + last.uploaded - first.uploaded);
  let blockedSince: number | null = null;
  while (true) {
    bar?.draw(last.uploaded - first.uploaded, total);
    if (left(last) === 0) return { done: true, last, uploaded: last.uploaded - first.uploaded };
    const blocked = last.authProblem !== null || last.breaker !== "closed";
    blockedSince = blocked ? blockedSince ?? Date.now() : null;
    // Give a forced probe or a retried token a moment, then stop waiting on a dead end.
    if (blockedSince !== null && Date.now() - blockedSince > 3000) break;
    if (Date.now() - start > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 200));
    last = await poll();
  }
  return { done: false, last, uploaded: last.uploaded - first.uploaded };
}

/** Flush without a running agent: take the data directory's lock and upload here. */
async function flushInProcess(
  config: Config,
  errors: boolean,
  timeoutMs: number,
  bar: ProgressBar | null,
): Promise<{ done: boolean; last: FlushProgress; uploaded: number }> {
  const lock = await lockDataDir(config.dataDir);
  await setupLogging({ ...logOptionsFor(config), console: false });
  try {
    const queue = await Queue.open(config.dataDir, {
      keepCompletedCount: config.queue.keepCompletedCount,
      keepCompletedHours: config.queue.keepCompletedHours,
    });
    if (errors) await queue.requeueErrors();
    const metrics = new Metrics();
    const uploader = new Uploader(config.server, queue, metrics, await readCaCerts(config));
    await queue.loaded();
    try {
      return await drain(
        () => {
          const u = uploader.status();
          return Promise.resolve({
            ...queue.counts(),
            authProblem: u.authProblem,
            breaker: u.breaker,
            lastError: u.lastError?.message ?? null,
            uploaded: metrics.get("reports_uploaded_total"),
          });
        },
        () => {
          uploader.start();
          uploader.flushNow();
          return Promise.resolve();
        },
        timeoutMs,
        bar,
      );
    } finally {
      await uploader.stop();
    }
  } finally {
    await shutdownLogging();
    lock.release();
  }
}

/** A one-line progress bar on stderr (terminals only); green unless NO_COLOR is set. */
export class ProgressBar {
  #enc = new TextEncoder();
  #color = !Deno.env.get("NO_COLOR");
  /** Draws `done` of `total` over the current line. */
  draw(done: number, total: number): void {
    const width = 30;
    const frac = total ? Math.min(1, done / total) : 1;
    const full = Math.round(frac * width);
    const filled = "#".repeat(full);
    const bar = this.#color ? `\x1b[32m${filled}\x1b[0m` : filled;
    const line = `\r\x1b[2K[${bar}${"-".repeat(width - full)}] ${done}/${total} uploaded`;
    Deno.stderr.writeSync(this.#enc.encode(line));
  }
  /** Removes the bar. */
  clear(): void {
    Deno.stderr.writeSync(this.#enc.encode("\r\x1b[2K"));
  }
}
