/**
 * Profiles the agent's main thread during a burst of N small WSJF files (default 1500), through
 * the inspector protocol (Deno has no --cpu-prof), and prints two tables: time per function and
 * op (self time), and the same samples charged to the nearest agent function (src/) on the
 * stack, i.e. which part of the agent causes the op and runtime time.
 *
 * The sampler counts wall time on the thread: on a busy machine a thread that is preempted
 * inside an op is charged to that op. For CPU time per thread see `e2e.ts --cpu`.
 *
 * `deno run -A scripts/bench/profile_agent.ts [N]`
 *
 * @module
 */
import { AgentHarness } from "../../tests/e2e/_harness.ts";
import { E2E_AGENT } from "./e2e.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import { selfCommand } from "../../src/runtime.ts";

/** The parts of a V8 CPU profile (Profiler.stop) used here. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

const n = Number(Deno.args[0] ?? 1500);
await using h = await AgentHarness.create(E2E_AGENT);
const agentCmd = selfCommand(["run", "--config", h.configFile]);
const child = new Deno.Command(agentCmd.cmd, {
  args: [agentCmd.args[0], "--inspect=127.0.0.1:9339", ...agentCmd.args.slice(1)],
  cwd: h.dir,
  stdout: "null",
  stderr: "null",
}).spawn();
await new Promise((r) => setTimeout(r, 3000));
const targets = await (await fetch("http://127.0.0.1:9339/json")).json();
const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
await new Promise((r) => ws.onopen = r);
let id = 0;
const pending = new Map<number, (v: unknown) => void>();
ws.onmessage = (e) => {
  const m = JSON.parse(e.data);
  if (m.id && pending.has(m.id)) {
    pending.get(m.id)!(m.result);
    pending.delete(m.id);
  }
};
const call = <T = unknown>(method: string, params = {}) =>
  new Promise<T>((r) => {
    const i = ++id;
    pending.set(i, r as (v: unknown) => void);
    ws.send(JSON.stringify({ id: i, method, params }));
  });
await call("Profiler.enable");
await call("Profiler.setSamplingInterval", { interval: 200 });
await call("Runtime.runIfWaitingForDebugger");
const reports = makeSampleReports(n, { seed: 99 });
const stage = `${h.dir}/stage`;
await Deno.mkdir(stage);
for (const r of reports) await Deno.writeTextFile(`${stage}/${r.sn}.json`, JSON.stringify(r));
await call("Profiler.start");
const t0 = performance.now();
for (const r of reports) {
  await Deno.rename(`${stage}/${r.sn}.json`, `${h.dropDir("json")}/${r.sn}.json`);
}
await h.waitFor(() => h.server.stats().reports >= n, "all", 600000);
const secs = (performance.now() - t0) / 1000;
const { profile } = await call<{ profile: CpuProfile }>("Profiler.stop");
console.log(`${n} in ${secs.toFixed(1)} s = ${(n / secs).toFixed(0)}/s`);
const byId = new Map(profile.nodes.map((nd) => [nd.id, nd]));
const parent = new Map<number, number>();
for (const nd of profile.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id);
const dt = profile.timeDeltas;
const self = new Map<string, number>();
const owner = new Map<string, number>();
profile.samples.forEach((sid, i) => {
  const f = byId.get(sid)!.callFrame;
  const key = `${f.functionName || "(anon)"} ${
    f.url.split("/").slice(-2).join("/")
  }:${f.lineNumber}`;
  self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
  let at: number | undefined = sid;
  let agentKey = f.functionName === "(idle)" ? "(idle)" : "(outside src/)";
  while (at !== undefined && agentKey !== "(idle)") {
    const frame = byId.get(at)!.callFrame;
    if (frame.url.includes("/src/")) {
      agentKey = `${frame.functionName || "(anon)"} ${
        frame.url.split("/src/")[1]
      }:${frame.lineNumber}`;
      break;
    }
    at = parent.get(at);
  }
  owner.set(agentKey, (owner.get(agentKey) ?? 0) + (dt[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
console.log("total sampled ms", (total / 1000).toFixed(0));
const table = (m: Map<string, number>) => {
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(
      `${(v / 1000).toFixed(0).padStart(6)} ms ${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`,
    );
  }
};
table(self);
console.log("\nby the nearest agent function on the stack:");
table(owner);
ws.close();
child.kill("SIGKILL");
await child.status;
