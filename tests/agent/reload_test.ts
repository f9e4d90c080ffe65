/**
 * The config reloader's start-up save, with a stand-in for the running agent: the config file
 * may change between the agent reading it and the watcher starting, and that edit must be
 * applied (or refused, with its reason) like any other, never dropped in silence.
 */
import assert from "#assert";
import path from "#path";
import { ConfigReloader } from "../../src/agent/reload.ts";
import { type Config, parseConfig } from "../../src/config/load.ts";
import { lastGoodFile } from "../../src/data_dir/last_good.ts";

const text = (station: string) =>
  JSON.stringify({
    server: { url: "http://127.0.0.1:9", token: "tok" },
    station: { name: station },
    dataDir: "./data",
    converters: [],
  });

/** A reloader over a stand-in agent that runs the config `running` (read from `file`). */
async function setUp(running: string) {
  const dir = await Deno.makeTempDir({ prefix: "agent-reload-" });
  const file = path.join(dir, "agent.json");
  await Deno.mkdir(path.join(dir, "data"));
  let config: Config = parseConfig(running, file);
  const applied: string[] = [];
  const reloader = new ConfigReloader({
    config: () => config,
    apply: (next) => {
      applied.push(next.station.name);
      config = next;
      return Promise.resolve();
    },
  });
  return { dir, file, reloader, applied, lastGood: lastGoodFile(config.dataDir) };
}

Deno.test("reload: the start-up save keeps the file that is in force", async () => {
  const t = await setUp(text("ST1"));
  try {
    await Deno.writeTextFile(t.file, text("ST1"));
    await t.reloader.saveStarted();
    assert.equal(await Deno.readTextFile(t.lastGood), text("ST1"));
    assert.deepEqual(t.applied, []);
    assert.equal(t.reloader.last, null);
  } finally {
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test("reload: an edit made while the agent started is applied and saved", async () => {
  const t = await setUp(text("ST1"));
  try {
    await Deno.writeTextFile(t.file, text("ST2"));
    await t.reloader.saveStarted();
    assert.deepEqual(t.applied, ["ST2"]);
    assert.equal(t.reloader.last?.ok, true);
    assert.equal(await Deno.readTextFile(t.lastGood), text("ST2"));
  } finally {
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test("reload: an invalid edit made while the agent started is refused with its reason", async () => {
  const t = await setUp(text("ST1"));
  try {
    await Deno.writeTextFile(t.file, text("ST1").replace('"station"', '"staton"'));
    await t.reloader.saveStarted();
    assert.deepEqual(t.applied, []);
    assert.equal(t.reloader.last?.ok, false);
    assert.match(t.reloader.last?.error ?? "", /staton|station/);
    await assert.rejects(Deno.stat(t.lastGood), Deno.errors.NotFound);
  } finally {
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test("reload: a copy that can't be saved leaves the edit applied and said", async () => {
  const t = await setUp(text("ST1"));
  try {
    await Deno.mkdir(path.join(t.lastGood, "x"), { recursive: true }); // a folder in its place
    await Deno.writeTextFile(t.file, text("ST2"));
    assert.equal(await t.reloader.reload(), true);
    assert.deepEqual(t.applied, ["ST2"]);
    assert.equal(t.reloader.last?.ok, true);
  } finally {
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test({
  name: "reload: a FIFO in the config file's place is refused, not waited on",
  ignore: Deno.build.os === "windows", // no mkfifo
  async fn() {
    const t = await setUp(text("ST1"));
    try {
      const made = new Deno.Command("mkfifo", { args: [t.file] }).outputSync();
      assert.ok(made.success, new TextDecoder().decode(made.stderr));
      assert.equal(await t.reloader.reload(), false);
      assert.match(t.reloader.last?.error ?? "", /not a file/);
    } finally {
      await Deno.remove(t.dir, { recursive: true });
    }
  },
});
