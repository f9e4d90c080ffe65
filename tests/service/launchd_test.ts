import assert from "#assert";
import path from "#path";
import { launchdPlist } from "../../src/service/launchd.ts";
import { STOP_TIMEOUT_SECONDS } from "../../src/service/spec.ts";
import { AWKWARD, sampleSpec, stationFolders } from "./_specs.ts";
import { parseXml, type XmlElement } from "../../src/convert/xml.ts";

/** A plist value as JSON (dict → object, array → array, integer → number, true/false). */
function plistValue(el: XmlElement): unknown {
  const kids = el.children;
  switch (el.local) {
    case "string":
      return el.text;
    case "integer":
      return Number(el.text);
    case "true":
      return true;
    case "false":
      return false;
    case "array":
      return kids.map(plistValue);
    case "dict": {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < kids.length; i += 2) {
        assert.equal(kids[i].local, "key", "a dict alternates <key> and a value");
        out[kids[i].text] = plistValue(kids[i + 1]);
      }
      return out;
    }
    default:
      throw new Error(`unexpected plist element <${el.local}> on line ${el.line}`);
  }
}

/** Parses the plist with the project's strict XML parser (src/convert/xml.ts). */
function parsePlist(text: string): Record<string, unknown> {
  const root = parseXml(text);
  assert.equal(root.local, "plist");
  assert.equal(root.children.length, 1);
  return plistValue(root.children[0]) as Record<string, unknown>;
}

Deno.test("the LaunchDaemon plist: KeepAlive, RunAtLoad, ExitTimeOut, logs, exact arguments", () => {
  const spec = sampleSpec("macos");
  const plist = parsePlist(launchdPlist(spec));
  assert.deepEqual(plist, {
    Label: "wats-agent",
    ProgramArguments: ["/opt/wats ågent/agent", "run", "--config", `/srv/${AWKWARD}/agent.json`],
    WorkingDirectory: `/srv/${AWKWARD}`,
    RunAtLoad: true,
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: 10,
    ExitTimeOut: STOP_TIMEOUT_SECONDS,
    ProcessType: "Background",
    Nice: 10,
    UserName: "_wats-agent",
    StandardOutPath: "/Library/Logs/wats-agent/agent.out.log",
    StandardErrorPath: "/Library/Logs/wats-agent/agent.err.log",
  });
});

Deno.test("--run-as sets UserName; a user agent logs under ~/Library/Logs; env is carried", () => {
  assert.equal(parsePlist(launchdPlist(sampleSpec("macos", { runAs: "_wats" }))).UserName, "_wats");
  const user = sampleSpec("macos", { scope: "user" });
  user.env = { DENO_DIR: "/Users/ø/Library/Caches/deno" };
  const plist = parsePlist(launchdPlist(user));
  assert.equal(plist.StandardErrorPath, "/home/øyvind/Library/Logs/wats-agent/agent.err.log");
  assert.deepEqual(plist.EnvironmentVariables, { DENO_DIR: "/Users/ø/Library/Caches/deno" });
  assert.equal(plist.UserName, undefined);
  const root = parsePlist(launchdPlist(sampleSpec("macos", { runAs: "root" })));
  assert.equal(root.UserName, undefined, "--run-as root asks for full rights");
  const lower = sampleSpec("macos", { agent: stationFolders("macos", { nice: 19 }) });
  assert.equal(parsePlist(launchdPlist(lower)).Nice, 19);
});

const python = await new Deno.Command("python3", { args: ["-c", "import plistlib"] }).output()
  .then((o) => o.success, () => false);
if (!python) console.warn("python3 not found: the plistlib cross-check of the plist is skipped");

Deno.test({
  name: "Python's plistlib reads the same plist (an independent parser)",
  ignore: !python,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const spec = sampleSpec("macos");
      const file = path.join(dir, "agent.plist");
      const text = launchdPlist(spec);
      await Deno.writeTextFile(file, text);
      const out = await new Deno.Command("python3", {
        args: [
          "-c",
          "import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],'rb'))))",
          file,
        ],
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), parsePlist(text));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
