/**
 * The transport, with the real agent process: TLS verified by default with server.caFile for a
 * company CA (a real HTTPS server on 127.0.0.1 with a certificate openssl makes here), proxies
 * from HTTP_PROXY / HTTPS_PROXY / NO_PROXY (a real forward proxy and CONNECT tunnel), and large
 * reports streamed from the queue file.
 */
import assert from "#assert";
import path from "#path";
import { createHash } from "#crypto";
import { AgentHarness } from "./_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import {
  errorSidecars,
  liveStatus,
  makeCerts,
  posts,
  startProxy,
  startTlsFront,
  versionGets,
} from "./_upload.ts";

Deno.test("upload TLS: an untrusted certificate fails with a clear TLS message; server.caFile fixes it without a restart", async () => {
  await using h = await AgentHarness.create();
  const certs = await makeCerts(h.dir);
  await using front = startTlsFront(h.server, certs);
  const server = h.config.server as Record<string, unknown>;
  server.url = front.url;
  await h.writeConfig();
  await h.start();
  const [r] = makeSampleReports(1, { seed: 201 });
  await h.drop("json", "r.json", JSON.stringify(r));
  await h.waitFor(async () => (await errorSidecars(h)).length === 1, "the failed upload in error");
  const [e] = await errorSidecars(h);
  assert.equal(e.permanent, false, "a TLS failure is retried (the certificate may be fixed)");
  assert.match(
    e.reason,
    /^TLS error: the certificate of 127\.0\.0\.1:\d+ is not trusted \(.*UnknownIssuer/,
  );
  assert.match(e.reason, /set server\.caFile to it/);
  assert.equal(h.server.store.get(r.id), undefined);
  assert.equal(posts(h.server).length, 0, "nothing got through the failed handshake");

  server.caFile = certs.caFile;
  await h.writeConfig();
  await h.waitFor(
    () => h.server.store.get(r.id) !== undefined,
    "the report on the server over HTTPS",
  );
  assert.ok(front.requests >= 1);
  const s = await liveStatus(h);
  assert.equal(s.server.version, "2025.1.0", "the version check also went over HTTPS");
});

Deno.test("upload proxy: HTTP_PROXY carries every request (forward proxy); NO_PROXY bypasses it", async () => {
  await using proxy = await startProxy();
  await using h = await AgentHarness.create();
  await h.start({ HTTP_PROXY: proxy.url, DENO_NO_UPDATE_CHECK: "1" });
  const [a, b] = makeSampleReports(2, { seed: 202 });
  await h.drop("json", "a.json", JSON.stringify(a));
  await h.waitFor(() => h.server.store.get(a.id) !== undefined, "the report on the server");
  const origin = h.server.origin;
  assert.ok(proxy.seen.includes(`GET ${origin}/api/App/Version HTTP/1.1`), proxy.seen.join("\n"));
  assert.ok(proxy.seen.includes(`POST ${origin}/api/Report/WSJF HTTP/1.1`), proxy.seen.join("\n"));
  assert.equal(await h.stop(), 0);

  proxy.seen.length = 0;
  await h.start({ HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1", DENO_NO_UPDATE_CHECK: "1" });
  await h.drop("json", "b.json", JSON.stringify(b));
  await h.waitFor(() => h.server.store.get(b.id) !== undefined, "the second report on the server");
  assert.deepEqual(proxy.seen, [], "NO_PROXY: straight to the server");
});

Deno.test("upload proxy: HTTPS_PROXY tunnels (CONNECT) to an HTTPS server trusted through server.caFile", async () => {
  await using proxy = await startProxy();
  await using h = await AgentHarness.create();
  const certs = await makeCerts(h.dir);
  await using front = startTlsFront(h.server, certs);
  Object.assign(h.config.server as object, { url: front.url, caFile: certs.caFile });
  await h.writeConfig();
  await h.start({ HTTPS_PROXY: proxy.url, DENO_NO_UPDATE_CHECK: "1" });
  const [r] = makeSampleReports(1, { seed: 203 });
  await h.drop("json", "r.json", JSON.stringify(r));
  await h.waitFor(() => h.server.store.get(r.id) !== undefined, "the report on the server");
  const host = new URL(front.url).host;
  assert.ok(proxy.seen.length >= 1);
  assert.ok(proxy.seen.every((l) => l === `CONNECT ${host} HTTP/1.1`), proxy.seen.join("\n"));
  assert.equal(versionGets(h.server)[0].status, 200);
});

Deno.test("upload: a multi-MB report is streamed from the queue file and arrives intact", async () => {
  await using h = await AgentHarness.create({
    server: { keepBodies: false },
    config: { server: { timeoutSeconds: 30 }, pool: { min: 1, max: 1, timeoutSeconds: 30 } },
  });
  await h.start();
  const [big] = makeSampleReports(1, { seed: 204, extraNumericSteps: 25_000 });
  const [small] = makeSampleReports(1, { seed: 205 });
  await h.drop("json", "big.json", JSON.stringify(big));
  await h.drop("json", "small.json", JSON.stringify(small));
  await h.waitFor(
    () => h.server.store.get(big.id) !== undefined && h.server.store.get(small.id) !== undefined,
    "both reports on the server",
    60_000,
  );
  const [post] = posts(h.server, big.id);
  assert.ok(post.bodyBytes >= 5 * 1024 * 1024, `the report is ${post.bodyBytes} bytes`);
  assert.equal(post.headers["transfer-encoding"], "chunked", "streamed, not read into memory");
  assert.equal(post.headers["content-length"], undefined);
  assert.ok(posts(h.server, small.id)[0].headers["content-length"], "a small report is sent whole");

  // Byte for byte what the queue holds.
  await h.waitFor(async () => (await liveStatus(h)).queue.completed === 2, "both completed");
  const dir = path.join(h.dataDir, "queue", "completed");
  const name = (await h.files(dir)).find((n) => n.endsWith(`${big.id}.json`))!;
  const file = await Deno.readFile(path.join(dir, name));
  const newline = file.indexOf(10);
  const envelope = JSON.parse(new TextDecoder().decode(file.subarray(0, newline)));
  const body = file.subarray(newline + 1);
  assert.equal(body.length, envelope.bodyBytes);
  const sha = createHash("sha256").update(body).digest("hex");
  assert.equal(sha, envelope.bodySha256);
  assert.equal(post.bodySha256, sha, "the server received exactly the queued bytes");
  const stored = h.server.store.get(big.id)!.report as { sn: string };
  assert.equal(stored.sn, big.sn);
});
