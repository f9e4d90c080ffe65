/**
 * Folders that must not be configured, found by a review with the real agent: an Error (or
 * Done) folder that is the watch folder had the agent convert its own notes, fail, note, …
 * until the source was lost under ever longer names; Done/Error in the data folder's queue had it
 * write among its entries; two converters on the same files sent every report twice. A config (or
 * an edit of it) that does this is refused with the key and what to do.
 */
import assert from "#assert";
import path from "#path";
import { ConfigError, parseConfig } from "../../src/config/load.ts";
import { AgentHarness } from "../e2e/_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

const server = { url: "http://127.0.0.1:1", token: "t" };
const conv = { name: "json", format: "wsjf", watch: "./drop" };

function problems(config: unknown): string {
  try {
    parseConfig(JSON.stringify(config), "/st/agent.json");
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.join("\n");
    throw e;
  }
  return "";
}

const refused: [string, Record<string, unknown>, RegExp][] = [
  ["errorFolder is the watch folder", { errorFolder: "./drop" }, /errorFolder: .*is the watch/],
  ["doneFolder holds the watch folder", { doneFolder: "." }, /doneFolder: .*holds it/],
  ["doneFolder in the queue", { doneFolder: "./data/queue/queued" }, /doneFolder: .*own files/],
  ["errorFolder is dataDir", { errorFolder: "./data" }, /errorFolder: .*own files/],
  ["the watch folder in the index", { watch: "./data/index" }, /watch: .*own files/],
  ["the watch folder is dataDir", { watch: "./data" }, /watch: .*own files/],
  ["a recursive watch holding dataDir", { watch: ".", recursive: true }, /holds dataDir/],
];

Deno.test("config folders: a drop folder of its own inside dataDir is fine", () => {
  assert.equal(problems({ server, dataDir: ".", converters: [conv] }), "");
  assert.equal(
    problems({ server, dataDir: "./data", converters: [{ ...conv, watch: "./data/in" }] }),
    "",
  );
});

for (const [what, change, says] of refused) {
  Deno.test(`config folders: ${what} is refused, naming the key`, () => {
    assert.match(
      problems({ server, dataDir: "./data", converters: [{ ...conv, ...change }] }),
      says,
    );
  });
}

Deno.test("config folders: two converters on the same files are refused; split by pattern is fine", () => {
  const twice = problems({
    server,
    dataDir: "./data",
    converters: [{ ...conv, pattern: "*.json" }, { ...conv, name: "b", pattern: "*.json" }],
  });
  assert.match(twice, /converters\[1\] \(b\)\.watch: converters\[0\] \(json\) already takes/);
  const nested = problems({
    server,
    dataDir: "./data",
    converters: [
      { ...conv, watch: ".", recursive: true, doneFolder: "/done", errorFolder: "/err" },
      {
        ...conv,
        name: "b",
      },
    ],
  });
  assert.match(nested, /already takes \* files/);
  const split = problems({
    server,
    dataDir: "./data",
    converters: [{ ...conv, pattern: "*.json" }, {
      ...conv,
      name: "csv",
      format: "csv",
      pattern: "*.csv",
    }],
  });
  assert.equal(split, "");
  assert.equal(problems({ server, dataDir: "./data", converters: [conv] }), "", "the defaults");
});

Deno.test("config folders: an edit pointing Error at the drop folder is refused; the file is not lost", async () => {
  await using h = await AgentHarness.create({ converters: [{ name: "json", format: "wsjf" }] });
  await h.start();
  const good = h.config.converters as Record<string, unknown>[];
  h.config.converters = [{ ...good[0], errorFolder: good[0].watch }];
  await h.writeConfig();
  await h.waitFor(
    async () => (await h.status()).health.reasons.some((r: string) => /errorFolder/.test(r)),
    "the edit refused, in health",
  );
  await h.drop("json", "broken.json", "{ not json");
  const [ok] = makeSampleReports(1, { seed: 13 });
  await h.drop("json", "ok.json", JSON.stringify(ok));
  await h.waitFor(() => h.server.store.get(ok.id) !== undefined, "the good file uploaded");
  const errorDir = path.join(h.dropDir("json"), "Error");
  await h.waitFor(
    async () => (await h.files(errorDir)).includes("broken.json"),
    "the bad file in the Error folder of the last good config",
  );
  assert.deepEqual(
    (await h.files(errorDir)).filter((n) => n.includes(".error.txt.")),
    [],
    "no note of a note",
  );
});
