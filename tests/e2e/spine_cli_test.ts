/**
 * The command line's public contract with the real process: config errors, the single-instance
 * lock, duplicate files, and `agent convert` printing exactly what the pipeline queues.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

Deno.test("config errors: key path, expected, found; exit 3; no agent starts", async () => {
  await using h = await AgentHarness.create();
  const cases: [string, RegExp][] = [
    [
      JSON.stringify({ ...h.config, control: { port: "8089" } }),
      /control\.port: expected number, found "8089"/,
    ],
    [
      JSON.stringify({
        ...h.config,
        converters: [{ name: "x", format: "wsjf", watch: "d", afterSuccess: "remove" }],
      }),
      /converters\[0\]\.afterSuccess: expected one of "delete" \| "move" \| "keep", found "remove"/,
    ],
    [JSON.stringify({ ...h.config, sever: {} }), /unknown key\(s\) sever/],
    [
      `{ "server": { "url": "http://x", "token": "t" }, // comment ok\n "dataDir": 5 }`,
      /dataDir: expected string, found 5/,
    ],
    [`{ "server": { "url": "http://x" "token": "t" } }`, /line 1, column \d+/],
  ];
  for (const [text, expected] of cases) {
    await h.writeConfig(text);
    const r = await h.cli(["run", "--config", h.configFile]);
    assert.equal(r.code, 3, `${text}\n${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.match(
      r.stderr,
      new RegExp(`Configuration ${h.configFile.replaceAll("/", "\\/")} is not valid`),
    );
  }
  const missing = await h.cli(["status", "--config", path.join(h.dir, "nope.json")]);
  assert.equal(missing.code, 3);
  assert.match(
    missing.stderr,
    /does not exist \(create one with `agent init`, or pass --config FILE\)/,
  );
});

Deno.test("usage errors exit 2 with a hint", async () => {
  await using h = await AgentHarness.create();
  const r = await h.cli(["status", "--bogus"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Unknown option '--bogus'[\s\S]*agent status --help/);
  const u = await h.cli(["frobnicate"]);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /unknown command "frobnicate"/);
  const help = await h.cli(["--help"]);
  assert.equal(help.code, 0);
  for (const c of ["run", "status", "flush", "convert", "version"]) {
    assert.match(help.stdout, new RegExp(`\\n  ${c} `));
  }
});

Deno.test("one agent per data directory: the second exits 4 naming the first one's pid and the folder", async () => {
  await using h = await AgentHarness.create();
  await h.start();
  const second = await h.cli(["run", "--config", h.configFile]);
  assert.equal(second.code, 4);
  assert.match(
    second.stderr,
    new RegExp(`Another agent \\(pid ${h.pid}\\) is already running on data directory`),
  );
  assert.ok(second.stderr.includes(h.dataDir));
});

Deno.test("the same file dropped twice: skipped by default (logged), sent again with duplicates=send, same id", async () => {
  await using h = await AgentHarness.create();
  await h.start();
  const [r] = makeSampleReports(1, { seed: 31 });
  const text = JSON.stringify(r);
  await h.drop("json", "first.json", text);
  await h.waitFor(() => h.server.store.get(r.id) !== undefined, "first upload");
  await h.drop("json", "again.json", text);
  await h.waitFor(
    async () => (await h.files(h.dropDir("json"))).length === 0,
    "second file handled",
  );
  await h.waitFor(() => /identical to a file already queued/.test(h.output), "the skip is logged");
  assert.equal(h.server.store.get(r.id)!.receiveCount, 1, "not sent again");

  h.config.queue = { duplicates: "send" };
  await h.writeConfig();
  await h.waitFor(() => /Config reloaded/.test(h.output), "config reloaded");
  await h.drop("json", "third.json", text);
  await h.waitFor(() => h.server.store.get(r.id)!.receiveCount === 2, "sent again, same id");
  assert.equal(h.server.store.list().length, 1, "the server holds one copy");
});

Deno.test("agent convert prints exactly the report the pipeline queues", async () => {
  await using h = await AgentHarness.create({
    converters: [{ name: "json", format: "wsjf", afterSuccess: "keep" }],
  });
  const [r] = makeSampleReports(1, { seed: 41 });
  delete (r as Record<string, unknown>).location; // filled from the station by both paths
  const file = await h.drop("json", "unit.json", JSON.stringify(r));
  const printed = await h.cli(["convert", file, "--config", h.configFile]);
  assert.equal(printed.code, 0, printed.stderr);
  const converted = JSON.parse(printed.stdout);
  assert.equal(converted.location, "Lab", "station fields filled from the config");

  await h.start();
  await h.waitFor(() => h.server.store.get(r.id) !== undefined, "uploaded");
  // The server stores the report before the agent moves its entry to completed/.
  const completed = path.join(h.dataDir, "queue", "completed");
  await h.waitFor(async () => (await h.files(completed)).length === 1, "the entry completed");
  const [entry] = await h.files(completed);
  const bytes = await Deno.readTextFile(path.join(completed, entry));
  const body = JSON.parse(bytes.slice(bytes.indexOf("\n") + 1));
  assert.deepEqual(converted, body, "agent convert == the queued body");
  assert.ok(await Deno.stat(file), "keep leaves the source in place");
});

Deno.test("append-mode formats default to keep; an unknown format is a config error naming the choices", async () => {
  await using h = await AgentHarness.create({
    converters: [
      { name: "gr", format: "teradyne-gr228x", afterSuccess: undefined },
      { name: "spea", format: "spea-3030", afterSuccess: "move" },
    ],
  });
  const check = await h.cli(["config", "check", "--config", h.configFile, "--offline"]);
  assert.match(
    check.stdout + check.stderr,
    /spea-3030 logs grow while the tester runs; afterSuccess "move"/,
  );
  assert.doesNotMatch(
    check.stdout + check.stderr,
    /teradyne-gr228x logs grow/,
    "gr defaults to keep",
  );
  h.config.converters = [{ name: "x", format: "wsfj", watch: "./drop/x" }];
  await h.writeConfig();
  const r = await h.cli(["status", "--config", h.configFile]);
  assert.equal(r.code, 3);
  assert.match(
    r.stderr,
    /converters\[0\]\.format: expected one of wsjf, wsxf, .*auto .*found "wsfj"/,
  );
});
