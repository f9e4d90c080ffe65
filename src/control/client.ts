/**
 * The CLI's side of the control endpoint: find the running agent through
 * `<dataDir>/control.json`, read its status, ask it to act.
 *
 * @module
 */
import { type ControlInfo, readControlInfo } from "./server.ts";
import type { StatusSnapshot } from "../status/snapshot.ts";
import { isDataDirLocked } from "../data_dir/lock.ts";

/** Whether an agent runs on the data dir, and how to reach it. */
export type AgentContact =
  | { state: "running"; info: ControlInfo }
  | { state: "stopped" }
  | { state: "unreachable"; why: string };

/** Finds out whether an agent runs on `dataDir` and answers on its control port. */
export async function contactAgent(dataDir: string, timeoutMs = 3000): Promise<AgentContact> {
  const info = await readControlInfo(dataDir);
  if (info) {
    try {
      const res = await fetch(`http://127.0.0.1:${info.port}/health`, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      return { state: "running", info };
    } catch (e) {
      if (!(await isDataDirLocked(dataDir))) return { state: "stopped" }; // a stale control.json
      return {
        state: "unreachable",
        why:
          `an agent holds ${dataDir} but its control endpoint (127.0.0.1:${info.port}) does not ` +
          `answer: ${(e as Error).message}`,
      };
    }
  }
  if (await isDataDirLocked(dataDir)) {
    return {
      state: "unreachable",
      why: `an agent holds ${dataDir} but has not started its control endpoint yet`,
    };
  }
  return { state: "stopped" };
}

/** GET /status from a running agent. */
export async function fetchStatus(info: ControlInfo, timeoutMs = 5000): Promise<StatusSnapshot> {
  const res = await fetch(`http://127.0.0.1:${info.port}/status`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`the agent answered ${res.status} to /status: ${await res.text()}`);
  return await res.json();
}

/** The agent answered an action with an error status (e.g. 401: not its token). */
export class ActionRefused extends Error {
  /** @param status the HTTP status; @param message what the agent said */
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "ActionRefused";
  }
}

/** POSTs an action to a running agent with the control token; throws {@link ActionRefused}. */
export async function postAction(
  info: ControlInfo,
  action: string,
  body: unknown = {},
): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${info.port}/${action}`, {
    method: "POST",
    headers: { authorization: `Bearer ${info.token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) {
    throw new ActionRefused(res.status, `the agent refused ${action} (${res.status}): ${text}`);
  }
  return JSON.parse(text);
}
