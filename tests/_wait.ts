/**
 * Waiting in tests: poll a condition until it holds, never sleep a fixed time and hope. A test
 * that checks that something did NOT happen first waits for an event that proves the agent
 * looked (a rescan, a retry) and only then checks the absence.
 *
 * ```ts
 * await waitFor(() => server.store.size === 2, "both reports on the server");
 * ```
 *
 * @module
 */

/** How long to poll and what to add to the failure message. */
export interface WaitOptions {
  /** Give up after this many ms (default 20,000). */
  timeoutMs?: number;
  /** Poll every this many ms (default 25). */
  intervalMs?: number;
  /** Appended to the timeout message (e.g. the agent's output so far). */
  detail?: () => string;
}

/** Resolves once `pred` returns true; throws, naming `what`, after `timeoutMs`. */
export async function waitFor(
  pred: () => boolean | Promise<boolean>,
  what: string,
  options: WaitOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) {
      const detail = options.detail?.();
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}` + (detail ? `\n${detail}` : ""),
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 25));
  }
}
