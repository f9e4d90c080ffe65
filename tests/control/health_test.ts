/** The health rules, one by one (pure function; the e2e tests cause each one for real). */
import assert from "#assert";
import { computeHealth, type HealthInputs } from "../../src/control/health.ts";

const NOW = Date.parse("2026-01-01T12:00:00Z");
const min = (n: number) => n * 60_000;

function inputs(over: Partial<HealthInputs> = {}): HealthInputs {
  return {
    now: NOW,
    running: true,
    dataDir: "/data",
    queue: { queued: 0, processing: 0, error: 0, retrying: 0, quarantine: 0 },
    maxReports: 100,
    oldestQueuedAt: null,
    upload: {
      authProblem: null,
      breaker: "closed",
      breakerOpenedAt: null,
      lastSuccessAt: null,
      lastError: null,
      errorRate5m: null,
      attempts5m: 0,
      clockSkewSeconds: null,
    },
    startedAt: NOW - min(60),
    intakePause: null,
    missingFolders: [],
    poolProblem: null,
    conversionFailuresLastHour: 0,
    thresholds: {
      stallMinutes: 10,
      oldestQueuedMinutes: 30,
      maxErrorRate: 0.5,
      clockSkewWarnSeconds: 300,
    },
    ...over,
  };
}

function upload(over: Partial<NonNullable<HealthInputs["upload"]>>): HealthInputs["upload"] {
  return { ...inputs().upload!, ...over };
}

function check(over: Partial<HealthInputs>, state: string, reason: RegExp) {
  const h = computeHealth(inputs(over));
  assert.equal(h.state, state, h.reasons.join("; "));
  assert.ok(h.reasons.some((r) => reason.test(r)), `${reason} not in: ${h.reasons.join("; ")}`);
}

Deno.test("health: healthy with nothing to say", () => {
  assert.deepEqual(computeHealth(inputs()), { state: "healthy", reasons: [] });
});

Deno.test("health: each rule gives its state and a reason", () => {
  check(
    { running: false, queue: { queued: 3, processing: 0, error: 0, retrying: 0, quarantine: 0 } },
    "unhealthy",
    /not running.*3 report/,
  );
  check(
    { running: false, stopReason: "converters can't run: stuck" },
    "unhealthy",
    /stopped itself last time: converters can't run/,
  );
  check(
    { upload: upload({ authProblem: "token rejected (HTTP 401)" }) },
    "unhealthy",
    /uploads paused: token rejected/,
  );
  check(
    {
      upload: upload({
        breaker: "open",
        breakerOpenedAt: new Date(NOW - min(2)).toISOString(),
        lastError: { message: "refused" },
      }),
    },
    "unhealthy",
    /server unreachable for 2 min.*refused/,
  );
  check(
    {
      queue: { queued: 2, processing: 0, error: 0, retrying: 0, quarantine: 0 },
      oldestQueuedAt: NOW - min(11),
    },
    "unhealthy",
    /nothing uploaded for 11 min while 2 report/,
  );
  check({ poolProblem: "2 worker(s) are stuck" }, "unhealthy", /converters can't run: 2 worker/);
  check(
    { converterProblems: ["converter x can't be loaded: nope"] },
    "unhealthy",
    /converter x can't be loaded/,
  );
  check(
    { intakePause: "queue write failed (EIO)" },
    "unhealthy",
    /intake paused: queue write failed/,
  );
  check({ intakePause: "disk space low: 3 MB free" }, "degraded", /intake paused: disk space low/);
  check({ intakePause: "queue full: 5 reports waiting" }, "degraded", /intake paused: queue full/);
  check({ missingFolders: ["/drop/a"] }, "degraded", /watch folder missing: \/drop\/a/);
  check(
    { postActionProblems: ["Error folder /drop/a/Error (converter a) refused: a symbolic link"] },
    "degraded",
    /Error folder \/drop\/a\/Error .* refused/,
  );
  check(
    { upload: upload({ errorRate5m: 0.8, attempts5m: 10, lastError: { message: "HTTP 503" } }) },
    "degraded",
    /80% of 10 uploads failed/,
  );
  check(
    { queue: { queued: 0, processing: 0, error: 2, retrying: 0, quarantine: 0 } },
    "degraded",
    /2 report\(s\) rejected/,
  );
  check(
    { queue: { queued: 0, processing: 0, error: 0, retrying: 0, quarantine: 1 } },
    "degraded",
    /quarantine/,
  );
  check(
    {
      queue: { queued: 1, processing: 0, error: 0, retrying: 0, quarantine: 0 },
      oldestQueuedAt: NOW - min(31),
      upload: upload({ lastSuccessAt: new Date(NOW - min(1)).toISOString() }),
    },
    "degraded",
    /oldest report waiting to upload was queued 31 min ago/,
  );
  check(
    {
      queue: { queued: 80, processing: 0, error: 0, retrying: 0, quarantine: 0 },
      oldestQueuedAt: NOW - min(1),
      upload: upload({ lastSuccessAt: new Date(NOW).toISOString() }),
    },
    "degraded",
    /queue 80% full \(80 of 100\)/,
  );
  check({ conversionFailuresLastHour: 2 }, "degraded", /2 file\(s\) failed to convert/);
  check({ upload: upload({ clockSkewSeconds: 400 }) }, "degraded", /clock differs .* 400 s/);
  check({ configProblem: "line 3, column 1: bad" }, "degraded", /config edit rejected.*line 3/);
});

Deno.test("health: the error rate needs a few attempts; the stall counts from start-up when nothing was sent", () => {
  assert.equal(
    computeHealth(inputs({ upload: upload({ errorRate5m: 1, attempts5m: 4 }) })).state,
    "healthy",
  );
  const queued = { queued: 1, processing: 0, error: 0, retrying: 0, quarantine: 0 };
  // Started 5 min ago, report queued just now: not a stall yet.
  assert.equal(
    computeHealth(inputs({ queue: queued, startedAt: NOW - min(5), oldestQueuedAt: NOW - 1000 }))
      .state,
    "healthy",
  );
  // After an idle hour, a report queued 3 min ago is no stall (the last upload is old) ...
  const idle = {
    queue: queued,
    upload: upload({ lastSuccessAt: new Date(NOW - min(60)).toISOString() }),
  };
  assert.equal(computeHealth(inputs({ ...idle, oldestQueuedAt: NOW - min(3) })).state, "healthy");
  // ... but one that waits 11 min is, and says how long nothing moved.
  const stalled = computeHealth(inputs({ ...idle, oldestQueuedAt: NOW - min(11) }));
  assert.equal(stalled.state, "unhealthy");
  assert.match(stalled.reasons[0], /nothing uploaded for 11 min/);
});

Deno.test("health: a failed connection check is degraded, said once (the open breaker says it louder)", () => {
  const problem = "can't connect to https://wats.example: Connection refused";
  check({ upload: upload({ serverProblem: problem }) }, "degraded", /can't reach the WATS server/);
  const open = computeHealth(inputs({
    upload: upload({ serverProblem: problem, breaker: "open", lastError: { message: problem } }),
  }));
  assert.equal(open.state, "unhealthy");
  assert.ok(!open.reasons.some((r) => /can't reach the WATS server/.test(r)), open.reasons.join());
  const paused = computeHealth(inputs({
    upload: upload({ serverProblem: "token rejected", authProblem: "token rejected (401)" }),
  }));
  assert.ok(!paused.reasons.some((r) => /can't reach/.test(r)), paused.reasons.join());
});
