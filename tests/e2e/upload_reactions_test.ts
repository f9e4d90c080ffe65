/**
 * The reaction table (docs/wsjf.md#answers-and-reactions), row by row, with the real
 * agent process against the real test server: what the server saw, what the queue holds, what
 * status/health say and what the JSON log recorded for every attempt.
 */
import assert from "#assert";
import { AgentHarness } from "./_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import {
  attemptLines,
  errorSidecars,
  liveStatus,
  maxOverlap,
  posts,
  versionGets,
  waitForARetry,
} from "./_upload.ts";

Deno.test("upload: 2xx naming the report's ID completes it; every attempt is logged with its correlation id", async () => {
  await using h = await AgentHarness.create();
  await h.start();
  const [r] = makeSampleReports(1, { seed: 101 });
  await h.drop("json", "r.json", JSON.stringify(r));
  await h.waitFor(() => h.server.store.get(r.id) !== undefined, "the report on the server");
  const [post] = posts(h.server, r.id);
  assert.equal(post.authorization, `Basic ${h.token}`, "the token is sent as given after Basic");
  assert.match(post.headers["content-type"], /^application\/json/);
  assert.equal(
    post.headers["content-length"],
    String(post.bodyBytes),
    "a small body is sent whole",
  );
  await h.waitFor(
    async () => (await liveStatus(h)).queue.completed === 1,
    "completed in the queue",
  );
  assert.equal(await h.stop(), 0); // flushes agent.log
  const [line, ...more] = await attemptLines(h, r.id);
  assert.equal(more.length, 0);
  assert.equal(line.level, "INFO");
  assert.equal(line.properties.attempt, 1);
  assert.equal(line.properties.outcome, "stored");
  assert.equal(line.properties.status, 200);
  assert.match(line.properties.correlationId, /^[0-9a-z]{10}$/);
});

Deno.test("upload: 200 naming another ID is not a confirmation: the report is retried, then completed", async () => {
  await using h = await AgentHarness.create();
  const [r] = makeSampleReports(1, { seed: 102 });
  h.server.setFaults({ rules: [{ id: r.id, fault: "wrong-id", times: 1 }] });
  await h.start();
  await h.drop("json", "r.json", JSON.stringify(r));
  await h.waitFor(() => h.server.store.get(r.id) !== undefined, "the report on the server");
  const sent = posts(h.server, r.id);
  assert.deepEqual(sent.map((p) => [p.status, p.fault]), [[200, "wrong-id (rule)"], [200, null]]);
  assert.equal(
    h.server.store.get(r.id)!.receiveCount,
    1,
    "stored by the retry, not by the first 200",
  );
  await h.waitFor(
    async () => (await liveStatus(h)).queue.completed === 1,
    "completed in the queue",
  );
  assert.equal(await h.stop(), 0);
  const [first, second, ...more] = await attemptLines(h, r.id);
  assert.equal(more.length, 0);
  assert.equal(first.level, "WARNING");
  assert.equal(first.properties.outcome, "transient");
  assert.match(first.properties.message, /did not confirm report .* names ID/);
  assert.deepEqual([second.properties.attempt, second.properties.outcome], [2, "stored"]);
});

Deno.test("upload: 400, 409 and 413 put the report in error with the server's message; no automatic retry", async () => {
  await using h = await AgentHarness.create();
  const [bad, conflict, big, good] = makeSampleReports(4, { seed: 103, extraNumericSteps: 0 });
  bad.processCode = 9999; // the agent accepts it; the server knows no such process
  big.sn = "BIG-1";
  const conflictMessage = "Report conflicts with a stored one (test)";
  h.server.setFaults({
    rules: [
      { id: conflict.id, fault: { kind: "status", status: 409, message: conflictMessage } },
      { sn: "BIG-1", fault: { kind: "status", status: 413, message: "Request entity too large" } },
    ],
  });
  await h.start();
  for (const r of [bad, conflict, big, good]) {
    await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  }
  await h.waitFor(async () => (await errorSidecars(h)).length === 3, "3 reports in error");
  await h.waitFor(() => h.server.store.get(good.id) !== undefined, "the good report on the server");
  await waitForARetry(h);
  for (const r of [bad, conflict, big]) {
    assert.equal(posts(h.server, r.id).length, 1, `report ${r.sn} sent once, not retried`);
    assert.equal(h.server.store.get(r.id), undefined);
  }
  const byId = new Map((await errorSidecars(h)).map((e) => [e.id, e]));
  const serverSaid = posts(h.server, bad.id)[0].message!;
  assert.match(serverSaid, /process/i, "the server's own validation message");
  const expected: [typeof bad, number, string][] = [
    [bad, 400, serverSaid],
    [conflict, 409, conflictMessage],
    [big, 413, "Request entity too large"],
  ];
  for (const [r, status, message] of expected) {
    const e = byId.get(r.id)!;
    assert.equal(e.permanent, true, `${status} is permanent`);
    assert.equal(e.retryAt, null);
    assert.equal(e.lastStatus, status);
    assert.equal(e.serverMessage, message);
    assert.ok(e.reason.includes(message), `the reason quotes the server: ${e.reason}`);
  }
  const s = await liveStatus(h);
  assert.equal(s.queue.error, 3);
  assert.equal(s.queue.retrying, 0);
  assert.equal(s.health.state, "degraded");
  assert.ok(s.health.reasons.some((x: string) => /3 report\(s\) rejected by the server/.test(x)));
  assert.equal(await h.stop(), 0);
  const [line] = await attemptLines(h, bad.id);
  assert.equal(line.level, "ERROR");
  assert.equal(line.properties.outcome, "rejected");
  assert.equal(line.properties.status, 400);
});

Deno.test("upload: a real 413 from the server's body limit is permanent", async () => {
  await using h = await AgentHarness.create();
  const [r] = makeSampleReports(1, { seed: 104, extraNumericSteps: 20 });
  h.server.setFaults({ maxBodyBytes: 2000 });
  await h.start();
  await h.drop("json", "r.json", JSON.stringify(r));
  await h.waitFor(async () => (await errorSidecars(h)).length === 1, "the report in error");
  const probe = await waitForARetry(h);
  // Past the limit the server reads no id: the one post is the only 413.
  assert.deepEqual(posts(h.server).filter((p) => p.reportId !== probe).map((p) => p.status), [413]);
  const [e] = await errorSidecars(h);
  assert.equal(e.lastStatus, 413);
  assert.equal(e.permanent, true);
  assert.match(e.serverMessage, /accepts at most 2000 bytes/);
  assert.match(e.reason, /too large for the server/);
});

Deno.test("upload: 401 then 403 pause every upload (unhealthy, what to fix); editing the token in agent.json resumes without a restart", async () => {
  await using h = await AgentHarness.create({ server: { noRightsTokens: ["no-rights-token"] } });
  const good = h.token;
  const server = h.config.server as Record<string, unknown>;
  server.token = "wrong-token";
  server.authRetrySeconds = 1;
  await h.writeConfig();
  await h.start();
  const pid = h.pid;
  const reports = makeSampleReports(3, { seed: 105 });
  for (const r of reports) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));

  await h.waitFor(async () => (await liveStatus(h)).upload.authProblem !== null, "uploads paused");
  let s = await liveStatus(h);
  assert.equal(s.health.state, "unhealthy");
  const reason = s.health.reasons.find((x: string) => x.startsWith("uploads paused"));
  assert.match(reason, /token rejected: HTTP 401 "Authorization has been denied/);
  assert.match(reason, /Fix server\.token in the config \(or AGENT_TOKEN\)/);
  await h.waitFor(async () => (await liveStatus(h)).queue.queued === 3, "all 3 back in queued");

  // The test server wants the token on GET /api/App/Version too, so the start-up check found
  // the bad token before any upload; the slow timer asks again with one request per
  // authRetrySeconds, not one request per report.
  const requests = () => posts(h.server).length + versionGets(h.server).length;
  // Three trials in a row, each at least most of authRetrySeconds (1 s) after the one before:
  // one request per tick, not a burst of one per report.
  const before = requests();
  await h.waitFor(() => requests() >= before + 3, "three trials on the auth timer");
  const trials = [...posts(h.server), ...versionGets(h.server)].sort((a, b) => a.seq - b.seq)
    .slice(before, before + 3).map((e) => Date.parse(e.startedAt));
  for (let i = 1; i < trials.length; i++) {
    assert.ok(
      trials[i] - trials[i - 1] >= 800,
      `trials ${trials[i] - trials[i - 1]} ms apart, expected about authRetrySeconds (1 s)`,
    );
  }
  assert.ok([...posts(h.server), ...versionGets(h.server)].every((p) => p.status === 401));
  assert.equal(
    (await liveStatus(h)).queue.error,
    0,
    "a rejected token never puts reports in error",
  );

  server.token = "no-rights-token";
  await h.writeConfig();
  await h.waitFor(
    async () => /HTTP 403/.test((await liveStatus(h)).upload.authProblem ?? ""),
    "paused again: 403",
  );
  s = await liveStatus(h);
  assert.match(
    s.health.reasons.join("\n"),
    /token rejected: HTTP 403 .*without the right to submit/,
  );
  assert.equal(h.server.store.size, 0);

  server.token = good;
  await h.writeConfig();
  await h.waitFor(() => reports.every((r) => h.server.store.get(r.id)), "all 3 on the server");
  s = await liveStatus(h);
  assert.equal(s.pid, pid, "the same process: no restart");
  assert.equal(s.upload.authProblem, null);
  await h.waitFor(async () => (await liveStatus(h)).health.state === "healthy", "healthy again");
  for (const r of reports) assert.equal(h.server.store.get(r.id)!.receiveCount, 1);
});

Deno.test("upload: 401 on report posts only (Version is public on real WATS): one trial upload per authRetrySeconds, then resume", async () => {
  await using h = await AgentHarness.create({ config: { server: { authRetrySeconds: 1 } } });
  h.server.setFaults({ failNext: { count: 3, fault: "401" } });
  await h.start();
  const reports = makeSampleReports(4, { seed: 111 });
  await h.drop("json", "first.json", JSON.stringify(reports[0]));
  await h.waitFor(
    async () => /token rejected/.test((await liveStatus(h)).upload.authProblem ?? ""),
    "paused",
  );
  for (const r of reports.slice(1)) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  await h.waitFor(
    () => reports.every((r) => h.server.store.get(r.id)),
    "all 4 on the server",
    30_000,
  );
  const sent = posts(h.server);
  assert.deepEqual(sent.slice(0, 4).map((p) => p.status), [401, 401, 401, 200]);
  assert.equal(maxOverlap(sent.slice(0, 4)), 1, "one request at a time while paused");
  // Three trials after the first 401, one at a time, about authRetrySeconds apart; the third
  // is accepted and the rest flow.
  for (let i = 1; i < 4; i++) {
    const gap = Date.parse(sent[i].startedAt) - Date.parse(sent[i - 1].finishedAt!);
    assert.ok(gap >= 900, `trial ${i} came ${gap} ms after the previous 401 (authRetrySeconds 1)`);
  }
  assert.equal((await liveStatus(h)).upload.authProblem, null);
  assert.equal(await h.stop(), 0);
  const authLines = (await attemptLines(h)).filter((l) => l.properties.outcome === "auth");
  assert.equal(authLines.length, 3);
  assert.ok(authLines.every((l) => l.level === "ERROR" && l.properties.status === 401));
});

Deno.test("upload: 404 (wrong URL) pauses uploads from the start-up check; fixing server.url resumes", async () => {
  await using h = await AgentHarness.create({ server: { pathPrefix: "/wats" } });
  const server = h.config.server as Record<string, unknown>;
  server.url = h.server.origin; // without the /wats prefix the API is not found
  await h.writeConfig();
  await h.start();
  await h.waitFor(
    async () => (await liveStatus(h)).upload.authProblem !== null,
    "paused by the check",
  );
  const s = await liveStatus(h);
  assert.equal(s.health.state, "unhealthy");
  assert.match(s.health.reasons.join("\n"), /wrong server URL: HTTP 404 .*Fix server\.url/);
  const [r] = makeSampleReports(1, { seed: 106 });
  await h.drop("json", "r.json", JSON.stringify(r));
  await h.waitFor(async () => (await liveStatus(h)).queue.queued === 1, "the report waits, queued");
  assert.equal(posts(h.server).length, 0, "no report is sent to a URL known to be wrong");

  server.url = `${h.server.url}/api/`; // the form people paste; the agent drops the /api/
  await h.writeConfig();
  await h.waitFor(() => h.server.store.get(r.id) !== undefined, "the report on the server");
  assert.equal(posts(h.server, r.id)[0].path, "/wats/api/Report/WSJF");
  await h.waitFor(async () => (await liveStatus(h)).health.state === "healthy", "healthy again");
});

Deno.test("upload: 408 and every 5xx are retried with full-jitter backoff within the configured cap", async () => {
  await using h = await AgentHarness.create({
    config: {
      server: {
        retry: { initialSeconds: 0.1, maxSeconds: 0.4, budgetPerMinute: 60 },
        breaker: { failures: 10, probeSeconds: 0.5 },
      },
    },
  });
  h.server.setFaults({ next: ["408", "500", "502", "503", "504"] });
  await h.start();
  const [r] = makeSampleReports(1, { seed: 107 });
  await h.drop("json", "r.json", JSON.stringify(r));
  await h.waitFor(() => h.server.store.get(r.id) !== undefined, "the report on the server");
  // A status fault answers before the body is read, so only the last post names the report.
  assert.deepEqual(posts(h.server).map((p) => p.status), [408, 500, 502, 503, 504, 200]);
  assert.equal(h.server.store.get(r.id)!.receiveCount, 1);
  await h.waitFor(async () => (await liveStatus(h)).queue.completed === 1, "completed");
  assert.equal(await h.stop(), 0);
  const lines = await attemptLines(h, r.id);
  assert.deepEqual(lines.map((l) => l.properties.attempt), [1, 2, 3, 4, 5, 6]);
  for (const l of lines.slice(0, 5)) {
    assert.equal(l.level, "WARNING");
    assert.equal(l.properties.outcome, "transient");
    const cap = Math.min(0.4, 0.1 * 2 ** (l.properties.attempt - 1));
    assert.ok(
      l.properties.retryS <= cap + 0.05,
      `attempt ${l.properties.attempt}: retry in ${l.properties.retryS} s, above the cap ${cap} s`,
    );
  }
  assert.match(
    lines[2].properties.message,
    /HTTP 502 "502 Bad Gateway"/,
    "a proxy's HTML page, summarised",
  );
  assert.equal(lines[5].properties.outcome, "stored");
});

Deno.test("upload: 429 with Retry-After in seconds holds every upload until then", async () => {
  await using h = await AgentHarness.create();
  h.server.setFaults({ next: [{ kind: "status", status: 429, retryAfterSeconds: 2 }] });
  await h.start();
  const reports = makeSampleReports(3, { seed: 108 });
  await h.drop("json", "a.json", JSON.stringify(reports[0]));
  await h.waitFor(() => posts(h.server).length === 1, "the first post (429)");
  for (const r of reports.slice(1)) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  await h.waitFor(() => reports.every((r) => h.server.store.get(r.id)), "all 3 on the server");
  const [throttled, ...rest] = posts(h.server);
  assert.equal(throttled.status, 429);
  const heldUntil = Date.parse(throttled.finishedAt!) + 2000;
  for (const p of rest) {
    const early = heldUntil - Date.parse(p.startedAt);
    assert.ok(early <= 100, `a post ${early} ms before the Retry-After time`);
  }
  const s = await liveStatus(h);
  assert.equal(s.upload.breaker, "closed", "a 429 does not count as the server being down");
});

Deno.test("upload: 429 with Retry-After as an HTTP date is read against the server's Date, even with a skewed server clock", async () => {
  await using h = await AgentHarness.create({
    server: {
      clockSkewMs: -600_000, // by the station's clock the date is 10 min in the past
      faults: {
        next: [{ kind: "status", status: 429, retryAfterSeconds: 2, retryAfterForm: "date" }],
      },
    },
  });
  await h.start();
  const [r] = makeSampleReports(1, { seed: 109 });
  await h.drop("json", "r.json", JSON.stringify(r));
  await h.waitFor(() => h.server.store.get(r.id) !== undefined, "the report on the server");
  const [throttled, ok] = posts(h.server);
  assert.equal(throttled.status, 429);
  assert.equal(ok.status, 200);
  const waited = Date.parse(ok.startedAt) - Date.parse(throttled.finishedAt!);
  assert.ok(waited >= 1900, `waited only ${waited} ms for a Retry-After date 2 s ahead`);
});

Deno.test("upload: a dropped connection after the store and a timeout are retried; the report is stored once by id", async () => {
  await using h = await AgentHarness.create({
    // keepAlive false: fetch would re-send a POST whose kept-alive connection dropped by itself.
    server: { keepAlive: false, faults: { next: ["drop", "slow:2500"] } },
    config: { server: { timeoutSeconds: 1, retry: { initialSeconds: 0.1, maxSeconds: 0.5 } } },
  });
  await h.start();
  const [r] = makeSampleReports(1, { seed: 110 });
  await h.drop("json", "r.json", JSON.stringify(r));
  // Stored by the dropped post, by the retry, and by the slow post when it finally ran.
  await h.waitFor(() => h.server.store.get(r.id)?.receiveCount === 3, "stored three times");
  // In arrival order; the slow post has no status: its client had given up when it ended.
  assert.deepEqual(posts(h.server).map((p) => [p.status, p.fault]), [
    [null, "drop (next)"],
    [null, "slow:2500 (next)"],
    [200, null],
  ]);
  await h.waitFor(async () => (await liveStatus(h)).queue.completed === 1, "completed");
  assert.equal(await h.stop(), 0);
  const lines = await attemptLines(h, r.id);
  assert.deepEqual(lines.map((l) => [l.properties.attempt, l.properties.outcome]), [
    [1, "transient"],
    [2, "transient"],
    [3, "stored"],
  ]);
  assert.match(
    lines[0].properties.message,
    /network error talking to 127\.0\.0\.1:\d+: .*connection closed/,
  );
  assert.match(
    lines[1].properties.message,
    /no answer from http:\/\/127\.0\.0\.1:\d+ within 1 s \(server\.timeoutSeconds, plus time for the report.s size/,
  );
  assert.deepEqual(h.server.store.list().map((x) => x.id), [r.id.toLowerCase()]);
});
