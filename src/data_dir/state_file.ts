/**
 * `<dataDir>/state.json`: what a running agent saves when it changed (looked at every 5 s) and at
 * its stop, so that `agent status` can tell about it when it does not run, and its next start
 * takes over what it knew (recent failures, the last upload, the throughput chart, why it
 * stopped itself).
 *
 * @module
 */
import path from "#path";
import type { HistoryMinute } from "../control/history.ts";
import { redactDeep } from "../log/log.ts";
import { PRIVATE_FILE } from "../private.ts";
import { replaceDurably } from "../queue/fs_ops.ts";
import type { UploaderStatus } from "../upload/uploader.ts";
import type { IntakeFailure } from "../watch/intake.ts";

/** What the agent leaves in `<dataDir>/state.json` for status when it is not running. */
export interface SavedState {
  pid: number;
  startedAt: string;
  savedAt: string;
  stoppedAt: string | null;
  lastSuccessAt: string | null;
  lastError: UploaderStatus["lastError"];
  serverVersion: string | null;
  recentFailures: IntakeFailure[];
  /** The throughput history's minutes (restored at the next start, so the chart goes on). */
  history?: HistoryMinute[];
  /** Why the agent stopped itself (not set for a normal stop by a signal). */
  stopReason?: string | null;
}

/** The state file's path. */
export function stateFile(dataDir: string): string {
  return path.join(dataDir, "state.json");
}

/**
 * Reads the saved state, or null when there is none or it can't be read. The state only informs
 * (status, and what a restart takes over), so a damaged or hand-edited file must stop nothing:
 * list entries that are not well formed are left out.
 */
export async function readSavedState(dataDir: string): Promise<SavedState | null> {
  let state: SavedState;
  try {
    state = JSON.parse(await Deno.readTextFile(stateFile(dataDir)));
  } catch {
    return null;
  }
  if (state === null || typeof state !== "object") return null;
  const list = <T>(v: unknown, ok: (x: Record<string, unknown>) => boolean): T[] =>
    Array.isArray(v) ? v.filter((x) => x !== null && typeof x === "object" && ok(x)) : [];
  state.recentFailures = list(
    state.recentFailures,
    (f) => typeof f.at === "string" && typeof f.file === "string" && typeof f.reason === "string",
  );
  state.history = list(state.history, (m) => typeof m.t === "string");
  return state;
}

/**
 * Replaces the state file durably. It holds server messages and converter errors: redacted,
 * and readable by the agent's user only.
 */
export async function writeSavedState(dataDir: string, state: SavedState): Promise<void> {
  await replaceDurably(stateFile(dataDir), JSON.stringify(redactDeep(state), null, 2), {
    mode: PRIVATE_FILE,
  });
}
