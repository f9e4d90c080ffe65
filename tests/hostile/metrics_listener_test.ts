/**
 * `control.metricsListen` faces the network, so it is attacked like the network would: the real
 * agent runs with the listener on 127.0.0.2 (a loopback address of its own, standing in for the
 * station's LAN address) and three reports waiting in backoff. Raw HTTP on that port tries every
 * other route (with the real control token), path tricks, every other method, huge headers and
 * slow clients. Everything but GET/HEAD /metrics answers 404/405 and nothing changes: the
 * reports still wait, intake still runs; a real flush on the control endpoint then sends them
 * (so a flush that got through would have shown). The listener is bound to its address only.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { checkExposition } from "../control/_prom.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

const ADDRESS = "127.0.0.2";

/** 127.0.0.2 is loopback on Linux (all of 127/8); macOS and Windows have 127.0.0.1 only. */
function canBindSecondLoopback(): boolean {
  try {
    Deno.listen({ hostname: ADDRESS, port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

interface RawAnswer {
  status: number | null;
  head: string;
  body: string;
  /** Why the connection ended without an answer (reset by the server). */
  dropped?: string;
}

/** Sends bytes as they are (no client-side URL clean-up) and reads the answer to the close. */
async function raw(port: number, request: string | Uint8Array): Promise<RawAnswer> {
  const conn = await Deno.connect({ hostname: ADDRESS, port });
  const bytes = typeof request === "string" ? new TextEncoder().encode(request) : request;
  const chunks: Uint8Array[] = [];
  let dropped: string | undefined;
  // A guard, not a timing assertion: a server that neither answers nor closes fails the test.
  const guard = setTimeout(() => conn.close(), 20_000);
  try {
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
    const buf = new Uint8Array(65536);
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
  } catch (e) {
    dropped = (e as Error).name;
  } finally {
    clearTimeout(guard);
    try {
      conn.close();
    } catch { /* closed */ }
  }
  const text = new TextDecoder().decode(
    chunks.reduce((a, c) => new Uint8Array([...a, ...c]), new Uint8Array()),
  );
  const split = text.indexOf("\r\n\r\n");
  const head = split === -1 ? text : text.slice(0, split);
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  return { status: m ? Number(m[1]) : null, head, body: text.slice(split + 4), dropped };
}

/** One request; `host` as a scraper would name the station, or as the control endpoint wants. */
const get = (target: string, method = "GET", extra = "", host = "station-01.lan:9469") =>
  `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`;

async function refused(hostname: string, port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname, port })).close();
    return false;
  } catch (e) {
    return e instanceof Deno.errors.ConnectionRefused;
  }
}

Deno.test({
  name: "metricsListen: only GET/HEAD /metrics answers; every other path, method, header and " +
    "slow client gets 404/405 or nothing, and changes nothing",
  ignore: !canBindSecondLoopback(),
  async fn(t) {
    await using h = await AgentHarness.create({
      config: {
        control: { port: 0, metricsListen: `${ADDRESS}:0` },
        server: {
          // Full jitter draws the first retry from 0–86,400 s: no report retries by itself during
          // the test (with 0–120 s one did within a second now and then, and the test waited in vain).
          retry: { initialSeconds: 86_400, maxSeconds: 86_400 },
          breaker: { failures: 100, probeSeconds: 1 },
        },
      },
    });
    // Three reports fail once, then wait up to a day to retry: a flush or requeue would send them.
    h.server.setFaults({ failNext: { count: 3, fault: "503" } });
    await h.start();
    const reports = makeSampleReports(3, { seed: 7 });
    for (const r of reports) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
    await h.waitFor(async () => (await h.status()).queue.retrying === 3, "3 reports in backoff");

    const info = JSON.parse(await Deno.readTextFile(path.join(h.dataDir, "control.json")));
    assert.match(info.metricsListen, /^127\.0\.0\.2:\d+$/, "control.json names the listener");
    const port = Number(info.metricsListen.split(":")[1]);
    const bearer = `Authorization: Bearer ${info.token}\r\n`;
    const secrets = [info.token, h.token];
    const served: RawAnswer[] = [];
    const answer = async (request: string | Uint8Array) => {
      const a = await raw(port, request);
      served.push(a);
      return a;
    };

    await t.step("GET and HEAD /metrics: the exposition, with the health state", async () => {
      const a = await answer(get("/metrics"));
      assert.equal(a.status, 200, a.head);
      assert.match(a.head, /content-type: text\/plain; version=0\.0\.4/i);
      const e = checkExposition(a.body);
      assert.deepEqual(e.problems, []);
      assert.ok(
        e.samples.some((s) => s.name === "wats_agent_health_state" && s.value === 1),
        a.body,
      );
      const head = await answer(get("/metrics", "HEAD"));
      assert.equal(head.status, 200, head.head);
      assert.equal(head.body, "");
    });

    await t.step("bound to the configured address only", async () => {
      assert.ok(await refused("127.0.0.1", port), `127.0.0.1:${port} must refuse`);
      assert.ok(
        await refused(ADDRESS, info.port),
        "the control endpoint stays on 127.0.0.1, not on the metrics address",
      );
    });

    await t.step("every other route, with the control token and a local Host: 404", async () => {
      const routes = [
        "/",
        "/index.html",
        "/app.js",
        "/style.css",
        "/status",
        "/health",
        "/history",
        "/flush",
        "/pause",
        "/resume",
        "/requeue",
        "/control.json",
        "/metrics/",
        "/metrics.txt",
        "/METRICS",
        "//metrics",
        "/metrics/../status",
        "/metrics/..%2fstatus",
        "/%2e%2e/status",
        "/./status",
        "/../agent-data/control.json",
        "/..%2f..%2fetc%2fpasswd",
        "/page/index.html",
        "http://127.0.0.1/status",
        "*",
      ];
      for (const route of routes) {
        for (const method of ["GET", "HEAD", "POST"]) {
          const a = await answer(
            get(route, method, `Origin: http://127.0.0.1\r\n${bearer}`, "127.0.0.1"),
          );
          assert.ok(
            a.status === 404 || (a.status === 400 && route === "*"),
            `${method} ${route}: ${a.head}`,
          );
        }
      }
      for (const action of ["/flush", "/requeue", "/pause", "/resume"]) {
        const body = JSON.stringify({ all: true, errors: true });
        const a = await answer(
          `POST ${action} HTTP/1.1\r\nHost: 127.0.0.1\r\n${bearer}content-type: application/json` +
            `\r\ncontent-length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        );
        assert.equal(a.status, 404, `POST ${action} with the control token: ${a.head}`);
      }
    });

    await t.step("every method but GET and HEAD on /metrics: 405", async () => {
      for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"]) {
        const a = await answer(get("/metrics", method, bearer));
        assert.equal(a.status, 405, `${method} /metrics: ${a.head}`);
        assert.match(a.head, /allow: GET, HEAD/i);
      }
    });

    await t.step("huge and many headers: refused or dropped, then scraping goes on", async () => {
      const huge = await answer(get("/metrics", "GET", `X-Big: ${"a".repeat(1 << 20)}\r\n`));
      assert.ok(huge.status !== 200, `a 1 MiB header must not be served: ${huge.head}`);
      const many = Array.from({ length: 500 }, (_, i) => `X-H${i}: v\r\n`).join("");
      const lots = await answer(get("/flush", "POST", bearer + many));
      assert.ok(lots.status !== 200, `500 headers: ${lots.head}`);
      const after = await answer(get("/metrics"));
      assert.equal(after.status, 200, after.head);
    });

    await t.step("slow clients hold no one up and reach nothing else", async () => {
      const slow = await Promise.all(
        Array.from({ length: 20 }, () => Deno.connect({ hostname: ADDRESS, port })),
      );
      const enc = new TextEncoder();
      for (const c of slow) await c.write(enc.encode("POST /fl"));
      const meanwhile = await answer(get("/metrics"));
      assert.equal(meanwhile.status, 200, "a scrape while 20 clients dribble");
      for (const c of slow) {
        await c.write(enc.encode(`ush HTTP/1.1\r\nHost: 127.0.0.1\r\n${bearer}`));
      }
      for (const [i, c] of slow.entries()) {
        await c.write(enc.encode("Connection: close\r\n\r\n"));
        const buf = new Uint8Array(4096);
        const n = await c.read(buf);
        const head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
        assert.match(head, /^HTTP\/1\.1 404/, `slow client ${i}: ${head}`);
        c.close();
      }
    });

    await t.step("nothing changed, and nothing secret was served", async () => {
      for (const a of served) {
        for (const s of secrets) assert.ok(!(a.head + a.body).includes(s), "a secret was served");
      }
      const s = await h.status();
      assert.equal(s.queue.retrying, 3, "the reports still wait in backoff");
      assert.equal(s.intake.paused, false, "intake still runs");
      assert.ok(reports.every((r) => !h.server.store.get(r.id)), "nothing was flushed");
      // The same flush through the control endpoint sends them: the check above could fail.
      const res = await h.control("/flush", { method: "POST", auth: true, body: "{}" });
      assert.equal(res.status, 200, await res.text());
      await h.waitFor(
        () => reports.every((r) => h.server.store.get(r.id)),
        "the flushed reports on the server",
      );
    });
  },
});

Deno.test("metricsListen: an address the agent can't listen on stops the start, naming the setting", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    for (
      const [listen, why] of [
        [`127.0.0.1:${port}`, `port ${port} on 127.0.0.1 is already in use`],
        // TEST-NET-1: an address no station has.
        ["192.0.2.1:9469", "192.0.2.1 is not an address of this station"],
        ["9469", 'expected "address:port"'],
        ["127.0.0.1:70000", 'expected "address:port"'],
      ]
    ) {
      await using h = await AgentHarness.create({
        config: { control: { port: 0, metricsListen: listen } },
      });
      const err = await h.start().then(
        () => `the agent started with control.metricsListen "${listen}"`,
        (e: Error) => e.message,
      );
      assert.match(err, /agent exited with [1-9]\d* during start/, err);
      assert.match(err, /control\.metricsListen/, err);
      assert.ok(err.includes(why), `${listen}: ${err}`);
    }
  } finally {
    taken.close();
  }
});
