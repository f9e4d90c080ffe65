/**
 * A plain `http://` server URL sends the API token and every report in clear: the agent warns,
 * naming `server.url` and what to do, at start-up, after a config reload that sets one, and in
 * `agent config check`; but not for a server on this machine (the demo and test servers).
 */
import assert from "#assert";
import { configWarnings, parseConfig, plainHttpHost } from "../../src/config/load.ts";
import { AgentHarness } from "../e2e/_harness.ts";

const REMOTE = "http://wats.invalid:8080";
const WARNING =
  /server\.url: http:\/\/wats\.invalid:8080 is plain http:\/\/, so the API token .*travel unencrypted to wats\.invalid:8080.*Use the server's https:\/\/ address/;

Deno.test("plain http: which server URLs warn", () => {
  const remote = ["http://wats.example.com", "http://10.0.0.5:80/", "http://127.0.0.1.evil.com"];
  const local = [
    "http://127.0.0.1:8080",
    "http://127.8.9.10",
    "http://localhost:80",
    "http://[::1]:9",
    "http://[::ffff:127.0.0.1]/",
    "http://2130706433/", // 127.0.0.1 as one number
    "https://wats.example.com",
  ];
  for (const url of remote) assert.notEqual(plainHttpHost(url), null, url);
  for (const url of local) assert.equal(plainHttpHost(url), null, url);

  const config = (url: string) =>
    parseConfig(JSON.stringify({ server: { url, token: "t" }, converters: [] }), "/x/agent.json");
  assert.match(configWarnings(config(REMOTE)).join("\n"), WARNING);
  assert.deepEqual(configWarnings(config("http://127.0.0.1:8080")), []);
  assert.deepEqual(configWarnings(config("https://wats.example.com")), []);
});

Deno.test("plain http: the running agent warns at start and after a reload; config check warns", async () => {
  await using h = await AgentHarness.create();
  await h.start();
  const warnings = () => h.output.split("\n").filter((l) => /WARN.*plain http:\/\//.test(l));
  assert.deepEqual(warnings(), [], "no warning for the local test server");

  const local = await h.cli(["config", "check", "--offline", "--config", h.configFile]);
  assert.equal(local.code, 0, local.stdout + local.stderr);
  assert.doesNotMatch(local.stdout, /plain http/);

  (h.config.server as Record<string, unknown>).url = REMOTE;
  await h.writeConfig();
  await h.waitFor(() => warnings().length > 0, "the warning after the reload");
  assert.match(warnings()[0], /WARN .*Config: /);
  assert.match(warnings()[0], WARNING);
  await h.stop();

  const check = await h.cli(["config", "check", "--offline", "--config", h.configFile]);
  assert.equal(check.code, 0, "a warning, not a failure");
  assert.match(check.stdout, new RegExp(`^warn config: ${WARNING.source}`, "m"));

  await h.start(); // the output starts afresh
  await h.waitFor(() => warnings().length > 0, "the warning at start-up");
  assert.match(warnings().at(-1)!, WARNING);
});
