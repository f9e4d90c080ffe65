/**
 * A file whose move into Done is held (Done refused: replaced by a link) when the operator
 * points doneFolder elsewhere (a reload). The restarted converter takes the file anew: its
 * reports are queued already (skipped as duplicates), and it is moved into the new Done. The
 * held entry is given back at the reload (before, the new run's drop of the path removed it
 * unreturned, and the stopped converter's watch folder stayed held for good).
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness, type HarnessConverter } from "../e2e/_harness.ts";
import { makeSampleReport } from "../../wats_test_server/mod.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const heldOf = (pid: number, dir: string) =>
  [...Deno.readDirSync(`/proc/${pid}/fd`)].filter((e) => {
    try {
      return Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`) === dir;
    } catch {
      return false;
    }
  }).length;

Deno.test({
  name: "hostile: a held Done move and a reload to a new doneFolder: sent once, the old watch " +
    "folder let go",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await using h = await AgentHarness.create({
      converters: [{
        name: "json",
        format: "wsjf",
        watch: "./drop/json",
        afterSuccess: "move",
        pattern: "*.json",
        doneFolder: "./done-a",
      }],
      config: {
        intake: { stableSeconds: 0.1, rescanSeconds: 4, emptyFileSeconds: 5 },
        log: { level: "debug" },
      },
    });
    const drop = await Deno.realPath(path.join(h.dir, "drop/json"));
    await h.start();
    await Deno.writeTextFile(path.join(drop, "warm.json"), JSON.stringify(makeSampleReport(1)));
    await h.waitFor(async () => (await h.files(path.join(h.dir, "done-a"))).length > 0, "warm");
    const held0 = heldOf(h.pid!, drop);
    // Done swapped for a link: the next move is refused and held.
    await Deno.rename(path.join(h.dir, "done-a"), path.join(h.dir, "done-a.real"));
    await Deno.mkdir(path.join(h.dir, "elsewhere"));
    await Deno.symlink(path.join(h.dir, "elsewhere"), path.join(h.dir, "done-a"));
    await Deno.writeTextFile(path.join(drop, "g1.json"), JSON.stringify(makeSampleReport(2)));
    await h.waitFor(() => /was refused/.test(h.output), "the Done move held");
    await h.waitFor(() => h.server.stats().receives === 2, "g1 sent");
    // The operator points Done elsewhere.
    (h.config.converters as HarnessConverter[])[0].doneFolder = "./done-b";
    await h.writeConfig();
    await h.waitFor(
      async () =>
        (await h.files(path.join(h.dir, "done-b")).catch((): string[] => []))
          .includes("g1.json"),
      "g1 in done-b",
      20_000,
    );
    await sleep(9000); // two held-file ticks
    const stats = h.server.stats() as { receives: number };
    const held1 = heldOf(h.pid!, drop);
    const problems = [
      stats.receives !== 2 ? `g1 sent ${stats.receives - 1} times` : "",
      held1 > held0 ? `handles on the watch folder: ${held0} before, ${held1} after` : "",
    ].filter(Boolean);
    assert.deepEqual(problems, [], "held file across a reload");
  },
});
