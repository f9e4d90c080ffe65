/**
 * Report bodies, the seen-file index and the agent's state are for the agent's user only, also
 * when the agent runs outside `service install` with a common umask (022): the data folder the
 * agent creates is 0700, and so are the queue and index folders it creates in a data folder an
 * operator made. The real agent, reports waiting in the queue (the server answers 503).
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

const mode = async (p: string) => ((await Deno.stat(p)).mode! & 0o777).toString(8);

for (const made of ["by the agent", "by an operator (0755)"]) {
  Deno.test({
    name: `private data: queue and index folders are 0700; data folder made ${made}`,
    ignore: Deno.build.os === "windows", // file modes mean nothing there: the ACL decides
    async fn() {
      await using h = await AgentHarness.create();
      if (made !== "by the agent") {
        await Deno.mkdir(h.dataDir);
        await Deno.chmod(h.dataDir, 0o755);
      }
      h.server.setFaults({ failNext: { count: 1000, fault: "503" } });
      await h.start();
      const [r] = makeSampleReports(1, { seed: 7401 });
      await h.drop("json", "r.json", JSON.stringify(r));
      await h.waitFor(
        () => h.server.log.entries().some((e) => e.status === 503),
        "the report's upload answered 503",
      );
      const folders = ["queue", "index"].map((d) => path.join(h.dataDir, d));
      for (const d of folders) assert.equal(await mode(d), "700", `${d} is private`);
      assert.equal(await mode(h.dataDir), made === "by the agent" ? "700" : "755");
    },
  });
}
