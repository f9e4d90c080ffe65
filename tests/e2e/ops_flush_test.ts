/**
 * `agent flush` with the real process: it asks the running agent to upload now (ignoring
 * backoff, probing an open breaker), does the work in-process when no agent runs, requeues
 * errors with --errors, exits 0 only when the queue is empty, and shows a progress bar only on
 * a terminal (coloured unless NO_COLOR).
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";
import { hasScript, ptyCommand, skipUnless } from "../_tools.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

type Report = ReturnType<typeof makeSampleReports>[number];

async function dropAll(h: AgentHarness, reports: Report[]) {
  for (const r of reports) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
}

const onServer = (h: AgentHarness, reports: Report[]) =>
  reports.every((r) => h.server.store.get(r.id));

Deno.test("flush: the running agent uploads now, ignoring a long backoff", async () => {
  await using h = await AgentHarness.create({
    config: {
      server: {
        // Full jitter draws the first retry from 0–86,400 s: no report retries by itself during
        // the test (with 0–120 s one did within a second now and then, and the test waited in vain).
        retry: { initialSeconds: 86_400, maxSeconds: 86_400 },
        breaker: { failures: 100, probeSeconds: 1 },
      },
    },
  });
  h.server.setFaults({ failNext: { count: 3, fault: "503" } });
  await h.start();
  const reports = makeSampleReports(3, { seed: 41 });
  await dropAll(h, reports);
  await h.waitFor(
    async () => (await h.status()).queue.retrying === 3,
    "3 reports waiting to retry",
  );
  const s = await h.status();
  const retryAts = s.recentErrors.filter((e: { kind: string }) => e.kind === "upload").map((
    e: { retryAt: string },
  ) => Date.parse(e.retryAt));
  const r = await h.cli(["flush", "--json", "--timeout", "20", "--config", h.configFile]);
  const done = Date.now();
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.flushed, true);
  assert.equal(out.via, "agent");
  assert.ok(onServer(h, reports), "all 3 on the server");
  assert.ok(
    retryAts.some((t: number) => t > done),
    `a backoff was still running when flush ended: ${retryAts}`,
  );
  assert.ok(!r.stderr.includes("\r"), "no progress bar when piped");
});

Deno.test("flush: the running agent probes an open breaker now (probe interval 60 s)", async () => {
  await using h = await AgentHarness.create({
    config: {
      server: {
        retry: { initialSeconds: 0.2, maxSeconds: 1 },
        breaker: { failures: 2, probeSeconds: 60 },
      },
    },
  });
  await h.server.stop();
  await h.start();
  const reports = makeSampleReports(2, { seed: 42 });
  await dropAll(h, reports);
  await h.waitFor(async () => (await h.status()).upload.breaker === "open", "the breaker opens");
  await h.server.start();
  const r = await h.cli(["flush", "--timeout", "20", "--config", h.configFile]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Queue empty: 2 report\(s\) uploaded \(agent\)/);
  assert.ok(onServer(h, reports));
  assert.equal((await h.status()).upload.breaker, "closed");
});

Deno.test("flush: no agent running → in-process; a rejected report keeps exit 1 until --errors requeues it", async () => {
  await using h = await AgentHarness.create();
  const reports = makeSampleReports(3, { seed: 43 });
  h.server.setFaults({ rules: [{ sn: reports[0].sn, fault: "400" }] });
  await h.start();
  await h.server.stop();
  await dropAll(h, reports);
  await h.waitFor(async () => {
    const q = (await h.status()).queue;
    return q.queued + q.error + q.processing === 3;
  }, "3 reports queued");
  assert.equal(await h.stop(), 0);
  await h.server.start();

  const first = await h.cli(["flush", "--config", h.configFile]);
  assert.equal(first.code, 1, "a report the server rejects stays in error");
  assert.match(first.stderr, /Queue not empty: 0 queued, 0 uploading, 1 in error .*in-process/);
  assert.match(
    first.stderr,
    new RegExp(`rejected by the server wait in error.*\\n.*sn ${reports[0].sn}`),
  );
  assert.ok(onServer(h, reports.slice(1)), "the others were uploaded");

  h.server.clearFaults();
  const second = await h.cli(["flush", "--errors", "--json", "--config", h.configFile]);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.deepEqual(JSON.parse(second.stdout).remaining.error, 0);
  assert.ok(onServer(h, reports));
  const status = await h.cli(["status", "--config", h.configFile]);
  assert.match(status.stdout, /0 queued, 0 uploading, 0 in error/);
});

/** Runs `agent <args>` on a pseudo-terminal (util-linux `script`); returns everything it printed. */
async function onTerminal(
  h: AgentHarness,
  args: string[],
  noColor: boolean,
): Promise<{ code: number; out: string }> {
  const env = noColor ? ["env", "NO_COLOR=1"] : ["env", "-u", "NO_COLOR"];
  const out = await ptyCommand(
    [...env, Deno.execPath(), ...AgentHarness.agentArgs(args)],
    { cwd: h.dir, stdin: "null", stdout: "piped", stderr: "piped" },
  ).output();
  return {
    code: out.code,
    out: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

Deno.test({
  name: "flush: a progress bar on a terminal, green unless NO_COLOR; none with --json",
  // Linux only: the pty comes from util-linux `script -q -e -c` (macOS's BSD script differs).
  ignore: skipUnless(
    hasScript(),
    "the flush progress bar needs util-linux `script` (Linux; apt-get install -y util-linux)",
  ),
  async fn() {
    await using h = await AgentHarness.create({
      config: {
        server: {
          retry: { initialSeconds: 0.2, maxSeconds: 1 },
          breaker: { failures: 2, probeSeconds: 60 },
        },
      },
    });
    await h.server.stop();
    await h.start();
    const batches = [
      makeSampleReports(2, { seed: 44 }),
      makeSampleReports(2, { seed: 45 }),
      makeSampleReports(2, { seed: 46 }),
    ];
    const runs: { code: number; out: string }[] = [];
    for (const [i, mode] of (["color", "nocolor", "json"] as const).entries()) {
      await dropAll(h, batches[i]);
      await h.waitFor(
        async () => (await h.status()).queue.retrying + (await h.status()).queue.queued === 2,
        "2 waiting",
      );
      await h.waitFor(async () => (await h.status()).upload.breaker === "open", "breaker open");
      await h.server.start();
      const args = [
        "flush",
        "--timeout",
        "20",
        "--config",
        h.configFile,
        ...(mode === "json" ? ["--json"] : []),
      ];
      runs.push(await onTerminal(h, args, mode === "nocolor"));
      assert.equal(runs[i].code, 0, runs[i].out);
      assert.ok(onServer(h, batches[i]));
      await h.server.stop();
    }
    const [color, plain, json] = runs;
    const esc = String.fromCharCode(27);
    assert.match(
      color.out,
      new RegExp(`\\[${esc}\\[32m#*${esc}\\[0m-*\\] \\d/2 uploaded`),
      "a green bar",
    );
    assert.match(plain.out, /\[[#-]{30}\] \d\/2 uploaded/, "a bar");
    assert.ok(
      !new RegExp(`${esc}\\[\\d*(;\\d+)*m`).test(plain.out),
      `no colour codes with NO_COLOR: ${JSON.stringify(plain.out)}`,
    );
    assert.ok(
      !json.out.includes("uploaded\r") && !/\] \d\/2 uploaded/.test(json.out),
      "no bar with --json",
    );
    assert.equal(JSON.parse(json.out.trim()).flushed, true);
    assert.ok(path.isAbsolute(h.configFile));
  },
});
