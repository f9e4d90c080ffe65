/**
 * Upgrades keep working: a data folder whose queue an earlier version of the agent wrote
 * (tests/fixtures/queue-upgrade, written by the agent before the one-owner ingest transaction)
 * drains unchanged: queued and in-flight entries are uploaded byte for byte, an error entry due
 * for a retry is retried, a permanent one stays in error/ with its sidecar and is listed in
 * status, and new files are taken as usual beside them.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "./_harness.ts";
import { decodeEntry } from "../../src/queue/entry.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

const fixture = path.resolve(import.meta.dirname!, "../fixtures/queue-upgrade");

/** Copies the fixture's folders and entries (not the placeholders that keep empty folders). */
async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(path.join(from, e.name), path.join(to, e.name));
    else if (e.name !== ".keep") {
      await Deno.copyFile(path.join(from, e.name), path.join(to, e.name));
    }
  }
}

/** The fixture's entries in one state: key → the body as it was written. */
async function entries(state: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const dir = path.join(fixture, "queue", state);
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".json") || e.name.endsWith(".error.json")) continue;
    const { body } = decodeEntry(await Deno.readFile(path.join(dir, e.name)));
    out.set(e.name.slice(0, -5), new TextDecoder().decode(body));
  }
  return out;
}

Deno.test("ingest upgrade: a queue written by the earlier agent drains unchanged", async () => {
  const queued = new Map([...await entries("queued"), ...await entries("processing")]);
  const errors = await entries("error");
  const [retrying, permanent] = [...errors.keys()].sort(); // as the fixture was written
  assert.equal(queued.size, 3);
  assert.ok(retrying && permanent);

  await using h = await AgentHarness.create({});
  await copyTree(fixture, h.dataDir);
  await h.start();
  const fresh = makeSampleReports(1, { seed: 777 })[0];
  await h.drop("json", "fresh.json", JSON.stringify(fresh));

  const toSend = new Map([...queued, [retrying, errors.get(retrying)!]]);
  const idOf = (key: string) => key.slice(19);
  await h.waitFor(
    () =>
      [...toSend.keys()].every((k) => h.server.store.get(idOf(k)) !== undefined) &&
      h.server.store.get(fresh.id) !== undefined,
    "the old entries and the new file on the server",
  );
  for (const [key, body] of toSend) {
    const stored = h.server.store.get(idOf(key))!;
    assert.equal(stored.report.sn, JSON.parse(body).sn, `${key}: its own report`);
  }
  assert.equal(h.server.store.get(idOf(permanent)), undefined, "a permanent error is not sent");

  await h.waitFor(async () => (await h.status()).queue.queued === 0, "the queue drained");
  const s = await h.status();
  assert.equal(s.queue.error, 1, "the permanent error stays");
  const listed = s.recentErrors.find((e: { key?: string }) => e.key === permanent);
  assert.ok(listed, `status lists the old error entry: ${JSON.stringify(s.recentErrors)}`);
  assert.match(listed.reason, /rejected/);
  assert.ok(
    (await h.files(path.join(h.dataDir, "queue", "error"))).includes(`${permanent}.error.json`),
    "its sidecar is kept",
  );
  for (const key of toSend.keys()) {
    assert.ok(
      (await h.files(path.join(h.dataDir, "queue", "completed"))).includes(`${key}.json`),
      `${key} completed under its old key`,
    );
  }
  const receives = h.server.stats().receiveCounts;
  for (const key of toSend.keys()) assert.equal(receives[idOf(key)], 1, `${key} sent once`);
});
