/**
 * Profiles the agent main thread during a burst, through the inspector protocol (Deno has no
 * --cpu-prof): self time per function and op. `deno run -A scripts/bench/profile_agent.ts`
 *
 * @module
 */
// Profiles the agent's main thread during a 1500-file burst via the inspector protocol.
import { AgentHarness } from "../../tests/e2e/_harness.ts";
import { makeSampleReports } from "../wats_server/mod.ts";
import { agentPermissionFlags } from "../../src/runtime.ts";
import path from "#path";
const root = path.resolve(import.meta.dirname!, "..", "..");
const n = Number(Deno.args[0] ?? 1500);
await using h = await AgentHarness.create({
  converters: [{ name: "json", format: "wsjf", afterSuccess: "delete" }],
  config: {
    log: { level: "warning" },
    intake: { stableSeconds: 0.1, rescanSeconds: 1 },
    pool: { min: 2, max: 2 },
  },
});
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--inspect=127.0.0.1:9339",
    "--config",
    path.join(root, "deno.json"),
    ...agentPermissionFlags,
    path.join(root, "main.ts"),
    "run",
    "--config",
    h.configFile,
  ],
  cwd: h.dir,
  stdout: "null",
  stderr: "null",
}).spawn();
await new Promise((r) => setTimeout(r, 3000));
const targets = await (await fetch("http://127.0.0.1:9339/json")).json();
const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
await new Promise((r) => ws.onopen = r);
let id = 0;
const pending = new Map<number, (v: any) => void>();
ws.onmessage = (e) => {
  const m = JSON.parse(e.data);
  if (m.id && pending.has(m.id)) {
    pending.get(m.id)!(m.result);
    pending.delete(m.id);
  }
};
const call = (method: string, params = {}) =>
  new Promise<any>((r) => {
    const i = ++id;
    pending.set(i, r);
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
const { profile } = await call("Profiler.stop");
console.log(`${n} in ${secs.toFixed(1)} s = ${(n / secs).toFixed(0)}/s`);
const byId = new Map<number, any>(profile.nodes.map((nd: any) => [nd.id, nd]));
const self = new Map<string, number>();
const dt = profile.timeDeltas as number[];
profile.samples.forEach((sid: number, i: number) => {
  const nd = byId.get(sid);
  const f = nd.callFrame;
  const key = `${f.functionName || "(anon)"} ${
    f.url.split("/").slice(-2).join("/")
  }:${f.lineNumber}`;
  self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
console.log("total sampled ms", (total / 1000).toFixed(0));
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
  console.log(
    `${(v / 1000).toFixed(0).padStart(6)} ms ${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`,
  );
}
ws.close();
child.kill("SIGKILL");
await child.status;
