/**
 * `agent service …` end to end, as a subprocess with the agent task's permissions. Real
 * systemctl is used where it can't do harm (no systemd running: the error path); a stand-in
 * systemctl on PATH records the commands of a full install/status/uninstall of a user unit.
 */
import assert from "#assert";
import path from "#path";
import { agentRunFlags } from "../../src/runtime.ts";
import { ExitCode } from "../../src/exit_code.ts";

const projectRoot = path.resolve(import.meta.dirname!, "../..");

async function agent(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--frozen", ...agentRunFlags, path.join(projectRoot, "main.ts"), ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A temp folder with a config file in a folder whose name has a space and non-ASCII. */
async function station() {
  const dir = await Deno.makeTempDir();
  const configDir = path.join(dir, "Stasjon Ø 1");
  await Deno.mkdir(configDir);
  const config = path.join(configDir, "agent.json");
  await Deno.writeTextFile(
    config,
    JSON.stringify({ server: { url: "http://127.0.0.1:9", token: "t" } }) + "\n",
  );
  return { dir, config, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

Deno.test("install --dry-run prints the unit and the commands, and writes nothing", async () => {
  const s = await station();
  try {
    const name = `wats-agent-test-${crypto.randomUUID().slice(0, 8)}`;
    const r = await agent([
      "service",
      "install",
      "--dry-run",
      "--config",
      s.config,
      "--name",
      name,
    ]);
    assert.equal(r.code, ExitCode.OK, r.stderr);
    assert.match(r.stdout, new RegExp(`would write /etc/systemd/system/${name}\\.service`));
    assert.match(r.stdout, /^ {4}Type=exec$/m);
    assert.match(r.stdout, /^ {4}ExecStart=.* run --config "[^"]*\/Stasjon Ø 1\/agent\.json"$/m);
    assert.match(r.stdout, /^would run: systemctl daemon-reload$/m);
    assert.match(r.stdout, new RegExp(`^would run: systemctl enable ${name}\\.service$`, "m"));
    assert.match(r.stdout, new RegExp(`^would run: systemctl restart ${name}\\.service$`, "m"));
    assert.equal(await exists(`/etc/systemd/system/${name}.service`), false);
    // From source, the service runs deno with the agent task's permissions and this main.ts.
    assert.match(
      r.stdout,
      new RegExp(
        `ExecStart=\\S+ run ${agentRunFlags.join(" ")} ${projectRoot}/main\\.ts run`,
      ),
    );
    assert.match(r.stdout, /^ {4}Environment="DENO_DIR=.+"$/m);
    assert.match(r.stderr, /Running from source/);
  } finally {
    await s.cleanup();
  }
});

Deno.test("install --dry-run reads the config: account, hand-over, sandbox paths, priority", async () => {
  const s = await station();
  try {
    const dir = path.dirname(s.config);
    await Deno.writeTextFile(
      s.config,
      JSON.stringify({
        server: { url: "http://127.0.0.1:9", token: "t" },
        priority: { nice: 13 },
        converters: [{ name: "line1", format: "wsjf", watch: "/srv/drop 1", errorFolder: "./err" }],
      }),
    );
    const r = await agent([
      "service",
      "install",
      "--dry-run",
      "--exec",
      "/opt/a/agent",
      "--config",
      s.config,
    ]);
    assert.equal(r.code, ExitCode.OK, r.stderr);
    assert.match(
      r.stdout,
      /^would create the account wats-agent unless `id -u wats-agent` finds it:$/m,
    );
    assert.match(
      r.stdout,
      new RegExp(`^would run: chown -R wats-agent:wats-agent '${dir}/agent-data'$`, "m"),
    );
    assert.match(
      r.stdout,
      new RegExp(`^would run: chown -R wats-agent:wats-agent '${dir}/err'$`, "m"),
    );
    assert.match(r.stdout, /^would run: runuser -u wats-agent -- test -r '\/srv\/drop 1'/m);
    assert.match(r.stdout, /^ {4}Nice=13$/m);
    assert.match(r.stdout, /^ {4}User=wats-agent$/m);
    assert.match(r.stdout, /^ {4}ReadWritePaths="-\/srv\/drop 1"$/m);
    assert.match(r.stdout, new RegExp(`^ {4}ReadWritePaths="-${dir}/err"$`, "m"));

    // A config that does not validate: a dry run warns and shows the default folders only.
    await Deno.writeTextFile(s.config, "{}");
    const bad = await agent([
      "service",
      "install",
      "--dry-run",
      "--exec",
      "/opt/a/agent",
      "--config",
      s.config,
    ]);
    assert.equal(bad.code, ExitCode.OK, bad.stderr);
    assert.match(bad.stderr, /warning: Configuration .* is not valid:[\s\S]*server/);
    assert.match(bad.stderr, /gets only the default data folder/);
  } finally {
    await s.cleanup();
  }
});

Deno.test("--dry-run --platform windows/macos generates for another OS", async () => {
  const win = await agent([
    "service",
    "install",
    "--dry-run",
    "--platform",
    "windows",
    "--config",
    "C:\\ProgramData\\WATS\\agent.json",
    "--exec",
    "C:\\Program Files\\WATS\\agent.exe",
    "--run-as",
    "CORP\\svc-wats",
  ]);
  assert.equal(win.code, ExitCode.OK, win.stderr);
  assert.match(win.stdout, /would write C:\\ProgramData\\WATS\\wats-agent\.task\.xml \(UTF-16LE/);
  assert.match(win.stdout, /<ExecutionTimeLimit>PT0S<\/ExecutionTimeLimit>/);
  assert.match(
    win.stdout,
    /^would run: schtasks \/Create \/TN wats-agent \/XML C:\\ProgramData\\WATS\\wats-agent\.task\.xml \/F \/RU CORP\\svc-wats \/RP \*$/m,
  );
  const mac = await agent([
    "service",
    "install",
    "--dry-run",
    "--platform",
    "macos",
    "--user",
    "--config",
    "/Users/op/WATS/agent.json",
    "--exec",
    "/Users/op/WATS/agent",
  ], { HOME: "/Users/op" });
  assert.equal(mac.code, ExitCode.OK, mac.stderr);
  assert.match(mac.stdout, /would write \/Users\/op\/Library\/LaunchAgents\/wats-agent\.plist/);
  assert.match(
    mac.stdout,
    /^would run: launchctl bootstrap gui\/\d+ \/Users\/op\/Library\/LaunchAgents\/wats-agent\.plist$/m,
  );
  const un = await agent([
    "service",
    "uninstall",
    "--dry-run",
    "--platform",
    "windows",
    "--config",
    "C:\\a\\agent.json",
    "--exec",
    "C:\\a\\agent.exe",
  ]);
  assert.equal(un.code, ExitCode.OK, un.stderr);
  assert.match(un.stdout, /^would run: schtasks \/Delete \/TN wats-agent \/F$/m);
});

Deno.test("usage errors exit 2 and say what is wrong", async () => {
  const cases: [string[], RegExp][] = [
    [["service"], /expected install, uninstall or status/],
    [["service", "start"], /found "start"/],
    [
      ["service", "install", "--platform", "windows"],
      /only works with install\/uninstall --dry-run/,
    ],
    [["service", "install", "--dry-run", "--platform", "windows"], /needs --config and --exec/],
    [["service", "install", "--dry-run", "--platform", "beos"], /must be linux, macos or windows/],
    [["service", "status", "--dry-run"], /--dry-run is for install and uninstall/],
    [["service", "install", "--dry-run", "--name", "a b", "--config", "/x/a.json"], /--name "a b"/],
    [["service", "install", "--bogus"], /bogus/],
  ];
  for (const [args, message] of cases) {
    const r = await agent(args);
    assert.equal(r.code, ExitCode.USAGE, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
  }
});

Deno.test("install refuses a config file that does not exist (exit 3)", async () => {
  const s = await station();
  try {
    const missing = path.join(s.dir, "nope.json");
    const r = await agent(["service", "install", "--user", "--config", missing], { HOME: s.dir });
    assert.equal(r.code, ExitCode.CONFIG, r.stderr);
    assert.match(r.stderr, /nope\.json does not exist: create it first/);
  } finally {
    await s.cleanup();
  }
});

Deno.test("install, status, uninstall of a user unit run the systemctl commands in order", async () => {
  const s = await station();
  try {
    // A stand-in systemctl that logs its arguments and answers like a running unit.
    const bin = path.join(s.dir, "bin");
    await Deno.mkdir(bin);
    const log = path.join(s.dir, "systemctl.log");
    await Deno.writeTextFile(
      path.join(bin, "systemctl"),
      `#!/bin/sh\necho "$*" >> '${log}'\ncase "$*" in\n  *is-enabled*) echo enabled ;;\n` +
        `  *is-active*) echo active ;;\n  *show*) echo MainPID=99 ;;\nesac\n`,
      { mode: 0o755 },
    );
    const home = path.join(s.dir, "hømé dir");
    const env = { HOME: home, PATH: `${bin}:${Deno.env.get("PATH")}`, XDG_CONFIG_HOME: "" };
    const unit = path.join(home, ".config", "systemd", "user", "wats-agent.service");

    const install = await agent(["service", "install", "--user", "--config", s.config], env);
    assert.equal(install.code, ExitCode.OK, install.stderr);
    assert.match(await Deno.readTextFile(unit), /^WantedBy=default\.target$/m);
    assert.match(install.stdout, /Installed wats-agent\. Check it with `agent service status`/);

    const status = await agent(
      ["service", "status", "--user", "--json", "--config", s.config],
      env,
    );
    assert.equal(status.code, ExitCode.OK, status.stderr);
    const st = JSON.parse(status.stdout);
    assert.deepEqual([st.installed, st.running, st.definitionFile], [true, true, unit]);
    assert.equal(st.details.MainPID, "99");

    const uninstall = await agent(["service", "uninstall", "--user", "--config", s.config], env);
    assert.equal(uninstall.code, ExitCode.OK, uninstall.stderr);
    assert.equal(await exists(unit), false);
    assert.match(uninstall.stdout, /The data folder \(queue\) is untouched/);

    assert.deepEqual((await Deno.readTextFile(log)).trim().split("\n"), [
      "--user daemon-reload",
      "--user enable wats-agent.service",
      "--user restart wats-agent.service",
      "--user is-enabled wats-agent.service",
      "--user is-active wats-agent.service",
      "--user show wats-agent.service -p MainPID,NRestarts,ExecMainStatus",
      "--user disable --now wats-agent.service",
      "--user daemon-reload",
    ]);
  } finally {
    await s.cleanup();
  }
});

const systemdRunning = await exists("/run/systemd/system");
const hasSystemctl = await new Deno.Command("systemctl", { args: ["--version"] }).output()
  .then(() => true, () => false);

Deno.test({
  name: "with the real systemctl and no systemd running, install and status say so clearly",
  ignore: systemdRunning || !hasSystemctl,
  async fn() {
    const s = await station();
    try {
      const env = { HOME: s.dir, XDG_CONFIG_HOME: "" };
      const r = await agent(["service", "install", "--user", "--config", s.config], env);
      assert.equal(r.code, ExitCode.FAILURE, r.stderr);
      assert.match(r.stderr, /systemctl --user daemon-reload failed with exit code 1/);
      assert.match(r.stderr, /no systemd user manager is running for you here/);
      const st = await agent(["service", "status", "--user", "--config", s.config], env);
      assert.equal(st.code, ExitCode.FAILURE);
      assert.match(st.stdout, /file: {6}.*wats-agent\.service \(present\)/);
      assert.match(st.stdout, /running: {3}no/);
      assert.match(st.stdout, /problem: {3}systemctl could not tell/);
    } finally {
      await s.cleanup();
    }
  },
});
if (systemdRunning) {
  console.warn("systemd is running here: the no-systemd error test is skipped (it won't install)");
}
