/**
 * `deno task demo`: the agent's main job on an embedded default. Starts a local
 * WATS-compatible server on a free port, writes a config and drop folders under ./demo, drops
 * a few made-up sample files, runs the real agent, and prints where to drop more files and how
 * to see `agent status`. Ctrl+C stops everything.
 *
 * `--once`: exit 0 as soon as every sample is on the server (used by the tests); `--dir DIR`
 * to put the demo somewhere else.
 *
 * @module
 */
import path from "#path";
import { parseArgs } from "#util";
import { defaultProcesses, makeSampleReports, startWatsServer } from "../wats_test_server/mod.ts";
import { selfCommand } from "../src/runtime.ts";

const root = path.resolve(import.meta.dirname!, "..");
const { values } = parseArgs({
  args: Deno.args,
  options: { once: { type: "boolean" }, dir: { type: "string" }, count: { type: "string" } },
});
const demoDir = path.resolve(values.dir ?? path.join(root, "demo"));
const token = "demo-token-" + crypto.randomUUID().slice(0, 8);

await Deno.mkdir(demoDir, { recursive: true });
// The demo server knows the usual test processes, ICT (30) among them.
const server = await startWatsServer({
  port: 0,
  tokens: [token],
  processes: [...defaultProcesses, {
    code: 30,
    name: "ICT",
    isTestOperation: true,
    isRepairOperation: false,
  }],
});
const drop = (name: string) => path.join(demoDir, "drop", name);
for (const d of ["wsjf", "wstf", "csv"]) await Deno.mkdir(drop(d), { recursive: true });

const config =
  `// Demo configuration written by \`deno task demo\`. Every key is described in README.md.
{
  "server": { "url": "${server.url}", "token": "${token}" },
  "station": { "name": "DEMO-ST-01", "location": "Demo line", "purpose": "Development" },
  "dataDir": "./agent-data",
  "control": { "port": 0 },
  "intake": { "stableSeconds": 0.5, "rescanSeconds": 2 },
  "converters": [
    // WATS JSON reports; converted files move to drop/wsjf/Done
    { "name": "wsjf-drop", "format": "wsjf", "watch": "./drop/wsjf", "pattern": "*.json", "afterSuccess": "move" },
    // WATS Standard Text Format
    { "name": "wstf-drop", "format": "wstf", "watch": "./drop/wstf", "pattern": "*.txt", "afterSuccess": "move",
      "params": { "decimalSeparator": "," } },
    // An in-house tester's CSV, read by the configurable csv converter
    { "name": "csv-drop", "format": "csv", "watch": "./drop/csv", "pattern": "*.csv", "afterSuccess": "move",
      "params": { "processCode": 10 } }
  ]
}
`;
const configFile = path.join(demoDir, "agent.json");
await Deno.writeTextFile(configFile, config);

const count = Number(values.count ?? 5);
const samples = makeSampleReports(count, { seed: Date.now() % 100000 });
const expected = new Set(samples.map((r) => r.id));

const self = selfCommand(["run", "--config", configFile]);
// The demo is the one that stops the agent, with exactly one signal: the agent takes a second
// signal as "exit now" (exit 1). Ctrl+C in a terminal signals the whole foreground process
// group, so on Unix the agent gets a session of its own and hears only the demo. A Windows
// console delivers Ctrl+C to every process attached to it and kill() there is a hard
// TerminateProcess, so there the agent stays attached and the demo waits for it.
const ownSession = Deno.build.os !== "windows";
const agent = new Deno.Command(self.cmd, {
  args: self.args,
  cwd: demoDir,
  stdout: "inherit",
  stderr: "inherit",
  detached: ownSession,
}).spawn();
// Listening from here on, before the first await: no signal finds the demo without them.
let finishing = false;
/** Stops the agent (one SIGTERM, or the console's own Ctrl+C on Windows) and the server. */
async function finish(code: number, consoleSignalled = false) {
  if (finishing) return;
  finishing = true;
  if (!consoleSignalled) {
    try {
      agent.kill("SIGTERM");
    } catch { /* gone */ }
  }
  const status = await agent.status;
  await server.stop();
  console.log(`[demo] agent exited with ${status.code}; server stopped`);
  Deno.exit(code || status.code);
}
const stopSignals: Deno.Signal[] = ownSession
  ? ["SIGINT", "SIGTERM", "SIGHUP"]
  : ["SIGINT", "SIGBREAK"];
for (const sig of stopSignals) {
  Deno.addSignalListener(sig, () => finish(0, !ownSession));
}
// A demo that fails on its own must not leave its agent (in a session of its own) running.
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  console.error(`[demo] stopping: ${e.reason}`);
  finish(1);
});
agent.status.then((s) => {
  if (!finishing) {
    console.error(`[demo] the agent exited unexpectedly with ${s.code}`);
    finish(s.code || 1);
  }
});

const rel = path.relative(Deno.cwd(), demoDir) || ".";
console.log(`
WATS agent demo
  local WATS server   ${server.url}   (token ${token})
  agent config        ${path.join(rel, "agent.json")}
  drop folders        ${path.join(rel, "drop", "wsjf")}  (WSJF .json)
                      ${path.join(rel, "drop", "wstf")}  (WSTF .txt)
                      ${path.join(rel, "drop", "csv")}   (CSV)
  status              deno task agent status --config ${path.join(rel, "agent.json")}
  status page         the "Control endpoint" URL in the log below
Dropping ${count} sample reports now; drop more files any time. Ctrl+C stops the demo.
`);

/** Writes a file the way testers do: a temporary name, then a rename into the drop folder. */
async function dropFile(folder: string, name: string, content: string): Promise<void> {
  const tmp = path.join(demoDir, `.${name}.tmp`);
  await Deno.writeTextFile(tmp, content);
  await Deno.rename(tmp, path.join(drop(folder), name));
}

/** A made-up in-house tester's CSV: one row per step, the header repeated on every row. */
function sampleCsv(serial: string, failing: boolean): string {
  const start = new Date(Date.now() - 60_000).toISOString().slice(0, 19);
  const rows = [
    ["VCC", "3.31", "3.1", "3.5", "V"],
    ["ICC", failing ? "0.62" : "0.12", "", "0.5", "A"],
    ["Temp", "41.5", "10", "70", "°C"],
  ];
  return ["Serial,Part,Date,Test,Measured,Low,High,Units,Verdict"].concat(
    rows.map(([n, v, lo, hi, u]) => {
      const ok = (lo === "" || Number(v) >= Number(lo)) && (hi === "" || Number(v) <= Number(hi));
      return [serial, "DEMO-FCT-1", start, n, v, lo, hi, u, ok ? "PASS" : "FAIL"].join(",");
    }),
  ).join("\r\n") + "\r\n";
}

await new Promise((r) => setTimeout(r, 1500));
for (const r of samples) await dropFile("wsjf", `${r.sn}.json`, JSON.stringify(r, null, 2));
const stamp = Date.now().toString(36).toUpperCase();
await dropFile("csv", `FCT-${stamp}-1.csv`, sampleCsv(`FCT-${stamp}-1`, false));
await dropFile("csv", `FCT-${stamp}-2.csv`, sampleCsv(`FCT-${stamp}-2`, true));
await dropFile(
  "wstf",
  "two-units.txt",
  await Deno.readTextFile(path.join(root, "tests", "fixtures", "convert", "wstf", "two-units.txt")),
);
const expectedTotal = count + 2 + 2; // the WSJF samples, two CSV files, two WSTF units

let seen = 0;
setInterval(() => {
  if (finishing) return;
  const stats = server.stats();
  if (stats.reports !== seen) {
    seen = stats.reports;
    console.log(`[demo server] ${stats.reports} report(s) stored, ${stats.receives} received`);
  }
  if (
    values.once && [...expected].every((id) => server.store.get(id)) &&
    stats.reports >= expectedTotal
  ) {
    finish(0);
  }
}, 250);

if (values.once) {
  setTimeout(() => {
    console.error("[demo] not every sample reached the server within 60 s");
    finish(1);
  }, 60_000);
}
