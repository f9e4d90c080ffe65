/**
 * The service sandbox contract with the real agent: run with AGENT_WRITABLE_PATHS (as the
 * systemd unit starts it), a reloaded config that adds a folder outside those paths is refused
 * with "re-run `service install`" while the running config goes on, and a config that starts
 * outside them is refused at start (exit 3).
 */
import assert from "#assert";
import path from "#path";
import { ExitCode } from "../../src/exit_code.ts";
import { WRITABLE_PATHS_ENV } from "../../src/service/sandbox.ts";
import { AgentHarness, type HarnessConverter } from "../e2e/_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

Deno.test("sandboxed: a reload adding a drop folder outside the unit's paths is refused", async () => {
  await using h = await AgentHarness.create({ converters: [{ name: "json", format: "wsjf" }] });
  const outside = await Deno.makeTempDir({ prefix: "agent-outside-" });
  try {
    await h.start({ [WRITABLE_PATHS_ENV]: JSON.stringify([h.dir]) });
    (h.config.converters as HarnessConverter[]).push({
      name: "line2",
      format: "wsjf",
      watch: outside,
      afterSuccess: "delete",
    });
    await h.writeConfig();
    await h.waitFor(async () => (await h.status()).reload?.ok === false, "the rejected reload");
    const s = await h.status();
    assert.match(
      s.reload.error,
      new RegExp(
        `converters\\[1\\] \\(line2\\)\\.watch: ${outside} is outside the folders the service ` +
          `may write \\(${h.dir}\\): re-run \`sudo agent service install --config ` +
          `${h.configFile}\``,
      ),
    );
    assert.ok(!s.converters.some((c: { name: string }) => c.name === "line2"), "not applied");
    // The running config goes on.
    const [report] = makeSampleReports(1, { seed: 7 });
    await h.drop("json", "a.json", JSON.stringify(report));
    await h.waitFor(() => h.server.store.get(report.id) !== undefined, "still uploading");

    // Started that way (e.g. the config was edited while it was stopped): refused, exit 3.
    assert.equal(await h.stop(), 0);
    await assert.rejects(
      () => h.start({ [WRITABLE_PATHS_ENV]: JSON.stringify([h.dir]) }),
      (e: Error) => {
        assert.match(e.message, new RegExp(`exited with ${ExitCode.CONFIG} during start`));
        assert.match(e.message, /is outside the folders the service may write/);
        return true;
      },
    );
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("not sandboxed (no AGENT_WRITABLE_PATHS): the same folder is accepted", async () => {
  await using h = await AgentHarness.create({ converters: [{ name: "json", format: "wsjf" }] });
  const outside = await Deno.makeTempDir({ prefix: "agent-outside-" });
  try {
    await h.start();
    (h.config.converters as HarnessConverter[]).push({
      name: "line2",
      format: "wsjf",
      watch: path.join(outside),
      afterSuccess: "delete",
    });
    await h.writeConfig();
    await h.waitFor(
      async () => (await h.status()).converters.some((c: { name: string }) => c.name === "line2"),
      "line2 running",
    );
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});
