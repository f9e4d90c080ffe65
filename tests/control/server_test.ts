/**
 * The control server on its own (handlers are stand-ins; the e2e tests use the real agent):
 * control.json is 0600, actions need a token, the page token may only retry, foreign Host and
 * Origin headers are refused, the page is served with its token and a strict CSP.
 */
import assert from "#assert";
import path from "#path";
import {
  controlFile,
  hostName,
  readControlInfo,
  startControlServer,
} from "../../src/control/server.ts";
import { History } from "../../src/control/history.ts";
import type { StatusSnapshot } from "../../src/status/snapshot.ts";

async function withServer(
  fn: (
    base: string,
    s: { token: string; pageToken: string; calls: string[]; dir: string },
  ) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "control-test-" });
  const calls: string[] = [];
  const history = new History();
  history.add("uploaded", 3);
  const server = await startControlServer(dir, 0, {
    snapshot: () =>
      Promise.resolve({ health: { state: "degraded", reasons: ["x"] } } as StatusSnapshot),
    metrics: () => Promise.resolve("# TYPE wats_agent_x gauge\nwats_agent_x 1\n"),
    history: () => history.series(),
    flush: (o) => {
      calls.push(`flush:${o.errors}`);
      return Promise.resolve({ requeued: 0 });
    },
    requeue: (o) => {
      calls.push(`requeue:${JSON.stringify(o.keys ?? null)}:${o.all}`);
      return Promise.resolve({ requeued: o.keys?.length ?? 0 });
    },
    pause: () => void calls.push("pause"),
    resume: () => void calls.push("resume"),
    stop: () => void calls.push("stop"),
  }, { version: "test", startedAt: new Date().toISOString() });
  try {
    await fn(`http://127.0.0.1:${server.port}`, {
      token: server.token,
      pageToken: server.pageToken,
      calls,
      dir,
    });
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: "POST", body: JSON.stringify(body), headers });
  return { status: res.status, body: await res.json() };
}

Deno.test("control server: control.json holds port and token, mode 0600; removed at shutdown", async () => {
  let dir = "";
  await withServer(async (base, s) => {
    dir = s.dir;
    const info = await readControlInfo(s.dir);
    assert.equal(info?.token, s.token);
    assert.equal(`http://127.0.0.1:${info?.port}`, base);
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(controlFile(s.dir))).mode! & 0o777, 0o600);
    }
  });
  assert.equal(await readControlInfo(dir), null);
});

Deno.test("control server: reads are open, actions need the token; the page token may only retry", async () => {
  await withServer(async (base, s) => {
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { state: "degraded", reasons: ["x"] });
    const hist = await (await fetch(`${base}/history`)).json();
    assert.equal(hist.minutes.length, 60);
    assert.equal(hist.totals.uploaded, 3);

    for (const action of ["flush", "requeue", "pause", "resume", "stop"]) {
      assert.equal((await post(`${base}/${action}`, { all: true })).status, 401, action);
      assert.equal(
        (await post(`${base}/${action}`, { all: true }, { authorization: "Bearer nope" })).status,
        401,
      );
    }
    assert.deepEqual(s.calls, [], "nothing ran without a token");

    const control = { authorization: `Bearer ${s.token}` };
    assert.equal((await post(`${base}/pause`, {}, control)).status, 200);
    assert.equal((await post(`${base}/requeue`, { keys: ["k1"] }, control)).body.requeued, 1);
    assert.equal((await post(`${base}/requeue`, { keys: "k1" }, control)).status, 400);
    assert.equal((await post(`${base}/requeue`, {}, control)).status, 400);

    const page = { authorization: `Bearer ${s.pageToken}` };
    assert.equal((await post(`${base}/requeue`, { keys: ["k2"] }, page)).status, 200);
    assert.equal((await post(`${base}/flush`, { errors: false }, page)).status, 200);
    assert.equal((await post(`${base}/pause`, {}, page)).status, 403);
    assert.equal((await post(`${base}/resume`, {}, page)).status, 403);
    assert.equal((await post(`${base}/stop`, {}, page)).status, 403);
    assert.deepEqual(s.calls, [
      "pause",
      'requeue:["k1"]:false',
      'requeue:["k2"]:false',
      "flush:false",
    ]);
  });
});

Deno.test("control server: foreign Host (DNS rebinding) and cross-origin posts are refused", async () => {
  await withServer(async (base, s) => {
    const port = new URL(base).port;
    // fetch won't let a script set Host; a raw request can.
    const raw = async (host: string) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
      await conn.write(
        new TextEncoder().encode(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
      );
      const text = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
      return text;
    };
    const evil = await raw(`attacker.example:${port}`);
    assert.match(evil, /^HTTP\/1\.1 421/);
    assert.ok(!evil.includes(s.pageToken), "no token for a foreign Host");
    assert.match(await raw(`localhost:${port}`), /^HTTP\/1\.1 200/);
    const cross = await post(`${base}/requeue`, { all: true }, {
      authorization: `Bearer ${s.token}`,
      origin: "http://127.0.0.1:9999",
    });
    assert.equal(cross.status, 403);
    const same = await post(`${base}/requeue`, { all: true }, {
      authorization: `Bearer ${s.token}`,
      origin: base,
    });
    assert.equal(same.status, 200);
  });
});

Deno.test("control server: POST /stop answers 202 first, then stops; only with the control token, Host and Origin", async () => {
  await withServer(async (base, s) => {
    const port = Number(new URL(base).port);
    const rawPost = async (host: string, auth: string) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new TextEncoder().encode(
        `POST /stop HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${auth}\r\n` +
          "Content-Length: 0\r\nConnection: close\r\n\r\n",
      ));
      return new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
    };
    assert.match(await rawPost(`attacker.example:${port}`, s.token), /^HTTP\/1\.1 421/);
    const control = { authorization: `Bearer ${s.token}` };
    const cross = await post(`${base}/stop`, {}, { ...control, origin: "http://evil.example" });
    assert.equal(cross.status, 403);
    assert.equal(
      (await post(`${base}/stop`, {}, { authorization: `Bearer ${s.pageToken}` })).status,
      403,
    );
    assert.equal((await post(`${base}/stop`, {})).status, 401);
    assert.deepEqual(s.calls, [], "nothing stopped");

    const res = await fetch(`${base}/stop`, { method: "POST", headers: control });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { stopping: true, pid: Deno.pid });
    // The stop starts after the answer (it shuts this server down, which waits for answers).
    while (!s.calls.includes("stop")) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(s.calls, ["stop"]);
  });
});

Deno.test("control server: the page is served with its token, a strict CSP and no caching", async () => {
  await withServer(async (base, s) => {
    const res = await fetch(`${base}/`);
    const html = await res.text();
    assert.equal(res.status, 200);
    assert.ok(html.includes(`content="${s.pageToken}"`));
    assert.ok(!html.includes(s.token), "never the control token");
    assert.match(
      res.headers.get("content-security-policy")!,
      /script-src 'self'.*frame-ancestors 'none'/,
    );
    assert.equal(res.headers.get("cache-control"), "no-store");
    for (const [p, type] of [["/app.js", "javascript"], ["/style.css", "css"]]) {
      const r = await fetch(base + p);
      assert.equal(r.status, 200);
      assert.match(r.headers.get("content-type")!, new RegExp(type));
      await r.body?.cancel();
    }
    assert.equal(
      await fetch(`${base}/nope`).then(async (r) => (await r.body?.cancel(), r.status)),
      404,
    );
  });
});

Deno.test("control server: hostName", () => {
  assert.equal(hostName("127.0.0.1:8089"), "127.0.0.1");
  assert.equal(hostName("LOCALHOST"), "localhost");
  assert.equal(hostName("[::1]:80"), "[::1]");
  // Anything but a name and a port is no name at all.
  for (const bad of ["127.0.0.1:1@evil.com", "127.0.0.1:80/x", "localhost:", "127.0.0.1 x", ""]) {
    assert.equal(hostName(bad), null, bad);
  }
  assert.equal(hostName("localhost.evil.com"), "localhost.evil.com");
  assert.equal(path.basename(controlFile("/x")), "control.json");
});
