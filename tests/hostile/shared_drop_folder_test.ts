/**
 * Two agents with different data folders on one drop folder (F9), with two real agent
 * processes and the real test server: exactly one takes the files, the other says why (an
 * error naming the folder and the first agent's data dir and pid, a degraded health reason)
 * and takes no file; every report reaches the server once and Done holds one name per file.
 * When the first agent stops, the second takes the folder over at its next poll; started
 * again, the first is now the one refused. The claim file itself is never taken or moved.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { expectCleared, expectReason, waitLog } from "../e2e/_ops.ts";
import { makeSampleReport } from "../../wats_test_server/sample_reports.ts";

const CLAIMED = /claimed by another agent/;

Deno.test("shared drop folder: a second agent with another data dir takes nothing, says why, and takes over when the first stops", async () => {
  const move = { name: "json", format: "wsjf", afterSuccess: "move" as const };
  await using first = await AgentHarness.create({ converters: [move] });
  const drop = first.dropDir("json");
  await using second = await AgentHarness.create({
    server: false,
    token: first.token,
    converters: [{ ...move, watch: drop }],
    config: { server: { ...(first.config.server as object), url: first.server.url } },
  });
  await first.start();
  await second.start();

  const reason = await expectReason(second, CLAIMED, "degraded");
  assert.match(reason, new RegExp(`data dir ${first.dataDir.replaceAll("\\", "\\\\")}`));
  const refused = (await waitLog(
    second,
    (r) => r.some((l) => l.level === "ERROR" && CLAIMED.test(l.message)),
    "the refusal",
  )).find((l) => l.level === "ERROR" && CLAIMED.test(l.message))!;
  assert.match(refused.message, new RegExp(`pid ${first.pid}\\b`));
  assert.ok(refused.message.includes(drop), refused.message);
  assert.match(refused.message, /Give each agent its own drop folders/);

  const reports = Array.from({ length: 20 }, (_, i) => makeSampleReport(i, { seed: 91 }));
  for (const [i, r] of reports.entries()) {
    await first.drop("json", `r${i}.json`, JSON.stringify(r));
  }
  const done = path.join(drop, "Done");
  await first.waitFor(
    async () => (await first.files(done)).length === 20 && (await first.files(drop)).length === 0,
    "all 20 files converted and moved to Done",
  );
  await first.waitFor(
    () => reports.every((r) => first.server.store.get(r.id) !== undefined),
    "all 20 reports on the server",
  );
  await second.waitForRescans(2);
  await first.waitForRescans(1);
  for (const r of reports) {
    assert.equal(first.server.store.get(r.id)!.receiveCount, 1, `report ${r.id} received once`);
  }
  assert.deepEqual(
    await first.files(done),
    reports.map((_, i) => `r${i}.json`).sort(),
    "Done holds one name per file",
  );
  const secondStatus = await second.status();
  assert.deepEqual(
    secondStatus.converters.map((c: { taken: number; converted: number }) => [
      c.taken,
      c.converted,
    ]),
    [[0, 0]],
  );
  // The claim files stay where they are, untouched by either agent.
  assert.deepEqual(await first.files(drop), []);
  assert.deepEqual(
    (await Array.fromAsync(Deno.readDir(drop))).map((e) => e.name).sort(),
    [".wats-agent.lock", ".wats-agent.owner", "Done"],
  );
  const owner = JSON.parse(await Deno.readTextFile(path.join(drop, ".wats-agent.owner")));
  assert.equal(owner.dataDir, first.dataDir);
  assert.equal(owner.pid, first.pid);

  // The first stops: the second takes the folder over without a restart.
  await first.stop();
  await expectCleared(second, CLAIMED);
  await waitLog(
    second,
    (r) => r.some((l) => l.level === "INFO" && /is free now/.test(l.message)),
    "the takeover",
  );
  const later = Array.from({ length: 5 }, (_, i) => makeSampleReport(100 + i, { seed: 91 }));
  for (const [i, r] of later.entries()) {
    await second.drop("json", `later${i}.json`, JSON.stringify(r));
  }
  await second.waitFor(
    () => later.every((r) => first.server.store.get(r.id) !== undefined),
    "the later reports on the server, sent by the second agent",
  );
  for (const r of later) assert.equal(first.server.store.get(r.id)!.receiveCount, 1);
  assert.equal(
    JSON.parse(await Deno.readTextFile(path.join(drop, ".wats-agent.owner"))).dataDir,
    second.dataDir,
  );

  // Started again, the first agent is the one that waits.
  await first.start();
  const again = await expectReason(first, CLAIMED, "degraded");
  assert.match(again, new RegExp(`pid ${second.pid}\\b`));
  await first.stop();
  await second.stop();
});
