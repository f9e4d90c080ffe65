/**
 * The start-up access check with the real agent and a real EACCES: the agent runs as root
 * without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (as the service's empty capability set
 * leaves it), so folders owned by another account are closed to it as they would be to the
 * service account. It must refuse to start and say which folder, which account and what to run.
 */
import assert from "#assert";
import path from "#path";
import { ExitCode } from "../../src/exit_code.ts";
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

/** A copy of this machine's Deno cache that another account may read (root's is private). */
async function readableDenoDir(into: string): Promise<string> {
  const info = JSON.parse(
    new TextDecoder().decode(
      (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output()).stdout,
    ),
  );
  const copy = path.join(into, "deno-dir");
  const cp = await new Deno.Command("cp", { args: ["-r", info.denoDir, copy] }).output();
  assert.ok(cp.success, new TextDecoder().decode(cp.stderr));
  await new Deno.Command("chmod", { args: ["-R", "a+rX", copy] }).output();
  return copy;
}

Deno.test({
  name: "as an unprivileged account: files a root command left in the data folder are named",
  ignore: !canTest,
  async fn() {
    await using h = await AgentHarness.create({ converters: [{ name: "json", format: "wsjf" }] });
    const denoDir = await readableDenoDir(h.dir);
    await Deno.chmod(h.dir, 0o755);
    await Deno.chmod(h.configFile, 0o644);
    // The installer handed the folders over; then `sudo agent …` wrote a file there as root.
    await Deno.mkdir(path.join(h.dataDir, "logs"), { recursive: true });
    await Deno.writeTextFile(path.join(h.dataDir, "logs", "agent.log"), "");
    for (
      const d of [
        h.dataDir,
        path.join(h.dataDir, "logs"),
        h.dropDir("json"),
        path.join(h.dir, "drop"),
      ]
    ) {
      await Deno.chown(d, NOBODY, NOBODY);
    }
    const run = () =>
      new Deno.Command("setpriv", {
        args: [
          `--reuid=${NOBODY}`,
          `--regid=${NOBODY}`,
          "--clear-groups",
          "--",
          Deno.execPath(),
          ...AgentHarness.agentArgs(["run", "--config", h.configFile]),
        ],
        cwd: h.dir,
        env: { NO_COLOR: "1", DENO_DIR: denoDir, HOME: h.dir },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      });
    const out = await run().output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, ExitCode.FAILURE, text);
    assert.match(
      text,
      new RegExp(
        `dataDir ${h.dataDir}: 1 file\\(s\\) there belong to another account ` +
          `\\(${
            path.join(h.dataDir, "logs", "agent.log")
          }\\).*Run \`sudo chown -R nobody '${h.dataDir}'\``,
      ),
    );
    // Fixed as the message says, it starts.
    await Deno.chown(path.join(h.dataDir, "logs", "agent.log"), NOBODY, NOBODY);
    const child = run().spawn();
    try {
      await h.waitFor(
        () => Deno.stat(path.join(h.dataDir, "control.json")).then(() => true, () => false),
        "the agent to start once its files are its own",
      );
    } finally {
      child.kill("SIGTERM");
      const status = await child.output();
      assert.equal(status.code, 0, new TextDecoder().decode(status.stderr));
    }
  },
});
