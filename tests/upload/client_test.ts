import assert from "#assert";
import path from "#path";
import {
  apiBase,
  classifyReportResponse,
  classifyStatus,
  networkOutcome,
  postTimeoutMs,
  WatsClient,
} from "../../src/upload/client.ts";
import { makeSampleReports, startWatsServer } from "../../wats_test_server/mod.ts";

const ID = "5fd8989e-15d9-4807-af10-b08612ad27d1";

Deno.test("classify: 2xx counts only with the report's ID (ID, id or uuid; object or one-element array)", () => {
  for (const body of [{ ID }, { id: ID.toUpperCase() }, [{ uuid: ID }]]) {
    assert.equal(classifyReportResponse(200, JSON.stringify(body), null, ID, 1).kind, "stored");
  }
  const other = classifyReportResponse(
    200,
    JSON.stringify({ ID: crypto.randomUUID() }),
    null,
    ID,
    1,
  );
  assert.equal(other.kind, "transient");
  assert.match(other.message, /did not confirm report .* names ID/);
  assert.equal(classifyReportResponse(201, "", null, ID, 1).kind, "transient");
  assert.match(classifyReportResponse(200, "OK", null, ID, 1).message, /has no ID/);
});

Deno.test("classify: the reaction table", () => {
  const kind = (s: number) => classifyStatus(s, "", null, 1).kind;
  for (const s of [400, 409, 413, 422]) assert.equal(kind(s), "rejected", String(s));
  for (const s of [401, 403, 404]) assert.equal(kind(s), "auth", String(s));
  for (const s of [408, 429, 500, 502, 503, 504, 418]) {
    assert.equal(kind(s), "transient", String(s));
  }
  const bad = classifyStatus(400, JSON.stringify({ Message: "Invalid WSJF report: x" }), null, 1);
  assert.equal(bad.serverMessage, "Invalid WSJF report: x");
  assert.match(bad.message, /rejected by the server: HTTP 400 "Invalid WSJF report: x"/);
  assert.match(
    classifyStatus(401, "", null, 1).message,
    /^token rejected: HTTP 401.*Fix server\.token/,
  );
  assert.match(
    classifyStatus(404, "", null, 1).message,
    /^wrong server URL: HTTP 404.*Fix server\.url/,
  );
  const html = "<html><head><title>502 Bad Gateway</title></head><body>…</body></html>";
  assert.equal(classifyStatus(502, html, null, 1).serverMessage, "502 Bad Gateway");
  assert.equal(classifyStatus(429, "", 2000, 1).retryAfterMs, 2000);
});

Deno.test("networkOutcome: TLS, refused and timeouts say what to check", () => {
  const tls = new TypeError("fetch failed", {
    cause: new Error("client error (Connect): invalid peer certificate: UnknownIssuer"),
  });
  const o = networkOutcome(tls, "https://wats.example.com", 30_000, 5);
  assert.equal(o.kind, "transient");
  assert.match(
    o.message,
    /^TLS error: the certificate of wats\.example\.com is not trusted .*UnknownIssuer.*server\.caFile/,
  );
  const name = networkOutcome(
    new Error("invalid peer certificate: NotValidForName"),
    "https://x",
    1,
    1,
  );
  assert.match(name.message, /not valid for that name/);
  const refused = networkOutcome(
    new Error("tcp connect error: Connection refused (os error 111)"),
    "http://h:1",
    1,
    1,
  );
  assert.match(refused.message, /^connection refused by h:1/);
  const timeout = networkOutcome(
    new DOMException("timed out", "TimeoutError"),
    "http://h",
    2500,
    1,
  );
  assert.match(
    timeout.message,
    /no answer from http:\/\/h within 2\.5 s \(server\.timeoutSeconds/,
  );
});

Deno.test("apiBase: a trailing / or /api is dropped, a path prefix kept", () => {
  assert.equal(apiBase("https://x.wats.com/"), "https://x.wats.com");
  assert.equal(apiBase("https://x.wats.com/api"), "https://x.wats.com");
  assert.equal(apiBase("https://x.wats.com/wats/API/"), "https://x.wats.com/wats");
  assert.equal(apiBase("https://x.wats.com/wats"), "https://x.wats.com/wats");
});

Deno.test("WatsClient: a body from a file is streamed (chunked) and arrives byte for byte", async () => {
  await using server = await startWatsServer({ port: 0, tokens: ["t0k"], logBodies: true });
  const dir = await Deno.makeTempDir();
  try {
    const [r] = makeSampleReports(1, { seed: 1 });
    const body = new TextEncoder().encode(JSON.stringify(r));
    const file = path.join(dir, "entry.json");
    const head = new TextEncoder().encode('{"envelope":1}\n');
    await Deno.writeFile(file, new Uint8Array([...head, ...body]));
    const client = new WatsClient({ url: server.url, token: "t0k", timeoutMs: 5000 });
    const o = await client.postReport(r.id, { file, offset: head.length, length: body.length });
    client.close();
    assert.equal(o.kind, "stored", o.message);
    const [entry] = server.log.entries();
    assert.equal(entry.headers["transfer-encoding"], "chunked");
    assert.equal(entry.body, JSON.stringify(r));
    assert.equal(entry.authorization, "Basic t0k");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "WatsClient: a streamed body's file is closed when the request fails before or while sending",
  ignore: Deno.build.os !== "linux", // counts /proc/self/fd
  async fn() {
    const server = await startWatsServer({ port: 0, tokens: ["t"] });
    const refused = server.url;
    await server.stop();
    // fetch refuses port 9 (a "bad port") before it touches the body stream.
    const blocked = "http://127.0.0.1:9";
    const dir = await Deno.makeTempDir();
    const openFds = () => [...Deno.readDirSync("/proc/self/fd")].length;
    try {
      const file = path.join(dir, "entry.json");
      await Deno.writeTextFile(file, "{}");
      for (const url of [refused, blocked]) {
        const client = new WatsClient({ url, token: "t", timeoutMs: 2000 });
        const before = openFds();
        for (let i = 0; i < 5; i++) {
          const o = await client.postReport(ID, { file, offset: 0, length: 2 });
          assert.equal(o.kind, "transient");
        }
        client.close();
        assert.ok(openFds() - before < 5, `${url}: ${openFds() - before} file handles leaked`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("WatsClient.version: the version and the server's clock", async () => {
  await using server = await startWatsServer({
    port: 0,
    tokens: ["t"],
    version: "2030.1.2",
    clockSkewMs: 3_600_000,
  });
  const client = new WatsClient({ url: server.url + "/api", token: "t", timeoutMs: 2000 });
  const v = await client.version();
  client.close();
  assert.equal(v.outcome.kind, "stored");
  assert.equal(v.version, "2030.1.2");
  const skew = v.serverDate!.getTime() - Date.now();
  assert.ok(Math.abs(skew - 3_600_000) < 5000, `skew ${skew} ms`);
});

Deno.test("postTimeoutMs: server.timeoutSeconds plus the body's size at 1 Mbit/s", () => {
  assert.equal(postTimeoutMs(30_000, 0), 30_000);
  assert.equal(postTimeoutMs(30_000, 40 * 1024 * 1024), 30_000 + 320_000, "40 MiB: 320 s more");
  assert.ok(postTimeoutMs(30_000, 3000) < 30_100, "a small report: a few ms more");
});
