/**
 * Helpers for the upload end-to-end tests (tests/e2e/upload_*_test.ts): the agent's status and
 * JSON log, the server's report posts, queue error sidecars, a company CA with a server
 * certificate made by openssl, a TLS front for the test server, and a tiny HTTP proxy.
 *
 * @module
 */
import path from "#path";
import net from "node:net";
import type { AgentHarness } from "./_harness.ts";
import {
  makeSampleReports,
  type RequestLogEntry,
  type WatsServer,
} from "../../wats_test_server/mod.ts";

/** `GET /status` of the running agent (cheaper than `agent status --json` in a poll loop). */
// deno-lint-ignore no-explicit-any
export async function liveStatus(h: AgentHarness): Promise<Record<string, any>> {
  const res = await h.control("/status");
  return await res.json();
}

/** One line of `<dataDir>/logs/agent.log`. */
export interface LogLine {
  "@timestamp": string;
  level: string;
  message: string;
  logger: string;
  // deno-lint-ignore no-explicit-any
  properties: Record<string, any>;
}

/**
 * The agent's JSON log. The file sink flushes about every second: poll with `waitFor`, or stop
 * the agent first.
 */
export async function agentLog(h: AgentHarness): Promise<LogLine[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path.join(h.dataDir, "logs", "agent.log"));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return text.split("\n").filter((l) => l.trim()).map((l) => {
    const line: LogLine = JSON.parse(l);
    if (line.level === "WARN") line.level = "WARNING"; // LogTape's own formatter says WARN
    return line;
  });
}

/** Log lines about upload attempts (they carry an `attempt` property), optionally of one report. */
export async function attemptLines(h: AgentHarness, reportId?: string): Promise<LogLine[]> {
  return (await agentLog(h)).filter((l) =>
    l.logger === "agent.upload" && typeof l.properties.attempt === "number" &&
    (reportId === undefined || l.properties.reportId === reportId)
  );
}

/** Finished `POST /api/Report/WSJF` requests in the server's log, optionally of one report. */
export function posts(server: WatsServer, reportId?: string): RequestLogEntry[] {
  return server.log.entries().filter((e) =>
    e.method === "POST" && /\/api\/report\/wsjf$/i.test(e.path) && e.finishedAt !== null &&
    (reportId === undefined || e.reportId === reportId.toLowerCase())
  );
}

/** Finished `GET /api/App/Version` requests (start-up checks and breaker probes). */
export function versionGets(server: WatsServer): RequestLogEntry[] {
  return server.log.entries().filter((e) =>
    e.method === "GET" && /\/api\/app\/version$/i.test(e.path) && e.finishedAt !== null
  );
}

/**
 * Proves the retry path has run since now: replaces the server's faults with one 500 for a
 * fresh report, drops it and waits until it is stored after its retry. A report the agent
 * wrongly retried (an earlier permanent error) would have had its retry sooner, so a test can
 * check the absence of retries afterwards. Returns the probe's report id.
 */
export async function waitForARetry(h: AgentHarness, converter = "json"): Promise<string> {
  const [probe] = makeSampleReports(1, { seed: 4242, extraNumericSteps: 0 });
  probe.sn = "RETRY-PROBE-1";
  h.server.setFaults({
    rules: [{ id: probe.id, fault: { kind: "status", status: 500 }, times: 1 }],
  });
  await h.drop(converter, "retry-probe.json", JSON.stringify(probe));
  await h.waitFor(() => h.server.store.get(probe.id) !== undefined, "the retry probe stored");
  const statuses = posts(h.server, probe.id).map((p) => p.status);
  if (statuses[0] !== 500 || statuses.at(-1) !== 200) {
    throw new Error(`the retry probe should get a 500, then 200 on its retry; got ${statuses}`);
  }
  return probe.id;
}

/** The queue's error sidecars (`queue/error/<key>.error.json`), parsed. */
// deno-lint-ignore no-explicit-any
export async function errorSidecars(h: AgentHarness): Promise<Record<string, any>[]> {
  const dir = path.join(h.dataDir, "queue", "error");
  const out = [];
  for (const name of await h.files(dir)) {
    if (!name.endsWith(".error.json")) continue;
    try {
      out.push(JSON.parse(await Deno.readTextFile(path.join(dir, name))));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e; // requeued meanwhile
    }
  }
  return out;
}

/** The most requests that were in progress at the same moment. */
export function maxOverlap(entries: RequestLogEntry[]): number {
  const events: [number, number][] = [];
  for (const e of entries) {
    events.push([Date.parse(e.startedAt), 1], [Date.parse(e.finishedAt!), -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]); // an end before a start at the same ms
  let cur = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, cur += d);
  return max;
}

/** Files of a company CA and a server certificate for 127.0.0.1 it signed. */
export interface TestCerts {
  /** The CA certificate (what server.caFile points at). */
  caFile: string;
  cert: string;
  key: string;
}

/** Makes a CA and a server certificate for 127.0.0.1/localhost with openssl, in `dir`. */
export async function makeCerts(dir: string): Promise<TestCerts> {
  const f = (n: string) => path.join(dir, n);
  const run = async (args: string[]) => {
    const out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
      .output();
    if (!out.success) {
      throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  await run([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.pem"),
    "-subj",
    "/CN=Agent Test Company CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]); // deno-fmt-ignore
  await run([
    "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f("server.key"), "-out", f("server.csr"),
    "-subj", "/CN=127.0.0.1",
  ]); // deno-fmt-ignore
  await Deno.writeTextFile(
    f("server.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n" +
      "extendedKeyUsage=serverAuth\n",
  );
  await run([
    "x509",
    "-req",
    "-in",
    f("server.csr"),
    "-CA",
    f("ca.pem"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-out",
    f("server.pem"),
    "-extfile",
    f("server.ext"),
  ]); // deno-fmt-ignore
  return {
    caFile: f("ca.pem"),
    cert: await Deno.readTextFile(f("server.pem")),
    key: await Deno.readTextFile(f("server.key")),
  };
}

/** An HTTPS server on 127.0.0.1 that passes every request on to the test server. */
export interface TlsFront extends AsyncDisposable {
  /** `https://127.0.0.1:<port>` plus the test server's path prefix. */
  url: string;
  /** Requests that completed a TLS handshake and reached the front. */
  requests: number;
}

/**
 * Starts a TLS front for `server` (the test server speaks plain HTTP): reports still land in
 * the real test server's store, only the transport is HTTPS with `certs`.
 */
export function startTlsFront(server: WatsServer, certs: TestCerts): TlsFront {
  const front = {
    url: "",
    requests: 0,
    async [Symbol.asyncDispose]() {
      await srv.shutdown();
    },
  };
  const srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: certs.cert, key: certs.key, onListen() {} },
    async (req) => {
      front.requests++;
      const u = new URL(req.url);
      const res = await fetch(server.origin + u.pathname + u.search, {
        method: req.method,
        headers: req.headers,
        body: req.body,
      });
      const headers = new Headers(res.headers);
      headers.delete("content-length"); // Deno.serve sets its own
      return new Response(res.body, { status: res.status, headers });
    },
  );
  front.url = `https://127.0.0.1:${srv.addr.port}${server.url.slice(server.origin.length)}`;
  return front;
}

/** A forward proxy (absolute-form requests) and CONNECT tunnel, as company proxies are. */
export interface TestProxy extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`: the value for HTTP_PROXY / HTTPS_PROXY. */
  url: string;
  /** The request line of every connection it served, e.g. "CONNECT 127.0.0.1:443 HTTP/1.1". */
  seen: string[];
}

/** Starts a tiny proxy on 127.0.0.1 that logs each connection's first request line. */
export async function startProxy(): Promise<TestProxy> {
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    client.once("data", (first: Uint8Array) => {
      const line = requestLine(first)!;
      seen.push(line);
      const [method, target] = line.split(" ");
      let host: string;
      let port: number;
      if (method === "CONNECT") {
        const i = target.lastIndexOf(":");
        host = target.slice(0, i);
        port = Number(target.slice(i + 1));
      } else {
        const u = new URL(target); // forward proxying: the request line holds the full URL
        host = u.hostname;
        port = Number(u.port || 80);
        // Later requests on a kept-alive connection: log their request lines too.
        client.on("data", (chunk: Uint8Array) => {
          const next = requestLine(chunk);
          if (next) seen.push(next);
        });
      }
      const upstream = net.connect(port, host, () => {
        if (method === "CONNECT") client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        else upstream.write(first); // the server accepts the absolute-form request line
        upstream.pipe(client);
        client.pipe(upstream);
      });
      sockets.add(upstream);
      upstream.on("close", () => sockets.delete(upstream));
      upstream.on("error", () => client.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    async [Symbol.asyncDispose]() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The request line a chunk starts with, if it starts a request. */
function requestLine(chunk: Uint8Array): string | null {
  const head = new TextDecoder().decode(chunk.subarray(0, 2048)).split("\r\n")[0];
  return /^[A-Z]+ \S+ HTTP\/1\.[01]$/.test(head) ? head : null;
}

/** Sleeps. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
