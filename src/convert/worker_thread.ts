/**
 * Whether a terminated worker's thread is really gone. A worker stuck in a synchronous loop
 * keeps its thread spinning after `terminate()` (docs/runtime.md#converter-workers); the pool
 * counts such a worker as lost unless this says its thread has ended.
 *
 * @module
 */

/**
 * The names of this process's threads (Linux), or null when they can't be read. Deno lets only
 * `--allow-all` read /proc/self (the agent runs with narrower permissions), so without it they
 * are read by `/bin/sh` (the agent may run programs); Deno names a worker's thread
 * `worker-<threadId>`.
 */
async function threadNames(): Promise<string[] | null> {
  if (Deno.build.os !== "linux") return null;
  try {
    const names: string[] = [];
    for await (const t of Deno.readDir("/proc/self/task")) {
      names.push(
        (await Deno.readTextFile(`/proc/self/task/${t.name}/comm`).catch(() => "")).trim(),
      );
    }
    return names;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied)) {
      return null;
    }
  }
  try {
    const out = await new Deno.Command("/bin/sh", {
      args: ["-c", `cat /proc/${Deno.pid}/task/*/comm 2>/dev/null`],
      stdout: "piped",
      stderr: "null",
    }).output();
    const names = new TextDecoder().decode(out.stdout).split("\n").map((l) => l.trim()).filter(
      Boolean,
    );
    return names.length > 0 ? names : null;
  } catch {
    return null;
  }
}

/**
 * Whether a terminated worker's thread is really gone (Linux: no `worker-<threadId>` thread
 * within 2 s). When we can't tell (not Linux, /proc unreadable) we assume it is not.
 */
export async function threadGone(threadId: number): Promise<boolean> {
  const name = `worker-${threadId}`;
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const names = await threadNames();
    if (names === null) return false;
    if (!names.includes(name)) return true;
  }
  return false;
}
