/**
 * The control endpoint, metrics and logs with the real agent process: the port answers on
 * loopback only, control.json is private, /metrics is valid Prometheus text whose numbers match
 * what happened, log lines carry levels and correlation ids and rotate, and the API token
 * appears in no log and no status output.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";
import { commandSucceeds, skipUnless } from "../_tools.ts";
import { expectCleared, expectReason, logRecords, waitLog } from "./_ops.ts";
import { checkExposition, sampleValue } from "../control/_prom.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

const root = path.resolve(import.meta.dirname!, "..", "..");

/** Listening TCP sockets on `port` from /proc/net/tcp{,6}: their local addresses (hex). */
async function listeners(port: number): Promise<string[]> {
  const out: string[] = [];
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = await Deno.readTextFile(f);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== "0A") continue; // 0A = LISTEN
      const [addr, hexPort] = cols[1].split(":");
      if (parseInt(hexPort, 16) === port) out.push(addr);
    }
  }
  return out;
}

function canUnshareNet(): boolean {
  return Deno.build.os === "linux" && commandSucceeds("unshare", ["-n", "true"]);
}

Deno.test("control port: bound to 127.0.0.1 only (the kernel's socket table says so)", {
  ignore: Deno.build.os !== "linux",
}, async () => {
  await using h = await AgentHarness.create();
  await h.start();
  const info = JSON.parse(await Deno.readTextFile(path.join(h.dataDir, "control.json")));
  const addrs = await listeners(info.port);
  assert.deepEqual(addrs, ["0100007F"], `listening on 127.0.0.1 only, found ${addrs}`);
});

Deno.test(
  "control port: refused on this host's non-loopback address (in a network namespace of our own)",
  {
    ignore: skipUnless(
      canUnshareNet(),
      "can't create a network namespace here (needs root on Linux: `unshare -n`); the " +
        "socket-table test still proves the loopback-only bind",
    ),
  },
  async () => {
    // A namespace with a veth pair: 10.213.0.1 is this "host's" non-loopback address, and no
    // traffic leaves the namespace.
    const setup = [
      "ip link set lo up",
      "ip link add v0 type veth peer name v1",
      "ip addr add 10.213.0.1/24 dev v0",
      "ip link set v0 up",
      "ip link set v1 up",
    ].join(" && ");
    const probe = path.join(root, "tests", "e2e", "_loopback_probe.ts");
    const cmd = `${setup} && exec "$0" run -A --config ${path.join(root, "deno.json")} ${probe}`;
    const out = await new Deno.Command("unshare", {
      args: ["-n", "sh", "-c", cmd, Deno.execPath()],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.ok(out.success, `probe failed: ${stdout}\n${new TextDecoder().decode(out.stderr)}`);
    const r = JSON.parse(stdout.trim().split("\n").at(-1)!);
    assert.ok(
      r.addresses.includes("10.213.0.1"),
      `the namespace has a non-loopback address: ${r.addresses}`,
    );
    for (const a of r.addresses) {
      assert.equal(r.results[a], "refused", `${a}:${r.port} must refuse`);
    }
    assert.equal(r.results["127.0.0.1"], "connected");
    assert.equal(r.healthStatus, 200);
  },
);

Deno.test("metrics and logs: valid exposition whose numbers match; levels, correlation ids, rotation", async () => {
  await using h = await AgentHarness.create({
    config: {
      log: { level: "debug", maxFileMb: 0.004, maxFiles: 100 },
      server: { retry: { initialSeconds: 0.2, maxSeconds: 0.5 } },
    },
  });
  const good = makeSampleReports(4, { seed: 61 });
  const rejected = good[3];
  h.server.setFaults({
    failNext: { count: 1, fault: "503" },
    rules: [{ sn: rejected.sn, fault: "400" }],
  });
  await h.start();
  for (const r of good.slice(0, 3)) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  await h.waitFor(
    () => good.slice(0, 3).every((r) => h.server.store.get(r.id)),
    "3 reports stored",
  );
  await h.drop("json", `${rejected.sn}.json`, JSON.stringify(rejected));
  await h.drop("json", "broken.json", "{ not json");
  await h.waitFor(async () => {
    const s = await h.status();
    return s.queue.error === 1 && s.totals.filesFailed === 1;
  }, "1 rejected report, 1 failed file");

  const res = await h.control("/metrics");
  assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const e = checkExposition(text);
  assert.deepEqual(e.problems, [], text);
  const s = await h.status();
  const v = (name: string, labels: Record<string, string> = {}) =>
    sampleValue(e, `wats_agent_${name}`, labels);
  assert.equal(v("files_seen_total", { converter: "json" }), 5);
  assert.equal(v("files_converted_total", { converter: "json" }), 4);
  assert.equal(v("files_failed_total", { converter: "json" }), 1);
  assert.equal(v("reports_uploaded_total"), 3);
  assert.equal(v("reports_rejected_total"), 1);
  assert.ok(v("upload_retries_total")! >= 1, "the 503 was retried");
  for (const state of ["queued", "processing", "completed", "error", "quarantine", "retrying"]) {
    assert.equal(v("queue_reports", { state }), s.queue[state], `queue_reports{state="${state}"}`);
  }
  assert.equal(v("queue_oldest_age_seconds"), 0);
  assert.equal(v("breaker_state"), 0);
  assert.ok(v("workers", { state: "total" })! >= 1);
  assert.equal(e.types.get("wats_agent_upload_seconds"), "histogram");
  assert.equal(
    v("upload_seconds_count"),
    (v("uploads_total", { outcome: "stored" }) ?? 0) +
      (v("uploads_total", { outcome: "rejected" }) ?? 0) +
      (v("uploads_total", { outcome: "transient" }) ?? 0),
  );
  const hist = await (await h.control("/history")).json();
  assert.equal(hist.totals.uploaded, 3, "the last hour's per-minute counts add up to the counter");
  assert.equal(hist.totals.failed, 1);
  assert.equal(hist.totals.rejected, 1);

  // Logs: JSON lines in the data directory, rotated; levels per the table; correlation ids.
  const records = await waitLog(
    h,
    (rs) => rs.some((r) => /rejected/.test(r.message)),
    "the rejection",
  );
  assert.ok(
    await Deno.stat(path.join(h.dataDir, "logs", "agent.log.1")).then(() => true),
    "the log rotated",
  );
  const at = (re: RegExp) => records.filter((r) => re.test(r.message));
  assert.ok(
    at(/Upload of report .* failed/).every((r) => r.level === "WARNING"),
    "a retry is a WARNING",
  );
  assert.ok(at(/Upload of report .* failed/).length >= 1);
  assert.ok(
    at(new RegExp(`${rejected.id}.*rejected`)).every((r) => r.level === "ERROR"),
    "a rejection is an ERROR",
  );
  assert.ok(
    at(/broken\.json can't be converted/).every((r) => r.level === "ERROR"),
    "a file in Error is an ERROR",
  );
  assert.equal(at(/broken\.json can't be converted/).length, 1);
  const ids = good.map((r) => r.id);
  const aboutReports = records.filter((r) =>
    ids.some((id) => r.message.includes(id)) || r.properties.reportId
  );
  assert.ok(aboutReports.length >= 8, `lines about reports: ${aboutReports.length}`);
  const missing = aboutReports.filter((r) => typeof r.properties.correlationId !== "string");
  assert.deepEqual(
    missing.map((r) => r.message),
    [],
    "every line about a report carries its correlation id",
  );
  const envelopeIds = new Set(
    records.filter((r) => r.properties.correlationId).map((r) => r.properties.correlationId),
  );
  assert.ok(envelopeIds.size >= 5, "one correlation id per file");
  // Text on stderr (the start-up banner; a priority line may come before it).
  assert.match(
    h.output.split("\n").find((l) => l.includes("agent: Agent ")) ?? "(no banner line)",
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO {2}agent: Agent \S+ starting/,
    "text on stderr",
  );
});

Deno.test("the API token appears in no log, no status output, no control answer", async () => {
  await using h = await AgentHarness.create();
  const goodToken = h.token;
  const badToken = "bad-token-" + crypto.randomUUID();
  (h.config.server as Record<string, unknown>).token = badToken;
  await h.writeConfig();
  await h.start();
  const info = JSON.parse(await Deno.readTextFile(path.join(h.dataDir, "control.json")));
  if (Deno.build.os !== "windows") {
    assert.equal(
      (await Deno.stat(path.join(h.dataDir, "control.json"))).mode! & 0o777,
      0o600,
      "control.json 0600",
    );
  }
  const [r1, r2] = makeSampleReports(2, { seed: 62 });
  await h.drop("json", "a.json", JSON.stringify(r1));
  await expectReason(h, /token rejected/, "unhealthy");
  (h.config.server as Record<string, unknown>).token = goodToken;
  await h.writeConfig();
  await h.waitFor(() => h.server.store.get(r1.id) !== undefined, "uploaded with the fixed token");
  await expectCleared(h, /token rejected/, "healthy");
  await h.drop("json", "b.json", JSON.stringify(r2));
  await h.waitFor(() => h.server.store.get(r2.id) !== undefined, "second report");

  const outputs: Record<string, string> = {};
  for (
    const args of [["status"], ["status", "--json"], ["flush"], ["flush", "--json"], [
      "config",
      "check",
    ]]
  ) {
    const r = await h.cli([...args, "--config", h.configFile]);
    outputs[args.join(" ")] = r.stdout + r.stderr;
  }
  for (const p of ["/status", "/health", "/metrics", "/history", "/"]) {
    outputs[p] = await (await h.control(p)).text();
  }
  assert.equal(await h.stop(), 0);
  outputs["status (stopped)"] =
    (await h.cli(["status", "--json", "--config", h.configFile])).stdout;
  outputs["agent stderr"] = h.output;
  for (const e of await Array.fromAsync(Deno.readDir(path.join(h.dataDir, "logs")))) {
    outputs[`logs/${e.name}`] = await Deno.readTextFile(path.join(h.dataDir, "logs", e.name));
  }
  outputs["state.json"] = await Deno.readTextFile(path.join(h.dataDir, "state.json"));
  assert.ok(outputs["logs/agent.log"].includes("Uploaded report"), "the logs are there to search");
  for (const [where, text] of Object.entries(outputs)) {
    for (const [name, token] of [["good", goodToken], ["bad", badToken], ["control", info.token]]) {
      assert.ok(!text.includes(token), `the ${name} token appears in ${where}`);
    }
  }
  const all = await logRecords(h);
  assert.ok(all.length > 10);
});

Deno.test("restart: recent failures, the last upload and the throughput chart outlive it", async () => {
  await using h = await AgentHarness.create();
  await h.start();
  const reports = makeSampleReports(2, { seed: 61 });
  for (const r of reports) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  await h.drop("json", "broken.json", "{ not json");
  await h.waitFor(async () => {
    const s = await h.status();
    return s.queue.completed === 2 && s.recentErrors.length === 1;
  }, "2 uploaded, 1 failed");
  const before = await h.status();
  assert.equal(await h.stop(), 0);

  await h.start();
  const after = await h.status();
  assert.equal(after.upload.lastSuccessAt, before.upload.lastSuccessAt, "last upload kept");
  assert.equal(after.recentErrors.length, 1, JSON.stringify(after.recentErrors));
  assert.equal(after.recentErrors[0].kind, "conversion");
  assert.match(after.recentErrors[0].file, /broken\.json$/);
  assert.match(after.health.reasons.join("\n"), /1 file\(s\) failed to convert in the last hour/);
  const hist = await (await h.control("/history")).json();
  assert.equal(hist.totals.uploaded, 2, "the chart goes on where it was");
  assert.equal(hist.totals.failed, 1);
});

Deno.test("state.json: an idle agent does not rewrite it; an upload does", async () => {
  await using h = await AgentHarness.create();
  await h.start();
  const file = path.join(h.dataDir, "state.json");
  const saved = async () => {
    const st = await Deno.lstat(file).catch(() => null);
    return st && { ino: st.ino, mtime: st.mtime?.getTime(), text: await Deno.readTextFile(file) };
  };
  const [a, b] = makeSampleReports(2, { seed: 63 });
  await h.drop("json", `${a.sn}.json`, JSON.stringify(a));
  // Saved (looked at every 5 s) once the upload is known: the state's last success is set.
  await h.waitFor(
    async () => (await saved())?.text.includes('"lastSuccessAt": "') ?? false,
    "saved",
  );
  const first = await saved();
  await new Promise((r) => setTimeout(r, 11_000)); // two looks with nothing new
  assert.deepEqual(await saved(), first, "rewritten while nothing changed");
  await h.drop("json", `${b.sn}.json`, JSON.stringify(b));
  await h.waitFor(() => h.server.store.get(b.id) !== undefined, "the second report uploaded");
  await h.waitFor(async () => (await saved())?.ino !== first!.ino, "saved after the upload");
  const state = JSON.parse((await saved())!.text);
  // The chart's minutes with events only (the two uploads may fall in one minute or in two).
  assert.ok(state.history.length >= 1 && state.history.length <= 2, JSON.stringify(state.history));
  for (const m of state.history) assert.ok(m.queued + m.uploaded > 0, JSON.stringify(m));
});

Deno.test("restart: a damaged state.json stops nothing (status and start take what is well formed)", async () => {
  await using h = await AgentHarness.create();
  await Deno.mkdir(h.dataDir, { recursive: true });
  await Deno.writeTextFile(
    path.join(h.dataDir, "state.json"),
    JSON.stringify({ pid: 1, recentFailures: [null, { at: 5 }], history: { t: 1 } }),
  );
  const offline = await h.status();
  assert.equal(offline.running, false);
  assert.deepEqual(offline.recentErrors, []);
  await h.start();
  const [r] = makeSampleReports(1, { seed: 62 });
  await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  await h.waitFor(() => h.server.store.get(r.id) !== undefined, "the report uploaded");
  const s = await h.status();
  assert.equal(s.health.state, "healthy", s.health.reasons.join("\n"));
});
