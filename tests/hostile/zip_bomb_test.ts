/**
 * Zip bombs against the real agent inside a real memory limit (cgroup v1, 400 MiB): `.xjlog`
 * archives of about 2 MB whose entry inflates to 2 GiB, one declaring a small size and one a
 * size under every limit, dropped next to a good archive. The agent must stay alive (not be
 * OOM-killed), put each bomb in Error with the reason, and upload the good archive's reports.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { ownFixture } from "../_fixtures.ts";
import { makeZip, zeroBomb } from "../convert/_zip_writer.ts";
import { cgroupUnavailable, MemoryCgroup } from "./_cgroup.ts";

const LIMIT = 400 * 1024 * 1024;
const own = (name: string) => Deno.readFileSync(ownFixture("convert", "xjtag", name));

Deno.test({
  name: "zip bomb: a 2 MB .xjlog inflating to 2 GiB goes to Error; the agent stays within 400 MiB",
  ignore: cgroupUnavailable !== null,
  async fn() {
    const bomb = zeroBomb(32); // 2 GiB of zeros in about 2 MB
    const info = own("Info.xml");
    // Claims 1 MiB: stopped as soon as the output passes the declared size.
    const liar = await makeZip([
      { name: "Info.xml", data: info },
      { name: "Run 1.xml", data: new Uint8Array(0), body: bomb, declaredSize: 1024 * 1024 },
      { name: "Run 2.xml", data: own("run2_aborted.xml") },
    ]);
    // Claims 60 MiB, under every limit: inflated in small steps up to that, then stopped.
    const plausible = await makeZip([
      { name: "Run 1.xml", data: new Uint8Array(0), body: bomb, declaredSize: 60 * 1024 * 1024 },
    ]);
    const good = await makeZip([
      { name: "Run 1.xml", data: own("run1_fail.xml") },
      { name: "Run 2.xml", data: own("run2_aborted.xml") },
      { name: "Info.xml", data: info },
    ]);
    assert.ok(liar.length < 3_000_000 && plausible.length < 3_000_000);

    await using cg = await MemoryCgroup.create(LIMIT);
    await using h = await AgentHarness.create({
      converters: [{
        name: "xj",
        format: "xjtag",
        pattern: "*.xjlog",
        params: { partNumber: "PN-JTAG", processCode: 50 },
      }],
      config: { pool: { min: 2, max: 2, timeoutSeconds: 60, memoryMb: 256 } },
    });
    await h.start({}, cg.via());
    const alive = async () => {
      const kills = await cg.oomKills();
      if (kills > 0) {
        throw new Error(
          `the agent was OOM-killed in its ${LIMIT >> 20} MiB cgroup (peak ` +
            `${((await cg.peakBytes()) / 2 ** 20).toFixed(0)} MiB)\n${h.output.slice(-2000)}`,
        );
      }
    };

    await h.drop("xj", "liar.xjlog", liar);
    await h.drop("xj", "plausible.xjlog", plausible);
    await h.drop("xj", "good.xjlog", good);

    const errorDir = path.join(h.dropDir("xj"), "Error");
    await h.waitFor(
      async () => {
        await alive();
        return await h.inError(errorDir, "liar.xjlog") &&
          await h.inError(errorDir, "plausible.xjlog");
      },
      "both bombs in Error",
      120_000,
    );
    await h.waitFor(
      async () => {
        await alive();
        return h.server.store.list().length === 2;
      },
      "the good archive's 2 reports on the server",
      60_000,
    );
    assert.deepEqual(h.server.store.list().map((r) => r.report.sn).sort(), ["SYN-01", "SYN-02"]);

    const liarNote = await Deno.readTextFile(path.join(errorDir, "liar.xjlog.error.txt"));
    assert.match(liarNote, /Run 1\.xml.*inflates to more than the 1048576 bytes .*declares/s);
    const plausibleNote = await Deno.readTextFile(path.join(errorDir, "plausible.xjlog.error.txt"));
    assert.match(plausibleNote, /Run 1\.xml.*inflates to more than the 62914560 bytes/s);
    for (const note of [liarNote, plausibleNote]) assert.match(note, /What to do: \S/);

    const s = await h.status();
    assert.equal(s.running, true);
    await alive();
    const peak = await cg.peakBytes();
    console.log(`peak memory of the agent's cgroup: ${(peak / 2 ** 20).toFixed(0)} MiB`);
    assert.ok(peak < LIMIT);
  },
});
