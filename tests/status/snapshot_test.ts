/**
 * One snapshot builder over two kinds of status sources: a running agent's (here a stand-in)
 * and the data directory's when none runs (the real offline sources over a real folder).
 */
import assert from "#assert";
import path from "#path";
import { parseConfig } from "../../src/config/load.ts";
import { writeSavedState } from "../../src/data_dir/state_file.ts";
import { buildSnapshot, healthOf } from "../../src/status/snapshot.ts";
import { offlineSnapshot, OfflineSources } from "../../src/status/offline.ts";
import type { StatusSources } from "../../src/status/sources.ts";
import type { UploaderStatus } from "../../src/upload/uploader.ts";

const surfaceStatus = path.join(
  import.meta.dirname!,
  "..",
  "surface",
  "snapshots",
  "agent_status_json.txt",
);

function config(dataDir: string) {
  return parseConfig(
    JSON.stringify({
      server: { url: "https://wats.example.com", token: "t0k3n-abcdef" },
      dataDir,
      converters: [{ name: "ict", format: "i3070", watch: "./drop/ict" }],
    }),
    path.join(dataDir, "agent.json"),
  );
}

const upload: UploaderStatus = {
  breaker: "closed",
  consecutiveFailures: 0,
  breakerOpenedAt: null,
  authProblem: null,
  throttledUntil: null,
  lastSuccessAt: "2026-01-01T00:00:00.000Z",
  lastAttemptAt: null,
  lastError: null,
  inFlight: 0,
  errorRate5m: null,
  attempts5m: 0,
  retryBudget: 60,
  serverVersion: "2025.1.0",
  clockSkewSeconds: 400,
};

/** Sources of a running agent with a missing folder, a rejected edit and a skewed clock. */
function live(dataDir: string): StatusSources {
  const c = config(dataDir);
  return {
    running: true,
    config: c,
    process: () => ({ pid: 4242, startedAt: new Date("2026-01-01T00:00:00.000Z") }),
    queue: () => ({
      counts: { queued: 1, processing: 0, completed: 3, error: 0, quarantine: 0, retrying: 0 },
      oldestQueuedAt: Date.parse("2026-01-01T00:00:00.000Z"),
    }),
    queueErrors: () => Promise.resolve([]),
    upload: () => upload,
    intakePause: () => null,
    converters: () => [{
      name: "ict",
      folder: "/drop/ict",
      format: "i3070",
      missing: true,
      watching: false,
      waiting: 0,
      taken: 0,
      seen: 0,
      lastScanAt: null,
      lastScanError: null,
      converted: 0,
      failed: 0,
      reports: 0,
    }],
    converterProblems: () => [],
    postActionProblems: () => [],
    conversionFailures: () => [],
    pool: () => null,
    totals: () => ({ reportsUploaded: 3 }),
    reload: () => ({
      at: "2026-01-01T00:00:00.000Z",
      ok: false,
      error: "server.url: expected a URL",
      lastGood: path.join(dataDir, "agent.json.last-good"),
    }),
    stopReason: () => null,
  };
}

Deno.test("snapshot: built from live sources, with the health their facts give", async () => {
  const s = live("/var/agent");
  const now = Date.parse("2026-01-01T00:01:00.000Z");
  const snap = await buildSnapshot(s, now);
  assert.equal(snap.running, true);
  assert.equal(snap.pid, 4242);
  assert.equal(snap.startedAt, "2026-01-01T00:00:00.000Z");
  assert.deepEqual(snap.server, {
    url: "https://wats.example.com",
    version: "2025.1.0",
    clockSkewSeconds: 400,
  });
  assert.equal(snap.queue.oldestQueuedAgeSeconds, 60);
  assert.deepEqual(snap.totals, { reportsUploaded: 3 });
  assert.equal(snap.reload?.ok, false);
  assert.deepEqual(snap.health, healthOf(s, now));
  assert.equal(snap.health.state, "degraded");
  assert.deepEqual(snap.health.reasons, [
    "watch folder missing: /drop/ict",
    "station clock differs from the server's by 400 s; fix the time (NTP)",
    "config edit rejected, the last good config keeps running: server.url: expected a URL",
  ]);
});

Deno.test("snapshot: offline from the data directory, with what the last run saved", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSavedState(dir, {
      pid: 1,
      startedAt: "2026-01-01T00:00:00.000Z",
      savedAt: "2026-01-01T00:10:00.000Z",
      stoppedAt: "2026-01-01T00:10:00.000Z",
      lastSuccessAt: "2026-01-01T00:05:00.000Z",
      lastError: null,
      serverVersion: "2025.1.0",
      recentFailures: [],
      stopReason: "converters can't run: stuck",
    });
    const snap = await offlineSnapshot(config(dir));
    assert.equal(snap.running, false);
    assert.equal(snap.pid, null);
    assert.equal(snap.server.version, "2025.1.0");
    assert.equal(snap.upload?.lastSuccessAt, "2026-01-01T00:05:00.000Z");
    assert.equal(snap.upload?.inFlight, 0);
    assert.deepEqual(snap.converters, [{
      name: "ict",
      folder: path.join(dir, "drop", "ict"),
      format: "i3070",
    }]);
    assert.equal(snap.health.state, "unhealthy");
    assert.match(snap.health.reasons[0], /^the agent is not running \(nothing holds /);
    assert.equal(
      snap.health.reasons[1],
      "it stopped itself last time: converters can't run: stuck",
    );
    assert.ok(!("reload" in snap), "no agent, no reload key");
    assert.deepEqual(snap.totals, {});
    // The same top-level keys as the running agent's `agent status --json`, but `reload`.
    const liveKeys = new Set(
      (await Deno.readTextFile(surfaceStatus)).split("\n").map((l) => l.split(/[.:[]/)[0])
        .filter(Boolean),
    );
    liveKeys.delete("reload");
    assert.deepEqual(new Set(Object.keys(snap)), liveKeys);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("snapshot: offline without a state file knows nothing of the uploads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = await OfflineSources.read(config(dir));
    assert.equal(s.upload(), null);
    const snap = await buildSnapshot(s);
    assert.equal(snap.upload, null);
    assert.equal(snap.server.version, null);
    assert.deepEqual(snap.queue, {
      queued: 0,
      processing: 0,
      completed: 0,
      error: 0,
      quarantine: 0,
      retrying: 0,
      oldestQueuedAgeSeconds: null,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
