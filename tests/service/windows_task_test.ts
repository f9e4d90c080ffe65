import assert from "#assert";
import path from "#path";
import {
  encodeUtf16le,
  quoteWindowsArg,
  REPEAT_INTERVAL,
  taskXml,
  windowsCommandLine,
} from "../../src/service/windows_task.ts";
import { sampleSpec, stationFolders } from "./_specs.ts";
import { child, parseXmlBytes, type XmlElement } from "../../src/convert/xml.ts";

/** Parses the task as schtasks gets it: UTF-16LE bytes, with the project's strict parser. */
function parseTask(xml: string): XmlElement {
  const root = parseXmlBytes(encodeUtf16le(xml));
  assert.equal(root.local, "Task");
  assert.equal(root.ns, "http://schemas.microsoft.com/windows/2004/02/mit/task");
  return root;
}

/** Follows child element names from `el`; fails naming the missing one. */
function at(el: XmlElement, ...names: string[]): XmlElement {
  for (const name of names) {
    const next = child(el, name);
    if (!next) throw new Error(`<${el.local}> has no <${name}>`);
    el = next;
  }
  return el;
}

const textAt = (el: XmlElement, ...names: string[]) => at(el, ...names).text;

/** Splits a command line the way CommandLineToArgvW / the MSVC runtime do. */
function splitWindows(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  const blank = (c: string | undefined) => c === " " || c === "\t";
  while (i < line.length) {
    while (blank(line[i])) i++;
    if (i >= line.length) break;
    let arg = "";
    let quoted = false;
    while (i < line.length && (quoted || !blank(line[i]))) {
      let backslashes = 0;
      while (line[i] === "\\") {
        backslashes++;
        i++;
      }
      if (line[i] === '"') {
        arg += "\\".repeat(Math.floor(backslashes / 2));
        if (backslashes % 2 === 1) {
          arg += '"';
        } else if (quoted && line[i + 1] === '"') {
          arg += '"';
          i++;
        } else {
          quoted = !quoted;
        }
        i++;
      } else {
        arg += "\\".repeat(backslashes);
        if (i < line.length && (quoted || !blank(line[i]))) arg += line[i++];
      }
    }
    args.push(arg);
  }
  return args;
}

Deno.test("Windows argument quoting round-trips through CommandLineToArgvW rules", () => {
  const args = [
    "run",
    "C:\\Program Files\\WATS Ågent\\",
    'say "hi"',
    'a\\\\"b',
    "\\\\server\\share\\x y",
    "tab\there",
    "ÆØÅ",
    "plain\\path\\",
  ];
  assert.deepEqual(splitWindows(windowsCommandLine(args)), args);
  assert.equal(quoteWindowsArg("C:\\agent.exe"), "C:\\agent.exe");
  assert.equal(quoteWindowsArg("C:\\Program Files\\"), '"C:\\Program Files\\\\"');
  assert.equal(quoteWindowsArg(""), '""');
});

Deno.test("the task: boot + registration triggers that repeat, no time limit, restarts", () => {
  const spec = sampleSpec("windows");
  const doc = parseTask(taskXml(spec));
  const trig = at(doc, "Triggers");
  assert.deepEqual(trig.children.map((c) => c.local), ["BootTrigger", "RegistrationTrigger"]);
  const boot = at(doc, "Triggers", "BootTrigger");
  // triggerBaseType is an xs:sequence: Enabled, Repetition, then BootTrigger's own Delay.
  assert.deepEqual(boot.children.map((c) => c.local), ["Enabled", "Repetition", "Delay"]);
  for (const t of ["BootTrigger", "RegistrationTrigger"]) {
    assert.equal(textAt(doc, "Triggers", t, "Enabled"), "true");
    assert.equal(textAt(doc, "Triggers", t, "Repetition", "Interval"), REPEAT_INTERVAL);
  }
  const settings = (name: string) => textAt(doc, "Settings", name);
  assert.equal(settings("ExecutionTimeLimit"), "PT0S");
  assert.equal(settings("MultipleInstancesPolicy"), "IgnoreNew");
  assert.equal(settings("DisallowStartIfOnBatteries"), "false");
  assert.equal(settings("StopIfGoingOnBatteries"), "false");
  assert.equal(settings("StartWhenAvailable"), "true");
  const count = Number(textAt(doc, "Settings", "RestartOnFailure", "Count"));
  assert.ok(count >= 1 && count <= 255, `Count is an unsignedByte 1..255, found ${count}`);
  assert.equal(textAt(doc, "Settings", "RestartOnFailure", "Interval"), "PT1M");
});

Deno.test("the task's action: quoted program, arguments that split back exactly, working folder", () => {
  const spec = sampleSpec("windows");
  const doc = parseTask(taskXml(spec));
  const exec = (name: string) => textAt(doc, "Actions", "Exec", name);
  assert.deepEqual(splitWindows(exec("Command")), ["C:\\Program Files\\WATS Ågent\\agent.exe"]);
  assert.deepEqual(splitWindows(exec("Arguments")), [
    "run",
    "--config",
    "C:\\ProgramData\\WATS Ågent\\Linje 2\\agent.json",
  ]);
  assert.equal(exec("WorkingDirectory"), path.win32.dirname(spec.configFile));
});

Deno.test("runs as NETWORK SERVICE (no password, least privilege) below normal priority", () => {
  const doc = parseTask(taskXml(sampleSpec("windows")));
  const principal = (name: string) => textAt(doc, "Principals", "Principal", name);
  assert.equal(principal("UserId"), "S-1-5-20");
  assert.equal(principal("LogonType"), "ServiceAccount");
  assert.equal(principal("RunLevel"), "LeastPrivilege");
  assert.equal(textAt(doc, "Settings", "Priority"), "7");
  const idle = sampleSpec("windows", { agent: stationFolders("windows", { nice: 19 }) });
  assert.equal(textAt(parseTask(taskXml(idle)), "Settings", "Priority"), "9");
  const normal = sampleSpec("windows", { agent: stationFolders("windows", { nice: 0 }) });
  assert.equal(textAt(parseTask(taskXml(normal)), "Settings", "Priority"), "5");
  const system = parseTask(taskXml(sampleSpec("windows", { runAs: "SYSTEM" })));
  assert.equal(textAt(system, "Principals", "Principal", "UserId"), "S-1-5-18", "asked for");
});

Deno.test("--run-as: the named account with a stored password, least privilege", () => {
  const doc = parseTask(taskXml(sampleSpec("windows", { runAs: "CORP\\svc-wats" })));
  const principal = (name: string) => textAt(doc, "Principals", "Principal", name);
  assert.equal(principal("UserId"), "CORP\\svc-wats");
  assert.equal(principal("LogonType"), "Password");
  assert.equal(principal("RunLevel"), "LeastPrivilege");
});

Deno.test("XML specials in paths are escaped; % (Task Scheduler variables) is refused", () => {
  const spec = sampleSpec("windows", { config: "C:\\Lines & <Stations>\\agent.json" });
  const doc = parseTask(taskXml(spec));
  assert.equal(
    textAt(doc, "Actions", "Exec", "WorkingDirectory"),
    "C:\\Lines & <Stations>",
  );
  assert.throws(
    () => taskXml(sampleSpec("windows", { config: "C:\\50%\\agent.json" })),
    /holds "%", which Task Scheduler would read as an environment variable/,
  );
  const withEnv = sampleSpec("windows");
  withEnv.env = { DENO_DIR: "C:\\deno" };
  assert.throws(() => taskXml(withEnv), /can't set environment variables/);
});

Deno.test("encodeUtf16le: UTF-16LE with a byte order mark, as schtasks expects", () => {
  const text = taskXml(sampleSpec("windows"));
  const bytes = encodeUtf16le(text);
  assert.deepEqual([...bytes.slice(0, 2)], [0xff, 0xfe]);
  assert.equal(bytes.length, 2 + text.length * 2);
  assert.equal(new TextDecoder("utf-16le").decode(bytes), text); // the decoder drops the BOM
  assert.match(text, /^<\?xml version="1\.0" encoding="UTF-16"\?>\r\n/);
});

const python = await new Deno.Command("python3", { args: ["-c", "import xml.etree"] }).output()
  .then((o) => o.success, () => false);
if (!python) console.warn("python3 not found: the ElementTree cross-check of the task is skipped");

Deno.test({
  name: "Python's ElementTree reads the UTF-16 task file (an independent parser)",
  ignore: !python,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const file = path.join(dir, "task.xml");
      await Deno.writeFile(file, encodeUtf16le(taskXml(sampleSpec("windows"))));
      const script = [
        "import sys, xml.etree.ElementTree as ET",
        "ns = {'t': 'http://schemas.microsoft.com/windows/2004/02/mit/task'}",
        "root = ET.parse(sys.argv[1]).getroot()",
        "print(root.find('t:Actions/t:Exec/t:Arguments', ns).text)",
        "print(root.find('t:Settings/t:ExecutionTimeLimit', ns).text)",
      ].join("\n");
      const out = await new Deno.Command("python3", {
        args: ["-c", script, file],
        env: { PYTHONIOENCODING: "utf-8" },
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.equal(
        new TextDecoder().decode(out.stdout),
        'run --config "C:\\ProgramData\\WATS Ågent\\Linje 2\\agent.json"\nPT0S\n',
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
