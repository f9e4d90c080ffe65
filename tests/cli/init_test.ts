/**
 * `agent init`: the non-interactive path (no questions when not on a terminal), the interactive
 * one on a real pseudo-terminal (util-linux `script`), and that what it writes is a valid,
 * commented config that `agent config check` accepts.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { hasScript, ptyCommand, skipUnless } from "../_tools.ts";
import { parseConfig } from "../../src/config/load.ts";
import { defaultAnswers, starterConfig } from "../../src/cli/init.ts";
import { describeKeys } from "../../src/config/describe.ts";
import { configSchema } from "../../src/config/schema.ts";
import { startWatsServer } from "../../wats_test_server/mod.ts";

const dec = new TextDecoder();

async function agent(args: string[], opts: { cwd: string; env?: Record<string, string> }) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: AgentHarness.agentArgs(args),
    cwd: opts.cwd,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("init: the starter config is valid once it has a token, and commented", () => {
  const text = starterConfig({
    ...defaultAnswers(),
    token: "abc-token",
    url: "https://wats.example.com/",
  });
  const config = parseConfig(text, "/stations/agent.json");
  assert.equal(config.server.url, "https://wats.example.com");
  assert.equal(config.converters[0].watch, "/stations/drop");
  assert.equal(config.converters[0].format, "auto");
  assert.equal(config.control.port, 8089);
  assert.ok(text.split("\n").filter((l) => l.trim().startsWith("//")).length >= 15, "commented");
  // Without a token the file says where it goes, and the error says so too.
  assert.throws(
    () => parseConfig(starterConfig(defaultAnswers()), "/x/agent.json"),
    /server\.token/,
  );
});

Deno.test("init: the starter config's comments and defaults are the schema's", () => {
  const text = starterConfig(defaultAnswers());
  const keys = new Map(describeKeys(configSchema).map((k) => [k.path, k]));
  for (const key of ["server.timeoutSeconds", "queue.minFreeDiskMb", "log.level", "dataDir"]) {
    const doc = keys.get(key)!;
    const at = text.indexOf(`"${doc.name}": ${JSON.stringify(doc.default)}`);
    assert.ok(at > 0, `${key} with its default ${JSON.stringify(doc.default)}`);
    const above = text.slice(0, at).split("\n").slice(-4).join(" ").replace(/\s*\/\/\s*/g, " ");
    const first = doc.description.replaceAll("`", "").split(" ").slice(0, 5).join(" ");
    assert.ok(above.includes(first), `${key}: the comment above is the description ("${first}…")`);
  }
  assert.match(
    text,
    /\/\/ The lowest level logged\. \(one of "debug", "info", "warning", "error"\)/,
  );
});

Deno.test("init: not on a terminal it asks nothing, writes the file (0600) and the drop folder, and won't overwrite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agent-init-" });
  try {
    const file = path.join(dir, "cfg", "agent.json");
    const r = await agent([
      "init",
      "--config",
      file,
      "--url",
      "https://wats.example.com",
      "--watch",
      "./in",
      "--format",
      "wsjf",
    ], {
      cwd: dir,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Wrote .*agent\.json; drop folder .*in\./);
    assert.match(r.stdout, /put the API token in server\.token, or set AGENT_TOKEN/);
    assert.ok(!/\?|\[.*\]: /.test(r.stdout), "no questions");
    if (Deno.build.os !== "windows") assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    assert.ok((await Deno.stat(path.join(dir, "cfg", "in"))).isDirectory);
    const text = await Deno.readTextFile(file);
    assert.throws(() => parseConfig(text, file), /server\.token: expected the WATS API token/);
    const config = parseConfig(text.replace('"url":', '"token": "t0k3n-abcdef", "url":'), file);
    assert.equal(config.converters[0].watch, path.join(dir, "cfg", "in"));
    assert.equal(config.converters[0].format, "wsjf");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("init: refuses to overwrite without --force; a wrong --format is a usage error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agent-init-" });
  try {
    const file = path.join(dir, "agent.json");
    await Deno.writeTextFile(file, "{}");
    const again = await agent(["init", "--config", file], { cwd: dir });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists already.*--force/);
    assert.equal(await Deno.readTextFile(file), "{}");
    const forced = await agent(["init", "--config", file, "--force"], { cwd: dir });
    assert.equal(forced.code, 0, forced.stderr);
    const bad = await agent(
      ["init", "--config", path.join(dir, "b.json"), "--format", "nonsense"],
      { cwd: dir },
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--format: expected "auto" or one of wsjf/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("init then config check: with AGENT_TOKEN and a real server every check passes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agent-init-" });
  await using server = await startWatsServer({ port: 0, tokens: ["init-check-token-123"] });
  try {
    const file = path.join(dir, "agent.json");
    const env = { AGENT_TOKEN: "init-check-token-123" };
    const w = await agent(["init", "--config", file, "--url", server.url], { cwd: dir, env });
    assert.equal(w.code, 0, w.stderr);
    // control.port 8089 may be taken on this machine: the check would say so; use 0 here.
    await Deno.writeTextFile(
      file,
      (await Deno.readTextFile(file)).replace('"port": 8089', '"port": 0'),
    );
    const c = await agent(["config", "check", "--config", file], { cwd: dir, env });
    assert.equal(c.code, 0, c.stdout + c.stderr);
    assert.match(c.stdout, /token accepted/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs `agent init` on a pseudo-terminal and answers its questions as they appear. */
async function interactiveInit(
  cwd: string,
  file: string,
  answers: [RegExp, string][],
): Promise<{ code: number; screen: string }> {
  const child = ptyCommand(
    [
      "env",
      "-u",
      "NO_COLOR",
      Deno.execPath(),
      ...AgentHarness.agentArgs(["init", "--config", file]),
    ],
    { cwd, stdin: "piped", stdout: "piped", stderr: "piped" },
  ).spawn();
  const writer = child.stdin.getWriter();
  let screen = "";
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let next = 0;
  let seenUpTo = 0;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    screen += value;
    while (next < answers.length) {
      const m = answers[next][0].exec(screen.slice(seenUpTo));
      if (!m) break;
      seenUpTo += m.index + m[0].length;
      await writer.write(new TextEncoder().encode(answers[next][1] + "\r"));
      next++;
    }
  }
  await writer.close().catch(() => {});
  const status = await child.status;
  await child.stderr.cancel();
  return { code: status.code, screen };
}

Deno.test({
  name: "init: on a terminal it asks (defaults, the token without echo) and writes the answers",
  // Linux only: the pty comes from util-linux `script -q -e -c` (macOS's BSD script differs).
  ignore: skipUnless(
    hasScript(),
    "the interactive init needs util-linux `script` (Linux; apt-get install -y util-linux)",
  ),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "agent-init-tty-" });
    try {
      const file = path.join(dir, "agent.json");
      const secret = "tty-secret-token-9876";
      const { code, screen } = await interactiveInit(dir, file, [
        [/WATS server URL \[https:\/\/your-company\.wats\.com\]: /, "not a url"],
        [/expected a URL[^\n]*\n[^]*?WATS server URL \[[^\]]*\]: /, "https://wats.example.com"],
        [/WATS API token \(not shown[^)]*\): /, secret],
        [/Station name \[[^\]]+\]: /, "LINE2-ICT"],
        [/Drop folder to watch \[\.\/drop\]: /, ""],
        [/File format in it \[auto\]: /, "takaya"],
      ]);
      assert.equal(code, 0, screen);
      assert.ok(!screen.includes(secret), "the token is not echoed");
      const config = parseConfig(await Deno.readTextFile(file), file);
      assert.equal(config.server.url, "https://wats.example.com");
      assert.equal(config.server.token, secret);
      assert.equal(config.station.name, "LINE2-ICT");
      assert.equal(config.converters[0].watch, path.join(dir, "drop"));
      assert.equal(config.converters[0].format, "takaya");
      assert.match(screen, /Wrote /);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
