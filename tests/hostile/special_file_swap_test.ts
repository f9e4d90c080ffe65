/**
 * A name swapped, after the stability gate approved it, for a link to a FIFO never hangs the
 * reader, with the real agent process: the approved file waits for the in-flight byte budget
 * (a large file behind a slow one), the writer swaps its name for a link to a FIFO nobody
 * writes to, and the agent refuses it without opening it (or opens it without waiting, where
 * links are followed, and refuses what it opened). Files after it are taken, nothing counts as
 * a hung read.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { expectReason, health, waitLog } from "../e2e/_ops.ts";
import { makeSampleReport } from "../../wats_test_server/sample_reports.ts";
import { installScriptedStarted, started } from "./_scripted.ts";

for (const followSymlinks of [false, true]) {
  Deno.test({
    name:
      `special file swap: an approved name swapped for a link to a FIFO is not opened in a way that hangs (followSymlinks ${followSymlinks})`,
    ignore: Deno.build.os === "windows", // FIFOs and mkfifo are POSIX
    fn: async () => {
      await using h = await AgentHarness.create({
        converters: [{
          name: "scripted",
          module: "./scripted.js",
          followSymlinks,
          params: { startedDir: "./started", slowMs: 4000 },
        }],
        config: {
          intake: { stableSeconds: 0.3, rescanSeconds: 1, emptyFileSeconds: 5 },
          pool: { min: 1, max: 1, timeoutSeconds: 20 },
        },
      });
      const startedDir = await installScriptedStarted(h);
      const fifo = path.join(h.dir, "fifo");
      const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
      assert.ok(mk.success, new TextDecoder().decode(mk.stderr));
      await h.start();

      const blocker = makeSampleReport(71, { seed: 7 });
      await h.drop("scripted", "a.json", JSON.stringify(blocker));
      await h.waitFor(async () => (await started(startedDir)).length === 1, "a.json converting");
      // 65 MB (sparse): over the in-flight byte budget beside a.json, so it waits, approved.
      const big = path.join(h.dropDir("scripted"), "b.json");
      const tmp = path.join(h.dir, ".b");
      await Deno.truncate(tmp, 65 * 1024 * 1024).catch(async () => {
        await Deno.writeFile(tmp, new Uint8Array(0));
        await Deno.truncate(tmp, 65 * 1024 * 1024);
      });
      await Deno.rename(tmp, big);
      await h.waitFor(async () => {
        const s = await (await h.control("/status")).json();
        return s.converters[0].taken === 2;
      }, "b.json approved by the gate and waiting");
      const link = path.join(h.dir, ".link");
      await Deno.symlink(fifo, link);
      await Deno.rename(link, big); // the approved name is a link to the FIFO now

      const later = makeSampleReport(72, { seed: 7 });
      await h.drop("scripted", "c.json", JSON.stringify(later));
      await h.waitFor(() => h.server.store.get(blocker.id) !== undefined, "a.json uploaded");
      await h.waitFor(() => h.server.store.get(later.id) !== undefined, "c.json uploaded");
      await waitLog(
        h,
        (rs) => rs.some((r) => /b\.json changed after it was found complete/.test(r.message)),
        "the agent refusing b.json",
      );
      const hh = await health(h);
      assert.ok(!hh.reasons.some((r) => /^reading .* hangs/.test(r)), JSON.stringify(hh));
      assert.ok((await Deno.lstat(big)).isSymlink, "the link is left as it is");
      // Not asserted: a graceful stop. Deno's own folder watcher thread opens each path an event
      // names, so the link's rename blocks it in open(2) for good and the process can't join
      // it at exit (README, Security model: residual risks).
    },
  });
}

Deno.test({
  name:
    "special file swap: a FIFO put in a watch folder is a health reason naming it; the files beside it are taken",
  ignore: Deno.build.os === "windows", // FIFOs and mkfifo are POSIX
  fn: async () => {
    await using h = await AgentHarness.create({});
    await h.start();
    const fifo = path.join(h.dropDir("json"), "pipe.json");
    const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(mk.success, new TextDecoder().decode(mk.stderr));
    const good = makeSampleReport(73, { seed: 7 });
    await h.drop("json", "good.json", JSON.stringify(good));
    await h.waitFor(() => h.server.store.get(good.id) !== undefined, "good.json uploaded");
    await expectReason(
      h,
      /1 FIFO\(s\), socket\(s\) or device\(s\) in \S*drop\/json \(converter json\), e\.g\. \S*pipe\.json/,
      "degraded",
    );
  },
});
