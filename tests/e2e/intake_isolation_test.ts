/**
 * Converter isolation with the real agent process and a custom converter module
 * (tests/fixtures/converters/moody.js) that throws, returns garbage, exits, runs out of memory,
 * never returns or loops forever when a file tells it to: the bad file ends in Error with the
 * reason, every other file still reaches the server, and a loop the pool can't stop makes the
 * agent drain and exit 75; after the restart the poison file stays in Error.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";

const moody = path.resolve(import.meta.dirname!, "../fixtures/converters/moody.js");

async function errorNote(h: AgentHarness, name: string): Promise<string> {
  return await Deno.readTextFile(path.join(h.dropDir("moody"), "Error", `${name}.error.txt`));
}

function serials(h: AgentHarness): string[] {
  return h.server.store.list().map((r) => r.report.sn as string).sort();
}

Deno.test("intake isolation: throwing, garbage, exiting, out-of-memory and hanging converters fail alone", async () => {
  await using h = await AgentHarness.create({
    converters: [{ name: "moody", module: moody }],
    config: { pool: { min: 2, max: 3, timeoutSeconds: 6, memoryMb: 32, maxLostWorkers: 2 } },
  });
  await h.start();
  const bad: Record<string, string> = {
    "throws.txt": "THROW on purpose",
    "garbage.txt": "GARBAGE",
    "invalid.txt": "INVALID SN-X",
    "exits.txt": "EXIT",
    "oom_event.txt": "OOM_TIMER",
    "oom_silent.txt": "OOM",
    "hangs.txt": "HANG",
  };
  for (const [name, text] of Object.entries(bad)) await h.drop("moody", name, text);
  for (let i = 1; i <= 6; i++) await h.drop("moody", `good-${i}.txt`, `OK GOOD-${i}`);

  const errorDir = path.join(h.dropDir("moody"), "Error");
  await h.waitFor(
    async () => {
      const files = await h.files(errorDir);
      return Object.keys(bad).every((n) => files.includes(`${n}.error.txt`));
    },
    "every bad file in Error with its note",
    90_000,
  );
  await h.waitFor(() => serials(h).length === 6, "the 6 good reports on the server", 30_000);
  assert.deepEqual(serials(h), ["GOOD-1", "GOOD-2", "GOOD-3", "GOOD-4", "GOOD-5", "GOOD-6"]);

  assert.match(
    await errorNote(h, "throws.txt"),
    /What happened: the converter failed: moody was told to throw/,
  );
  assert.match(
    await errorNote(h, "garbage.txt"),
    /returned an object instead of an array of reports/,
  );
  assert.match(await errorNote(h, "invalid.txt"), /is not valid WSJF/);
  assert.match(
    await errorNote(h, "exits.txt"),
    /the converter crashed: the worker exited with code 3/,
  );
  assert.match(await errorNote(h, "oom_event.txt"), /ran out of memory \(limit 32 MiB\)/);
  assert.match(
    await errorNote(h, "oom_silent.txt"),
    /did not finish within 6 s .*ran out of memory/,
  );
  assert.match(await errorNote(h, "hangs.txt"), /did not finish within 6 s/);
  for (const name of Object.keys(bad)) assert.match(await errorNote(h, name), /What to do: \S/);

  const s = await h.status();
  assert.equal(s.running, true, `the agent is still running\n${h.output.slice(-3000)}`);
  assert.equal(s.pool.lost, 0, "every worker was reclaimed");
  assert.equal(s.health.state, "degraded", "conversion failures in the last hour");
  assert.equal(s.converters[0].failed, 7);
  assert.equal(s.converters[0].converted, 6);
  assert.deepEqual(await h.files(h.dropDir("moody")), [], "nothing left in the drop folder");
});

Deno.test("intake isolation: an endless loop → Error, drain, exit 75; after the restart the file stays in Error", async () => {
  await using h = await AgentHarness.create({
    converters: [{ name: "moody", module: moody }],
    config: { pool: { min: 1, max: 2, timeoutSeconds: 3, maxLostWorkers: 1 } },
  });
  await h.start();
  await h.drop("moody", "good-1.txt", "OK BEFORE-1");
  await h.waitFor(() => serials(h).includes("BEFORE-1"), "a good file through first");
  await h.drop("moody", "poison.txt", "LOOP forever");
  assert.equal(await h.exited(60_000), 75, "the agent exits with the restart code");
  assert.match(h.output, /Converter pool can't recover \(1 converter worker\(s\) are stuck/);
  const errorDir = path.join(h.dropDir("moody"), "Error");
  assert.deepEqual(await h.files(errorDir), ["poison.txt", "poison.txt.error.txt"]);
  assert.match(await errorNote(h, "poison.txt"), /still computing: stuck in a loop/);

  // What the service manager does: start it again.
  await h.start();
  await h.drop("moody", "good-2.txt", "OK AFTER-2");
  await h.waitFor(() => serials(h).includes("AFTER-2"), "a good file after the restart");
  const s = await h.status();
  assert.equal(s.pool.lost, 0, "no worker stuck in the new process");
  assert.equal(s.pool.timeouts, 0, "the poison file was not taken again");
  assert.deepEqual(await h.files(errorDir), ["poison.txt", "poison.txt.error.txt"]);
  assert.equal(await h.stop(), 0);
});
