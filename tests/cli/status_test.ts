/** `agent status` output pieces: the human summary, durations, the loose dataDir lookup. */
import assert from "#assert";
import path from "#path";
import {
  CANNOT_TELL,
  duration,
  HEALTH_EXIT,
  looseDataDir,
  renderStatus,
} from "../../src/cli/status.ts";
import type { StatusSnapshot } from "../../src/status/snapshot.ts";

function snapshot(): StatusSnapshot {
  const now = new Date().toISOString();
  return {
    running: true,
    pid: 4242,
    version: "1.2.3",
    startedAt: now,
    config: "/etc/agent.json",
    dataDir: "/var/agent",
    server: { url: "https://wats.example.com", version: "2025.1.0", clockSkewSeconds: 0 },
    health: { state: "degraded", reasons: ["watch folder missing: /drop/ict"] },
    queue: {
      queued: 2,
      processing: 1,
      completed: 10,
      error: 1,
      quarantine: 0,
      retrying: 1,
      oldestQueuedAgeSeconds: 75,
    },
    upload: {
      breaker: "closed",
      consecutiveFailures: 0,
      breakerOpenedAt: null,
      authProblem: null,
      throttledUntil: null,
      lastSuccessAt: now,
      lastAttemptAt: now,
      lastError: { at: now, message: "HTTP 503", status: 503, reportId: "r1", correlationId: "c1" },
      inFlight: 1,
      errorRate5m: 0.1,
      attempts5m: 10,
      retryBudget: 60,
      serverVersion: "2025.1.0",
      clockSkewSeconds: 0,
    },
    intake: { paused: false, reason: null },
    converters: [
      {
        name: "ict",
        format: "i3070",
        folder: "/drop/ict",
        missing: true,
        converted: 5,
        failed: 1,
        reports: 5,
        waiting: 0,
      } as unknown as StatusSnapshot["converters"][number],
    ],
    pool: null,
    recentErrors: [{
      at: now,
      kind: "conversion",
      file: "/drop/ict/bad.log",
      reason: "line 3: no board name",
      correlationId: "k2",
      movedTo: "/drop/ict/Error/bad.log",
    }],
    totals: {},
  };
}

Deno.test("status: the summary shows health with reasons, queue, uploads, converters and recent errors", () => {
  const text = renderStatus(snapshot(), false);
  assert.match(text, /^Agent: +running \(pid 4242/m);
  assert.match(text, /^Health: +DEGRADED\n {2}- watch folder missing: \/drop\/ict$/m);
  assert.match(text, /2 queued, 1 uploading, 1 in error \(1 will retry\), 10 completed/);
  assert.match(text, /oldest waiting: 1 min 15 s/);
  assert.match(text, /last success 0 s ago; circuit breaker closed/);
  assert.match(
    text,
    /ict +i3070 +\/drop\/ict +\(5 files → 5 reports, 1 failed, 0 waiting, FOLDER MISSING\)/,
  );
  assert.match(
    text,
    /\/drop\/ict\/bad\.log: line 3: no board name \[file moved to \/drop\/ict\/Error\/bad\.log; k2\]/,
  );
  assert.ok(!text.includes("\x1b["), "no colour when asked for none");
  assert.ok(renderStatus(snapshot(), true).includes("\x1b[33mDEGRADED\x1b[0m"));
});

Deno.test("status: exit codes and durations", () => {
  assert.deepEqual(HEALTH_EXIT, { healthy: 0, degraded: 1, unhealthy: 2 });
  assert.equal(CANNOT_TELL, 3);
  assert.equal(duration(5), "5 s");
  assert.equal(duration(3725), "1 h 2 min");
  assert.equal(duration(90000), "1 d 1 h");
});

Deno.test("status: the data directory of a config that does not validate is found loosely", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = path.join(dir, "agent.json");
    await Deno.writeTextFile(file, '{ "dataDir": "./state", "server": { broken');
    assert.equal(await looseDataDir(file), path.join(dir, "state"));
    await Deno.writeTextFile(file, "{ nothing useful");
    assert.equal(await looseDataDir(file), path.join(dir, "agent-data"));
    assert.equal(await looseDataDir(path.join(dir, "absent.json")), path.join(dir, "agent-data"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
