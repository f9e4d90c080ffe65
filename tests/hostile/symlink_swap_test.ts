/**
 * `followSymlinks: false` holds for the whole way from discovery to the read, with the real
 * agent process: a waiting file swapped for a symbolic link to a private file, during the
 * stability window or after the gate approved it (while the only converter worker is busy), is
 * never read: intake reads the approved file at once and converts those bytes (then the link
 * is left, since the name no longer means what was read), or, when the swap comes first, finds
 * the handle is not the approved file and reads nothing. The private file's content appears nowhere: not on the server, not in
 * the Error folder, not in status, not in the logs; the private file and the link stay as they
 * are.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { logRecords, waitLog } from "../e2e/_ops.ts";
import { makeSampleReport } from "../../wats_test_server/sample_reports.ts";
import { installScriptedStarted, started } from "./_scripted.ts";

/** Every file's text below `dir` (recursively), for a leak search. */
async function allText(dir: string): Promise<string> {
  let out = "";
  for await (const e of Deno.readDir(dir)) {
    const p = path.join(dir, e.name);
    if (e.isDirectory) out += await allText(p);
    else if (e.isFile) out += `${p}\n${await Deno.readTextFile(p)}\n`;
  }
  return out;
}

Deno.test("symlink swap: a file replaced by a link to a private file, before or after the gate, is never read", async () => {
  await using h = await AgentHarness.create({
    converters: [{
      name: "scripted",
      module: "./scripted.js",
      params: { startedDir: "./started", slowMs: 5000 },
    }],
    config: {
      intake: { stableSeconds: 1.5, rescanSeconds: 1, emptyFileSeconds: 5 },
      pool: { min: 1, max: 1, timeoutSeconds: 20 },
    },
  });
  const startedDir = await installScriptedStarted(h);
  const privateDir = path.join(h.dir, "private");
  await Deno.mkdir(privateDir);
  const secretText = `TOPSECRET-${crypto.randomUUID()}`;
  const secret = path.join(privateDir, "secret.txt");
  await Deno.writeTextFile(secret, secretText);
  const swap = async (file: string) => {
    await Deno.remove(file);
    await Deno.symlink(secret, file);
  };
  await h.start();

  // After the gate: the only worker is busy, so the approved file's bytes wait for it; then the
  // name is swapped.
  const blocker = makeSampleReport(1, { seed: 5 });
  await h.drop("scripted", "blocker.json", JSON.stringify(blocker));
  await h.waitFor(async () => (await started(startedDir)).length === 1, "the blocker converting");
  const victimText = JSON.stringify(makeSampleReport(2));
  const victim = await h.drop("scripted", "victim.json", victimText);
  // During the stability window: swapped once the agent has seen it, before the gate's verdict.
  const early = await h.drop("scripted", "early.json", JSON.stringify(makeSampleReport(3)));
  await h.waitFor(() => /Seen \S*early\.json/.test(h.output), "the early file seen");
  await swap(early);
  await h.waitFor(async () => {
    const s = await (await h.control("/status")).json();
    return s.converters[0].taken === 2;
  }, "the victim approved by the gate and handed on");
  await swap(victim);

  await h.waitFor(() => h.server.store.get(blocker.id) !== undefined, "the blocker converted");
  // Let the victim reach the worker, and rescans look at both links a few times.
  await new Promise((r) => setTimeout(r, 3000));

  const status = await (await h.control("/status")).text();
  const cliStatus = await h.status();
  const logs = (await logRecords(h)).map((r) => JSON.stringify(r)).join("\n");
  const places: Record<string, string> = {
    server: JSON.stringify(h.server.store.list()),
    "drop folder (Error notes)": await allText(h.dropDir("scripted")).catch(() => ""),
    "status JSON": status + JSON.stringify(cliStatus),
    "log files": logs,
    "agent output": h.output,
    "converter input": await allText(startedDir),
  };
  for (const [where, text] of Object.entries(places)) {
    assert.ok(!text.includes(secretText), `the private file's content leaked into the ${where}`);
  }
  const given = await started(startedDir);
  assert.ok(given.length <= 2 && given[0].startsWith("blocker.json"), given.join(", "));
  // Read before the swap (the usual order): the victim's own bytes were converted; never the link.
  const victimRead = given.length === 2;
  if (victimRead) {
    assert.ok(given[1].startsWith("victim.json"), given.join(", "));
    assert.equal(await Deno.readTextFile(path.join(startedDir, given[1])), victimText);
  }
  assert.equal(await Deno.readTextFile(secret), secretText, "the private file is untouched");
  for (const link of [victim, early]) {
    assert.ok((await Deno.lstat(link)).isSymlink, `${link} is left as it is`);
  }
  assert.deepEqual(await h.files(path.join(h.dropDir("scripted"), "Error")), []);
  const why = victimRead
    ? /victim\.json changed while it was converted \(it is not a regular file now\)/
    : /victim\.json changed after it was found complete/;
  await waitLog(
    h,
    (rs) => rs.some((r) => why.test(r.message)),
    "the agent saying why it left the victim's name alone",
  );
});
