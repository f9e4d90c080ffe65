/**
 * Below-normal priority with the real agent started by hand (as a service manager would not
 * set it): every thread of the process, the converter workers included, runs at
 * `priority.nice` (default 10), and a reload that lowers it further applies to all of them.
 */
import assert from "#assert";
import { AgentHarness } from "../e2e/_harness.ts";

const hasProc = await Deno.stat("/proc/self/task").then(() => true, () => false);
if (!hasProc) {
  console.warn("no /proc/<pid>/task here (not Linux): the thread priority test is skipped");
}

/** The niceness of every thread of `pid`, by thread name. */
async function threadNice(pid: number): Promise<{ name: string; nice: number }[]> {
  const out: { name: string; nice: number }[] = [];
  for await (const t of Deno.readDir(`/proc/${pid}/task`)) {
    const stat = await Deno.readTextFile(`/proc/${pid}/task/${t.name}/stat`).catch(() => null);
    if (stat === null) continue; // the thread ended
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    // Fields after the name start at field 3 (state); niceness is field 19.
    out.push({ name, nice: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]) });
  }
  return out;
}

Deno.test({
  name: "agent run lowers all its threads to priority.nice, also after a reload",
  ignore: !hasProc,
  async fn() {
    await using h = await AgentHarness.create({ converters: [{ name: "json", format: "wsjf" }] });
    await h.start();
    const pid = h.pid!;
    const threads = await threadNice(pid);
    assert.ok(threads.some((t) => t.name.startsWith("worker-")), "pool.min 1: a worker runs");
    assert.deepEqual(threads.filter((t) => t.nice !== 10), [], "every thread at nice 10");

    h.config.priority = { nice: 15 };
    await h.writeConfig();
    await h.waitFor(async () => (await threadNice(pid)).every((t) => t.nice === 15), "nice 15");
    assert.ok((await h.status()).reload.ok);
  },
});
