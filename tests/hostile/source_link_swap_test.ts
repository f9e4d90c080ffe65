/**
 * The real agent, its Error folder outside the drop folder (root's, as advised). The writer
 * waits for the note of their bad file to appear in Error, then swaps the source for a symbolic
 * link (to /etc/shadow). The source was looked at before the note was written, so link(2)
 * linked the link itself into Error; the check found another inode, the take-back looked only
 * for the source's, and the writer's link stayed in the root-only Error folder (no note). Now
 * whatever was made at the name in the held folder goes.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";

Deno.test({
  name:
    "hostile: a source swapped for a link while its Error note is written leaves nothing in Error",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await using h = await AgentHarness.create({
      converters: [{
        name: "json",
        format: "wsjf",
        afterSuccess: "delete",
        errorFolder: "./errors",
      }],
      config: {
        intake: { stableSeconds: 0.2, rescanSeconds: 0.5, emptyFileSeconds: 5 },
        log: { level: "info" },
      },
    });
    const drop = h.dropDir("json");
    const errors = path.join(h.dir, "errors");
    await h.start();
    let won = 0;
    for (let i = 0; i < 10 && won === 0; i++) {
      const name = `bad${i}.json`;
      await h.drop("json", name, "{ not a report");
      const note = path.join(errors, `${name}.error.txt`);
      const until = Date.now() + 10_000;
      while (Date.now() < until) {
        try {
          Deno.lstatSync(note);
        } catch {
          continue; // busy-wait: the window is the note's write and fsync
        }
        Deno.renameSync(path.join(drop, name), path.join(h.dir, `${name}.mine`));
        Deno.symlinkSync("/etc/shadow", path.join(drop, name));
        break;
      }
      await new Promise((r) => setTimeout(r, 1500));
      const st = await Deno.lstat(path.join(errors, name)).catch(() => null);
      if (st?.isSymlink) won++;
    }
    await new Promise((r) => setTimeout(r, 4000)); // the held file's retries
    const names = [...Deno.readDirSync(errors)].map((e) =>
      e.isSymlink ? `${e.name} -> ${Deno.readLinkSync(path.join(errors, e.name))}` : e.name
    );
    const said = h.output.split("\n").filter((l) => /ERROR|WARN/.test(l) && /bad/.test(l));
    assert.equal(
      won,
      0,
      `a link of the writer's left in the root-only Error folder (in it: ${names.join(", ")})\n` +
        said.slice(-2).join("\n"),
    );
  },
});
