/**
 * The install plans: the service account is created, an earlier root install's data folder is
 * handed over to it (with the service stopped first), drop folders are only checked.
 */
import assert from "#assert";
import path from "#path";
import { describePlan, executePlan } from "../../src/service/execute.ts";
import { installPlan, type Step } from "../../src/service/plan.ts";
import { AWKWARD, sampleSpec, stationFolders } from "./_specs.ts";

const ctx = { uid: 0 };
const runs = (steps: Step[]) =>
  steps.flatMap((s) => s.kind === "run" ? [s.argv.join(" ")] : s.kind === "write" ? ["write"] : []);
const index = (steps: Step[], line: string) => {
  const i = runs(steps).indexOf(line);
  assert.notEqual(i, -1, `no step ${line} in:\n${runs(steps).join("\n")}`);
  return i;
};

Deno.test("linux: upgrading a root install creates the account and hands the data over", () => {
  const agent = stationFolders("linux");
  const steps = installPlan(sampleSpec("linux", { agent }), ctx);
  const base = `/srv/${AWKWARD}`;
  assert.deepEqual(steps[0], {
    kind: "account",
    name: "wats-agent",
    check: ["id", "-u", "wats-agent"],
    create: [
      "useradd",
      "--system",
      "--user-group",
      "--no-create-home",
      "--home-dir",
      `${base}/agent-data`,
      "--shell",
      "/usr/sbin/nologin",
      "--comment",
      "WATS station agent",
      "wats-agent",
    ],
  });
  const stop = index(steps, "systemctl stop wats-agent.service");
  const chown = index(steps, `chown -R wats-agent:wats-agent ${base}/agent-data`);
  index(steps, `chown -R wats-agent:wats-agent ${base}/drop line 1/Done`);
  index(steps, `chown -R wats-agent:wats-agent ${base}/errors`);
  assert.ok(stop < chown, "the old agent stops before its files change owner");
  assert.ok(chown < index(steps, "systemctl restart wats-agent.service"));
  index(steps, `chown root:wats-agent ${base}/agent.json`);
  index(steps, `chmod 0640 ${base}/agent.json`);
  // The tester's drop folder is checked, and taken over only when root made it.
  assert.ok(!runs(steps).some((r) => r.startsWith("chown") && r.endsWith("drop line 1")));
  index(steps, `find ${base}/drop line 1 -maxdepth 0 -user root -exec chown wats-agent {} +`);
  const check = steps.find((s) => s.kind === "run" && s.argv[0] === "runuser");
  assert.ok(check?.kind === "run" && check.warning?.includes("setfacl"), JSON.stringify(check));
  // Folders are made unless they lie in a drop folder (the tester's, maybe not mounted yet).
  const made = steps.flatMap((s) => s.kind === "mkdir" ? [s.path] : []);
  assert.ok(made.includes(`${base}/agent-data`) && made.includes(`${base}/errors`));
  assert.ok(!made.includes(`${base}/drop line 1/Done`));
  assert.match(describePlan(steps, "linux"), /would create the account wats-agent unless/);
});

Deno.test("linux: --run-as root changes no owner; a named account is not created", () => {
  const agent = stationFolders("linux");
  const root = installPlan(sampleSpec("linux", { agent, runAs: "root" }), ctx);
  assert.ok(!root.some((s) => s.kind === "account"));
  assert.ok(!runs(root).some((r) => r.startsWith("chown")));
  const named = installPlan(sampleSpec("linux", { agent, runAs: "wats" }), ctx);
  assert.ok(!named.some((s) => s.kind === "account"));
  index(named, `chown -R wats /srv/${AWKWARD}/agent-data`);
});

Deno.test("macos: a role account, bootout before the hand-over, config readable by ACL", () => {
  const steps = installPlan(sampleSpec("macos", { agent: stationFolders("macos") }), ctx);
  const account = steps.find((s) => s.kind === "account");
  if (account?.kind !== "account") throw new Error("no account step");
  assert.equal(account.name, "_wats-agent");
  assert.match(account.create.join(" "), /sysadminctl -addUser _wats-agent .*-roleAccount/);
  const out = index(steps, "launchctl bootout system/wats-agent");
  assert.ok(out < index(steps, `chown -R _wats-agent /srv/${AWKWARD}/agent-data`));
  index(steps, "chown -R _wats-agent /Library/Logs/wats-agent");
  index(steps, `chmod +a _wats-agent allow read /srv/${AWKWARD}/agent.json`);
});

Deno.test("windows: NETWORK SERVICE gets Modify on its folders, read on the config", () => {
  const agent = stationFolders("windows");
  const steps = installPlan(sampleSpec("windows", { agent }), ctx);
  const base = "C:\\ProgramData\\WATS Agent";
  assert.equal(runs(steps)[0], "schtasks /End /TN wats-agent", "a SYSTEM agent stops first");
  index(steps, `icacls ${base}\\agent-data /grant *S-1-5-20:(OI)(CI)M /T /Q`);
  index(steps, `icacls ${base}\\drop line 1 /grant *S-1-5-20:(OI)(CI)M /Q`);
  index(steps, "icacls C:\\ProgramData\\WATS Ågent\\Linje 2\\agent.json /grant *S-1-5-20:R /Q");
  const create = runs(steps).find((r) => r.startsWith("schtasks /Create"))!;
  assert.doesNotMatch(create, /\/RU/, "a built-in account needs no password");
  const system = installPlan(sampleSpec("windows", { agent, runAs: "SYSTEM" }), ctx);
  assert.ok(!runs(system).some((r) => r.startsWith("icacls")));
});

const isRoot = Deno.uid() === 0;
if (!isRoot) console.warn("not root: the real chown hand-over test is skipped (it changes owners)");

Deno.test({
  name: "the hand-over really changes the owner of a root-owned data folder, and skips missing",
  ignore: !isRoot,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const agent = stationFolders("linux", { base: dir });
      await Deno.mkdir(path.join(agent.dataDir, "queue", "queued"), { recursive: true });
      await Deno.writeTextFile(path.join(agent.dataDir, "queue", "queued", "r1.json"), "{}");
      await Deno.writeTextFile(path.join(dir, "agent.json"), "{}");
      // An account that exists everywhere; the real one is created by useradd.
      const spec = sampleSpec("linux", { agent, runAs: "nobody", config: `${dir}/agent.json` });
      // The drop folder: root made it (`sudo agent init`), so the account gets it.
      await Deno.mkdir(path.join(dir, "drop line 1"));
      const steps = installPlan(spec, ctx).filter((s) =>
        s.kind === "mkdir" && s.path.startsWith(dir) ||
        s.kind === "run" && ["chown", "find"].includes(s.argv[0])
      );
      const log: string[] = [];
      await executePlan(steps, "linux", (l) => log.push(l));
      const nobody = Number(
        new TextDecoder().decode(
          (await new Deno.Command("id", { args: ["-u", "nobody"] })
            .output()).stdout,
        ),
      );
      for (
        const f of [
          agent.dataDir,
          path.join(agent.dataDir, "queue", "queued", "r1.json"),
          path.join(dir, "drop line 1"),
        ]
      ) {
        assert.equal((await Deno.stat(f)).uid, nobody, f);
      }
      // A drop folder the test software's account owns is left to it.
      await Deno.chown(path.join(dir, "drop line 1"), 1234, 1234);
      await executePlan(
        steps.filter((s) => s.kind === "run" && s.argv[0] === "find"),
        "linux",
        () => {},
      );
      assert.equal((await Deno.stat(path.join(dir, "drop line 1"))).uid, 1234);
      assert.ok(
        log.some((l) => /^skipped: chown .*Done.* does not exist yet/.test(l)),
        log.join("\n"),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
