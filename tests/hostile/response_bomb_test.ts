/**
 * A hostile server's answer must not grow the agent's memory: the real agent in a real memory
 * limit (cgroup v1, 400 MiB) against the test server answering the version check and a report's
 * first two uploads with a 1 MB gzip body that inflates to 1 GiB (sent although the agent asks
 * for no compression). The agent must stay alive (not be OOM-killed), say why the answers were not
 * read, keep the report queued and upload it once the server answers properly. A huge plain answer
 * is cut at 1 MiB: tests/upload/answer_test.ts.
 */
import assert from "#assert";
import { AgentHarness } from "../e2e/_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import { cgroupUnavailable, MemoryCgroup } from "./_cgroup.ts";

const LIMIT = 400 * 1024 * 1024;

Deno.test({
  name: "response bomb: gzip answers inflating to 1 GiB leave the agent alive within 400 MiB",
  ignore: cgroupUnavailable !== null,
  async fn() {
    const [report] = makeSampleReports(1, { seed: 7101 });
    await using cg = await MemoryCgroup.create(LIMIT);
    await using h = await AgentHarness.create({
      converters: [{ name: "json", format: "wsjf" }],
      config: { server: { timeoutSeconds: 60 } },
    });
    h.server.setFaults({
      scope: "api",
      next: [{ kind: "gzipBomb" }], // the first API request: the version check at start-up
      rules: [{ id: report.id, fault: { kind: "gzipBomb" }, times: 2 }],
    });
    await h.start({}, cg.via());
    const alive = async () => {
      if (await cg.oomKills() > 0) {
        throw new Error(
          `the agent was OOM-killed in its ${LIMIT >> 20} MiB cgroup (peak ` +
            `${((await cg.peakBytes()) / 2 ** 20).toFixed(0)} MiB)\n${h.output.slice(-2000)}`,
        );
      }
    };
    const bombs = () => h.server.log.entries().filter((e) => e.fault?.startsWith("gzip-bomb"));
    await h.waitFor(
      async () => {
        await alive();
        return bombs().length >= 1;
      },
      "the version check answered with a bomb",
      60_000,
    );
    await h.drop("json", "r.json", JSON.stringify(report));
    await h.waitFor(
      async () => {
        await alive();
        return bombs().length === 3;
      },
      "two uploads answered with a bomb",
      120_000,
    );
    await h.waitFor(
      async () => {
        await alive();
        return h.server.store.get(report.id) !== undefined;
      },
      "the report stored once the server answers properly",
      120_000,
    );
    assert.deepEqual(bombs().map((e) => e.path.toLowerCase()), [
      "/api/app/version",
      "/api/report/wsjf",
      "/api/report/wsjf",
    ]);
    // What the agent said about the answers it did not read.
    assert.match(h.output, /compressed \(gzip\).*not read/);
    const s = await h.status();
    assert.equal(s.running, true);
    await alive();
    const peak = await cg.peakBytes();
    console.log(`peak memory of the agent's cgroup: ${(peak / 2 ** 20).toFixed(0)} MiB`);
    assert.ok(peak < LIMIT);
  },
});
