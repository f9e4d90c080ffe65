/**
 * Why a report is in error: the sidecar `<key>.error.json` the queue writes beside it (reason,
 * attempts, the server's answer, when it retries), read back by status and at start-up.
 *
 * @module
 */
import path from "#path";
import { ERROR_SUFFIX } from "./layout.ts";

/** Why an entry is in `error`, kept in `<key>.error.json` beside it. */
export interface ErrorInfo {
  /** One line a person can act on. */
  reason: string;
  /** Upload attempts so far. */
  attempts: number;
  /** The last HTTP status, or null for a network error. */
  lastStatus: number | null;
  /** The server's message, when it gave one. */
  serverMessage: string | null;
  /** True when it will not be retried without a person (e.g. the server rejected it). */
  permanent: boolean;
  /** When it goes back to `queued` by itself (ISO), or null when permanent. */
  retryAt: string | null;
  /** When it last failed (ISO). */
  failedAt: string;
  correlationId: string;
  id: string;
  source: string;
  sn: string;
  pn: string;
}

/** A report in error, for status. */
export interface ErrorEntry extends ErrorInfo {
  key: string;
}

/** Error entries status lists: the newest this many, by key (kept in memory). */
export const RECENT_ERRORS = 20;

/** When an entry in error goes back to queued by itself (ms), or null when permanent. */
export function retryTime(info: ErrorInfo): number | null {
  return info.permanent || info.retryAt === null ? null : Date.parse(info.retryAt);
}

/** Reads an error sidecar; null when it is missing or unreadable. */
export async function readErrorInfo(dir: string, key: string): Promise<ErrorInfo | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path.join(dir, "error", key + ERROR_SUFFIX)));
  } catch {
    return null;
  }
}
