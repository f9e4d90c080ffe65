/**
 * server.concurrency with the real agent process: with every answer slowed down, the server's
 * request log never shows more report posts in progress at once than configured.
 */
import assert from "#assert";
import { AgentHarness } from "./_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import { liveStatus, maxOverlap, posts } from "./_upload.ts";

for (const concurrency of [1, 3]) {
  Deno.test(`upload: server.concurrency ${concurrency} → at most ${concurrency} post(s) in flight`, async () => {
    await using h = await AgentHarness.create({
      server: { faults: { pSlow: 1, slowMs: 300 } },
      config: { server: { concurrency, timeoutSeconds: 5 } },
    });
    await h.start();
    const reports = makeSampleReports(9, { seed: 400 + concurrency });
    for (const r of reports) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
    await h.waitFor(
      () => reports.every((r) => h.server.store.get(r.id)),
      "all 9 on the server",
      30_000,
    );
    const sent = posts(h.server);
    assert.equal(sent.length, 9, "every post answered: none timed out and was retried");
    const overlap = maxOverlap(sent);
    console.log(`concurrency ${concurrency}: at most ${overlap} post(s) in flight`);
    assert.ok(overlap <= concurrency, `${overlap} posts in flight at once`);
    if (concurrency > 1) assert.ok(overlap >= 2, "uploads do run in parallel");
    await h.waitFor(async () => {
      const s = await liveStatus(h);
      return s.queue.completed === 9 && s.upload.inFlight === 0;
    }, "all 9 completed, nothing in flight");
  });
}
