/**
 * A full disk, for real: the data directory on a 4 MiB tmpfs. Intake pauses (source files stay
 * untouched in the drop folder), health says why, nothing is lost, and intake resumes by itself
 * when there is room. Needs root to mount; skipped with a message elsewhere.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

function canMount(): boolean {
  if (Deno.build.os !== "linux") return false;
  const dir = Deno.makeTempDirSync();
  try {
    const ok = new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir] })
      .outputSync().success;
    if (ok) new Deno.Command("umount", { args: [dir] }).outputSync();
    return ok;
  } catch {
    return false;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const mountable = canMount();
if (!mountable) console.warn("disk-full tests skipped: mounting a tmpfs needs root on Linux");

async function withSmallDisk(h: AgentHarness, fn: () => Promise<void>): Promise<void> {
  await Deno.mkdir(h.dataDir, { recursive: true });
  const m = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=4m", "tmpfs", h.dataDir],
  }).output();
  assert.ok(m.success, new TextDecoder().decode(m.stderr));
  try {
    await fn();
  } finally {
    await h.stop("SIGKILL");
    await new Deno.Command("umount", { args: ["-l", h.dataDir] }).output();
  }
}

/** Fills the disk holding `dir` until `leaveBytes` remain free. */
async function fill(dir: string, leaveBytes: number): Promise<string> {
  const filler = path.join(dir, "filler.bin");
  const f = await Deno.open(filler, { write: true, create: true, truncate: true });
  const chunk = new Uint8Array(16 * 1024);
  try {
    while (true) {
      const { statfs } = await import("node:fs/promises");
      const s = await statfs(dir);
      const free = Number(s.bavail) * Number(s.bsize);
      if (free <= leaveBytes) break;
      await f.write(chunk.subarray(0, Math.min(chunk.length, free - leaveBytes)));
    }
  } catch {
    /* the disk is full */
  } finally {
    f.close();
  }
  return filler;
}

Deno.test({
  name:
    "disk space below queue.minFreeDiskMb: intake pauses, files wait untouched, resumes with room",
  ignore: !mountable,
  async fn() {
    await using h = await AgentHarness.create({
      config: { queue: { minFreeDiskMb: 1 } },
      converters: [{ name: "json", format: "wsjf", afterSuccess: "delete" }],
    });
    await withSmallDisk(h, async () => {
      await h.start();
      const filler = await fill(h.dataDir, 512 * 1024);
      await h.waitFor(async () => (await h.status()).intake.paused, "intake paused");
      const reports = makeSampleReports(5, { seed: 21 });
      for (const r of reports) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
      const s = await h.status();
      assert.equal(s.health.state, "degraded");
      assert.ok(
        s.health.reasons.some((r: string) => /disk space low/.test(r)),
        s.health.reasons.join("; "),
      );
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(
        (await h.files(h.dropDir("json"))).length,
        5,
        "the files stay in the drop folder",
      );
      assert.equal(h.server.store.list().length, 0);

      await Deno.remove(filler);
      await h.waitFor(
        () => reports.every((r) => h.server.store.get(r.id)),
        "all reports uploaded after room",
      );
      await h.waitFor(async () => (await h.status()).health.state === "healthy", "healthy again");
    });
  },
});

Deno.test({
  name: "a real ENOSPC while queueing: nothing lost, intake stops, resumes when space returns",
  ignore: !mountable,
  async fn() {
    await using h = await AgentHarness.create({
      config: { queue: { minFreeDiskMb: 0 }, log: { level: "info" } },
      converters: [{ name: "json", format: "wsjf", afterSuccess: "delete" }],
    });
    await withSmallDisk(h, async () => {
      await h.start();
      const filler = await fill(h.dataDir, 4096);
      // Reports bigger than what is left: the queue write fails with ENOSPC.
      const reports = makeSampleReports(4, { seed: 22, extraNumericSteps: 60 });
      for (const r of reports) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
      await h.waitFor(
        async () => (await h.status()).intake.paused,
        "intake paused by the write error",
      );
      assert.match(h.output, /disk full while queueing/);
      assert.equal((await h.files(h.dropDir("json"))).length, 4, "the sources are untouched");
      // Another file's write may still be failing (and cleaning up) when intake pauses.
      let tmp: string[] = [];
      await h.waitFor(async () => {
        tmp = await h.files(path.join(h.dataDir, "queue", "tmp"));
        return tmp.length === 0;
      }, "no half-written entry left behind").catch((e) => {
        throw new Error(`half-written entries left in queue/tmp: ${tmp.join(", ")}`, { cause: e });
      });

      await Deno.remove(filler);
      await h.waitFor(
        () => reports.every((r) => h.server.store.get(r.id)),
        "all reports uploaded after room",
        30_000,
      );
      for (const r of reports) assert.equal(h.server.store.get(r.id)!.report.sn, r.sn);
    });
  },
});
