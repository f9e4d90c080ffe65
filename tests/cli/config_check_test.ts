/**
 * `agent config check` against the real test server: a good config passes; a rejected token
 * (401, 403), a wrong URL (404) and an unreachable server are told apart; an invalid file gives
 * exit 3 with the key; converter and folder problems are named; the token is never printed.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { startWatsServer, type WatsServer } from "../../wats_test_server/mod.ts";

const TOKEN = "check-token-5f1e2d3c";

/** The config shape these tests write. */
interface Config {
  server: { url: string; token: string; timeoutSeconds: number };
  control: { port: number };
  queue?: Record<string, unknown>;
  converters: Record<string, unknown>[];
}
const dec = new TextDecoder();

/** What `agent config check --json` prints. */
interface CheckJson {
  ok: boolean;
  checks: { what: string; result: string; message: string }[];
}

interface Setup {
  dir: string;
  file: string;
  server: WatsServer;
  write(config: Config): Promise<void>;
  check(...extra: string[]): Promise<{ code: number; out: string; json: CheckJson }>;
  base(): Config;
}

async function setup(fn: (s: Setup) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "agent-config-check-" });
  await using server = await startWatsServer({
    port: 0,
    tokens: [TOKEN],
    noRightsTokens: ["no-rights-token-77"],
  });
  await Deno.mkdir(path.join(dir, "drop"));
  const file = path.join(dir, "agent.json");
  const s: Setup = {
    dir,
    file,
    server,
    base: () => ({
      server: { url: server.url, token: TOKEN, timeoutSeconds: 3 },
      control: { port: 0 },
      converters: [{ name: "main", format: "wsjf", watch: "./drop" }],
    }),
    write: (c) => Deno.writeTextFile(file, JSON.stringify(c, null, 2)),
    async check(...extra) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: AgentHarness.agentArgs(["config", "check", "--config", file, ...extra]),
        cwd: dir,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = dec.decode(out.stdout) + dec.decode(out.stderr);
      assert.ok(
        !text.includes(TOKEN) && !text.includes("no-rights-token-77"),
        `the token was printed:\n${text}`,
      );
      return {
        code: out.code,
        out: text,
        json: extra.includes("--json") && out.code !== 3
          ? JSON.parse(dec.decode(out.stdout))
          : undefined,
      };
    },
  };
  try {
    await fn(s);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("config check: a good config passes every check (text and --json)", async () => {
  await setup(async (s) => {
    await s.write(s.base());
    const r = await s.check();
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /ok {3}config: .* is valid \(token from the file\)/);
    assert.match(r.out, /ok {3}converter main: format wsjf, watching .*drop for \*/);
    assert.match(r.out, /ok {3}dataDir: .* is writable, \d+ MB free/);
    assert.match(
      r.out,
      /ok {3}server: http:\/\/127\.0\.0\.1:\d+ answers \(WATS 2025\.1\.0\); token accepted/,
    );
    assert.match(r.out, /All checks passed/);
    const j = await s.check("--json");
    assert.equal(j.code, 0);
    assert.equal(j.json.ok, true);
    assert.ok(j.json.checks.every((c) => c.result === "ok"));
    const auth = s.server.log.entries().filter((e) => e.path.endsWith("/api/App/Version"));
    assert.ok(
      auth.length >= 2 && auth.every((e) => e.authorization === `Basic ${TOKEN}`),
      "GET /api/App/Version with the token",
    );
  });
});

Deno.test("config check: 401, 403, 404 and an unreachable server each say what is wrong (exit 1)", async () => {
  await setup(async (s) => {
    const c = s.base();
    c.server.token = "wrong-token-abcdef";
    await s.write(c);
    let r = await s.check();
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      /FAIL token: the server rejected the token \(HTTP 401 from .*\/api\/App\/Version\).*Check server\.token/,
    );
    assert.ok(!r.out.includes("wrong-token-abcdef"));

    c.server.token = "no-rights-token-77";
    await s.write(c);
    r = await s.check();
    assert.equal(r.code, 1);
    assert.match(r.out, /FAIL token: the server rejected the token \(HTTP 403/);

    c.server = { ...s.base().server, url: `${s.server.url}/not-wats` };
    await s.write(c);
    r = await s.check();
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /FAIL server: .*\/not-wats\/api\/App\/Version answered 404 Not Found: server\.url is not a WATS server's base URL/,
    );

    await s.server.stop();
    c.server = s.base().server;
    await s.write(c);
    r = await s.check("--json");
    assert.equal(r.code, 1);
    const server = r.json.checks.find((x) => x.what === "server")!;
    assert.equal(server.result, "fail");
    assert.match(
      server.message,
      /can't reach http:\/\/127\.0\.0\.1:\d+: .*Check server\.url, the network/,
    );
    const offline = await s.check("--offline");
    assert.equal(offline.code, 0, "--offline skips the server");
  });
});

Deno.test("config check: an invalid file gives exit 3 with the key, what was expected and what was found", async () => {
  await setup(async (s) => {
    const c = s.base();
    c.queue = { maxReports: "many" };
    c.converters[0].afterSuccess = "shred";
    await s.write(c);
    const r = await s.check();
    assert.equal(r.code, 3, r.out);
    assert.match(r.out, /queue\.maxReports: expected number, found "many"/);
    assert.match(r.out, /converters\[0\]\.afterSuccess: expected one of .*found "shred"/);
    await Deno.writeTextFile(s.file, '{ "server": { "url": "http://x", }');
    const broken = await s.check();
    assert.equal(broken.code, 3);
    assert.match(broken.out, /line 1, column \d+/);
  });
});

Deno.test("config check: unknown format, missing module, missing folder, busy control port", async () => {
  await setup(async (s) => {
    const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const c = s.base();
      c.control = { port: (busy.addr as Deno.NetAddr).port };
      c.converters = [{ name: "a", format: "nosuchformat", watch: "./drop" }];
      await s.write(c);
      const unknown = await s.check("--offline");
      assert.equal(unknown.code, 3, "an unknown format makes the file invalid");
      assert.match(
        unknown.out,
        /converters\[0\]\.format: expected one of wsjf, .*auto \(or "module" for a custom converter\), found "nosuchformat"/,
      );
      c.converters = [
        { name: "b", module: "./missing.js", watch: "./drop" },
        { name: "c", format: "auto", watch: "./not-yet" },
      ];
      await s.write(c);
      const r = await s.check("--offline");
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /FAIL converter b: module .*missing\.js does not exist/);
      assert.match(
        r.out,
        /warn converter c: format auto; watch folder .*not-yet does not exist yet/,
      );
      assert.match(r.out, /FAIL control: 127\.0\.0\.1:\d+ is in use by another program/);
    } finally {
      busy.close();
    }
  });
});
