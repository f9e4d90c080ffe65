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
import { expectCleared, expectReason, health, waitLog } from "../e2e/_ops.ts";
import { commandSucceeds, skipUnless } from "../_tools.ts";
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

Deno.test("shared drop folder: converters of one agent share their folder's claim, through a reload that restarts or removes one", async () => {
  await using h = await AgentHarness.create({
    converters: [
      { name: "a", format: "wsjf", pattern: "*.json" },
      { name: "b", format: "wsjf", watch: "./drop/a", pattern: "*.wsjf" },
    ],
  });
  const drop = h.dropDir("a");
  await using other = await AgentHarness.create({
    server: false,
    token: h.token,
    converters: [{ name: "json", format: "wsjf", watch: drop }],
    config: { server: { ...(h.config.server as object), url: h.server.url } },
  });
  await h.start();
  await other.start();
  await expectReason(other, CLAIMED, "degraded");
  const reports = Array.from({ length: 6 }, (_, i) => makeSampleReport(i, { seed: 93 }));
  const dropAll = async (from: number, to: number, ext: string) => {
    for (let i = from; i < to; i++) await h.drop("a", `r${i}.${ext}`, JSON.stringify(reports[i]));
    await h.waitFor(
      () => reports.slice(from, to).every((r) => h.server.store.get(r.id) !== undefined),
      `reports ${from}..${to - 1} on the server`,
    );
  };
  await dropAll(0, 1, "json");
  await dropAll(1, 2, "wsjf");
  assert.equal((await health(h)).state, "healthy", "one agent's two converters are no conflict");

  // b restarts (its pattern changed), then goes: a keeps the folder all along.
  const convs = h.config.converters as { name: string; pattern?: string }[];
  convs[1].pattern = "*.wsj*";
  await h.writeConfig();
  await waitLog(h, (r) => r.some((l) => /Converter "?b"? stopped/.test(l.message)), "b restarted");
  await dropAll(2, 3, "wsjf");
  h.config.converters = [convs[0]];
  await h.writeConfig();
  await h.waitFor(async () => (await h.status()).converters.length === 1, "b removed");
  await dropAll(3, 5, "json");
  await other.waitForRescans(2);
  for (const r of reports.slice(0, 5)) {
    assert.equal(h.server.store.get(r.id)!.receiveCount, 1, `report ${r.id} received once`);
  }
  assert.deepEqual(
    (await other.status()).converters.map((c: { converted: number }) => c.converted),
    [0],
    "the other agent took nothing",
  );
  assert.ok((await health(other)).reasons.some((r) => CLAIMED.test(r)));
  await other.stop();
  await h.stop();
});

Deno.test({
  name:
    "shared drop folder: a folder the agent can't create its claim in is watched anyway, with a warning",
  ignore: skipUnless(
    Deno.build.os === "linux" &&
      commandSucceeds("unshare", [
        "-m",
        "sh",
        "-c",
        "mount --bind -o ro / / 2>/dev/null || mount -t tmpfs none /mnt",
      ]),
    "needs Linux and a mount namespace (unshare -m, as root) for a read-only bind mount",
  ),
  async fn() {
    await using h = await AgentHarness.create({
      converters: [{ name: "json", format: "wsjf", afterSuccess: "keep", errorFolder: "./error" }],
    });
    const drop = h.dropDir("json");
    // The agent alone sees its drop folder read-only (a read-only share, say).
    await h.start({ DROP: drop }, [
      "unshare",
      "-m",
      "sh",
      "-c",
      'mount --bind -o ro "$DROP" "$DROP" && exec "$@"',
      "sh",
    ]);
    const warned = (await waitLog(
      h,
      (r) => r.some((l) => l.level === "WARNING" && /Can't claim drop folder/.test(l.message)),
      "the warning",
    )).find((l) => l.level === "WARNING" && /Can't claim drop folder/.test(l.message))!;
    assert.ok(warned.message.includes(drop), warned.message);
    assert.match(warned.message, /Read-only file system|read-only/i);
    assert.match(warned.message, /every report would be sent twice/);
    const r = makeSampleReport(1, { seed: 95 });
    await h.drop("json", "r.json", JSON.stringify(r));
    await h.waitFor(() => h.server.store.get(r.id) !== undefined, "the report on the server");
    assert.ok(!(await health(h)).reasons.some((x) => CLAIMED.test(x)));
    await h.stop();
  },
});

Deno.test("shared drop folder: claim files planted as links (symbolic or hard) are never written through", async () => {
  await using h = await AgentHarness.create({
    converters: [{ name: "a", format: "wsjf" }, { name: "b", format: "wsjf" }],
  });
  const victims = path.join(h.dir, "victims");
  await Deno.mkdir(victims);
  const victim = async (name: string) => {
    const p = path.join(victims, name);
    await Deno.writeTextFile(p, `precious ${name}\n`);
    return p;
  };
  const v1 = await victim("lock-target"), v2 = await victim("owner-target");
  const v3 = await victim("hard-target");
  await Deno.symlink(v1, path.join(h.dropDir("a"), ".wats-agent.lock"));
  await Deno.symlink(v2, path.join(h.dropDir("b"), ".wats-agent.owner"));
  const before = await Promise.all([v1, v2, v3].map((p) => Deno.stat(p)));
  await h.start();
  await waitLog(
    h,
    (r) =>
      r.some((l) => /Can't claim drop folder .*drop\/a.*symbolic link/.test(l.message)) &&
      r.some((l) => /can't write who holds it/.test(l.message)),
    "the warnings for the planted symbolic links",
  );
  // b holds its folder (the lock file was free to create): its owner link is left as it was.
  await h.stop();
  await Deno.remove(path.join(h.dropDir("b"), ".wats-agent.lock"));
  await Deno.link(v3, path.join(h.dropDir("b"), ".wats-agent.lock"));
  await h.start();
  await waitLog(
    h,
    (r) => r.some((l) => /Can't claim drop folder .*drop\/b.*hard link/.test(l.message)),
    "the warning for the planted hard link",
  );
  const reports = [makeSampleReport(1, { seed: 97 }), makeSampleReport(2, { seed: 97 })];
  await h.drop("a", "r.json", JSON.stringify(reports[0]));
  await h.drop("b", "r.json", JSON.stringify(reports[1]));
  await h.waitFor(
    () => reports.every((r) => h.server.store.get(r.id) !== undefined),
    "both folders still converted",
  );
  for (const [i, p] of [v1, v2, v3].entries()) {
    assert.equal(await Deno.readTextFile(p), `precious ${path.basename(p)}\n`);
    assert.equal((await Deno.stat(p)).mtime?.getTime(), before[i].mtime?.getTime());
  }
  assert.ok((await Deno.lstat(path.join(h.dropDir("a"), ".wats-agent.lock"))).isSymlink);
  assert.ok((await Deno.lstat(path.join(h.dropDir("b"), ".wats-agent.owner"))).isSymlink);
  await h.stop();
});
