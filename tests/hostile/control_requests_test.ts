/**
 * Requests a local process can send the control endpoint, found by a review with the real
 * agent: a 200 MB body was read whole (757 MB resident) by anyone holding the page token, which
 * the status page hands to every local process; a Host the URL parser refuses gave a bare 500.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";

Deno.test("control: a body over 1 MiB is refused unread (413); the agent goes on", async () => {
  await using h = await AgentHarness.create();
  await h.start();
  const big = new Uint8Array(8 * 1024 * 1024).fill(0x20);
  const res = await h.control("/flush", { method: "POST", auth: true, body: big });
  assert.equal(res.status, 413, await res.text());
  // A stream without a length is cut at the limit too.
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 8; i++) c.enqueue(new Uint8Array(1024 * 1024).fill(0x20));
      c.close();
    },
  });
  const streamed = await h.control("/flush", { method: "POST", auth: true, body: stream });
  assert.equal(streamed.status, 413, await streamed.text());
  const ok = await h.control("/flush", { method: "POST", auth: true, body: "{}" });
  assert.equal(ok.status, 200, await ok.text());
  assert.equal((await h.control("/health")).status, 200);
});

/** The raw answer to a GET of `target` with exactly this Host line, over a fresh connection. */
async function rawGet(port: number, target: string, host: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(
      `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    ),
  );
  let answer = "";
  const buf = new Uint8Array(4096);
  for (let n; (n = await conn.read(buf)) !== null;) {
    answer += new TextDecoder().decode(buf.subarray(0, n));
  }
  conn.close();
  return answer;
}

Deno.test("control: a Host the URL parser refuses gets 400 with a reason, not a 500", async () => {
  await using h = await AgentHarness.create();
  await h.start();
  const { port } = JSON.parse(await Deno.readTextFile(path.join(h.dataDir, "control.json")));
  const answer = await rawGet(port, "/health", "localhost:99999");
  assert.match(answer, /^HTTP\/1\.1 (400|421)/, answer);
});

Deno.test("control: a Host that only starts like a local name, or a request naming another host, is refused (421)", async () => {
  await using h = await AgentHarness.create();
  await h.start();
  const { port } = JSON.parse(await Deno.readTextFile(path.join(h.dataDir, "control.json")));
  for (const host of ["127.0.0.1:1@evil.com", "localhost.evil.com", `127.0.0.1:${port}/x`]) {
    const answer = await rawGet(port, "/status", host);
    assert.match(answer, /^HTTP\/1\.1 (421|400)/, `${host}: ${answer}`);
    assert.doesNotMatch(answer, /"queue"/, `${host}: the status was served`);
  }
  // An absolute request target names a host of its own, whatever the Host line says.
  const absolute = await rawGet(port, "http://evil.com/status", `127.0.0.1:${port}`);
  assert.match(absolute, /^HTTP\/1\.1 421/, absolute);
  assert.match(await rawGet(port, "/health", `127.0.0.1:${port}`), /^HTTP\/1\.1 200/);
  const local = await rawGet(port, `http://localhost:${port}/health`, `localhost:${port}`);
  assert.match(local, /^HTTP\/1\.1 200/, local);
});
