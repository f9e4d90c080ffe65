/**
 * A file name is the world's text: one with a newline and a fake log line after it, a carriage
 * return, a terminal escape, a Unicode line separator or a right-to-left override must not forge
 * or hide a line in the agent's text log (stderr), its JSON log or `agent status`. Real files
 * with those names are dropped into the real agent.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { agentLog } from "../e2e/_upload.ts";
import { KeyedLog } from "../../src/watch/keyed_log.ts";

const FORGED = "2026-01-01 00:00:00.000 ERROR upload: forged line";
/** Names that would break a line, rewrite a terminal or reorder what a reader sees. */
const NAMES = [
  `bad\n${FORGED}.json`,
  `cr\r${FORGED}.json`,
  "esc\x1b[2K\x1b[1Ghidden.json",
  `ls\u2028${FORGED}.json`,
  "bidi\u202enosj.exe.json",
  "c1\x85next.json",
];
// deno-lint-ignore no-control-regex -- what must not reach the text log raw
const RAW_CONTROLS = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

Deno.test({
  name: "log forging: control characters in file names are escaped in the text log and status",
  // Windows file names can't hold control characters.
  ignore: Deno.build.os === "windows",
  async fn() {
    await using h = await AgentHarness.create({
      converters: [{ name: "json", format: "wsjf" }],
    });
    await h.start();
    for (const name of NAMES) await h.drop("json", name, "this is not a WSJF report");
    const errorDir = path.join(h.dropDir("json"), "Error");
    await h.waitFor(
      async () =>
        (await h.files(errorDir)).filter((f) => !f.endsWith(".error.txt")).length ===
          NAMES.length,
      "every file moved to Error",
    );
    const status = await h.cli(["status", "--config", h.configFile]);
    assert.equal(await h.stop(), 0);

    for (const [what, text] of [["stderr", h.output], ["agent status", status.stdout]]) {
      const lines = text.split("\n");
      assert.deepEqual(
        lines.filter((l) => l.startsWith("2026-01-01")),
        [],
        `${what}: no forged line`,
      );
      const raw = lines.filter((l) => RAW_CONTROLS.test(l));
      assert.deepEqual(raw, [], `${what}: no raw control character`);
      // The names are there, escaped, so a person can still find the files.
      assert.ok(text.includes(`bad\\n${FORGED}.json`), `${what} names the file:\n${text}`);
      assert.ok(text.includes("bidi\\u202enosj.exe.json"), what);
    }
    // The JSON log keeps one record a line, each with the name as it is.
    const records = await agentLog(h);
    const names = new Set(NAMES.map((n) => path.join(h.dropDir("json"), n)));
    const mentioned = records.filter((r) =>
      Object.values(r.properties ?? {}).some((v) => names.has(String(v)))
    );
    assert.ok(mentioned.length >= NAMES.length, "the JSON log holds the exact names");
  },
});

Deno.test("log forging: the seen and kept logs take keys with tabs and newlines, and read them back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "keyed-log-" });
  try {
    const file = path.join(dir, "seen.log");
    const log = await KeyedLog.open(file);
    const key = `/drop/bad\n${FORGED}\t.json`;
    await log.set(key, "value\twith\ntab and newline");
    await log.set("C:\\Data\\plain.txt", "C:\\Error\\plain.txt");
    await log.close();
    assert.equal((await Deno.readTextFile(file)).split("\n").length, 3, "one line per entry");
    const again = await KeyedLog.open(file);
    assert.equal(again.get(key), "value\twith\ntab and newline");
    assert.equal(again.get("C:\\Data\\plain.txt"), "C:\\Error\\plain.txt");
    await again.delete(key);
    await again.close();
    assert.equal((await KeyedLog.open(file)).get(key), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
