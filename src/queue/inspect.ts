/**
 * Reading a queue without opening it: counts, the oldest waiting report and recent errors,
 * straight from the folders. Used by `agent status` when no agent is running (nothing is
 * changed, so it is safe next to a running agent too); a running agent answers from memory
 * (`Queue.counts`, `Queue.recentErrors`). Sidecar texts are redacted again on the
 * way out: one written by an older version may still quote a secret.
 *
 * @module
 */
import path from "#path";
import type { Counts } from "./queue.ts";
import { entryKeys, keyTime, listNames, queueDir } from "./layout.ts";
import { type ErrorEntry, readErrorInfo } from "./error_info.ts";
import { redactDeep } from "../log/redact.ts";

export type { ErrorEntry };

/** What a look at the folders tells. */
export interface QueueInspection {
  counts: Counts;
  oldestQueuedAt: number | null;
  errors: ErrorEntry[];
}

/** Inspects the queue of `dataDir`; `maxErrors` newest error entries are read in full. */
export async function inspectQueue(dataDir: string, maxErrors = 20): Promise<QueueInspection> {
  const dir = queueDir(dataDir);
  const keys = async (state: string) => entryKeys(await listNames(path.join(dir, state)));
  const [queued, processing, completed, error, quarantine] = await Promise.all(
    ["queued", "processing", "completed", "error", "quarantine"].map(keys),
  );
  let retrying = 0;
  let oldest: number | null = null;
  const consider = (k: string) => {
    const t = keyTime(k);
    if (oldest === null || t < oldest) oldest = t;
  };
  for (const k of [...queued, ...processing]) consider(k);
  const errors: ErrorEntry[] = [];
  const sorted = [...error].sort().reverse();
  for (let i = 0; i < sorted.length; i++) {
    const info = await readErrorInfo(dir, sorted[i]);
    const permanent = info?.permanent ?? false;
    if (!permanent) {
      retrying++;
      consider(sorted[i]);
    }
    if (info && errors.length < maxErrors) errors.push(redactDeep({ key: sorted[i], ...info }));
  }
  return {
    counts: {
      queued: queued.length,
      processing: processing.length,
      completed: completed.length,
      error: error.length,
      quarantine: quarantine.length,
      retrying,
    },
    oldestQueuedAt: oldest,
    errors,
  };
}
