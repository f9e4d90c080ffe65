/**
 * The circuit breaker with the real agent process: an outage costs one probe per interval, not
 * one request per report; when the server is back the breaker closes within a probe interval
 * and the backlog drains at full speed. The outage numbers are printed (not asserted tightly:
 * the machine is shared).
 */
import assert from "#assert";
import { AgentHarness } from "./_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import { liveStatus, posts, sleep, versionGets } from "./_upload.ts";

const settings = {
  concurrency: 4,
  timeoutSeconds: 2,
  retry: { initialSeconds: 0.2, maxSeconds: 2, budgetPerMinute: 60 },
  breaker: { failures: 5, probeSeconds: 0.5 },
};
/** Uploads that can fail before the breaker opens: the threshold, plus the others in flight. */
const maxFailedBeforeOpen = settings.breaker.failures + settings.concurrency - 1;

/** A counter from the agent's /metrics. */
async function metric(h: AgentHarness, name: string): Promise<number> {
  const text = await (await h.control("/metrics")).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = new RegExp(`^wats_agent_${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) sum += Number(m[2]);
  }
  return sum;
}

Deno.test("upload breaker: server down → no uploads, one probe per interval; back up → closes on the first good probe and drains at full speed", async () => {
  await using h = await AgentHarness.create({ config: { server: settings } });
  await h.start();
  await h.waitFor(async () => (await liveStatus(h)).server.version !== null, "the start-up check");
  await h.server.stop();
  const reports = makeSampleReports(60, { seed: 301 });
  for (const r of reports) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  await h.waitFor(
    async () => {
      const s = await liveStatus(h);
      return s.upload.breaker !== "closed" &&
        s.queue.queued + s.queue.error + s.queue.processing === 60;
    },
    "60 reports waiting with the breaker open",
    30_000,
  );

  const atOpen = await liveStatus(h);
  assert.ok(
    atOpen.upload.attempts5m <= maxFailedBeforeOpen,
    `${atOpen.upload.attempts5m} uploads tried`,
  );
  assert.match(atOpen.upload.lastError.message, /connection refused by 127\.0\.0\.1:\d+/);
  assert.equal(atOpen.health.state, "unhealthy");
  assert.match(atOpen.health.reasons.join("\n"), /server unreachable/);
  const probesBefore = await metric(h, "breaker_probes_total");
  const outageMs = 3000;
  await sleep(outageMs);
  const during = await liveStatus(h);
  assert.equal(
    during.upload.attempts5m,
    atOpen.upload.attempts5m,
    "no upload while the breaker is open",
  );
  const probes = (await metric(h, "breaker_probes_total")) - probesBefore;
  const probeMs = settings.breaker.probeSeconds * 1000;
  assert.ok(probes >= 1 && probes <= outageMs / probeMs + 2, `${probes} probes in ${outageMs} ms`);

  const upAt = Date.now();
  await h.server.start();
  await h.waitFor(
    () => reports.every((r) => h.server.store.get(r.id)),
    "all 60 on the server",
    30_000,
  );
  const sent = posts(h.server);
  assert.equal(sent.length, 60, "after the outage each report is sent once, none fails");
  assert.ok(sent.every((p) => p.status === 200));
  for (const r of reports) assert.equal(h.server.store.get(r.id)!.receiveCount, 1);
  const firstProbe = versionGets(h.server).find((g) => Date.parse(g.startedAt) >= upAt - 50)!;
  assert.equal(firstProbe.status, 200);
  const firstOk = Math.min(...sent.map((p) => Date.parse(p.startedAt)));
  const lastOk = Math.max(...sent.map((p) => Date.parse(p.finishedAt!)));
  const closeMs = firstOk - upAt;
  const afterProbeMs = firstOk - Date.parse(firstProbe.finishedAt!);
  const rate = sent.length / Math.max(0.001, (lastOk - firstOk) / 1000);
  console.log(
    `outage: server up → first stored report ${closeMs} ms (probe interval ${probeMs} ms; ` +
      `${afterProbeMs} ms after the first good probe); backlog of 60 drained at ` +
      `${rate.toFixed(1)} reports/s (${lastOk - firstOk} ms, concurrency ${settings.concurrency})`,
  );
  assert.ok(afterProbeMs < 2000, `the breaker took ${afterProbeMs} ms to act on a good probe`);
  const s = await liveStatus(h);
  assert.equal(s.upload.breaker, "closed");
  assert.equal(s.queue.completed, 60);
});

Deno.test("upload breaker: a server that answers 503 to everything costs one probe per interval, not one request per report", async () => {
  await using h = await AgentHarness.create({ config: { server: settings } });
  await h.start();
  await h.waitFor(async () => (await liveStatus(h)).server.version !== null, "the start-up check");
  h.server.setFaults({ scope: "api", p5xx: 1, statuses5xx: [503] });
  const reports = makeSampleReports(30, { seed: 302 });
  for (const r of reports) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  await h.waitFor(
    async () => {
      const s = await liveStatus(h);
      return s.upload.breaker !== "closed" &&
        s.queue.queued + s.queue.error + s.queue.processing === 30;
    },
    "30 reports waiting with the breaker open",
    30_000,
  );
  const postsAtOpen = posts(h.server).length;
  assert.ok(postsAtOpen <= maxFailedBeforeOpen, `${postsAtOpen} posts before the breaker opened`);
  const seq = h.server.log.lastSeq;
  const windowMs = 3000;
  await sleep(windowMs);
  const inWindow = h.server.log.entries(seq).filter((e) => e.finishedAt !== null);
  const postsIn = inWindow.filter((e) => e.method === "POST").length;
  const probesIn = inWindow.filter((e) => /\/api\/app\/version$/i.test(e.path)).length;
  const probeMs = settings.breaker.probeSeconds * 1000;
  assert.equal(postsIn, 0, "no report is sent while the breaker is open");
  assert.ok(
    probesIn >= 1 && probesIn <= windowMs / probeMs + 2,
    `${probesIn} probes in ${windowMs} ms`,
  );
  assert.ok(inWindow.every((e) => e.status === 503));
  console.log(
    `503 outage: ${postsAtOpen} posts until the breaker opened (threshold ${settings.breaker.failures}, ` +
      `concurrency ${settings.concurrency}), then ${probesIn} probes and 0 posts in ${windowMs} ms ` +
      `for 30 waiting reports`,
  );

  h.server.clearFaults();
  await h.waitFor(
    () => reports.every((r) => h.server.store.get(r.id)),
    "all 30 on the server",
    30_000,
  );
  for (const r of reports) assert.equal(h.server.store.get(r.id)!.receiveCount, 1);
});
