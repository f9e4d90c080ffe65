/**
 * The token stays out of everything the agent stores or serves, even when the server echoes the
 * Authorization header back in its error messages and a converter error quotes it. The real
 * agent process, the real test server (its echo fault), then every file under the test folder,
 * `agent status --json` (live and offline) and every control route are searched for the token
 * in each form it can take: as sent, URL-encoded, base64-encoded, and decoded (user:password,
 * the password).
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import { posts } from "../e2e/_upload.ts";
import { addSecrets, redact } from "../../src/log/redact.ts";
import { jsonLine } from "../../src/log/log.ts";
import { filesUnder } from "../_files.ts";

const user = "station7";
const password = "Pa55-w0rd-s3cret";
const decoded = `${user}:${password}`;
const token = btoa(decoded);
/** Every form of the token that must not turn up. */
const forms = [
  token,
  token.replace(/=+$/, ""),
  encodeURIComponent(token),
  btoa(token),
  decoded,
  encodeURIComponent(decoded),
  password,
];

const fixtures = path.resolve(import.meta.dirname!, "../fixtures/converters");
const isWindows = Deno.build.os === "windows";

function leaks(text: string): string[] {
  return forms.filter((f) => text.includes(f));
}

Deno.test("secrets: a server that echoes the Authorization header and a converter error that quotes the token leak it nowhere", async () => {
  await using h = await AgentHarness.create({
    token,
    converters: [
      { name: "json", format: "wsjf" },
      { name: "moody", module: "./converters/moody.js" },
    ],
  });
  await Deno.mkdir(path.join(h.dir, "converters"));
  await Deno.copyFile(path.join(fixtures, "moody.js"), path.join(h.dir, "converters/moody.js"));
  const [rejected, retrying] = makeSampleReports(2, { seed: 9101 });
  h.server.setFaults({
    rules: [
      {
        id: rejected.id,
        fault: {
          kind: "status",
          status: 400,
          message: `Bad report. Caller ${decoded}.`,
          echoAuthorization: true,
        },
      },
      {
        id: retrying.id,
        fault: {
          kind: "status",
          status: 500,
          message: `Internal error for token=${encodeURIComponent(token)} (b64 ${btoa(token)}).`,
          echoAuthorization: true,
        },
      },
    ],
  });
  await h.start();
  await h.drop("json", "rejected.json", JSON.stringify(rejected));
  await h.drop("json", "retrying.json", JSON.stringify(retrying));
  await h.drop("moody", "raw.txt", `THROW ${token}`);
  await h.drop("moody", "decoded.txt", `THROW ${decoded}`);
  await h.waitFor(async () => {
    const s = await h.status();
    return s.queue.error === 2 &&
      s.recentErrors.filter((e: { kind: string }) => e.kind === "conversion").length === 2;
  }, "two reports in error and two failed conversions");
  // The server really echoed it: without redaction it would be everywhere below.
  const echoed = posts(h.server, rejected.id)[0].message ?? "";
  assert.ok(echoed.includes(`Authorization: Basic ${token}`), echoed);

  const served: Record<string, string> = {};
  for (const route of ["/status", "/health", "/metrics", "/history", "/"]) {
    const res = await h.control(route);
    served[`GET ${route}`] = await res.text();
  }
  const live = await h.cli(["status", "--json", "--config", h.configFile]);
  served["agent status --json (running)"] = live.stdout + live.stderr;
  const liveText = await h.cli(["status", "--config", h.configFile]);
  served["agent status (running)"] = liveText.stdout + liveText.stderr;
  // state.json is saved every 5 s: wait for one that has the failed conversions.
  const stateFile = path.join(h.dataDir, "state.json");
  await h.waitFor(async () => {
    try {
      return (await Deno.readTextFile(stateFile)).includes("moody was told to throw");
    } catch {
      return false;
    }
  }, "state.json with the conversion failures");
  assert.equal(await h.stop(), 0);
  const offline = await h.cli(["status", "--json", "--config", h.configFile]);
  assert.match(offline.stdout, /"running": false/);
  served["agent status --json (stopped)"] = offline.stdout + offline.stderr;
  const offlineText = await h.cli(["status", "--config", h.configFile]);
  served["agent status (stopped)"] = offlineText.stdout + offlineText.stderr;
  served["agent stderr"] = h.output;
  for (const [what, text] of Object.entries(served)) {
    assert.deepEqual(leaks(text), [], `${what} leaks the token:\n${text}`);
  }
  assert.match(served["GET /status"], /\*\*\*/, "the echoed credential is masked, not dropped");

  // Every file the agent wrote, in the data folder and the drop folders. Not the config (the
  // token's home) and its last good copy, not the converter, not the dropped files themselves.
  const dropped = new Set([`THROW ${token}`, `THROW ${decoded}`]);
  const checked: string[] = [];
  for (const file of await filesUnder(h.dir)) {
    const rel = path.relative(h.dir, file);
    if (rel === "agent.json" || rel.endsWith("agent.json.last-good")) continue;
    if (rel.startsWith("converters")) continue;
    const text = await Deno.readTextFile(file);
    if (dropped.has(text)) continue;
    checked.push(rel);
    assert.deepEqual(leaks(text), [], `${rel} leaks the token:\n${text}`);
  }
  for (
    const expected of [
      /^agent-data\/state\.json$/,
      /queue\/error\/.*\.error\.json$/,
      /logs\/agent\.log$/,
      /\.error\.txt$/,
    ]
  ) {
    assert.ok(checked.some((f) => expected.test(f)), `no file ${expected} was checked: ${checked}`);
  }

  if (!isWindows) {
    const privateFiles = checked.filter((f) =>
      /state\.json$|\.error\.json$|logs\/|quarantine\//.test(f)
    );
    for (const f of privateFiles) {
      const mode = (await Deno.stat(path.join(h.dir, f))).mode! & 0o777;
      assert.equal(mode.toString(8), "600", `${f} is private to the agent's user`);
    }
    for (const d of ["agent-data/logs", "agent-data/queue/tmp"]) {
      const mode = (await Deno.stat(path.join(h.dir, d))).mode! & 0o777;
      assert.equal(mode.toString(8), "700", `${d} is private to the agent's user`);
    }
  }
});

Deno.test("secrets: redact masks the token in every form and any Authorization credential, not prose", () => {
  addSecrets([token]);
  for (const f of forms) assert.equal(redact(`before ${f} after`), "before *** after", f);
  assert.equal(redact(`{"token":"${JSON.stringify(token).slice(1, -1)}"}`), '{"token":"***"}');
  // A credential the agent does not know (an old token, someone else's) in a header's shape.
  const other = btoa("someone:else-entirely");
  assert.equal(redact(`Authorization: Basic ${other}`), "Authorization: Basic ***");
  assert.equal(redact(`{"authorization":"Bearer abc.def.ghi"}`), '{"authorization":"Bearer ***"}');
  assert.equal(redact(`proxy said: Basic ${other}`), "proxy said: Basic ***");
  // Ordinary text stays as it is.
  for (
    const prose of [
      "Authorization has been denied for this request.",
      'WWW-Authenticate: Basic realm="WATS"',
      "Basic test sequence1 failed",
      "Bearer <token> from control.json",
    ]
  ) assert.equal(redact(prose), prose);
});

Deno.test("secrets: a masked JSON log line is still valid JSON when the credential holds quotes", () => {
  addSecrets([token]);
  const line = jsonLine({
    category: ["agent", "upload"],
    level: "error",
    message: ["Upload failed: ", `Authorization: Basic ab"cd\\"efghijklmnop ${decoded}`, ""],
    rawMessage: "Upload failed: {message}",
    timestamp: Date.now(),
    properties: { message: `token=${token}`, nested: { deep: [password] } },
  });
  const parsed = JSON.parse(line);
  assert.deepEqual(leaks(line), []);
  assert.equal(parsed.properties.nested.deep[0], "***");
});

Deno.test("secrets: an error sidecar an older version left with the token in it is rewritten masked and private at start-up", async () => {
  await using h = await AgentHarness.create({ token });
  const errorDir = path.join(h.dataDir, "queue", "error");
  await Deno.mkdir(errorDir, { recursive: true });
  const [r] = makeSampleReports(1, { seed: 9102 });
  const key = `${Date.now() - 60_000}-0001-${r.id}`;
  await Deno.writeTextFile(path.join(errorDir, `${key}.json`), "an entry (not read here)");
  const sidecar = path.join(errorDir, `${key}.error.json`);
  const message = `HTTP 400: Bad report. Request headers: Authorization: Basic ${token}`;
  await Deno.writeTextFile(
    sidecar,
    JSON.stringify({
      reason: message,
      attempts: 1,
      lastStatus: 400,
      serverMessage: message,
      permanent: true,
      retryAt: null,
      failedAt: new Date().toISOString(),
      correlationId: "c",
      id: r.id,
      source: "/drop/r.json",
      sn: r.sn,
      pn: r.pn,
    }),
    { mode: 0o644 },
  );
  if (!isWindows) await Deno.chmod(sidecar, 0o644);
  await h.start();
  const text = await Deno.readTextFile(sidecar);
  assert.deepEqual(leaks(text), [], text);
  assert.equal(
    JSON.parse(text).reason,
    "HTTP 400: Bad report. Request headers: Authorization: Basic ***",
  );
  if (!isWindows) assert.equal(((await Deno.stat(sidecar)).mode! & 0o777).toString(8), "600");
  const status = await (await h.control("/status")).text();
  assert.deepEqual(leaks(status), []);
  assert.match(status, /Authorization: Basic \*\*\*/);
});
