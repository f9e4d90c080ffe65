/**
 * Helpers for the operations e2e tests (ops_*_test.ts): read health the three ways a person or
 * a monitor does (GET /health, `agent status`, its exit code) and wait for a reason to appear
 * or clear.
 *
 * @module
 */
import assert from "#assert";
import path from "#path";
import type { AgentHarness } from "./_harness.ts";

/** `GET /health`: the state, the reasons and the HTTP status. */
export async function health(
  h: AgentHarness,
): Promise<{ state: string; reasons: string[]; http: number }> {
  const res = await h.control("/health");
  return { ...(await res.json()), http: res.status };
}

/** Polls /health until `pred` holds; the error names the last answer. */
async function waitHealth(
  h: AgentHarness,
  pred: (x: { state: string; reasons: string[] }) => boolean,
  what: string,
  timeoutMs: number,
): Promise<void> {
  let last: { state: string; reasons: string[] } | null = null;
  try {
    await h.waitFor(async () => pred(last = await health(h)), what, timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- last /health: ${JSON.stringify(last)}`);
  }
}

const EXIT: Record<string, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

/**
 * Waits until `/health` gives a reason matching `reason` with the overall `state`; then checks
 * that `agent status` (text) prints the reason and exits with that state's code, and that
 * `/health` answers 503 exactly when unhealthy. Returns the status text.
 */
export async function expectReason(
  h: AgentHarness,
  reason: RegExp,
  state: "degraded" | "unhealthy",
  timeoutMs = 20_000,
): Promise<string> {
  await waitHealth(
    h,
    (x) => x.state === state && x.reasons.some((r) => reason.test(r)),
    `health ${state} with a reason matching ${reason}`,
    timeoutMs,
  );
  const hh = await health(h);
  assert.equal(hh.http, state === "unhealthy" ? 503 : 200, "GET /health status code");
  // The CLI is a separate process: allow a moment for the state to be read the same way.
  let out = { code: -1, stdout: "", stderr: "" };
  for (let i = 0; i < 5; i++) {
    out = await h.cli(["status", "--config", h.configFile]);
    if (out.code === EXIT[state] && reason.test(out.stdout)) return out.stdout;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(
    `agent status should exit ${
      EXIT[state]
    } and print ${reason}; exit ${out.code}:\n${out.stdout}${out.stderr}`,
  );
}

/** Waits until no `/health` reason matches `reason`; checks `agent status` agrees. */
export async function expectCleared(
  h: AgentHarness,
  reason: RegExp,
  state?: "healthy" | "degraded",
  timeoutMs = 20_000,
): Promise<void> {
  await waitHealth(
    h,
    (x) => !x.reasons.some((r) => reason.test(r)) && (state === undefined || x.state === state),
    `no health reason matching ${reason}${state ? ` and state ${state}` : ""}`,
    timeoutMs,
  );
  const out = await h.cli(["status", "--config", h.configFile]);
  const reasonLines = out.stdout.split("\n").filter((l) => l.startsWith("  - "));
  assert.ok(
    !reasonLines.some((l) => reason.test(l)),
    `agent status still says ${reason}:\n${out.stdout}`,
  );
  if (state) assert.equal(out.code, EXIT[state], out.stdout);
}

/** One line of the agent's JSON-lines log file. */
export interface LogLine {
  "@timestamp": string;
  level: string;
  message: string;
  logger: string;
  properties: Record<string, unknown>;
}

/** Every line of the agent's JSON-lines log files, parsed. */
export async function logRecords(h: AgentHarness): Promise<LogLine[]> {
  const dir = path.join(h.dataDir, "logs");
  const out: LogLine[] = [];
  for (const e of await Array.fromAsync(Deno.readDir(dir))) {
    if (!e.isFile || !e.name.startsWith("agent.log")) continue;
    for (const line of (await Deno.readTextFile(path.join(dir, e.name))).split("\n")) {
      if (line.trim()) out.push(JSON.parse(line));
    }
  }
  return out;
}

/** A custom converter module that passes WSJF JSON through (self-contained JS). */
export const PASSTHROUGH_CONVERTER = `export default {
  name: "passthrough",
  description: "test: the file is a WSJF report",
  convert(input) { return [JSON.parse(new TextDecoder().decode(input.bytes))]; },
};
`;

/** A custom converter that never returns (a stuck parser). */
export const STUCK_CONVERTER = `export default {
  name: "stuck",
  description: "test: spins forever",
  convert() { for (;;) {} },
};
`;

/** Waits until the log files hold a record matching `pred` (the file sink flushes every second). */
export async function waitLog(
  h: AgentHarness,
  pred: (records: LogLine[]) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<LogLine[]> {
  let records: LogLine[] = [];
  await h.waitFor(async () => pred(records = await logRecords(h)), `log: ${what}`, timeoutMs);
  return records;
}
