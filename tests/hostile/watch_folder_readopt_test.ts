/**
 * A writer who may rename the watch folder's parent exchanges the watch folder with a spare
 * folder of theirs thousands of times, touching the one the agent watches each time so that it
 * rescans at once and adopts the other as the watch folder "re-created". Each adoption kept the
 * handle it replaced open for 15 minutes: 1,762 exchanges in 20 s took the agent from 40 to 626
 * open files, and under a limit of 1,024 it ran out (EMFILE) and stopped taking files. A
 * replaced handle is now closed once no operation uses it.
 */
import assert from "#assert";
import { AgentHarness } from "../e2e/_harness.ts";
import { makeSampleReport } from "../../wats_test_server/mod.ts";

const openFiles = async (pid: number) =>
  (await Array.fromAsync(Deno.readDir(`/proc/${pid}/fd`))).length;

Deno.test({
  name: "watch folder re-adopted thousands of times: the agent's open files do not pile up",
  ignore: Deno.build.os !== "linux", // renameat2, /proc/<pid>/fd
  async fn() {
    await using h = await AgentHarness.create({
      converters: [{ name: "json", format: "wsjf", afterSuccess: "delete" }],
      config: { intake: { stableSeconds: 0.2, rescanSeconds: 5 }, log: { level: "info" } },
    });
    const drop = h.dropDir("json");
    const spare = drop + ".spare";
    await Deno.mkdir(spare);
    await h.start();
    const pid = h.pid!;
    const before = await openFiles(pid);
    const libc = Deno.dlopen("libc.so.6", {
      renameat2: { parameters: ["i32", "buffer", "i32", "buffer", "u32"], result: "i32" },
    });
    const cs = (s: string) => new TextEncoder().encode(s + "\0");
    const end = Date.now() + 10_000;
    let n = 0;
    try {
      while (Date.now() < end) {
        if (libc.symbols.renameat2(-100, cs(drop), -100, cs(spare), 2) !== 0) {
          throw new Error("renameat2 failed");
        }
        n++;
        await Deno.utime(spare, new Date(), new Date()); // an event in the watched one: rescan
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      libc.close();
    }
    await new Promise((r) => setTimeout(r, 1000));
    const after = await openFiles(pid);
    assert.ok(after < before + 30, `${n} exchanges: open files ${before} -> ${after}`);
    // And it still takes files.
    const r = makeSampleReport(70_001);
    await h.drop("json", "last.json", JSON.stringify(r));
    await h.waitFor(() => h.server.store.get(r.id) !== undefined, "a later file uploaded", 30_000);
  },
});
