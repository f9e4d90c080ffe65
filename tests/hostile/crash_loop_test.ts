/**
 * The hostile crash-loop campaign, short: good files mixed with hostile ones (zip bomb, sparse
 * giant, 50,000-deep JSON, garbage, a planted note link, a forged-line name, a file that kills the
 * agent), the agent in a 500 MiB memory cgroup, killed with SIGKILL four times and restarted.
 * (Longer runs: `deno run -A scripts/crash_loop.ts --rounds 12 --good 120`.)
 */
import assert from "#assert";
import { crashLoopOk, runCrashLoop } from "../../scripts/crash_loop.ts";
import { cgroupUnavailable } from "./_cgroup.ts";

Deno.test({
  name:
    "crash loop: every good report on the server, every hostile file in Error, nothing outside touched",
  ignore: cgroupUnavailable !== null,
  async fn() {
    const lines: string[] = [];
    const r = await runCrashLoop({ rounds: 4, good: 30, memoryMb: 500, log: (l) => lines.push(l) });
    const context = `\n${lines.join("\n")}\n${JSON.stringify(r, null, 2)}`;
    assert.deepEqual(r.missing, [], "good reports lost" + context);
    assert.deepEqual(
      r.unknownOnServer,
      [],
      "reports on the server that were not dropped" + context,
    );
    assert.deepEqual(r.hostileNotInError, [], "hostile files not in Error" + context);
    assert.equal(r.inError.length, r.hostile, "only the hostile files in Error" + context);
    assert.deepEqual(
      r.outsideChanged,
      [],
      "files outside the configured folders changed" + context,
    );
    assert.deepEqual(r.secretFoundIn, [], "the secret leaked" + context);
    assert.ok(crashLoopOk(r));
    console.log(
      `crash loop: ${r.kills} kills, ${r.oomKills} OOM kills, peak ${r.peakMb} MiB, ` +
        `${r.goodOnServer}/${r.good} good on the server, ${r.hostileInError} hostile in Error`,
    );
  },
});
