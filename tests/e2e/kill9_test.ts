/**
 * Crash safety with the real process: 20 SIGKILLs at random moments while files arrive and
 * uploads run. Nothing may be lost or corrupted; duplicates may only be re-sends of the same id.
 * (Longer runs: `deno run -A scripts/kill9.ts --kills 200 --reports 1000`.)
 */
import assert from "#assert";
import { runKillTest } from "../../scripts/kill9.ts";

Deno.test("kill -9 at 20 random moments: every report on the server once by id, none corrupted", async () => {
  const lines: string[] = [];
  const r = await runKillTest({ kills: 20, reports: 200, log: (l) => lines.push(l) });
  const context = `\n${lines.join("\n")}\n${
    JSON.stringify({ ...r, missing: r.missing.slice(0, 5) })
  }`;
  assert.deepEqual(r.missing, [], "reports lost" + context);
  assert.deepEqual(r.corrupted, [], "reports corrupted" + context);
  assert.deepEqual(r.unknownOnServer, [], "a duplicate under another id" + context);
  assert.equal(r.leftInDrop, 0, "files left in the drop folder" + context);
  assert.equal(r.inError, 0, "nothing may end in error" + context);
  console.log(
    `kill -9: ${r.kills} kills, ${r.reports} reports, ${r.duplicateReceives} re-sent, ${r.seconds} s`,
  );
});
