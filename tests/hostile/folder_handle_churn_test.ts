/**
 * File descriptors of the root agent while a writer re-makes the Error and Done folders over
 * and over during a burst (each re-make makes the agent walk and hold a new handle), and while
 * the config is reloaded many times (each restarts the converter and re-pins Done/Error: 60
 * reloads took it from 45 to 118 open files, a stopped source's watch folder and folders no
 * longer named staying held, before they were let go).
 * And no bad file lost: each ends in Error (or in an Error folder the writer moved away) with
 * its note; each good file in some Done.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness, type HarnessConverter } from "../e2e/_harness.ts";
import { makeSampleReport } from "../../wats_test_server/mod.ts";

const fds = (pid: number) => [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** All files below `dir`, as paths relative to it. */
async function walk(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(path.join(dir, rel))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await walk(dir, r));
    else out.push(r);
  }
  return out;
}

Deno.test({
  name: "hostile: Error and Done re-made 100s of times in a burst: no fd growth, nothing lost",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await using h = await AgentHarness.create({
      converters: [{ name: "json", format: "wsjf", afterSuccess: "move", recursive: true }],
      config: {
        intake: { stableSeconds: 0.2, rescanSeconds: 0.5, emptyFileSeconds: 5 },
        log: { level: "info" },
      },
    });
    const drop = h.dropDir("json");
    await h.start();
    // Warm up: one good and one bad file, so Done and Error are held.
    await h.drop("json", "warm.json", JSON.stringify(makeSampleReport(1)));
    await h.drop("json", "warm-bad.json", "{ bad");
    await h.waitFor(() => h.inError(path.join(drop, "Error"), "warm-bad.json"), "warm bad");
    await h.waitFor(
      async () => (await h.files(path.join(drop, "Done"))).includes("warm.json"),
      "warm",
    );
    await sleep(1000);
    const before = fds(h.pid!);
    const good = new Set<string>();
    const bad = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const sub = i % 2 ? "sub/" : "";
      const name = `${sub}f${String(i).padStart(4, "0")}.json`;
      if (i % 3 === 0) {
        bad.add(name);
        await h.drop("json", name, "{ not a report");
      } else {
        good.add(name);
        await h.drop("json", name, JSON.stringify(makeSampleReport(100 + i)));
      }
    }
    const gone = path.join(h.dir, "gone"); // outside the (recursive) watch folder
    await Deno.mkdir(gone);
    // The writer: Error and Done renamed away and re-made (as the writer's) every few ms.
    let n = 0;
    const end = Date.now() + 15_000;
    let peak = 0;
    while (Date.now() < end) {
      for (const f of ["Error", "Done"]) {
        await Deno.rename(path.join(drop, f), path.join(gone, `${f}.gone${n}`)).catch(() => {});
        await Deno.mkdir(path.join(drop, f)).catch(() => {});
      }
      n++;
      if (n % 20 === 0) peak = Math.max(peak, fds(h.pid!));
      await sleep(3);
    }
    await h.waitFor(
      async () => {
        const left = (await walk(drop)).filter((p) =>
          !/^(Error|Done)/.test(p) && p.endsWith(".json")
        );
        return left.length === 0;
      },
      "the drop folder emptied",
      60_000,
    );
    await sleep(2000);
    const after = fds(h.pid!);
    // Where each file went.
    const all = [...await walk(drop), ...await walk(gone)];
    const lostBad: string[] = [];
    for (const b of bad) {
      const at = all.filter((p) =>
        /^Error(\.gone\d+)?\//.test(p) && p.replace(/^[^/]+\//, "") === b
      );
      const notes = all.filter((p) =>
        /^Error(\.gone\d+)?\//.test(p) && p.replace(/^[^/]+\//, "") === `${b}.error.txt`
      );
      if (at.length !== 1 || notes.length !== 1) lostBad.push(`${b} (${at} / ${notes})`);
      else if (path.dirname(at[0]).split("/")[0] !== path.dirname(notes[0]).split("/")[0]) {
        lostBad.push(`${b}: file in ${at[0]}, note in ${notes[0]}`);
      }
    }
    const lostGood = [...good].filter((g) =>
      !all.some((p) => /^Done(\.gone\d+)?\//.test(p) && p.replace(/^[^/]+\//, "") === g)
    );
    assert.deepEqual(lostBad, [], "bad files not in an Error folder with their note");
    assert.deepEqual(lostGood, [], "good files not in a Done folder");
    assert.ok(
      after <= before + 4,
      `fds grew from ${before} to ${after} (peak ${peak}, ${n} re-makes)`,
    );
  },
});

Deno.test({
  name: "hostile: 60 config reloads restarting the converter while files flow: no fd growth",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await using h = await AgentHarness.create({
      converters: [{ name: "json", format: "wsjf", afterSuccess: "move", pattern: "*" }],
      config: {
        intake: { stableSeconds: 0.1, rescanSeconds: 0.5, emptyFileSeconds: 5 },
        log: { level: "info" },
      },
    });
    const drop = h.dropDir("json");
    await h.start();
    await h.drop("json", "warm.json", JSON.stringify(makeSampleReport(1)));
    await h.drop("json", "warm-bad.json", "{ bad");
    await h.waitFor(() => h.inError(path.join(drop, "Error"), "warm-bad.json"), "warm bad");
    await sleep(1500);
    const before = fds(h.pid!);
    const conv = (h.config.converters as HarnessConverter[])[0];
    for (let i = 0; i < 60; i++) {
      // Files in flight while the converter restarts.
      await h.drop("json", `g${i}.json`, JSON.stringify(makeSampleReport(500 + i)));
      await h.drop("json", `b${i}.json`, "{ bad");
      conv.pattern = i % 2 ? "*" : "*.json";
      // Every fourth reload points Done somewhere new (an operator rotating folders).
      if (i % 4 === 0) conv.doneFolder = `./done-${i}`;
      await h.writeConfig();
      await sleep(400);
    }
    await h.waitFor(
      async () => {
        const left = (await h.files(drop)).filter((p) => p.endsWith(".json"));
        return left.length === 0;
      },
      "the drop folder emptied",
      60_000,
    );
    await sleep(3000);
    const after = fds(h.pid!);
    const links = [...Deno.readDirSync(`/proc/${h.pid}/fd`)].map((e) => {
      try {
        return Deno.readLinkSync(`/proc/${h.pid}/fd/${e.name}`);
      } catch {
        return "?";
      }
    }).filter((l) => l.startsWith(h.dir));
    assert.ok(
      after <= before + 4,
      `fds grew from ${before} to ${after}; held under the test dir:\n${links.join("\n")}`,
    );
  },
});
