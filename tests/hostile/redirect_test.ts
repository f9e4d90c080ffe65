/**
 * The agent sends reports only to the configured server: a redirect (here to a second test
 * server on another port, standing in for any other host) is a configuration problem, never
 * followed. The real agent against the real test server's redirect fault, first on the version
 * check at start-up, then on a report's upload. The other server must receive nothing; the
 * report stays queued with a reason naming the other host and server.url, and is uploaded to the
 * configured server once it stops redirecting.
 */
import assert from "#assert";
import { AgentHarness } from "../e2e/_harness.ts";
import { makeSampleReports, startWatsServer } from "../../wats_test_server/mod.ts";
import { liveStatus } from "../e2e/_upload.ts";

Deno.test("redirect: neither the version check nor an upload follows a redirect to another host", async () => {
  await using other = await startWatsServer({ port: 0, tokens: ["the-other-servers-token"] });
  await using h = await AgentHarness.create();
  const [report] = makeSampleReports(1, { seed: 7201 });
  const otherHost = new URL(other.url).host;
  h.server.setFaults({
    scope: "api",
    next: [{ kind: "redirect", to: other.url }], // the version check at start-up
    rules: [{ id: report.id, fault: { kind: "redirect", to: other.url, status: 308 } }],
  });
  await h.start();
  const problem = async () => (await liveStatus(h)).upload.authProblem ?? "";
  await h.waitFor(async () => /redirect/.test(await problem()), "paused by the check's redirect");
  const said = new RegExp(
    `redirected .*to http://${otherHost.replace(/\./g, "\\.")} .*Fix server\\.url`,
  );
  assert.match(await problem(), said);
  assert.match((await liveStatus(h)).health.reasons.join("\n"), said);

  // The next check (authRetrySeconds) is answered; then the report's upload is redirected.
  await h.drop("json", "r.json", JSON.stringify(report));
  await h.waitFor(
    () => h.server.log.entries().some((e) => e.reportId === report.id),
    "the report's upload answered with a redirect",
  );
  await h.waitFor(async () => /HTTP 308/.test(await problem()), "paused by the upload's redirect");
  const s = await liveStatus(h);
  assert.match(s.upload.authProblem, said);
  assert.equal(s.queue.queued, 1, "the report waits in the queue");
  assert.equal(s.queue.completed, 0);
  assert.equal(s.upload.lastError.reportId, report.id, "the reason is the report's last error");
  assert.match(s.upload.lastError.message, said);
  assert.equal(other.log.total, 0, "the other server received nothing");
  assert.equal(h.server.store.get(report.id), undefined);

  h.server.setFaults({});
  await h.waitFor(() => h.server.store.get(report.id) !== undefined, "stored on the server");
  assert.equal(other.log.total, 0, "the other server received nothing");
  await h.waitFor(async () => (await liveStatus(h)).queue.completed === 1, "completed");
});
