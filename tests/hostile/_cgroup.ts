/**
 * A real memory limit for a test's agent process: a cgroup v1 memory group under
 * /sys/fs/cgroup/memory with a hard limit; the kernel OOM-kills the process when it goes over.
 *
 * ```ts
 * await using cg = await MemoryCgroup.create(400 * 1024 * 1024); // before the harness
 * await using h = await AgentHarness.create(…);
 * await h.start({}, cg.via()); // the agent runs in the group from its first instruction
 * ```
 *
 * Declare it before the harness: `await using` disposes in reverse order, so the agent is gone
 * when the group is removed.
 *
 * @module
 */
import path from "#path";

const ROOT = "/sys/fs/cgroup/memory";

/** Why a memory cgroup can't be made here, or null when it can (for `ignore:`). */
export const cgroupUnavailable: string | null = (() => {
  if (Deno.build.os !== "linux") return "memory cgroups are Linux only";
  const probe = path.join(ROOT, `agent-test-probe-${crypto.randomUUID().slice(0, 8)}`);
  try {
    Deno.mkdirSync(probe);
    Deno.removeSync(probe);
    return null;
  } catch (e) {
    return `can't create a cgroup v1 memory group under ${ROOT}: ${(e as Error).message}`;
  }
})();

/** One memory cgroup with a hard limit. */
export class MemoryCgroup implements AsyncDisposable {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates the group with `limitBytes` as its hard limit (no swap here, so RAM only). */
  static async create(limitBytes: number): Promise<MemoryCgroup> {
    const dir = path.join(ROOT, `agent-test-${crypto.randomUUID().slice(0, 8)}`);
    await Deno.mkdir(dir);
    const cg = new MemoryCgroup(dir);
    try {
      await Deno.writeTextFile(path.join(dir, "memory.limit_in_bytes"), String(limitBytes));
    } catch (e) {
      await Deno.remove(dir);
      throw e;
    }
    return cg;
  }

  /**
   * A command prefix (for `AgentHarness.start`) that joins the group, then `exec`s the command
   * given after it: the process is in the group before it allocates anything, with its own pid.
   */
  via(): string[] {
    return ["sh", "-c", `echo $$ > '${path.join(this.dir, "cgroup.procs")}' && exec "$@"`, "sh"];
  }

  /** Peak memory charged to the group since it was made (bytes). */
  async peakBytes(): Promise<number> {
    return Number(
      (await Deno.readTextFile(path.join(this.dir, "memory.max_usage_in_bytes"))).trim(),
    );
  }

  /** How many processes the kernel OOM-killed in this group. */
  async oomKills(): Promise<number> {
    const text = await Deno.readTextFile(path.join(this.dir, "memory.oom_control"));
    return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
  }

  /** Removes the group (its processes must have exited). */
  async [Symbol.asyncDispose](): Promise<void> {
    for (let i = 0; i < 50; i++) {
      try {
        await Deno.remove(this.dir);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100)); // the killed agent is still being reaped
      }
    }
    await Deno.remove(this.dir);
  }
}
