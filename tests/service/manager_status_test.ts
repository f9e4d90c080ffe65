import assert from "#assert";
import type { CommandResult } from "../../src/service/execute.ts";
import { parseFields, queryStatus } from "../../src/service/manager_status.ts";
import { sampleSpec } from "./_specs.ts";

/** A runner that answers from a table (a unit-test stand-in for the service manager). */
function answers(table: Record<string, Partial<CommandResult>>) {
  const calls: string[] = [];
  const run = (argv: string[]) => {
    const line = argv.join(" ");
    calls.push(line);
    const key = Object.keys(table).find((k) => line.includes(k));
    return Promise.resolve({ code: 1, stdout: "", stderr: "", ...(key ? table[key] : {}) });
  };
  return { run, calls };
}

Deno.test("systemd: enabled + active = installed and running, with MainPID and restarts", async () => {
  const spec = sampleSpec("linux", { scope: "user" });
  const { run, calls } = answers({
    "is-enabled": { code: 0, stdout: "enabled" },
    "is-active": { code: 0, stdout: "active" },
    "show": { code: 0, stdout: "MainPID=4242\nNRestarts=3\nExecMainStatus=0" },
  });
  const s = await queryStatus(spec, { uid: 1000 }, run);
  assert.equal(s.running, true);
  assert.equal(s.fileExists, false, "the sample unit file is not on this machine");
  assert.equal(s.installed, false, "installed needs the unit file too");
  assert.deepEqual(s.details, {
    enabled: "enabled",
    active: "active",
    MainPID: "4242",
    NRestarts: "3",
    ExecMainStatus: "0",
  });
  assert.deepEqual(calls.slice(0, 2), [
    "systemctl --user is-enabled wats-agent.service",
    "systemctl --user is-active wats-agent.service",
  ]);
});

Deno.test("systemd: a manager that can't be reached is reported as the problem", async () => {
  const { run } = answers({
    "is-": { code: 1, stderr: "System has not been booted with systemd as init system (PID 1)." },
  });
  const s = await queryStatus(sampleSpec("linux"), { uid: 0 }, run);
  assert.equal(s.running, false);
  assert.match(s.problem!, /systemctl could not tell: System has not been booted/);
});

Deno.test("launchd: `launchctl print` state and pid; not loaded is not a problem", async () => {
  const printed = [
    "system/wats-agent = {",
    "\tactive count = 1",
    "\tpath = /Library/LaunchDaemons/wats-agent.plist",
    "\tstate = running",
    "\tpid = 812",
    "\tlast exit code = 75",
    "}",
  ].join("\n");
  const { run, calls } = answers({ "launchctl print": { code: 0, stdout: printed } });
  const s = await queryStatus(sampleSpec("macos"), { uid: 0 }, run);
  assert.deepEqual(calls, ["launchctl print system/wats-agent"]);
  assert.equal(s.running, true);
  assert.deepEqual(s.details, { state: "running", pid: "812", "last exit code": "75" });

  const none = answers({
    "launchctl print": { code: 113, stderr: 'Could not find service "wats-agent" in domain' },
  });
  const off = await queryStatus(sampleSpec("macos", { scope: "user" }), { uid: 501 }, none.run);
  assert.deepEqual(none.calls, ["launchctl print gui/501/wats-agent"]);
  assert.equal(off.installed, false);
  assert.equal(off.problem, undefined);
});

Deno.test("Task Scheduler: `schtasks /Query /V` status line", async () => {
  const listing = [
    "Folder: \\",
    "HostName:                             STATION-7",
    "TaskName:                             \\wats-agent",
    "Status:                               Running",
    "Last Run Time:                        28.11.2026 08:00:01",
    "Last Result:                          267009",
    "Run As User:                          SYSTEM",
  ].join("\r\n");
  const { run } = answers({ "schtasks /Query": { code: 0, stdout: listing } });
  const s = await queryStatus(sampleSpec("windows"), { uid: null }, run);
  assert.equal(s.installed, true);
  assert.equal(s.running, true);
  assert.equal(s.details["Run As User"], "SYSTEM");
  assert.deepEqual(parseFields("Status: Ready", ["Status"], /^([A-Za-z ]+):\s+(.*)$/), {
    Status: "Ready",
  });
});
