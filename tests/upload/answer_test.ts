/**
 * How the client reads a server's answer, against a real HTTP server that answers what the WATS
 * test server does not: a 64 MiB plain answer (only 1 MiB is read, the rest cancelled), a gzip
 * body (not read: the client asks for none), redirects with a relative or no Location (never
 * followed, a URL to fix), for the report post and the version check.
 */
import assert from "#assert";
import { MAX_ANSWER_BYTES } from "../../src/upload/answer.ts";
import { WatsClient } from "../../src/upload/client.ts";

const ID = "7c1d2f0e-3b4a-4c5d-8e6f-0a1b2c3d4e5f";
const HUGE = 64 * 1024 * 1024;

interface Seen {
  paths: string[];
  acceptEncoding: (string | null)[];
  /** Bytes of the huge answer the server produced (it produces on demand). */
  produced: number;
}

function serve(answer: (path: string) => Response) {
  const seen: Seen = { paths: [], acceptEncoding: [], produced: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    const path = new URL(req.url).pathname;
    seen.paths.push(path);
    seen.acceptEncoding.push(req.headers.get("accept-encoding"));
    return answer(path);
  });
  return { server, seen, url: `http://127.0.0.1:${server.addr.port}` };
}

/** A plain answer of `bytes` ("x"), made as the client pulls it. */
function huge(seen: Seen, bytes: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(0x78);
  return new ReadableStream({
    pull(c) {
      if (seen.produced >= bytes) return c.close();
      seen.produced += chunk.length;
      c.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
}

Deno.test("answers: a 64 MiB answer is read to 1 MiB and cancelled; post and version", async () => {
  const { server, seen, url } = serve(() =>
    new Response(huge(seen, HUGE), { headers: { "content-type": "application/json" } })
  );
  await using _ = server;
  const client = new WatsClient({ url, token: "t0k", timeoutMs: 30_000 });
  const post = await client.postReport(ID, new TextEncoder().encode("{}"));
  assert.equal(post.kind, "transient");
  assert.match(
    post.message,
    new RegExp(`larger than ${MAX_ANSWER_BYTES} bytes, so it was not read`),
  );
  assert.match(post.message, /it begins "x{20}/);
  assert.ok(seen.produced < HUGE / 4, `the server made ${seen.produced} bytes of its answer`);
  seen.produced = 0;
  const version = await client.version();
  assert.equal(version.outcome.kind, "transient");
  assert.equal(version.version, null);
  assert.match(version.outcome.message, /version answer was not read: .*larger than/);
  assert.ok(seen.produced < HUGE / 4, `the server made ${seen.produced} bytes of its answer`);
  assert.deepEqual(seen.acceptEncoding, ["identity", "identity"]);
  client.close();
});

Deno.test("answers: a gzip body is not read; the status still decides", async () => {
  const gz = new Uint8Array(
    await new Response(
      new Blob([JSON.stringify({ Message: "bad report" })]).stream()
        .pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer(),
  );
  const { server, url } = serve(() =>
    new Response(gz, { status: 400, headers: { "content-encoding": "gzip" } })
  );
  await using _ = server;
  const client = new WatsClient({ url, token: "t0k", timeoutMs: 30_000 });
  const post = await client.postReport(ID, new TextEncoder().encode("{}"));
  assert.equal(post.kind, "rejected");
  assert.equal(post.serverMessage, null);
  assert.match(
    post.message,
    /HTTP 400 \(the answer was compressed \(gzip\) although the agent asks for none .*not read\)/,
  );
  client.close();
});

Deno.test("answers: a redirect is not followed; it names where it points and server.url", async () => {
  const { server, seen, url } = serve((path) =>
    path === "/api/App/Version"
      ? new Response(null, { status: 301 }) // no Location at all
      : path === "/api/Report/WSJF"
      ? new Response("moved", { status: 302, headers: { location: "/wats/api/Report/WSJF" } })
      : new Response(JSON.stringify([{ ID }]))
  );
  await using _ = server;
  const client = new WatsClient({ url, token: "t0k", timeoutMs: 30_000 });
  const post = await client.postReport(ID, new TextEncoder().encode("{}"));
  assert.equal(post.kind, "auth", "a configuration problem: uploads pause");
  assert.equal(post.status, 302);
  const host = new URL(url).host;
  assert.match(
    post.message,
    new RegExp(
      `redirected the request \\(HTTP 302\\) to http://${host} \\(Location: /wats/api/Report/WSJF\\).*Fix server\\.url`,
    ),
  );
  const version = await client.version();
  assert.equal(version.outcome.kind, "auth");
  assert.match(version.outcome.message, /HTTP 301\) to a location it did not name/);
  assert.deepEqual(seen.paths, ["/api/Report/WSJF", "/api/App/Version"], "nothing followed");
  client.close();
});
