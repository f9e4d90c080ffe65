/**
 * The Uploader in-process (real queue, real test server, no agent process) for races that are
 * hard to stage end to end. The reaction table itself is proven in tests/e2e/upload_*_test.ts.
 */
import assert from "#assert";
import { waitFor } from "../_wait.ts";
import { Queue } from "../../src/queue/queue.ts";
import type { NewEntry } from "../../src/queue/entry.ts";
import { Metrics } from "../../src/metrics/registry.ts";
import { serverSchema } from "../../src/config/schema.ts";
import type { Config } from "../../src/config/load.ts";
import { Uploader } from "../../src/upload/uploader.ts";
import { makeSampleReports, startWatsServer } from "../../wats_test_server/mod.ts";

function entry(report: { id: string; sn: string; pn: string }): NewEntry {
  return {
    id: report.id,
    correlationId: "cid0000001",
    source: "/drop/r.json",
    converter: "test",
    sourceSha256: "00",
    unit: 0,
    units: 1,
    firstSeen: new Date().toISOString(),
    sn: report.sn,
    pn: report.pn,
    result: "P",
    body: new TextEncoder().encode(JSON.stringify(report)),
  };
}

Deno.test("uploader: a 401 answering a post sent with the old token does not pause uploads after the token was fixed", async () => {
  await using server = await startWatsServer({
    port: 0,
    tokens: ["good-token"],
    faults: { next: ["slow:800"] }, // the first post (old token) answers 401 only after 800 ms
  });
  const dataDir = await Deno.makeTempDir();
  const queue = await Queue.open(dataDir);
  const settings = (token: string): Config["server"] =>
    ({
      ...serverSchema.parse({ url: server.url, token, authRetrySeconds: 60, concurrency: 1 }),
      token,
    }) as Config["server"];
  const uploader = new Uploader(settings("old-token"), queue, new Metrics());
  try {
    const [r] = makeSampleReports(1, { seed: 1 });
    await queue.enqueue([entry(r)]);
    uploader.start();
    await waitFor(() => server.log.entries().some((e) => e.method === "POST"), "the first post");
    uploader.reconfigure(settings("good-token"));
    // Had the late 401 paused uploads, nothing would move for authRetrySeconds (60 s).
    await waitFor(() => server.store.get(r.id) !== undefined, "the report on the server");
    const postStatuses = server.log.entries().filter((e) => e.method === "POST").map((e) =>
      e.status
    );
    assert.deepEqual(postStatuses, [401, 200]);
    assert.equal(uploader.status().authProblem, null);
  } finally {
    await uploader.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("uploader: a smaller server.concurrency (hot reload) retires loops", async () => {
  await using server = await startWatsServer({
    port: 0,
    tokens: ["t"],
    faults: { pSlow: 1, slowMs: 200 },
  });
  const dataDir = await Deno.makeTempDir();
  const queue = await Queue.open(dataDir);
  const settings = (concurrency: number): Config["server"] =>
    ({ ...serverSchema.parse({ url: server.url, token: "t", concurrency }), token: "t" }) as Config[
      "server"
    ];
  const uploader = new Uploader(settings(4), queue, new Metrics());
  try {
    uploader.start();
    uploader.reconfigure(settings(1));
    const reports = makeSampleReports(5, { seed: 2 });
    await queue.enqueue(reports.map(entry));
    uploader.wake();
    await waitFor(() => reports.every((r) => server.store.get(r.id)), "all 5 on the server");
    const posts = server.log.entries().filter((e) => e.method === "POST");
    for (let i = 1; i < posts.length; i++) {
      assert.ok(posts[i].startedAt >= posts[i - 1].finishedAt!, "one post at a time");
    }
  } finally {
    await uploader.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
