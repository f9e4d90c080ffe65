import assert from "#assert";
import path from "#path";
import { buildSpec, needsRoot, type SpecInput } from "../../src/service/spec.ts";
import { sampleSpec } from "./_specs.ts";

const base: SpecInput = {
  platform: "linux",
  scope: "system",
  configFile: "/etc/wats/agent.json",
  launch: { cmd: "/opt/wats/agent", args: [] },
  fromSource: false,
  home: "/home/op",
};

Deno.test("linux: system unit in /etc/systemd/system, user unit under XDG_CONFIG_HOME or ~/.config", () => {
  const sys = buildSpec(base);
  assert.equal(sys.definitionFile, "/etc/systemd/system/wats-agent.service");
  assert.deepEqual(sys.args, ["run", "--config", "/etc/wats/agent.json"]);
  assert.equal(sys.workingDirectory, "/etc/wats");
  assert.equal(
    buildSpec({ ...base, scope: "user" }).definitionFile,
    "/home/op/.config/systemd/user/wats-agent.service",
  );
  assert.equal(
    buildSpec({ ...base, scope: "user", xdgConfigHome: "/cfg", name: "line2" }).definitionFile,
    "/cfg/systemd/user/line2.service",
  );
});

Deno.test("macos: LaunchDaemons or ~/Library/LaunchAgents, logs in Library/Logs", () => {
  const sys = buildSpec({ ...base, platform: "macos" });
  assert.equal(sys.definitionFile, "/Library/LaunchDaemons/wats-agent.plist");
  assert.equal(sys.logDir, "/Library/Logs/wats-agent");
  const user = buildSpec({ ...base, platform: "macos", scope: "user" });
  assert.equal(user.definitionFile, "/home/op/Library/LaunchAgents/wats-agent.plist");
  assert.equal(user.logDir, "/home/op/Library/Logs/wats-agent");
});

Deno.test("windows: path.win32 logic; the task XML sits next to the config", () => {
  const spec = sampleSpec("windows");
  assert.equal(spec.workingDirectory, "C:\\ProgramData\\WATS Ågent\\Linje 2");
  assert.equal(spec.definitionFile, "C:\\ProgramData\\WATS Ågent\\Linje 2\\wats-agent.task.xml");
  assert.deepEqual(spec.args, [
    "run",
    "--config",
    "C:\\ProgramData\\WATS Ågent\\Linje 2\\agent.json",
  ]);
  // Forward slashes and dot segments are normalized the Windows way.
  const messy = buildSpec({
    ...base,
    platform: "windows",
    configFile: "D:/Stations/./Line 1/../Line 2/agent.json",
    launch: { cmd: "\\\\server\\share\\agent.exe", args: [] },
  });
  assert.equal(messy.configFile, "D:\\Stations\\Line 2\\agent.json");
  assert.equal(messy.workingDirectory, path.win32.dirname(messy.configFile));
  assert.equal(messy.program, "\\\\server\\share\\agent.exe");
  // Drive-relative and relative paths are not absolute on Windows.
  for (const configFile of ["C:agent.json", "agent.json", "..\\agent.json"]) {
    assert.throws(
      () => buildSpec({ ...base, platform: "windows", configFile }),
      /is not absolute for windows/,
    );
  }
});

Deno.test("options that can't work are refused with what to do", () => {
  assert.throws(() => buildSpec({ ...base, name: "my agent" }), /--name "my agent" can't be used/);
  assert.throws(() => buildSpec({ ...base, name: "../x" }), /can't be used/);
  assert.throws(() => buildSpec({ ...base, configFile: "agent.json" }), /not absolute for linux/);
  assert.throws(
    () => buildSpec({ ...base, launch: { cmd: "agent", args: [] } }),
    /pass --exec with the absolute path/,
  );
  assert.throws(
    () => buildSpec({ ...base, scope: "user", runAs: "wats" }),
    /--run-as and --user can't be combined/,
  );
  assert.throws(() => buildSpec({ ...base, runAs: "two words" }), /is not an account name/);
  assert.throws(
    () => buildSpec({ ...base, platform: "windows", scope: "user", configFile: "C:\\a.json" }),
    /on Windows use --run-as USER/,
  );
  assert.throws(() => buildSpec({ ...base, scope: "user", home: undefined }), /\$HOME is not set/);
  assert.equal(
    buildSpec({
      ...base,
      platform: "windows",
      configFile: "C:\\a.json",
      launch: { cmd: "C:\\agent.exe", args: [] },
      runAs: "CORP\\svc-wats",
    }).runAs,
    "CORP\\svc-wats",
  );
});

Deno.test("a system service runs as the dedicated account unless --run-as names one", () => {
  const win = { ...base, platform: "windows" as const, configFile: "C:\\a.json" };
  const winExec = { ...win, launch: { cmd: "C:\\agent.exe", args: [] } };
  assert.deepEqual(
    [buildSpec(base), buildSpec({ ...base, platform: "macos" }), buildSpec(winExec)].map((s) => [
      s.runAs,
      s.createAccount,
    ]),
    [["wats-agent", true], ["_wats-agent", true], ["NT AUTHORITY\\NETWORK SERVICE", false]],
  );
  assert.deepEqual(
    [
      buildSpec({ ...base, runAs: "wats" }).runAs,
      buildSpec({ ...base, runAs: "wats" }).createAccount,
    ],
    ["wats", false],
    "a named account is used as it is",
  );
  assert.equal(buildSpec({ ...base, runAs: "root" }).runAs, undefined, "full rights when asked");
  assert.equal(buildSpec({ ...winExec, runAs: "SYSTEM" }).runAs, undefined);
  assert.equal(buildSpec({ ...base, scope: "user" }).runAs, undefined, "a user unit runs as you");
  // Without the config's facts, only the default data folder is known.
  assert.deepEqual(buildSpec(base).folders.map((f) => f.path), [buildSpec(base).dataDir]);
  assert.equal(
    buildSpec(base).dataDir,
    path.posix.join(path.posix.dirname(base.configFile), "agent-data"),
  );
  assert.equal(buildSpec(base).nice, 10);
});

Deno.test("needsRoot: system services on Linux/macOS need root; user units and Windows don't", () => {
  const sys = buildSpec(base);
  assert.match(
    needsRoot(sys, 1000, "/opt/wats/agent")!,
    /only root may change: run it again with sudo \(`sudo \/opt\/wats\/agent service …`\), or add --user/,
  );
  assert.equal(needsRoot(sys, 0, "x"), null);
  assert.equal(needsRoot(buildSpec({ ...base, scope: "user" }), 1000, "x"), null);
  assert.equal(needsRoot(sampleSpec("windows"), null, "x"), null);
  assert.match(
    needsRoot(buildSpec({ ...base, platform: "macos" }), 501, "x")!,
    /\/Library\/LaunchDaemons/,
  );
});
