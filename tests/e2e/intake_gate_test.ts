/**
 * The stability gate with the real agent process: a file written slowly (one byte every
 * 100 ms for seconds) is taken only when complete, so the server gets the whole report and
 * nothing partial; a zero-byte file waits and then goes to Error as "empty file".
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

Deno.test("intake gate: a slow writer's file is uploaded complete, never partial", async () => {
  await using h = await AgentHarness.create({
    converters: [{ name: "json", format: "wsjf" }],
    config: { intake: { stableSeconds: 1, rescanSeconds: 1, emptyFileSeconds: 30 } },
  });
  await h.start();
  const [report] = makeSampleReports(1, { seed: 21 });
  const bytes = new TextEncoder().encode(JSON.stringify(report));
  const file = path.join(h.dropDir("json"), "slow.json");
  const f = await Deno.open(file, { write: true, createNew: true });
  const tail = 45; // the last 45 bytes one at a time, 100 ms apart: 4.5 s of a partial file
  await f.write(bytes.subarray(0, bytes.length - tail));
  for (let i = bytes.length - tail; i < bytes.length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    await f.write(bytes.subarray(i, i + 1));
  }
  f.close();

  await h.waitFor(() => h.server.store.get(report.id) !== undefined, "the report on the server");
  const stored = h.server.store.get(report.id)!;
  assert.equal(stored.receiveCount, 1);
  assert.equal(stored.report.sn, report.sn);
  assert.deepEqual(stored.report.root, report.root, "the whole step tree arrived");
  assert.equal(h.server.store.size, 1, "nothing else was uploaded");
  assert.deepEqual(
    await h.files(path.join(h.dropDir("json"), "Error")),
    [],
    "no partial file in Error",
  );
  assert.doesNotMatch(h.output, /can't be converted/);
});

Deno.test("intake gate: a zero-byte file waits, then goes to Error as an empty file; one filled in time converts", async () => {
  await using h = await AgentHarness.create({
    converters: [{ name: "json", format: "wsjf" }],
    config: { intake: { stableSeconds: 0.2, rescanSeconds: 1, emptyFileSeconds: 3 } },
  });
  await h.start();
  const drop = h.dropDir("json");
  await Deno.writeTextFile(path.join(drop, "empty.json"), "");
  await Deno.writeTextFile(path.join(drop, "late.json"), "");
  await new Promise((r) => setTimeout(r, 1000));
  const [report] = makeSampleReports(1, { seed: 22 });
  await Deno.writeTextFile(path.join(drop, "late.json"), JSON.stringify(report));

  const errorDir = path.join(drop, "Error");
  // The note is written before the file is moved in: wait for both.
  await h.waitFor(
    () => h.inError(errorDir, "empty.json"),
    "empty.json in Error with its note",
  );
  const note = await Deno.readTextFile(path.join(errorDir, "empty.json.error.txt"));
  assert.match(note, /What happened: empty file: it stayed 0 bytes for 3 s/);
  await h.waitFor(
    () => h.server.store.get(report.id) !== undefined,
    "the late-filled file converted",
  );
  assert.deepEqual(await h.files(errorDir), ["empty.json", "empty.json.error.txt"]);
});
