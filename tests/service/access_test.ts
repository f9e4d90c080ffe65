/**
 * The start-up access check with the real agent and a real EACCES: the agent runs as root
 * without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (as the service's empty capability set
 * leaves it), so folders owned by another account are closed to it as they would be to the
 * service account. It must refuse to start and say which folder, which account and what to run.
 */
import assert from "#assert";
import path from "#path";
import { ExitCode } from "../../src/cli/command.ts";
import { AgentHarness } from "../e2e/_harness.ts";

const setpriv = await new Deno.Command("setpriv", { args: ["--version"] }).output()
  .then((o) => o.success, () => false);
const canTest = Deno.build.os === "linux" && Deno.uid() === 0 && setpriv;
if (!canTest) {
  console.warn("access test skipped: it needs Linux, root (to drop capabilities) and setpriv");
}

/** Runs `agent run` as root without the capabilities that bypass file permissions. */
async function runWithoutDacOverride(h: AgentHarness) {
  const out = await new Deno.Command("setpriv", {
    args: [
      "--bounding-set",
      "-dac_override,-dac_read_search",
      "--",
      Deno.execPath(),
      ...AgentHarness.agentArgs(["run", "--config", h.configFile]),
    ],
    cwd: h.dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

const NOBODY = 65534;

Deno.test({
  name: "a data folder and a drop folder the account may not write: refused, with what to run",
  ignore: !canTest,
  async fn() {
    await using h = await AgentHarness.create({ converters: [{ name: "json", format: "wsjf" }] });
    await Deno.mkdir(h.dataDir);
    // An earlier install's data folder, left to another account; a tester's drop folder.
    await Deno.chown(h.dataDir, NOBODY, NOBODY);
    await Deno.chmod(h.dataDir, 0o700);
    await Deno.chown(h.dropDir("json"), NOBODY, NOBODY);
    await Deno.chmod(h.dropDir("json"), 0o755);
    const r = await runWithoutDacOverride(h);
    assert.equal(r.code, ExitCode.FAILURE, r.text);
    assert.match(r.text, /the account it runs as may not use these folders/);
    assert.match(
      r.text,
      new RegExp(
        `dataDir ${h.dataDir}: root may not write it \\(EACCES\\)\\. Run ` +
          `\`sudo chown -R root '${h.dataDir}'\``,
      ),
    );
    assert.match(
      r.text,
      new RegExp(
        `converters\\[0\\] \\(json\\)\\.watch ${h.dropDir("json")}: root may not write it ` +
          `\\(EACCES\\)\\. Run \`sudo setfacl -m u:root:rwx,d:u:root:rwx '${h.dropDir("json")}'\``,
      ),
    );
    // Nothing was written: the check comes before the lock and the queue.
    assert.deepEqual([...Deno.readDirSync(h.dataDir)], []);

    // Granted, it starts (the check can pass): hand the folders back and run again.
    await Deno.chown(h.dataDir, 0, 0);
    await Deno.chown(h.dropDir("json"), 0, 0);
    const child = new Deno.Command("setpriv", {
      args: [
        "--bounding-set",
        "-dac_override,-dac_read_search",
        "--",
        Deno.execPath(),
        ...AgentHarness.agentArgs(["run", "--config", h.configFile]),
      ],
      cwd: h.dir,
      env: { NO_COLOR: "1" },
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await h.waitFor(
        () => Deno.stat(path.join(h.dataDir, "control.json")).then(() => true, () => false),
        "the agent to start once it may write its folders",
      );
    } finally {
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0);
    }
  },
});
