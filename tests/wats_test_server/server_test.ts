/**
 * Tests of the WATS-compatible test server, over real HTTP on loopback.
 *
 * @module
 */
import assert from "#assert";
import { waitFor } from "../_wait.ts";
import path from "#path";
import { needsSharedFixtures, ownFixture, sharedFixture } from "../_fixtures.ts";
import {
  defaultProcesses,
  makeSampleReport,
  makeSampleReports,
  startWatsServer,
  validateReport,
  type WatsServer,
  type WatsServerOptions,
} from "../../wats_test_server/mod.ts";
import { parseCli } from "../../wats_test_server/cli.ts";

const token = "tok-3f9a/+==";
const auth = { Authorization: `Basic ${token}` };
type Json = Record<string, unknown>;

function start(options: Partial<WatsServerOptions> = {}): Promise<WatsServer> {
  return startWatsServer({ tokens: [token], ...options });
}

/** Calls the server and returns status, headers and parsed (or raw) body. */
async function call(
  server: WatsServer,
  apiPath: string,
  init: RequestInit & { raw?: boolean } = {},
): Promise<{ status: number; headers: Headers; body: unknown; text: string }> {
  const res = await fetch(`${server.url}${apiPath}`, {
    ...init,
    headers: { ...auth, ...(init.headers as Record<string, string> ?? {}) },
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (e.g. the HTML of a 502); keep the text
  }
  return { status: res.status, headers: res.headers, body, text };
}

function post(server: WatsServer, report: unknown, headers: Record<string, string> = {}) {
  return call(server, "/api/Report/WSJF", {
    method: "POST",
    body: typeof report === "string" ? report : JSON.stringify(report),
    headers: { "Content-Type": "application/json", ...headers },
  });
}

function control(server: WatsServer, route: string, init: RequestInit = {}): Promise<unknown> {
  return fetch(`${server.controlUrl}${route}`, init).then(async (res) => {
    const body = await res.json();
    if (!res.ok) throw new Error(`${route}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  });
}

function fullReport(): Json {
  return JSON.parse(Deno.readTextFileSync(ownFixture("wats_server", "full_report.json")));
}

function message(body: unknown): string {
  return (body as { Message: string }).Message;
}

Deno.test("auth: 401 without or with a wrong token, 403 without rights, token compared whole", async () => {
  await using server = await start({ noRightsTokens: ["readonly"] });
  const version = `${server.url}/api/App/Version`;
  for (
    const authorization of [
      null,
      "Basic wrong",
      `Bearer ${token}`,
      `Basic ${btoa(token)}`,
      `Basic  ${token}`,
    ]
  ) {
    const res = await fetch(version, {
      headers: authorization ? { Authorization: authorization } : {},
    });
    assert.equal(res.status, 401, `Authorization ${authorization}`);
    assert.match(message(await res.json()), /Authorization has been denied/);
  }
  const denied = await fetch(version, { headers: { Authorization: "Basic readonly" } });
  assert.equal(denied.status, 403);
  assert.match(message(await denied.json()), /no rights/);
  const ok = await call(server, "/api/App/Version", {
    headers: { Authorization: `basic ${token}` },
  });
  assert.equal(ok.status, 200);
  const log = server.log.entries();
  assert.equal(log.at(-1)?.authorization, `basic ${token}`);
  assert.deepEqual(log.map((e) => e.status), [401, 401, 401, 401, 401, 403, 200]);
});

Deno.test("version, processes, ping, system status, 404 and 405", async () => {
  await using server = await start({
    processes: [...defaultProcesses, {
      code: 77,
      name: "Calibration",
      isTestOperation: true,
      isRepairOperation: false,
    }],
  });
  const version = await call(server, "/api/App/Version");
  assert.equal(version.text, '"2025.1.0"');
  assert.match(version.headers.get("content-type") ?? "", /application\/json/);
  const processes = (await call(server, "/api/App/Processes")).body as Json[];
  assert.deepEqual(processes.map((p) => p.code), [10, 50, 90, 500, 77]);
  assert.equal(processes.find((p) => p.code === 500)?.isRepairOperation, true);
  const ping = (await call(server, "/api/internal/Client/Ping")).body as Json;
  assert.equal(ping.ServerName, "wats-test-server");
  assert.ok(!Number.isNaN(Date.parse(ping.ServerTime as string)));
  assert.equal((await call(server, "/api/SystemStatus")).status, 200);
  const missing = await call(server, "/api/Nope");
  assert.equal(missing.status, 404);
  assert.match(message(missing.body), /No HTTP resource was found/);
  assert.equal((await call(server, "/not-api")).status, 404);
  const wrongMethod = await call(server, "/api/Report/WSJF");
  assert.equal(wrongMethod.status, 405);
  assert.match(message(wrongMethod.body), /does not support http method 'GET'/);
});

Deno.test("POST report: 200 with ID/uuid/Report_ID, upsert by lower-case id, receive count", async () => {
  await using server = await start();
  const [a, b] = makeSampleReports(2, { seed: 11 });
  const upper = { ...a, id: a.id.toUpperCase() };
  const first = await post(server, upper);
  assert.equal(first.status, 200, first.text);
  assert.deepEqual(first.body, { ID: a.id, uuid: a.id, Report_ID: 1 });
  const second = await post(server, b);
  assert.deepEqual(second.body, { ID: b.id, uuid: b.id, Report_ID: 2 });
  const again = await post(server, { ...a, sn: "CHANGED-1" });
  assert.deepEqual(again.body, { ID: a.id, uuid: a.id, Report_ID: 1 }, "Report_ID is stable");
  assert.equal(server.store.size, 2);
  const stored = server.store.get(a.id.toUpperCase())!;
  assert.equal(stored.receiveCount, 2);
  assert.equal(stored.report.sn, "CHANGED-1", "the later submission overwrites");
  assert.equal(server.store.get(b.id)?.receiveCount, 1);
  assert.deepEqual(server.stats().receiveCounts, { [a.id]: 2, [b.id]: 1 });
  assert.equal(server.stats().duplicateReceives, 1);
  assert.deepEqual(server.log.entries().map((e) => e.reportId), [a.id, b.id, a.id]);
});

Deno.test("read-back is normalised like the real server (docs/wsjf.md), unknown fields dropped with warnings", async () => {
  await using server = await start();
  const report = fullReport();
  const res = await post(server, report);
  assert.equal(res.status, 200, res.text);
  const id = "c0ffee00-1234-4abc-8def-0123456789ab";
  assert.equal((res.body as Json).ID, id);
  const back = await call(server, `/api/Report/Wsjf/${id.toUpperCase()}?detailLevel=7`);
  assert.equal(back.status, 200);
  const r = back.body as Json;
  assert.equal(r.id, id);
  assert.equal(r.rev, "B2");
  assert.equal(r.startUTC, "2026-05-11T12:03:27.1234567Z");
  assert.equal(r.processName, "PCBA test");
  assert.match(
    r.origin as string,
    /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  assert.deepEqual(r.assetStats, []);
  const unit = (r.subUnits as Json[])[0];
  assert.equal(unit.partType, "Radio module");
  assert.equal(unit.rev, "C");
  assert.equal(r.attachments, undefined, "unknown top-level field dropped");
  const steps = (r.root as { steps: Json[] }).steps;
  assert.equal(steps.at(-1)?.unitOfWork, undefined, "unknown step field dropped");
  assert.equal((steps.at(-1)?.attachment as Json).data, "dGVzdCBzZXJ2ZXIgbG9nCg==");
  assert.deepEqual(server.store.get(id)?.warnings, [
    "attachments: unknown field; the server ignores it",
    "root.steps[9].unitOfWork: unknown field; the server ignores it",
  ]);
  const unknown = await call(server, "/api/Report/Wsjf/00000000-0000-4000-8000-000000000000");
  assert.equal(unknown.status, 404);
  assert.equal((await call(server, "/api/Report/Wsjf/not-a-guid")).status, 400);
});

Deno.test("validation: each invalid report gets 400 with a message naming the field", async () => {
  await using server = await start();
  const valid = () => makeSampleReport(0, { seed: 5, failRate: 0 }) as unknown as Json;
  const root = (r: Json) => r.root as Json & { steps: Json[] };
  const power = (r: Json) => root(r).steps[1] as Json & { steps: Json[] };
  const cases: [string, (r: Json) => unknown, RegExp][] = [
    ["type", (r) => ({ ...r, type: "U" }), /type: must be "T" \(test\) or "R"/],
    ["id", (r) => ({ ...r, id: "12345" }), /id: must be a UUID/],
    ["sn empty", (r) => ({ ...r, sn: "" }), /sn: is required and must be a non-empty string/],
    ["pn blank", (r) => ({ ...r, pn: "   " }), /pn: is required/],
    ["machineName missing", (r) => ({ ...r, machineName: undefined }), /machineName: is required/],
    ["rev number", (r) => ({ ...r, rev: 3 }), /rev: is required .* \(found 3\)/],
    [
      "sn too long",
      (r) => ({ ...r, sn: "S".repeat(101) }),
      /sn: is 101 characters long; the limit is 100/,
    ],
    ["processCode text", (r) => ({ ...r, processCode: "10" }), /processCode: must be an integer/],
    [
      "processCode unknown",
      (r) => ({ ...r, processCode: 77 }),
      /processCode: 77 is not a process known/,
    ],
    [
      "repair code on test",
      (r) => ({ ...r, processCode: 500 }),
      /500 "Repair" is not a test operation/,
    ],
    ["result D", (r) => ({ ...r, result: "D" }), /result: must be one of P, F, E, T \(found "D"\)/],
    [
      "start without offset",
      (r) => ({ ...r, start: "2026-03-02T09:15:00" }),
      /start: needs a UTC offset/,
    ],
    [
      "start garbage",
      (r) => ({ ...r, start: "yesterday" }),
      /start: must be an ISO 8601 date-time/,
    ],
    ["start impossible", (r) => ({ ...r, start: "2026-02-30T09:15:00Z" }), /start: must be an ISO/],
    ["no root", (r) => ({ ...r, root: undefined }), /root: a test \(T\) report needs a root step/],
    ["root not a sequence", (r) => {
      root(r).stepType = "Action";
      return r;
    }, /root.stepType: the root step must be a sequence call/],
    ["root without seqCall", (r) => {
      delete root(r).seqCall;
      return r;
    }, /root.seqCall: the root step needs a seqCall/],
    ["step status", (r) => {
      power(r).steps[0].status = "X";
      return r;
    }, /root.steps\[1\].steps\[0\].status: must be one of P, F, D, S, E, T, U \(found "X"\)/],
    ["step group", (r) => {
      root(r).steps[0].group = "Setup";
      return r;
    }, /root.steps\[0\].group: must be one of S, M, C/],
    ["measurement status", (r) => {
      (power(r).steps[0].numericMeas as Json[])[0].status = "D";
      return r;
    }, /numericMeas\[0\].status: must be one of P, F, S \(found "D"\)/],
    ["duplicate measurement names", (r) => {
      (power(r).steps[2].numericMeas as Json[])[1].name = "5V";
      return r;
    }, /numericMeas\[1\].name: "5V" is used twice on this step/],
    ["unnamed multi measurement", (r) => {
      delete (power(r).steps[2].numericMeas as Json[])[0].name;
      return r;
    }, /numericMeas\[0\].name: each of several measurements on one step needs a name/],
    ["two measurements on ET_NLT", (r) => {
      const step = power(r).steps[0];
      step.numericMeas = [...(step.numericMeas as Json[]), ...(step.numericMeas as Json[])]
        .map((m, i) => ({ ...m, name: `m${i}` }));
      return r;
    }, /root.steps\[1\].steps\[0\]: a ET_NLT step holds exactly one measurement, found 2/],
    ["compOp unknown", (r) => {
      (power(r).steps[0].numericMeas as Json[])[0].compOp = "EQT";
      return r;
    }, /compOp: must be one of LOG, EQ/],
    ["GELE without highLimit", (r) => {
      delete (power(r).steps[0].numericMeas as Json[])[0].highLimit;
      return r;
    }, /highLimit: compOp GELE needs highLimit/],
    ["LT with highLimit only", (r) => {
      const m = (power(r).steps[1].numericMeas as Json[])[0];
      m.highLimit = m.lowLimit;
      delete m.lowLimit;
      return r;
    }, /lowLimit: compOp LT needs lowLimit; single-limit operators use lowLimit even for LT\/LE/],
    ["value with unit", (r) => {
      (power(r).steps[0].numericMeas as Json[])[0].value = "3.3V";
      return r;
    }, /numericMeas\[0\].value: must be a number \(found "3.3V"\)/],
    ["duplicate step id", (r) => {
      power(r).steps[1].id = power(r).steps[0].id;
      return r;
    }, /steps\[1\].id: step id \d+ is already used by root.steps\[1\].steps\[0\]/],
    [
      "repair without uur",
      (r) => ({ ...r, type: "R", processCode: 500, root: undefined }),
      /uur: a repair \(R\) report needs a uur block/,
    ],
    ["array body", (r) => [r], /expected one report object, found an array/],
    ["bad attachment", (r) => {
      root(r).steps[0].attachment = { name: "x", contentType: "text/plain", data: "not base64!" };
      return r;
    }, /attachment.data: must be base64 text/],
  ];
  for (const [name, mutate, expected] of cases) {
    const res = await post(server, mutate(valid()));
    assert.equal(res.status, 400, `${name}: expected 400, got ${res.status} ${res.text}`);
    assert.match(message(res.body), expected, name);
    assert.ok(Array.isArray((res.body as Json).Errors), `${name}: Errors list`);
  }
  const badJson = await post(server, '{"type": "T",');
  assert.equal(badJson.status, 400);
  assert.match(message(badJson.body), /not valid JSON/);
  assert.match(message((await post(server, "")).body), /body is empty/);
  const latin1 = await call(server, "/api/Report/WSJF", {
    method: "POST",
    body: new Uint8Array([0x7b, 0xe9, 0x7d]),
  });
  assert.match(message(latin1.body), /not valid UTF-8/);
  assert.equal(server.store.size, 0, "nothing invalid was stored");
  assert.equal((await post(server, valid())).status, 200, "the unmodified report is valid");
  assert.equal(
    server.log.entries().at(-2)?.message?.startsWith("The request body is not valid UTF-8"),
    true,
  );
});

Deno.test("413 above the body size limit (option and fault setting); nothing stored", async () => {
  const report = makeSampleReport(0);
  const size = new TextEncoder().encode(JSON.stringify(report)).length;
  await using server = await start({ maxBodyBytes: size - 1 });
  const tooBig = await post(server, report);
  assert.equal(tooBig.status, 413);
  assert.match(
    message(tooBig.body),
    new RegExp(`${size} bytes; this server accepts at most ${size - 1}`),
  );
  assert.equal(server.store.size, 0);
  assert.equal(server.log.entries()[0].bodyBytes, size);
  server.setFaults({ maxBodyBytes: size });
  assert.equal((await post(server, report)).status, 200);
  server.setFaults({ maxBodyBytes: 10 });
  assert.equal((await post(server, makeSampleReport(1))).status, 413);
});

Deno.test("a chunked (streamed) body is read in full", async () => {
  await using server = await start();
  const text = JSON.stringify(makeSampleReport(0, { extraNumericSteps: 400 }));
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 1000) controller.enqueue(bytes.slice(i, i + 1000));
      controller.close();
    },
  });
  const res = await call(server, "/api/Report/WSJF", { method: "POST", body });
  assert.equal(res.status, 200, res.text);
  const entry = server.log.entries()[0];
  assert.equal(entry.headers["transfer-encoding"], "chunked");
  assert.equal(entry.bodyBytes, bytes.length);
  assert.equal(server.store.size, 1);
});

Deno.test("header query: $filter on serialNumber/partNumber, $top, unsupported filters refused", async () => {
  await using server = await start();
  const reports = makeSampleReports(6, { seed: 3 });
  for (const r of reports) assert.equal((await post(server, r)).status, 200);
  const q = (query: string) => call(server, `/api/Report/Query/Header?${query}`);
  const bySn = await q(`$filter=${encodeURIComponent(`serialNumber eq '${reports[2].sn}'`)}`);
  assert.equal(bySn.status, 200);
  const headers = bySn.body as Json[];
  assert.equal(headers.length, 1);
  assert.equal(headers[0].uuid, reports[2].id);
  assert.equal(headers[0].receiveCount, 1);
  assert.equal(headers[0].result, reports[2].result === "P" ? "Passed" : "Failed");
  const byPn = (await q(`$filter=partNumber eq '${reports[0].pn}'`)).body as Json[];
  assert.equal(byPn.length, 2);
  assert.ok(byPn[0].start as string > (byPn[1].start as string), "newest first");
  const both = (await q(
    `$filter=serialNumber eq '${reports[3].sn}' and partNumber eq '${reports[3].pn}'&$top=1`,
  )).body as Json[];
  assert.deepEqual(both.map((h) => h.uuid), [reports[3].id]);
  assert.equal(((await q("$top=4")).body as Json[]).length, 4);
  assert.equal(((await q("")).body as Json[]).length, 6);
  const unsupported = await q("$filter=contains(serialNumber,'SN')");
  assert.equal(unsupported.status, 400);
  assert.match(message(unsupported.body), /not supported by the test server/);
});

Deno.test("fault: fail the next N requests, then answer normally; the log says which fault", async () => {
  await using server = await start();
  server.setFaults({ failNext: { count: 2, fault: "503" } });
  const report = makeSampleReport(0);
  assert.equal((await post(server, report)).status, 503);
  assert.equal((await post(server, report)).status, 503);
  assert.equal((await post(server, report)).status, 200);
  assert.equal(server.store.get(report.id)?.receiveCount, 1, "a faulted post stores nothing");
  assert.deepEqual(server.log.entries().map((e) => e.fault), ["503 (next)", "503 (next)", null]);
  assert.deepEqual(server.stats().byStatus, { "503": 2, "200": 1 });
  // Faults hit report posts only by default; scope "api" covers every /api request.
  server.setFaults({ next: ["500"], scope: "api" });
  assert.equal((await call(server, "/api/App/Version")).status, 500);
  server.setFaults({ next: ["500"] });
  assert.equal((await call(server, "/api/App/Version")).status, 200);
});

Deno.test("fault: 429 with Retry-After in seconds and as an HTTP date; skewed Date header", async () => {
  const skew = 3_600_000;
  await using server = await start({ clockSkewMs: skew });
  server.setFaults({ next: [{ kind: "status", status: 429, retryAfterSeconds: 7 }] });
  const seconds = await post(server, makeSampleReport(0));
  assert.equal(seconds.status, 429);
  assert.equal(seconds.headers.get("retry-after"), "7");
  assert.match(message(seconds.body), /Too many requests/);
  server.setFaults({ p429: 1, retryAfterSeconds: 30, retryAfterForm: "date" });
  const dated = await post(server, makeSampleReport(0));
  assert.equal(dated.status, 429);
  const retryAt = Date.parse(dated.headers.get("retry-after")!);
  const serverNow = Date.parse(dated.headers.get("date")!);
  assert.ok(dated.headers.get("retry-after")!.endsWith("GMT"));
  assert.ok(
    retryAt - serverNow >= 29_000 && retryAt - serverNow <= 31_000,
    `${retryAt - serverNow}`,
  );
  assert.ok(serverNow - Date.now() > skew - 600_000, "the Date header carries the clock skew");
  const ping = (await call(server, "/api/internal/Client/Ping")).body as Json;
  assert.ok(Date.parse(ping.ServerTime as string) - Date.now() > skew - 600_000);
  server.setClockSkew(0);
  const plain = await call(server, "/api/App/Version");
  assert.ok(Math.abs(Date.parse(plain.headers.get("date")!) - Date.now()) < 600_000);
});

Deno.test("fault: 500/502/503/504 and 408; 502 and 504 answer with proxy HTML", async () => {
  await using server = await start();
  server.setFaults({ next: ["500", "502", "503", "504", "408"] });
  const got = [];
  for (let i = 0; i < 5; i++) got.push(await post(server, makeSampleReport(i)));
  assert.deepEqual(got.map((r) => r.status), [500, 502, 503, 504, 408]);
  assert.match(message(got[0].body), /error has occurred/);
  assert.match(got[1].text, /<h1>502 Bad Gateway<\/h1>/);
  assert.match(got[1].headers.get("content-type") ?? "", /text\/html/);
  assert.match(got[3].text, /504 Gateway Time-out/);
  assert.match(message(got[4].body), /timed out/);
  assert.equal(server.store.size, 0);
});

Deno.test("fault: a gzip bomb and a redirect to another server; nothing stored", async () => {
  await using server = await start();
  const report = makeSampleReport(0);
  server.setFaults({
    next: [{ kind: "gzipBomb", inflatedBytes: 8 * 1024 * 1024 }, "redirect:http://127.0.0.1:9/x"],
  });
  const bomb = await fetch(`${server.url}/api/Report/WSJF`, {
    method: "POST",
    headers: { ...auth, "Accept-Encoding": "identity" }, // sent compressed all the same
    body: JSON.stringify(report),
  });
  assert.equal(bomb.status, 200);
  assert.equal(bomb.headers.get("content-encoding"), "gzip");
  const compressed = new Uint8Array(await bomb.arrayBuffer());
  assert.ok(compressed.length < 64 * 1024, `${compressed.length} bytes on the wire`);
  const inflated = await new Response(
    new Blob([compressed]).stream().pipeThrough(new DecompressionStream("gzip")),
  ).arrayBuffer();
  assert.equal(inflated.byteLength, 8 * 1024 * 1024);
  const moved = await fetch(`${server.url}/api/Report/WSJF`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify(report),
    redirect: "manual",
  });
  await moved.body?.cancel();
  assert.equal(moved.status, 307);
  assert.equal(moved.headers.get("location"), "http://127.0.0.1:9/x/api/Report/WSJF");
  assert.equal(server.store.get(report.id), undefined, "a faulted post stores nothing");
  assert.deepEqual(server.log.entries().map((e) => e.fault), [
    "gzip-bomb (next)",
    "redirect:http://127.0.0.1:9/x (next)",
  ]);
  assert.throws(() => server.setFaults({ next: ["redirect:nowhere"] }), /absolute URL/);
});

Deno.test("fault: seeded probabilities give the same sequence for the same seed", async () => {
  await using server = await start();
  const run = async (seed: number) => {
    server.setFaults({ seed, p5xx: 0.4, p429: 0.2 });
    const statuses = [];
    for (let i = 0; i < 20; i++) statuses.push((await post(server, makeSampleReport(i))).status);
    return statuses;
  };
  const first = await run(42);
  assert.deepEqual(await run(42), first);
  assert.ok(
    first.includes(200) && first.includes(429) && first.some((s) => s >= 500),
    first.join(),
  );
  assert.equal(server.faults.seed, 42);
  assert.throws(() => server.setFaults({ p5xx: 0.7, p429: 0.6 }), /add up to 1.3/);
  assert.throws(() => server.setFaults({ next: ["teapot"] }), /Fault "teapot" is not understood/);
  assert.equal(server.faults.seed, 42, "rejected settings leave the old ones in force");
});

Deno.test("fault: slow answer past the client's timeout; the report is stored anyway", async () => {
  await using server = await start();
  server.setFaults({ next: ["slow:400"] });
  const report = makeSampleReport(0);
  await assert.rejects(
    fetch(`${server.url}/api/Report/WSJF`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify(report),
      signal: AbortSignal.timeout(50),
    }),
    (e: Error) => e.name === "TimeoutError",
  );
  await waitFor(() => server.store.get(report.id) !== undefined, "the slow post to be stored");
  await waitFor(() => server.log.entries()[0].finishedAt !== null, "the slow request to finish");
  assert.equal(server.log.entries()[0].fault, "slow:400 (next)");
});

Deno.test("fault: connection dropped after store; fetch rejects but the report is stored", async () => {
  // keepAlive false: every request on a fresh connection (see the next test for why).
  await using server = await start({ keepAlive: false });
  server.setFaults({ failNext: { count: 1, fault: "drop" } });
  const report = makeSampleReport(0);
  await assert.rejects(post(server, report), TypeError);
  assert.equal(server.store.get(report.id)?.receiveCount, 1);
  const entry = server.log.entries()[0];
  assert.equal(entry.status, null);
  assert.equal(entry.fault, "drop (next)");
  assert.equal(server.stats().byStatus.dropped, 1);
  // The retry with the same id is an upsert.
  assert.equal((await post(server, report)).status, 200);
  assert.equal(server.store.get(report.id)?.receiveCount, 2);
});

Deno.test("Deno's fetch re-sends a POST once by itself when a reused keep-alive connection drops", async () => {
  await using server = await start();
  const client = Deno.createHttpClient({});
  try {
    const warm = await fetch(`${server.url}/api/App/Version`, { headers: auth, client });
    await warm.body?.cancel();
    server.setFaults({ failNext: { count: 1, fault: "drop" } });
    const report = makeSampleReport(0);
    const res = await fetch(`${server.url}/api/Report/WSJF`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify(report),
      client,
    });
    await res.body?.cancel();
    // The client saw one 200, but the server received the report twice.
    assert.equal(res.status, 200);
    assert.equal(server.store.get(report.id)?.receiveCount, 2);
    assert.deepEqual(server.log.entries().map((e) => e.status), [200, null, 200]);
  } finally {
    client.close();
  }
});

Deno.test("fault: per-report rules reject one id always, or a serial a given number of times", async () => {
  await using server = await start();
  const [a, b, c] = makeSampleReports(3, { seed: 9 });
  server.setFaults({
    rules: [
      {
        id: a.id.toUpperCase(),
        fault: { kind: "status", status: 400, message: "Rejected by rule" },
      },
      { sn: b.sn, fault: "500", times: 1 },
    ],
  });
  for (let i = 0; i < 2; i++) {
    const res = await post(server, a);
    assert.equal(res.status, 400);
    assert.equal(message(res.body), "Rejected by rule");
  }
  assert.equal((await post(server, b)).status, 500);
  assert.equal((await post(server, b)).status, 200);
  assert.equal((await post(server, c)).status, 200);
  assert.equal(server.store.get(a.id), undefined);
  assert.equal(server.faults.rules?.length, 1, "the counted rule is used up");
});

Deno.test("control endpoints: faults, stats, log, reports and clock over HTTP", async () => {
  await using server = await start();
  const settings = await control(server, "/faults", {
    method: "PUT",
    body: JSON.stringify({ failNext: { count: 1, fault: "429" }, retryAfterSeconds: 2 }),
  }) as Json;
  assert.equal((settings.next as unknown[]).length, 1);
  const report = makeSampleReport(0);
  assert.equal((await post(server, report)).status, 429);
  assert.equal((await post(server, report)).status, 200);
  const stats = await control(server, "/stats") as Json;
  assert.equal(stats.reports, 1);
  assert.equal(stats.receives, 1);
  assert.deepEqual(stats.byStatus, { "429": 1, "200": 1 });
  const log = await control(server, "/log") as Json[];
  assert.equal(log.length, 2);
  assert.equal(log[0].authorization, `Basic ${token}`);
  const since = await control(server, `/log?since=${log[0].seq}`) as Json[];
  assert.deepEqual(since.map((e) => e.seq), [log[1].seq]);
  const list = await control(server, "/reports") as Json[];
  assert.deepEqual(list.map((r) => [r.id, r.sn, r.receiveCount]), [[report.id, report.sn, 1]]);
  const entry = await control(server, `/reports/${report.id}`) as Json;
  assert.equal((entry.report as Json).startUTC !== undefined, true);
  const bad = await fetch(`${server.controlUrl}/faults`, { method: "PUT", body: '{"p5xx": 2}' });
  assert.equal(bad.status, 400);
  assert.match(message(await bad.json()), /p5xx must be a probability/);
  assert.deepEqual(await control(server, "/clock", { method: "PUT", body: '{"skewMs": -5000}' }), {
    skewMs: -5000,
  });
  await control(server, "/log", { method: "DELETE" });
  assert.equal(server.log.entries().length, 0);
  await control(server, "/faults", { method: "DELETE" });
  await control(server, "/reports", { method: "DELETE" });
  assert.equal(server.store.size, 0);
  const notFound = await fetch(`${server.controlUrl}/nope`);
  assert.equal(notFound.status, 404);
  await notFound.body?.cancel();
  assert.equal(server.log.entries().length, 0, "control requests are not in the WATS request log");
});

Deno.test("stop, then start again on the same port with the same store", async () => {
  await using server = await start();
  const port = server.port;
  const report = makeSampleReport(0);
  assert.equal((await post(server, report)).status, 200);
  await server.stop();
  assert.equal(server.running, false);
  await assert.rejects(post(server, report), TypeError);
  await server.start();
  assert.equal(server.port, port);
  assert.equal((await post(server, report)).status, 200);
  assert.equal(server.store.get(report.id)?.receiveCount, 2);
});

Deno.test("stop closes a request that is waiting in a slow fault", async () => {
  await using server = await start();
  server.setFaults({ next: ["slow:60000"] });
  const pending = post(server, makeSampleReport(0)).then(() => "answered", () => "failed");
  await waitFor(() => server.log.entries().length === 1, "the request to arrive");
  await server.stop();
  assert.equal(await pending, "failed");
  assert.equal(server.store.size, 0);
});

Deno.test("store directory: reports survive a restart of the server", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wats_store_" });
  try {
    const [a, b] = makeSampleReports(2, { seed: 21 });
    {
      await using first = await start({ storeDir: dir });
      await post(first, a);
      await post(first, a);
      await post(first, b);
    }
    const files = [...Deno.readDirSync(path.join(dir, "reports"))].map((e) => e.name).sort();
    assert.deepEqual(files, [`${a.id}.json`, `${b.id}.json`].sort());
    await using second = await start({ storeDir: dir });
    assert.equal(second.store.size, 2);
    assert.equal(second.store.get(a.id)?.receiveCount, 2);
    const back = await call(second, `/api/Report/Wsjf/${b.id}`);
    assert.equal((back.body as Json).sn, b.sn);
    const c = makeSampleReport(2, { seed: 21 });
    assert.equal(((await post(second, c)).body as Json).Report_ID, 3, "Report_ID continues");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a corrupt store file is an error naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wats_store_" });
  try {
    await Deno.mkdir(path.join(dir, "reports"));
    await Deno.writeTextFile(path.join(dir, "reports", "x.json"), "{oops");
    await assert.rejects(start({ storeDir: dir }), /x\.json is not a readable stored report/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("path prefix: the API lives under it and not at the root", async () => {
  await using server = await start({ pathPrefix: "wats/" });
  assert.ok(server.url.endsWith("/wats"));
  assert.equal((await call(server, "/api/App/Version")).status, 200);
  const res = await fetch(`${server.origin}/api/App/Version`, { headers: auth });
  assert.equal(res.status, 404);
  await res.body?.cancel();
});

Deno.test("keepBodies and logBodies keep the exact bytes sent", async () => {
  await using server = await start({ keepBodies: true, logBodies: true });
  const text = JSON.stringify(makeSampleReport(0), null, 2);
  await post(server, text);
  const id = makeSampleReport(0).id;
  assert.equal(server.store.get(id)?.body, text);
  assert.equal(server.log.entries()[0].body, text);
  assert.match(server.log.entries()[0].bodySha256 ?? "", /^[0-9a-f]{64}$/);
});

Deno.test("sample reports: deterministic, distinct, valid, some failing with propagated status", async () => {
  const reports = makeSampleReports(40, { seed: 4 });
  assert.deepEqual(makeSampleReports(40, { seed: 4 }), reports);
  assert.notEqual(makeSampleReport(0, { seed: 5 }).id, reports[0].id);
  assert.equal(new Set(reports.map((r) => r.id)).size, 40);
  assert.equal(new Set(reports.map((r) => r.sn)).size, 40);
  assert.ok(new Set(reports.map((r) => r.pn)).size >= 3);
  const failing = reports.filter((r) => r.result === "F");
  assert.ok(failing.length > 0 && failing.length < 40, `${failing.length} failing`);
  for (const r of reports) {
    const v = validateReport(r, {
      processes: defaultProcesses,
      maxFieldLength: 100,
      checkLimits: true,
    });
    assert.deepEqual(v, { errors: [], warnings: [] }, r.id);
    assert.equal(r.root.status, r.result, "the root status matches the result");
  }
  for (const r of failing) {
    const failedId = r.uut.stepIdCausedUUTFailure as number;
    const find = (s: Json): Json | undefined =>
      s.id === failedId ? s : (s.steps as Json[] | undefined)?.map(find).find((x) => x);
    const step = find(r.root)!;
    assert.equal(step.status, "F");
    assert.equal(step.causedUUTFailure, true);
  }
  const kinds = new Set<string>();
  const walk = (s: Json) => {
    kinds.add(s.stepType as string);
    (s.steps as Json[] | undefined)?.forEach(walk);
  };
  walk(reports[0].root);
  for (const k of ["SequenceCall", "ET_NLT", "ET_MNLT", "ET_PFT", "ET_MPFT", "ET_SVT", "Action"]) {
    assert.ok(kinds.has(k), k);
  }
  const big = makeSampleReport(0, { extraNumericSteps: 1000 });
  assert.ok(JSON.stringify(big).length > 100_000);
  await using server = await start();
  for (const r of reports.slice(0, 10)) assert.equal((await post(server, r)).status, 200);
});

Deno.test({
  name: "real WATS exports and accepted submissions pass validation (shared fixtures)",
  ...needsSharedFixtures,
  fn: async () => {
    await using server = await start();
    const files = [
      "wsjf/uut-wsjf-export.json",
      "wsjf/new_report_example.json",
      "wsjf/uur_example.json",
      "roundtrip/uut_submitted.json",
      "roundtrip/v1_submitted.json",
      "roundtrip/uur_submitted.json",
      "roundtrip/uur_v1_submitted.json",
    ];
    for (const file of files) {
      const res = await post(
        server,
        await Deno.readTextFile(sharedFixture("wats", ...file.split("/"))!),
      );
      assert.equal(res.status, 200, `${file}: ${res.text}`);
    }
    const v1 = JSON.parse(
      await Deno.readTextFile(sharedFixture("wats", "roundtrip", "v1_loaded.json")!),
    );
    const stored = server.store.get(v1.id)!.report as { subUnits: Json[] };
    assert.deepEqual(stored.subUnits.map((u) => u.rev), v1.subUnits.map((u: Json) => u.rev));
    assert.deepEqual(
      stored.subUnits.map((u) => u.partType),
      v1.subUnits.map((u: Json) => u.partType),
    );
  },
});

Deno.test("CLI: parses flags, refuses bad ones", () => {
  const parsed = parseCli([
    "--port",
    "0",
    "--token",
    "a",
    "--token",
    "b",
    "--fault-5xx",
    "0.5",
    "--fail-next",
    "2:drop",
    "--process",
    "77:Calibration",
  ]);
  assert.deepEqual(parsed.options.tokens, ["a", "b"]);
  assert.deepEqual(parsed.options.faults, { p5xx: 0.5, failNext: { count: 2, fault: "drop" } });
  assert.equal(parsed.options.processes.at(-1)?.code, 77);
  assert.throws(() => parseCli(["--fault-5xx", "lots"]), /--fault-5xx must be a number/);
  assert.throws(() => parseCli(["--fail-next", "drop"]), /--fail-next must be N:FAULT/);
  assert.throws(() => parseCli(["--bogus"]), /bogus/);
});

Deno.test(
  "CLI: starts, prints its URL as JSON, serves, keeps reports in --store, stops on SIGTERM",
  {
    // Windows has no SIGTERM to send: Deno ends the child outright there (exit 1).
    ignore: Deno.build.os === "windows",
  },
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "wats_cli_" });
    const script = path.resolve(import.meta.dirname!, "..", "..", "wats_test_server", "cli.ts");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, "--port", "0", "--token", "cli-token", "--store", dir],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = "";
      while (!buffered.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`server exited before printing its URL: ${buffered}`);
        buffered += value;
      }
      const info = JSON.parse(buffered.split("\n")[0]);
      assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(info.url, `http://127.0.0.1:${info.port}`);
      assert.deepEqual(info.tokens, ["cli-token"]);
      const report = makeSampleReport(0);
      const res = await fetch(`${info.url}/api/Report/WSJF`, {
        method: "POST",
        headers: { Authorization: "Basic cli-token" },
        body: JSON.stringify(report),
      });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      const stats = await (await fetch(`${info.controlUrl}/stats`)).json();
      assert.equal(stats.reports, 1);
      child.kill("SIGTERM");
      const status = await child.status;
      assert.equal(status.code, 0);
      await reader.cancel();
      assert.ok(Deno.statSync(path.join(dir, "reports", `${report.id}.json`)).isFile);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await child.stderr.cancel().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
);
