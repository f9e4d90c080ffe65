/**
 * A large backlog restart with entries removed by hand from queued/: once the start-up listing
 * is over, `agent status --json` must count what queued/ holds. An entry the listing took in
 * and a person then removed stays counted (the queue notices only when the uploader reaches
 * it), so while the server is down the queued count stays too high indefinitely (and the
 * phantom entries count against `queue.maxReports`).
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { encodeEntry, makeEnvelope } from "../../src/queue/entry.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

const N = 3000;
const REMOVED = 100;

/** Writes `n` entries straight into queued/ in the entry format (as scripts/bench/backlog.ts). */
function writeBacklog(qd: string, n: number): string[] {
  Deno.mkdirSync(qd, { recursive: true });
  const samples = makeSampleReports(20, { seed: 3 });
  const enc = new TextEncoder();
  const start = Date.now() - n - 60_000;
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = samples[i % samples.length];
    const id = crypto.randomUUID();
    const body = enc.encode(JSON.stringify({ ...r, id, sn: `${r.sn}-${i}` }));
    const at = new Date(start + i);
    const envelope = makeEnvelope({
      id,
      correlationId: "backlog" + i,
      source: `/drop/${i}.json`,
      converter: "test",
      sourceSha256: "0".repeat(64),
      unit: 0,
      units: 1,
      firstSeen: at.toISOString(),
      sn: r.sn,
      pn: r.pn,
      result: r.result,
      body,
    }, at);
    const [head] = encodeEntry(envelope, body);
    const bytes = new Uint8Array(head.length + body.length);
    bytes.set(head);
    bytes.set(body, head.length);
    const key = `${String(at.getTime()).padStart(13, "0")}-${String(i % 10000).padStart(4, "0")}`;
    const name = `${key}-${id}.json`;
    Deno.writeFileSync(path.join(qd, name), bytes);
    names.push(name);
  }
  return names;
}

Deno.test("backlog: after the listing, status counts what queued/ holds when entries were removed by hand", async () => {
  await using h = await AgentHarness.create({ config: { log: { level: "info" } } });
  const qd = path.join(h.dataDir, "queue", "queued");
  const names = writeBacklog(qd, N);
  await h.server.stop(); // nothing drains: the uploader never reaches the removed entries
  await h.start();
  // The listing is over when every entry is counted (the first few failed: error/, retrying).
  await h.waitFor(async () => {
    const q = (await h.status()).queue;
    return q !== undefined && q.queued + q.processing + q.error === N;
  }, `status: all ${N} entries counted`);

  let removed = 0;
  for (const name of names.slice(N - REMOVED)) {
    removed += await Deno.remove(path.join(qd, name)).then(() => 1, () => 0);
  }
  assert.ok(removed > REMOVED / 2, `only ${removed} entries were still in queued/`);
  const files = (await Array.fromAsync(Deno.readDir(qd))).length;
  // The agent recounts queued/ every few seconds; the count must come down to what is there.
  let last = -1;
  await h.waitFor(async () => {
    last = (await h.status()).queue.queued;
    return last === files;
  }, `status counting the ${files} entries in queued/`).catch((e) => {
    throw new Error(`agent status says ${last} queued, queued/ holds ${files} entries`, {
      cause: e,
    });
  });
});
