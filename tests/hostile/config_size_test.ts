/**
 * A config file that can't be one: a 100 MB (mostly whitespace) file took ~60 s of synchronous
 * parsing and 3.7 GB resident on reload, the control endpoint silent meanwhile, and was then
 * kept as the last good copy. Past 1 MiB it is refused unparsed, at start and on reload.
 */
import assert from "#assert";
import path from "#path";
import { ConfigError, loadConfig, MAX_CONFIG_BYTES } from "../../src/config/load.ts";
import { AgentHarness } from "../e2e/_harness.ts";

Deno.test("config size: a file over 1 MiB is refused unparsed, saying how big it is", async () => {
  const dir = await Deno.makeTempDir();
  const file = path.join(dir, "agent.json");
  await Deno.writeTextFile(file, "{" + " ".repeat(MAX_CONFIG_BYTES) + "}");
  const e = await loadConfig(file).then(() => null, (e) => e);
  assert.ok(e instanceof ConfigError, String(e));
  assert.match(e.problems[0], /is \d+ bytes, over the 1048576 a config may have/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("config size: a huge edit is refused on reload; the last good copy stays", async () => {
  await using h = await AgentHarness.create();
  await h.start();
  const good = await Deno.readTextFile(h.configFile);
  await h.writeConfig(good.replace("{", "{" + " ".repeat(20 * 1024 * 1024)));
  await h.waitFor(
    async () => (await h.status()).health.reasons.some((r: string) => /bytes, over the/.test(r)),
    "the edit refused, in health",
  );
  const lastGood = path.join(h.dataDir, "agent.json.last-good");
  assert.equal(await Deno.readTextFile(lastGood), good);
});
