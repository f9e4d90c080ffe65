/**
 * `agent stop` and `POST /stop` with the real agent process: the graceful stop that needs no
 * signal (Windows has none to give). The file in flight finishes and its report is committed;
 * the action refuses no token, the page token, a foreign Host and Origin; a token that is not
 * the running agent's, no agent at all, a stale control.json, a timeout and an agent killed
 * during its stop are each said with the right exit code. SIGTERM still stops cleanly.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

/** A converter that converts only once `params.releaseFile` exists (so a stop finds it busy). */
const HELD_CONVERTER = `export default {
  name: "held",
  description: "test: WSJF JSON passthrough that waits for a release file",
  async convert(input) {
    const { startedFile, releaseFile } = input.params;
    await Deno.writeTextFile(startedFile, input.name);
    for (;;) {
      try {
        await Deno.stat(releaseFile);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return [JSON.parse(new TextDecoder().decode(input.bytes))];
  },
};
`;

async function heldHarness(): Promise<
  { h: AgentHarness; started: string; release: string }
> {
  const h = await AgentHarness.create({ config: { pool: { min: 1, max: 1, timeoutSeconds: 60 } } });
  const started = path.join(h.dir, "started");
  const release = path.join(h.dir, "release");
  await Deno.writeTextFile(path.join(h.dir, "held.js"), HELD_CONVERTER);
  h.config.converters = [{
    name: "held",
    module: "./held.js",
    watch: "./drop/held",
    pattern: "*",
    afterSuccess: "delete",
    params: { startedFile: started, releaseFile: release },
  }];
  await Deno.mkdir(path.join(h.dir, "drop", "held"), { recursive: true });
  await h.writeConfig();
  return { h, started, release };
}

const exists = (file: string) => Deno.stat(file).then(() => true, () => false);
const stopAsks = (h: AgentHarness) =>
  h.output.split("\n").filter((l) => l.includes("Stop asked through the control endpoint"))
    .length;

Deno.test("agent stop: the file in flight finishes and is committed, exit 0; a timeout says so (exit 1)", async () => {
  const { h, started, release } = await heldHarness();
  await using _ = h;
  const [r] = makeSampleReports(1, { seed: 71 });
  await h.start();
  await h.drop("held", "unit.json", JSON.stringify(r));
  await h.waitFor(() => exists(started), "the conversion under way");

  const early = await h.cli(["stop", "--config", h.configFile, "--timeout", "1"]);
  assert.equal(early.code, 1, early.stdout + early.stderr);
  assert.match(early.stderr, /was asked to stop but still runs after 1 s/);
  assert.equal((await h.control("/health")).status, 200, "still draining, still answering");

  const waiting = h.cli(["stop", "--config", h.configFile]);
  await h.waitFor(() => stopAsks(h) === 2, "the second `agent stop` reaching the agent");
  await Deno.writeTextFile(release, "");
  const done = await waiting;
  assert.equal(done.code, 0, done.stdout + done.stderr);
  assert.match(done.stdout, new RegExp(`The agent \\(pid ${h.pid}\\) stopped\\.`));
  assert.equal(await h.exited(), 0);

  // Committed before the exit: in the queue or on the server, once; the drop folder is empty.
  const s = await h.status();
  assert.equal(s.running, false);
  assert.equal(s.queue.queued + s.queue.completed, 1, JSON.stringify(s.queue));
  assert.equal(s.queue.error + s.queue.processing, 0, JSON.stringify(s.queue));
  assert.deepEqual(await h.files(h.dropDir("held")), []);
  assert.ok(!/it stopped itself/.test(s.health.reasons.join("\n")), "a person's stop, no fault");
  await h.start();
  await h.waitFor(() => h.server.store.get(r.id) !== undefined, "the report on the server");
  assert.equal(await h.stop(), 0);
  assert.equal(h.server.store.totalReceives, 1, "sent once");
});

Deno.test("POST /stop: refused with no token, the page token, a foreign Host or Origin; the agent runs on", async () => {
  await using h = await AgentHarness.create();
  await h.start();
  const info = JSON.parse(await Deno.readTextFile(path.join(h.dataDir, "control.json")));
  const html = await (await h.control("/")).text();
  const pageToken = html.match(/name="agent-page-token" content="([0-9a-f]+)"/)?.[1];
  assert.match(pageToken ?? "", /^[0-9a-f]{64}$/, "the status page carries its token");

  const post = async (headers: Record<string, string>) => {
    const res = await h.control("/stop", { method: "POST", headers });
    return { status: res.status, text: await res.text() };
  };
  const none = await post({});
  assert.equal(none.status, 401);
  assert.match(none.text, /needs the control token/);
  const page = await post({ authorization: `Bearer ${pageToken}` });
  assert.equal(page.status, 403);
  assert.match(page.text, /may not call \/stop/);
  const cross = await post({
    authorization: `Bearer ${info.token}`,
    origin: "http://evil.example",
  });
  assert.equal(cross.status, 403);
  // fetch won't set Host; a raw request can (DNS rebinding arrives with a foreign name).
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: info.port });
  await conn.write(new TextEncoder().encode(
    `POST /stop HTTP/1.1\r\nHost: attacker.example:${info.port}\r\n` +
      `Authorization: Bearer ${info.token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
  ));
  const raw = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
  assert.match(raw, /^HTTP\/1\.1 421/);

  assert.equal(stopAsks(h), 0, "no stop began");
  const s = await h.status();
  assert.equal(s.running, true);
  assert.equal(s.pid, h.pid);
  assert.equal(await h.stop("POST /stop"), 0, "the control token stops it");
});

Deno.test("agent stop: none running (never started, or a stale control.json after kill -9) is exit 0; a token that isn't the agent's is exit 1", async () => {
  await using h = await AgentHarness.create();
  const cli = () => h.cli(["stop", "--config", h.configFile]);
  const never = await cli();
  assert.equal(never.code, 0, never.stdout + never.stderr);
  assert.match(never.stdout, /No agent runs on .*agent-data; nothing to stop\./);

  await h.start();
  const file = path.join(h.dataDir, "control.json");
  const original = await Deno.readTextFile(file);
  const info = JSON.parse(original);
  await Deno.writeTextFile(file, JSON.stringify({ ...info, token: "0".repeat(64) }));
  const wrong = await cli();
  assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr);
  assert.match(wrong.stderr, /refused the token in .*control\.json/);
  assert.equal(stopAsks(h), 0);
  assert.equal((await h.control("/health")).status, 200, "still running");
  await Deno.writeTextFile(file, original);

  await h.kill9();
  assert.ok(await exists(file), "kill -9 leaves control.json behind");
  const stale = await cli();
  assert.equal(stale.code, 0, stale.stdout + stale.stderr);
  assert.match(stale.stdout, /No agent runs on .*; nothing to stop\./);
});

Deno.test("agent stop: an agent killed during its stop is said (exit 1); its file converts at the next start", async () => {
  const { h, started, release } = await heldHarness();
  await using _ = h;
  const [r] = makeSampleReports(1, { seed: 72 });
  await h.start();
  await h.drop("held", "unit.json", JSON.stringify(r));
  await h.waitFor(() => exists(started), "the conversion under way");
  const waiting = h.cli(["stop", "--config", h.configFile]);
  await h.waitFor(() => stopAsks(h) === 1, "`agent stop` reaching the agent");
  await h.kill9();
  const said = await waiting;
  assert.equal(said.code, 1, said.stdout + said.stderr);
  assert.match(said.stderr, /is gone, but did not record a finished stop/);

  await Deno.writeTextFile(release, "");
  await h.start();
  await h.waitFor(() => h.server.store.get(r.id) !== undefined, "the report on the server");
  assert.equal(await h.stop(), 0);
});

Deno.test("SIGTERM still stops cleanly (exit 0; the stop recorded in state.json)", {
  // Windows has no SIGTERM: Deno ends the process outright there (POST /stop is tested above).
  ignore: Deno.build.os === "windows",
}, async () => {
  await using h = await AgentHarness.create();
  await h.start();
  const pid = h.pid;
  assert.equal(await h.stop("SIGTERM"), 0);
  assert.match(h.output, /SIGTERM received: stopping/);
  const state = JSON.parse(await Deno.readTextFile(path.join(h.dataDir, "state.json")));
  assert.equal(state.pid, pid);
  const stoppedAt = Date.parse(state.stoppedAt);
  assert.ok(
    stoppedAt >= Date.parse(state.startedAt) && stoppedAt <= Date.now(),
    `stoppedAt recorded, after startedAt: ${state.stoppedAt} (started ${state.startedAt})`,
  );
});
