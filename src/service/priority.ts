/**
 * Running below normal priority, so the station's test software comes first. The service
 * definitions start the agent at the configured niceness (systemd `Nice=`, launchd `Nice`,
 * Task Scheduler `<Priority>`); `agent run` started by hand lowers itself to it.
 *
 * Lowering needs no right, raising does: an agent already at or below the configured priority
 * is left as it is.
 *
 * @module
 */
import os from "node:os";
import { logger } from "../log/log.ts";

const log = logger("agent");

/**
 * The Task Scheduler priority for a niceness: 7 (below normal) from 10 up, 9 (idle, the lowest a
 * task can ask for without starving) at 19, 5 (normal) below 10. These are the
 * classes Windows gives `os.setPriority(nice)` too.
 */
export function taskPriority(nice: number): number {
  if (nice >= 19) return 9;
  if (nice >= 10) return 7;
  return 5;
}

/** The ids of this process's threads (Linux; Deno lets only --allow-all read /proc/self). */
async function threadIds(): Promise<number[]> {
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", `ls /proc/${Deno.pid}/task`],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split(/\s+/).filter((t) => /^\d+$/.test(t))
    .map(Number);
}

/**
 * Lowers this process to `nice` unless it already runs at that or lower. On Linux niceness is
 * per thread and only threads started later inherit it, so every existing thread is lowered.
 * Returns what was done (for the log); throws with what to do when the OS refuses.
 */
export async function applyNice(nice: number): Promise<string | null> {
  const current = os.getPriority();
  if (current >= nice) return null;
  try {
    // A thread may start from one not lowered yet while we go: repeat until none is left.
    for (let pass = 0; Deno.build.os === "linux" && pass < 10; pass++) {
      let lowered = 0;
      for (const tid of await threadIds()) {
        try {
          if (os.getPriority(tid) < nice) {
            os.setPriority(tid, nice);
            lowered++;
          }
        } catch (e) {
          // A thread that ended between the listing and now.
          if (!/ESRCH/.test(String(e))) throw e;
        }
      }
      if (lowered === 0) break;
    }
    os.setPriority(nice);
  } catch (e) {
    throw new Error(
      `can't lower the agent's priority from nice ${current} to ${nice} (priority.nice): ` +
        `${(e as Error).message}. Set priority.nice to ${current} or more to stop this warning`,
    );
  }
  return `priority lowered from nice ${current} to ${nice} (priority.nice)`;
}

/** Lowers the agent to `nice` (logged; a refusal is a warning, the agent runs on). */
export async function lowerPriority(nice: number): Promise<void> {
  try {
    const done = await applyNice(nice);
    if (done) log.info("Running below normal priority: {done}", { done });
  } catch (e) {
    log.warn("{error}", { error: (e as Error).message });
  }
}
