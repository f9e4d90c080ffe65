import assert from "#assert";
import path from "#path";
import { ExitCode } from "../../src/exit_code.ts";
import { buildSpec, STOP_TIMEOUT_SECONDS } from "../../src/service/spec.ts";
import { quoteExecArg, systemdUnit } from "../../src/service/systemd.ts";
import { AWKWARD, sampleSpec, stationFolders } from "./_specs.ts";

/** Reads a unit file into section → key → values (keys may repeat). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = "";
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1];
      out[section] ??= {};
      continue;
    }
    const eq = line.indexOf("=");
    (out[section][line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
  }
  return out;
}

/** Splits an ExecStart= value the way systemd documents it (quotes, \ escapes, %%, $$). */
function splitExecStart(value: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quoted = false;
  const text = value.replace(/%%/g, "%");
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      word = (word ?? "") + text[++i];
    } else if (c === '"') {
      quoted = !quoted;
      word ??= "";
    } else if (c === " " && !quoted) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== null) words.push(word);
  return words.map((w, i) => i === 0 ? w : w.replace(/\$\$/g, "$"));
}

Deno.test("the unit restarts on failure and on exit 75, with a stop timeout and absolute paths", () => {
  const spec = sampleSpec("linux");
  const unit = parseUnit(systemdUnit(spec));
  const svc = unit.Service;
  assert.deepEqual(svc.Type, ["exec"]);
  assert.deepEqual(svc.Restart, ["on-failure"]);
  assert.deepEqual(svc.RestartForceExitStatus, [String(ExitCode.RESTART)]);
  assert.deepEqual(svc.RestartPreventExitStatus, [String(ExitCode.USAGE)]);
  assert.deepEqual(svc.TimeoutStopSec, [`${STOP_TIMEOUT_SECONDS}s`]);
  assert.deepEqual(svc.KillSignal, ["SIGTERM"]);
  assert.deepEqual(svc.WorkingDirectory, [`/srv/${AWKWARD.replace("%", "%%")}`]);
  assert.deepEqual(splitExecStart(svc.ExecStart[0]), [
    "/opt/wats ågent/agent",
    "run",
    "--config",
    `/srv/${AWKWARD}/agent.json`,
  ]);
  assert.deepEqual(svc.User, ["wats-agent"], "the dedicated account unless --run-as");
  assert.deepEqual(svc.Group, ["wats-agent"]);
  assert.deepEqual(svc.Nice, ["10"], "below normal priority");
  assert.ok(svc.Environment.includes('"MALLOC_ARENA_MAX=2"'), svc.Environment.join("\n"));
  assert.deepEqual(unit.Unit.StartLimitIntervalSec, ["0"]);
  assert.deepEqual(unit.Unit.After, ["network-online.target local-fs.target"]);
  assert.deepEqual(unit.Install.WantedBy, ["multi-user.target"]);
});

Deno.test("user units and --run-as", () => {
  const user = parseUnit(systemdUnit(sampleSpec("linux", { scope: "user" })));
  assert.deepEqual(user.Install.WantedBy, ["default.target"]);
  assert.equal(user.Unit.After, undefined, "network-online.target is not a user-manager unit");
  assert.equal(user.Service.User, undefined);
  assert.deepEqual(user.Service.NoNewPrivileges, ["yes"], "seccomp hardening works unprivileged");
  assert.equal(user.Service.ProtectSystem, undefined, "mount namespaces need the system manager");
  const runAs = parseUnit(systemdUnit(sampleSpec("linux", { runAs: "wats" })));
  assert.deepEqual(runAs.Service.User, ["wats"]);
  assert.equal(runAs.Service.Group, undefined, "a named account keeps its own primary group");
  const root = parseUnit(systemdUnit(sampleSpec("linux", { runAs: "root" }))).Service;
  assert.equal(root.User, undefined, "--run-as root asks for full rights");
  assert.equal(root.CapabilityBoundingSet, undefined, "root keeps its capabilities");
  assert.deepEqual(root.ProtectSystem, ["strict"], "and is still confined to its folders");
});

Deno.test("the system unit is sandboxed to the config's folders, which the agent is told", () => {
  const agent = stationFolders("linux", { nice: 15 });
  const svc = parseUnit(systemdUnit(sampleSpec("linux", { agent }))).Service;
  for (
    const [key, value] of Object.entries({
      NoNewPrivileges: "yes",
      PrivateTmp: "yes",
      PrivateDevices: "yes",
      ProtectSystem: "strict",
      ProtectHome: "yes",
      CapabilityBoundingSet: "",
      RestrictAddressFamilies: "AF_INET AF_INET6 AF_UNIX",
      LockPersonality: "yes",
      RestrictNamespaces: "yes",
      SystemCallErrorNumber: "EPERM",
      Nice: "15",
    })
  ) {
    assert.deepEqual(svc[key], [value], key);
  }
  assert.equal(svc.MemoryDenyWriteExecute, undefined, "V8's JIT needs writable code pages");
  assert.match(svc.SystemCallFilter[0], /^@system-service\b/);
  // Done lies inside the drop folder: one entry covers both. "-": a missing one is no error.
  const base = `/srv/${AWKWARD}`;
  const writable = [`${base}/agent-data`, `${base}/drop line 1`, `${base}/errors`];
  assert.deepEqual(svc.ReadWritePaths.map((v) => splitExecStart(`x ${v}`)[1]), [
    ...writable.map((w) => `-${w}`),
  ]);
  const env = svc.Environment.map((e) => splitExecStart(`x ${e}`)[1]);
  const listed = env.find((e) => e.startsWith("AGENT_WRITABLE_PATHS="))!;
  assert.deepEqual(JSON.parse(listed.slice("AGENT_WRITABLE_PATHS=".length)), writable);
});

Deno.test("ProtectHome hides /home unless a folder the agent needs is there", () => {
  const home = stationFolders("linux", { base: "/home/tester/wats" });
  const svc = parseUnit(systemdUnit(sampleSpec("linux", { agent: home }))).Service;
  assert.deepEqual(svc.ProtectHome, ["read-only"]);
  assert.ok(svc.ReadWritePaths.includes("-/home/tester/wats/agent-data"));
});

Deno.test("ExecStart quoting round-trips spaces, quotes, backslashes, %, $ and non-ASCII", () => {
  const args = [
    "plain",
    "",
    "two words",
    'say "hi"',
    "back\\slash",
    "50%",
    "$HOME",
    "ÆØÅ ñ",
    "a'b",
  ];
  const line = ["/opt/agent", ...args].map((a, i) => quoteExecArg(a, i === 0)).join(" ");
  assert.deepEqual(splitExecStart(line), ["/opt/agent", ...args]);
  assert.equal(quoteExecArg("/usr/bin/agent", true), "/usr/bin/agent");
  assert.equal(quoteExecArg("$x"), '"$$x"');
  assert.equal(quoteExecArg("/a $b/c", true), '"/a $b/c"', "no $ expansion in the program path");
  assert.throws(() => quoteExecArg('/opt/"x"/agent', true), /systemd refuses a program path/);
  assert.throws(() => quoteExecArg("a\nb"), /line break/);
});

Deno.test("from source: Environment=DENO_DIR quoted, deno run command line", () => {
  const spec = buildSpec({
    platform: "linux",
    scope: "system",
    configFile: "/etc/wats/agent.json",
    launch: { cmd: "/usr/bin/deno", args: ["run", "--allow-read", "/src/agent/main.ts"] },
    fromSource: true,
    env: { DENO_DIR: "/root/.cache/deno 2" },
  });
  const svc = parseUnit(systemdUnit(spec)).Service;
  assert.ok(svc.Environment.includes('"DENO_DIR=/root/.cache/deno 2"'), svc.Environment.join("\n"));
  assert.deepEqual(svc.ProtectHome, ["read-only"], "deno reads its cache under /root");
  assert.deepEqual(splitExecStart(svc.ExecStart[0]), [
    "/usr/bin/deno",
    "run",
    "--allow-read",
    "/src/agent/main.ts",
    "run",
    "--config",
    "/etc/wats/agent.json",
  ]);
});

const analyze = "/usr/bin/systemd-analyze";
const hasAnalyze = await Deno.stat(analyze).then(() => true, () => false);
if (!hasAnalyze) {
  console.warn(
    "systemd-analyze not found: the `systemd-analyze verify` tests are skipped " +
      "(apt-get install systemd to run them)",
  );
}

async function verify(unitFile: string, user = false) {
  const out = await new Deno.Command(analyze, {
    args: [...(user ? ["--user"] : []), "verify", unitFile],
    // --user needs a runtime folder; a container may not have one.
    env: { SYSTEMD_LOG_COLOR: "0", XDG_RUNTIME_DIR: path.dirname(unitFile) },
  }).output();
  return { code: out.code, text: new TextDecoder().decode(out.stderr) };
}

Deno.test({
  name: "systemd-analyze verify accepts the system and user units, awkward paths included",
  ignore: !hasAnalyze,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      // The program must exist and be executable for verify; its folder has a space, non-ASCII,
      // & < > and %.
      const bin = path.join(dir, "wats ågent & <2> 50%");
      await Deno.mkdir(bin);
      const program = path.join(bin, "agent");
      await Deno.writeTextFile(program, "#!/bin/sh\n", { mode: 0o755 });
      for (const scope of ["system", "user"] as const) {
        const spec = sampleSpec("linux", {
          scope,
          program,
          config: `${dir}/${AWKWARD}/agent.json`,
        });
        const file = path.join(dir, `${spec.name}.service`);
        await Deno.writeTextFile(file, systemdUnit(spec));
        const r = await verify(file, scope === "user");
        assert.equal(r.code, 0, `${scope} unit rejected:\n${r.text}`);
        assert.doesNotMatch(r.text, /Unknown (key|section)|Failed to parse|Invalid/i, r.text);
      }
      // The check can fail: a program that does not exist is refused.
      const missing = sampleSpec("linux", { program: path.join(bin, "no-such-agent") });
      const file = path.join(dir, "missing.service");
      await Deno.writeTextFile(file, systemdUnit(missing));
      const r = await verify(file);
      assert.notEqual(r.code, 0);
      assert.match(r.text, /no-such-agent is not executable/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** The overall exposure `systemd-analyze security --offline=true` gives a unit file. */
async function exposure(unitFile: string): Promise<{ score: number; text: string }> {
  const out = await new Deno.Command(analyze, {
    args: ["security", "--offline=true", "--no-pager", unitFile],
    env: { SYSTEMD_LOG_COLOR: "0", SYSTEMD_COLORS: "0" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(text);
  if (!m) throw new Error(`systemd-analyze security printed no exposure level:\n${text}`);
  return { score: Number(m[1]), text };
}

Deno.test({
  name: "systemd-analyze security --offline rates the system unit 2.0 or better (it was 9.6)",
  ignore: !hasAnalyze,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const spec = sampleSpec("linux", {
        program: Deno.execPath(),
        agent: stationFolders("linux", { base: dir }),
      });
      const file = path.join(dir, `${spec.name}.service`);
      await Deno.writeTextFile(file, systemdUnit(spec));
      const r = await verify(file);
      assert.equal(r.code, 0, r.text);
      const hardened = await exposure(file);
      console.log(`exposure of the generated unit: ${hardened.score}`);
      assert.ok(hardened.score <= 2.0, hardened.text);
      // The measure can fail: the same unit without its sandbox rates far worse.
      const bare = systemdUnit(spec).split("\n").filter((l) =>
        !/^(Protect|Private|Restrict|SystemCall|Capability|Ambient|NoNew|Lock|Remove|User|Group)/
          .test(l)
      ).join("\n");
      await Deno.writeTextFile(file, bare);
      assert.ok((await exposure(file)).score >= 9, "the unsandboxed unit should rate unsafe");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
