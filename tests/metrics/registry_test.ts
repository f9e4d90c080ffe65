/**
 * The metrics registry renders valid Prometheus text; the format checker used by the e2e tests
 * really rejects broken expositions.
 */
import assert from "#assert";
import { Metrics } from "../../src/metrics/registry.ts";
import { checkExposition, sampleValue } from "../control/_prom.ts";

Deno.test("metrics: counters, labelled counters, gauges and a histogram render as valid exposition text", () => {
  const m = new Metrics();
  m.counter("files_seen_total", "Source files seen");
  m.inc("files_seen_total", { converter: 'a "quoted"\\name\nx' });
  m.inc("files_seen_total", { converter: "b" }, 2);
  m.counter("reports_uploaded_total", "Reports stored");
  m.set("queue_reports", "Reports by state", 3, { state: "queued" });
  m.set("queue_reports", "Reports by state", 0, { state: "error" });
  m.set("queue_oldest_age_seconds", "Oldest age", 12.5);
  m.histogram("upload_seconds", "Upload latency", [0.1, 1, 0.01]);
  for (const v of [0.005, 0.05, 0.5, 5]) m.observe("upload_seconds", v);
  const text = m.render();
  const e = checkExposition(text);
  assert.deepEqual(e.problems, [], text);
  assert.equal(sampleValue(e, "wats_agent_files_seen_total", { converter: "b" }), 2);
  assert.equal(
    sampleValue(e, "wats_agent_files_seen_total", { converter: 'a "quoted"\\name\nx' }),
    1,
  );
  assert.equal(
    sampleValue(e, "wats_agent_files_seen_total"),
    undefined,
    "the unlabelled placeholder is dropped",
  );
  assert.equal(
    sampleValue(e, "wats_agent_reports_uploaded_total"),
    0,
    "a declared counter shows as 0",
  );
  assert.equal(sampleValue(e, "wats_agent_upload_seconds_bucket", { le: "0.01" }), 1);
  assert.equal(sampleValue(e, "wats_agent_upload_seconds_bucket", { le: "1" }), 3);
  assert.equal(sampleValue(e, "wats_agent_upload_seconds_bucket", { le: "+Inf" }), 4);
  assert.equal(sampleValue(e, "wats_agent_upload_seconds_count"), 4);
  assert.equal(e.types.get("wats_agent_upload_seconds"), "histogram");
  assert.equal(m.sum("files_seen_total"), 3);
});

Deno.test("metrics: onInc listeners see every increment", () => {
  const m = new Metrics<string>();
  const seen: string[] = [];
  m.onInc((name, by, labels) => seen.push(`${name}:${by}:${labels?.converter ?? ""}`));
  m.inc("a_total");
  m.inc("b_total", { converter: "x" }, 3);
  assert.deepEqual(seen, ["a_total:1:", "b_total:3:x"]);
});

Deno.test("exposition checker: rejects what Prometheus rejects", () => {
  const bad: [string, RegExp][] = [
    ["x 1\n", /no TYPE/],
    ["# TYPE x counter\nx -1\n", /counter x is -1/],
    ["# TYPE x gauge\nx one\n", /bad value/],
    ['# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n', /given twice/],
    ["# TYPE x gauge\nx{a=1} 1\n", /not quoted/],
    ['# TYPE x gauge\nx{a="\\t"} 1\n', /bad escape/],
    ["# TYPE 9x gauge\n", /bad metric name/],
    ["# TYPE x gauge\nx 1", /end with a newline/],
    ['# TYPE x gauge\n# TYPE y gauge\nx 1\ny 1\nx{a="b"} 2\n', /not together/],
    [
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      /not cumulative/,
    ],
    ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /no le="\+Inf"/],
    ['# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n', /!= _count/],
    ["# TYPE x wibble\n", /unknown type/],
  ];
  for (const [text, why] of bad) {
    const { problems } = checkExposition(text);
    assert.ok(
      problems.some((p) => why.test(p)),
      `${JSON.stringify(text)}: ${problems.join("; ") || "no problem found"}`,
    );
  }
  assert.deepEqual(
    checkExposition('# HELP x a\n# TYPE x gauge\nx{a="\\""} NaN 123\n').problems,
    [],
  );
});

Deno.test("metrics: a counter declared per label set starts at 0 there, without the placeholder", () => {
  const m = new Metrics();
  m.counter("files_failed_total", "Source files moved to the Error folder");
  m.counter("files_failed_total", "Source files moved to the Error folder", { converter: "a" });
  const e = checkExposition(m.render());
  assert.deepEqual(e.problems, []);
  // Prometheus sees no increase in a series born at 1: the first failure must count from 0.
  assert.equal(sampleValue(e, "wats_agent_files_failed_total", { converter: "a" }), 0);
  assert.equal(sampleValue(e, "wats_agent_files_failed_total"), undefined);
  m.inc("files_failed_total", { converter: "a" });
  assert.equal(
    sampleValue(checkExposition(m.render()), "wats_agent_files_failed_total", {
      converter: "a",
    }),
    1,
  );
});
