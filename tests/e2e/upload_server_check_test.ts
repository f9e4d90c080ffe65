/**
 * The server check with the real agent process: at start-up and on reconnect the agent reads
 * the server version and compares the server's clock (Date header) with its own; a difference
 * over server.clockSkewWarnSeconds is a warning in the log and in status (health degraded).
 */
import assert from "#assert";
import { AgentHarness } from "./_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import { agentLog, liveStatus, posts } from "./_upload.ts";

Deno.test("upload: start-up reads the server version; a skewed server clock is a warning in the log and in status; a reconnect reads both again", async () => {
  await using h = await AgentHarness.create({
    server: { version: "2031.4.1", clockSkewMs: 600_000 },
    config: { server: { clockSkewWarnSeconds: 120, breaker: { failures: 2, probeSeconds: 0.5 } } },
  });
  await h.start();
  await h.waitFor(async () => (await liveStatus(h)).server.version !== null, "the start-up check");
  let s = await liveStatus(h);
  assert.equal(s.server.version, "2031.4.1");
  assert.ok(Math.abs(s.server.clockSkewSeconds - 600) <= 5, `skew ${s.server.clockSkewSeconds} s`);
  assert.equal(s.health.state, "degraded");
  assert.match(
    s.health.reasons.join("\n"),
    /station clock differs from the server's by (59\d|60\d) s; fix the time/,
  );

  // Reconnect: the server goes away, its clock is corrected, it comes back.
  await h.server.stop();
  const reports = makeSampleReports(3, { seed: 501 });
  for (const r of reports) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  await h.waitFor(
    async () => (await liveStatus(h)).upload.breaker !== "closed",
    "the breaker open",
  );
  h.server.setClockSkew(0);
  await h.server.start();
  await h.waitFor(() => reports.every((r) => h.server.store.get(r.id)), "all 3 on the server");
  await h.waitFor(async () => (await liveStatus(h)).health.state === "healthy", "healthy again");
  s = await liveStatus(h);
  assert.ok(
    Math.abs(s.server.clockSkewSeconds) <= 5,
    `skew ${s.server.clockSkewSeconds} s after reconnect`,
  );
  assert.ok(posts(h.server).length >= 3);

  assert.equal(await h.stop(), 0);
  const log = await agentLog(h);
  const skew = log.filter((l) => /server clock differs/.test(l.message));
  assert.equal(skew.length, 1, "one warning, at start-up");
  assert.equal(skew[0].level, "WARNING");
  assert.ok(Math.abs(skew[0].properties.skew - 600) <= 5);
  assert.ok(log.some((l) => /Connected to WATS .*2031\.4\.1.*start-up/.test(l.message)));
  assert.ok(log.some((l) => /clock agrees with the server's again/.test(l.message)));
});
