/**
 * docs/monitoring/ against the real agent: every metric, label and label value that the alert
 * rules and the Grafana dashboard name is on a running agent's /metrics (scraped through
 * control.metricsListen, as the fleet's Prometheus does), the health metrics say what /health
 * says, and the files are well formed: by a strict parser always, and by promtool (config,
 * rules, the rules' unit tests, the dashboard's queries, the live exposition) where it is
 * installed (Debian: `apt-get install prometheus`).
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { checkExposition, type Exposition, sampleValue } from "./_prom.ts";
import { parseYaml } from "./_yaml.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import { VERSION } from "../../src/version.ts";

const docs = path.resolve(import.meta.dirname!, "..", "..", "docs", "monitoring");
const read = (f: string) => Deno.readTextFileSync(path.join(docs, f));

// deno-lint-ignore no-explicit-any -- parsed documents, probed field by field
type Any = any;
const rules: Any = parseYaml(read("alerts.yml"));
const config: Any = parseYaml(read("prometheus.yml"));
const dashboard: Any = JSON.parse(read("grafana/wats-agent-fleet.json"));
const exampleTargets: { targets: string[]; labels: Record<string, string> }[] = JSON.parse(
  read("targets/line-1.json.example"),
);

/** Labels Prometheus gives every series of a target: its own, and the file_sd example's. */
const TARGET_LABELS = new Set([
  "instance",
  "job",
  ...exampleTargets.flatMap((t) => Object.keys(t.labels)),
]);

/** Every PromQL expression the docs hold, with where it is. */
function expressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const g of rules.groups) {
    for (const r of g.rules) out.push({ where: `alert ${r.alert}`, expr: r.expr });
  }
  for (const p of dashboard.panels) {
    for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}"`, expr: t.expr });
  }
  for (const v of dashboard.templating.list) {
    if (v.type === "query") out.push({ where: `variable $${v.name}`, expr: v.query.query });
  }
  return out;
}

function promtool(): string | null {
  try {
    const ok = new Deno.Command("promtool", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
    return ok ? "promtool" : null;
  } catch {
    return null;
  }
}

async function run(args: string[], stdin?: string): Promise<{ code: number; out: string }> {
  const child = new Deno.Command("promtool", {
    args,
    cwd: docs,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const o = await child.output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

/** Brackets and quotes of an expression close in order. */
function balanced(expr: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ")": "(", "}": "{", "]": "[" };
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === '"' || c === "'") {
      const end = expr.indexOf(c, i + 1);
      if (end === -1) return false;
      i = end;
    } else if ("({[".includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}

Deno.test("monitoring: alerts.yml is a well-formed rule file (parser check, no promtool needed)", () => {
  assert.ok(Array.isArray(rules.groups) && rules.groups.length > 0, "groups: [...]");
  const names = new Set<string>();
  for (const g of rules.groups) {
    assert.deepEqual(Object.keys(g).sort(), ["name", "rules"], `group ${g.name}`);
    for (const r of g.rules) {
      const keys = Object.keys(r);
      for (const k of keys) {
        assert.ok(
          ["alert", "expr", "for", "labels", "annotations"].includes(k),
          `${r.alert}: ${k}`,
        );
      }
      assert.match(r.alert, /^[A-Za-z_][A-Za-z0-9_]*$/);
      assert.ok(!names.has(r.alert), `alert ${r.alert} given twice`);
      names.add(r.alert);
      assert.ok(typeof r.expr === "string" && r.expr.trim() !== "", `${r.alert}: expr`);
      assert.ok(balanced(r.expr), `${r.alert}: brackets or quotes do not close: ${r.expr}`);
      if (r.for !== undefined) assert.match(r.for, DURATION, `${r.alert}: for`);
      assert.ok(["critical", "warning"].includes(r.labels?.severity), `${r.alert}: severity`);
      for (const a of ["summary", "description"]) {
        const text: string = r.annotations?.[a];
        assert.ok(typeof text === "string" && text.length > 20, `${r.alert}: ${a}`);
        assert.equal(text.split("{{").length, text.split("}}").length, `${r.alert}: ${a} {{ }}`);
      }
    }
  }
  // What the issue asks the fleet to be told about, each a rule of its own.
  for (
    const want of [
      "WatsAgentDown",
      "WatsAgentUnhealthy",
      "WatsAgentDegraded",
      "WatsAgentBacklogGrowing",
      "WatsAgentOldestReportTooOld",
      "WatsAgentConversionFailures",
    ]
  ) assert.ok(names.has(want), `alert ${want}`);
  const readme = read("README.md");
  for (const name of names) assert.ok(readme.includes(`\`${name}\``), `README.md explains ${name}`);
});

Deno.test("monitoring: prometheus.yml scrapes the agents by file-based discovery and loads the rules", () => {
  assert.deepEqual(config.rule_files, ["alerts.yml"]);
  const jobs = config.scrape_configs.map((s: Any) => s.job_name);
  assert.deepEqual(jobs, ["wats-agent"]);
  const job = config.scrape_configs[0];
  assert.equal(job.metrics_path, "/metrics");
  assert.deepEqual(job.file_sd_configs[0].files, ["targets/*.json"]);
  // Every `up{job=...}` the docs use is this job's.
  for (const { where, expr } of expressions()) {
    for (const m of expr.matchAll(/\bjob\s*=\s*"([^"]*)"/g)) {
      assert.equal(m[1], "wats-agent", where);
    }
  }
  for (const t of exampleTargets) {
    for (const target of t.targets) assert.match(target, /^[\w.-]+:\d+$/, "host:port targets");
  }
});

Deno.test("monitoring: the Grafana dashboard is well formed (ids, data source, variables)", () => {
  const ids = dashboard.panels.map((p: Any) => p.id);
  assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
  const vars = new Set(dashboard.templating.list.map((v: Any) => v.name));
  for (const p of dashboard.panels) {
    for (const k of ["h", "w", "x", "y"]) assert.equal(typeof p.gridPos?.[k], "number", p.title);
    if (p.type === "row") continue;
    assert.equal(p.datasource?.uid, "${datasource}", `${p.title}: the data source variable`);
    assert.ok(p.targets?.length > 0, `${p.title}: has queries`);
    const refs = p.targets.map((t: Any) => t.refId);
    assert.equal(new Set(refs).size, refs.length, `${p.title}: refIds unique`);
  }
  const text = JSON.stringify(dashboard);
  for (const m of text.matchAll(/\$\{?([a-z_]+)\}?/g)) {
    if (m[1] !== "labels" && m[1] !== "value") assert.ok(vars.has(m[1]), `$${m[1]} is defined`);
  }
  const titles = dashboard.panels.filter((p: Any) => p.type === "row").map((p: Any) => p.title);
  assert.equal(titles.length, 2, `a fleet row and a station row: ${titles}`);
});

/** Label names and values per sample name in a live exposition. */
function liveLabels(e: Exposition): Map<string, Map<string, Set<string>>> {
  const out = new Map<string, Map<string, Set<string>>>();
  for (const s of e.samples) {
    const labels = out.get(s.name) ?? new Map<string, Set<string>>();
    out.set(s.name, labels);
    for (const [k, v] of Object.entries(s.labels)) {
      labels.set(k, (labels.get(k) ?? new Set()).add(v));
    }
  }
  return out;
}

/** Every problem: a metric, label, or label value the docs name that the agent doesn't export. */
function unknownNames(e: Exposition): string[] {
  const live = liveLabels(e);
  const allLabels = new Set([
    ...TARGET_LABELS,
    ...[...live.values()].flatMap((m) => [...m.keys()]),
  ]);
  const problems: string[] = [];
  const selectors = /\b(wats_agent_[a-zA-Z0-9_]+|up)\b(\{([^}]*)\})?/g;
  for (const { where, expr } of expressions()) {
    for (const [, name, , matchers] of expr.matchAll(selectors)) {
      if (name === "up") continue; // Prometheus's own, per target
      const labels = live.get(name);
      if (!labels) {
        problems.push(`${where}: ${name} is not on the agent's /metrics`);
        continue;
      }
      for (
        const [, label, op, value] of (matchers ?? "").matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)
      ) {
        if (TARGET_LABELS.has(label)) continue;
        const values = labels.get(label);
        if (!values) {
          problems.push(`${where}: ${name} has no label ${label}`);
          continue;
        }
        if (value.includes("$")) continue; // a dashboard variable
        const wanted = op.endsWith("~") ? value.split("|") : [value];
        for (const v of wanted) {
          if (!/^[\w.-]+$/.test(v)) continue; // a real regex: not a list of values
          if (!values.has(v)) problems.push(`${where}: ${name}{${label}="${v}"} is never exported`);
        }
      }
    }
    const grouping = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;
    for (const [, , list] of expr.matchAll(grouping)) {
      for (const l of list.split(",").map((x) => x.trim()).filter(Boolean)) {
        if (!allLabels.has(l)) problems.push(`${where}: no metric has the label ${l}`);
      }
    }
    for (const [, l] of expr.matchAll(/label_values\([^,]*,\s*(\w+)\)/g)) {
      if (!allLabels.has(l)) problems.push(`${where}: no metric has the label ${l}`);
    }
  }
  for (const p of dashboard.panels) {
    for (const t of p.targets ?? []) {
      for (const [, l] of (t.legendFormat ?? "").matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
        if (!allLabels.has(l)) problems.push(`panel "${p.title}" legend: no label ${l}`);
      }
    }
  }
  for (const g of rules.groups) {
    for (const r of g.rules) {
      for (const [, l] of JSON.stringify(r.annotations).matchAll(/\$labels\.(\w+)/g)) {
        if (!allLabels.has(l)) problems.push(`alert ${r.alert} annotation: no label ${l}`);
      }
    }
  }
  return problems;
}

Deno.test("monitoring: every metric, label and value in the rules and the dashboard is on a live agent's /metrics", async (t) => {
  await using h = await AgentHarness.create({
    config: { control: { port: 0, metricsListen: "127.0.0.1:0" } },
  });
  await h.start();
  const info = JSON.parse(await Deno.readTextFile(path.join(h.dataDir, "control.json")));
  const scrape = async (): Promise<Exposition> => {
    const res = await fetch(`http://${info.metricsListen}/metrics`);
    assert.equal(res.status, 200);
    const e = checkExposition(await res.text());
    assert.deepEqual(e.problems, []);
    return e;
  };

  await t.step(
    "a converter's counters start at 0, so its first failure is an increase",
    async () => {
      const e = await scrape();
      for (const name of ["files_failed_total", "files_converted_total", "reports_queued_total"]) {
        assert.equal(sampleValue(e, `wats_agent_${name}`, { converter: "json" }), 0, name);
        assert.equal(sampleValue(e, `wats_agent_${name}`), undefined, `${name}: no placeholder`);
      }
      assert.equal(sampleValue(e, "wats_agent_info", { version: VERSION, station: "E2E-ST" }), 1);
    },
  );

  // Work that brings every series out: an upload (the latency histogram) and a failed file.
  const [report] = makeSampleReports(1, { seed: 3 });
  await h.drop("json", `${report.sn}.json`, JSON.stringify(report));
  await h.drop("json", "broken.json", "{ this is not a report");
  let live!: Exposition;
  await h.waitFor(async () => {
    live = await scrape();
    return sampleValue(live, "wats_agent_reports_uploaded_total") === 1 &&
      sampleValue(live, "wats_agent_files_failed_total", { converter: "json" }) === 1;
  }, "one report uploaded and one file failed, on /metrics");

  await t.step("the health metrics say what GET /health says", async () => {
    const health = await (await h.control("/health")).json();
    const e = await scrape();
    assert.equal(health.state, "degraded", JSON.stringify(health));
    for (const state of ["healthy", "degraded", "unhealthy"]) {
      assert.equal(
        sampleValue(e, "wats_agent_health_state", { state }),
        state === health.state ? 1 : 0,
        state,
      );
    }
    assert.equal(sampleValue(e, "wats_agent_health_reasons"), health.reasons.length);
  });

  await t.step("the docs name only what the agent exports", () => {
    assert.deepEqual(unknownNames(live), []);
  });

  await t.step("and the check can fail: a misspelt metric and a wrong label value", () => {
    const e = checkExposition(
      '# TYPE wats_agent_health_state gauge\nwats_agent_health_state{state="ok"} 1\n',
    );
    const problems = unknownNames(e);
    assert.ok(
      problems.some((p) => p.includes('{state="unhealthy"} is never exported')),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => p.includes("wats_agent_queue_reports is not on")),
      problems.join("\n"),
    );
  });

  await t.step({
    name: "promtool check metrics accepts the live exposition",
    ignore: promtool() === null,
    fn: async () => {
      const res = await fetch(`http://${info.metricsListen}/metrics`);
      const r = await run(["check", "metrics"], await res.text());
      assert.equal(r.code, 0, r.out);
    },
  });
});

Deno.test({
  name:
    "monitoring: promtool checks the config, the rules, their unit tests and the dashboard's queries",
  ignore: promtool() === null,
  async fn() {
    const config = await run(["check", "config", "prometheus.yml"]);
    assert.equal(config.code, 0, config.out);
    const rules = await run(["check", "rules", "alerts.yml"]);
    assert.equal(rules.code, 0, rules.out);
    const unit = await run(["test", "rules", "alerts_test.yml"]);
    assert.equal(unit.code, 0, unit.out);
    // The dashboard's queries parse as PromQL: each as a recording rule, variables filled in.
    const records = expressions().filter((x) => x.where.startsWith("panel")).map((x, i) => ({
      record: `dashboard:query_${i}`,
      expr: x.expr.replaceAll("$instance", "st-01:9469").replaceAll("$station", "ST-01"),
    }));
    const tmp = await Deno.makeTempFile({ suffix: ".yml" });
    try {
      // JSON is YAML: promtool reads this file as it is.
      await Deno.writeTextFile(
        tmp,
        JSON.stringify({ groups: [{ name: "dashboard", rules: records }] }),
      );
      const dash = await run(["check", "rules", tmp]);
      assert.equal(dash.code, 0, dash.out);
      assert.match(dash.out, new RegExp(`SUCCESS: ${records.length} rules found`));
    } finally {
      await Deno.remove(tmp);
    }
  },
});
