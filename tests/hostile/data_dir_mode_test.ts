/**
 * A data directory that already exists is left with its mode (an operator may have given a
 * group access on purpose), but one every local user can write in lets anyone add reports to
 * the queue or replace control.json: the agent says so at start, with the command that fixes it.
 */
import assert from "#assert";
import { AgentHarness } from "../e2e/_harness.ts";
import { waitLog } from "../e2e/_ops.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

Deno.test({
  name: "data dir: one writable by every local user is warned about at start",
  ignore: Deno.build.os === "windows", // modes mean nothing there; the ACL decides
  async fn() {
    await using h = await AgentHarness.create();
    await Deno.mkdir(h.dataDir, { recursive: true });
    await Deno.chmod(h.dataDir, 0o777);
    await h.start();
    const rs = await waitLog(
      h,
      (rs) => rs.some((r) => /can be written by every local user/.test(r.message)),
      "the data directory warning",
    );
    const line = rs.find((r) => /can be written by every local user/.test(r.message))!;
    assert.equal(line.level, "WARNING");
    assert.match(line.message, /mode 0777/);
    assert.ok(line.message.includes(`chmod 700 ${h.dataDir}`), line.message);
    // A warning, not a refusal: the agent takes files as usual.
    const [a] = makeSampleReports(1, { seed: 60 });
    await h.drop("json", "a.json", JSON.stringify(a));
    await h.waitFor(() => h.server.store.get(a.id) !== undefined, "a report uploaded");
  },
});

Deno.test({
  name: "data dir: a private one gets no such warning",
  ignore: Deno.build.os === "windows",
  async fn() {
    await using h = await AgentHarness.create();
    await h.start();
    const [a] = makeSampleReports(1, { seed: 61 });
    await h.drop("json", "a.json", JSON.stringify(a));
    await h.waitFor(() => h.server.store.get(a.id) !== undefined, "a report uploaded");
    const rs = await waitLog(
      h,
      (rs) => rs.some((r) => /Uploaded report/.test(r.message)),
      "upload",
    );
    assert.ok(!rs.some((r) => /can be written by every local user/.test(r.message)));
  },
});
