/**
 * What a scan can't see is said, never silent, with the real agent process: one subfolder too
 * deep for the OS to list no longer fails every scan of its recursive watch folder (the file
 * beside it, there before the start, is taken; the subfolder is a health reason naming it), and
 * a file whose name is not valid UTF-8 (a Latin-1 name from an old tester), which the agent
 * can't open, move or delete by name, is a health reason naming the folder and what to do.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { expectReason, waitLog } from "../e2e/_ops.ts";
import { makeSampleReport } from "../../wats_test_server/sample_reports.ts";

async function sh(script: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", script, "sh", ...args] }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

Deno.test({
  name:
    "scan problems: a subfolder deeper than PATH_MAX is skipped with a reason; the rest of the folder is taken",
  ignore: Deno.build.os === "windows", // builds the tree with python3, removes it with sh
  fn: async () => {
    await using h = await AgentHarness.create({
      converters: [{ name: "json", format: "wsjf", recursive: true, pattern: "*.json" }],
    });
    const drop = h.dropDir("json");
    // 30 levels of 200-character names: far past PATH_MAX (4096) for any listing by path.
    const made = await new Deno.Command("python3", {
      args: [
        "-c",
        'import os,sys\nos.chdir(sys.argv[1])\nfor _ in range(30):\n  os.mkdir("d"*200); os.chdir("d"*200)',
        drop,
      ],
    }).output();
    assert.ok(made.success, new TextDecoder().decode(made.stderr));
    const top = makeSampleReport(81);
    await Deno.writeTextFile(path.join(drop, "top.json"), JSON.stringify(top));
    try {
      await h.start();
      await h.waitFor(
        () => h.server.store.get(top.id) !== undefined,
        "top.json (there at start) uploaded",
      );
      await expectReason(
        h,
        /subfolder\(s\) of \S*drop\/json \(converter json\) can't be read/,
        "degraded",
      );
      await waitLog(
        h,
        (rs) => rs.filter((r) => /Subfolder .* can't be read/.test(r.message)).length === 1,
        "one warning for the subfolder, not one per scan",
      );
      await h.waitForRescans(2);
      const warnings = (await waitLog(h, () => true, "the log")).filter((r) =>
        /Subfolder .* can't be read/.test(r.message)
      );
      assert.equal(warnings.length, 1, "the skipped subfolder is said once");
    } finally {
      await sh('rm -rf "$1"/dd*', drop); // Deno.remove can't take paths past PATH_MAX
    }
  },
});

Deno.test({
  name:
    "scan problems: a file whose name is not valid UTF-8 is a health reason naming its folder; the files beside it are taken",
  ignore: Deno.build.os !== "linux", // any byte string is a name only on Linux file systems
  fn: async () => {
    await using h = await AgentHarness.create({});
    await h.start();
    const drop = h.dropDir("json");
    const bad = makeSampleReport(82);
    // "Prüfung.json" in Latin-1: the byte 0xFC is not UTF-8.
    await sh('printf "%s" "$2" > "$1/$(printf "Pr\\374fung.json")"', drop, JSON.stringify(bad));
    const good = makeSampleReport(83);
    await h.drop("json", "good.json", JSON.stringify(good));
    await h.waitFor(() => h.server.store.get(good.id) !== undefined, "good.json uploaded");
    const status = await expectReason(
      h,
      /1 file\(s\) in \S*drop\/json \(converter json\) have names that are not valid UTF-8, e\.g\. .*Pr\uFFFDfung\.json.*Rename them/,
      "degraded",
    );
    assert.match(status, /not valid UTF-8/);
    await waitLog(
      h,
      (rs) => rs.some((r) => /warn/i.test(r.level) && /name is not valid UTF-8/.test(r.message)),
      "a warning naming the file",
    );
    assert.equal(h.server.store.get(bad.id), undefined);
  },
});
