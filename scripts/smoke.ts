/**
 * Runs the agent for real, the way a station engineer first would: `agent version`, `agent
 * convert` on a sample, then `agent run` against the test server with a file dropped into its
 * watch folder and `agent flush`, and stops it. Exit 0 when every step did what it should, else 1
 * with the step, what was wrong and the agent's output.
 *
 * Usage: deno run -A scripts/smoke.ts [--agent BINARY [--target TARGET]]
 *
 * Without --agent it runs the agent from source (`deno run <agentRunFlags> main.ts`, as `deno
 * task agent`); with it, a compiled binary (the release workflow, on each target's own runner).
 * --target checks that the binary reports that target.
 *
 * @module
 */
import path from "#path";
import { parseArgs } from "#util";
import { startWatsServer } from "../wats_test_server/mod.ts";
import { selfCommand } from "../src/runtime.ts";

const projectRoot = path.resolve(import.meta.dirname!, "..");
const SAMPLE = path.join(projectRoot, "tests", "fixtures", "convert", "wsjf", "minimal.json");

/** A step that did not do what it should; the message says which and why. */
export class SmokeError extends Error {
  /** @param message what failed */
  constructor(message: string) {
    super(message);
    this.name = "SmokeError";
  }
}

/** How to start the agent with some arguments. */
export type AgentCommand = (args: string[]) => { cmd: string; args: string[] };

/** The agent under test: a binary, or the source through {@link selfCommand}. */
export function agentCommand(binary?: string): AgentCommand {
  if (binary === undefined) return selfCommand;
  const cmd = path.resolve(binary);
  return (args) => ({ cmd, args });
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function runAgent(agent: AgentCommand, args: string[], cwd: string): Promise<Result> {
  const { cmd, args: full } = agent(args);
  const out = await new Deno.Command(cmd, {
    args: full,
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output().catch((e) => {
    throw new SmokeError(`could not start ${cmd}: ${e instanceof Error ? e.message : e}`);
  });
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function expectExit(step: string, r: Result, code = 0): void {
  if (r.code !== code) {
    throw new SmokeError(
      `${step} exited ${r.code}, expected ${code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n` +
        r.stderr,
    );
  }
}

async function waitFor(
  what: string,
  pred: () => Promise<boolean> | boolean,
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) {
      throw new SmokeError(
        `timed out after ${timeoutMs / 1000} s waiting for ${what}\n--- agent output ---\n` +
          output(),
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Options of {@link smoke}. */
export interface SmokeOptions {
  agent: AgentCommand;
  /** The target the agent must report (`agent version --json`). */
  target?: string;
  /** A compiled binary must carry the commit it was built from, not "dev". */
  compiled?: boolean;
  log?: (line: string) => void;
}

/** Runs every step; throws {@link SmokeError} at the first that fails. */
export async function smoke(o: SmokeOptions): Promise<void> {
  const log = o.log ?? ((line: string) => console.log(line));
  const dir = await Deno.makeTempDir({ prefix: "agent-smoke-" });
  const token = `smoke-${crypto.randomUUID()}`;
  await using server = await startWatsServer({ port: 0, tokens: [token] });
  try {
    const expected = JSON.parse(await Deno.readTextFile(path.join(projectRoot, "deno.json")));
    const v = await runAgent(o.agent, ["version", "--json"], dir);
    expectExit("agent version --json", v);
    const info = JSON.parse(v.stdout);
    if (info.version !== expected.version) {
      throw new SmokeError(
        `agent version says ${info.version}, deno.json says ${expected.version}`,
      );
    }
    if (o.target !== undefined && info.target !== o.target) {
      throw new SmokeError(`agent version says target ${info.target}, expected ${o.target}`);
    }
    if (o.compiled && info.commit === "dev") {
      throw new SmokeError('the binary says commit "dev": the build did not stamp src/version.ts');
    }
    log(`ok  agent version: ${info.version} (${info.commit}) deno ${info.deno} ${info.target}`);

    const drop = path.join(dir, "drop", "json");
    await Deno.mkdir(drop, { recursive: true });
    const config = path.join(dir, "agent.json");
    const dataDir = path.join(dir, "agent-data");
    await Deno.writeTextFile(
      config,
      JSON.stringify(
        {
          server: { url: server.url, token, timeoutSeconds: 10 },
          station: { name: "SMOKE-ST", location: "Lab", purpose: "Smoke test" },
          dataDir: "./agent-data",
          control: { port: 0 },
          intake: { stableSeconds: 0.2, rescanSeconds: 1 },
          converters: [
            {
              name: "json",
              format: "wsjf",
              watch: "./drop/json",
              pattern: "*",
              afterSuccess: "delete",
            },
          ],
        },
        null,
        2,
      ),
    );

    const c = await runAgent(o.agent, ["convert", SAMPLE, "--config", config], dir);
    expectExit(`agent convert ${path.relative(projectRoot, SAMPLE)}`, c);
    const sample = JSON.parse(await Deno.readTextFile(SAMPLE));
    const converted = JSON.parse(c.stdout);
    if (converted.id !== sample.id || converted.sn !== sample.sn) {
      throw new SmokeError(
        `agent convert printed a report with id ${converted.id} / sn ${converted.sn}, expected ` +
          `${sample.id} / ${sample.sn}:\n${c.stdout}`,
      );
    }
    log(`ok  agent convert: ${path.basename(SAMPLE)} -> report ${converted.id}`);

    const { cmd, args } = o.agent(["run", "--config", config]);
    const child = new Deno.Command(cmd, {
      args,
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const chunks: string[] = [];
    const output = () => chunks.join("");
    const collected = Promise.all([child.stdout, child.stderr].map(async (s) => {
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) chunks.push(chunk);
    }));
    let exited: Deno.CommandStatus | null = null;
    child.status.then((s) => exited = s);
    try {
      await waitFor(
        "the agent's control endpoint",
        async () => {
          if (exited) {
            throw new SmokeError(`agent run exited ${exited.code} at start:\n${output()}`);
          }
          try {
            const control = JSON.parse(await Deno.readTextFile(path.join(dataDir, "control.json")));
            const res = await fetch(`http://127.0.0.1:${control.port}/health`);
            await res.body?.cancel();
            return control.pid === child.pid;
          } catch {
            return false;
          }
        },
        60_000,
        output,
      );
      log(`ok  agent run: started (pid ${child.pid})`);

      const tmp = path.join(dir, "minimal.json.part");
      await Deno.copyFile(SAMPLE, tmp);
      await Deno.rename(tmp, path.join(drop, "minimal.json"));
      await waitFor(
        "the dropped file to be taken",
        // Gone from the drop folder (the agent's own claim files stay there).
        () => Deno.lstat(path.join(drop, "minimal.json")).then(() => false, () => true),
        60_000,
        output,
      );
      const f = await runAgent(o.agent, ["flush", "--config", config, "--timeout", "60"], dir);
      expectExit("agent flush", f);
      const stored = server.store.get(sample.id);
      if (!stored) {
        throw new SmokeError(
          `agent flush exited 0 but the server has no report ${sample.id}\n--- flush ---\n` +
            `${f.stdout}${f.stderr}\n--- agent output ---\n${output()}`,
        );
      }
      log(`ok  agent flush: the server holds report ${sample.id}`);

      // Windows has no SIGTERM for another process: Deno ends it outright there.
      child.kill("SIGTERM");
      const status = await child.status;
      await collected;
      if (Deno.build.os !== "windows" && status.code !== 0) {
        throw new SmokeError(`agent run exited ${status.code} on SIGTERM:\n${output()}`);
      }
      const bug = output().split("\n").find((l) => l.includes("Unexpected error (a bug"));
      if (bug) throw new SmokeError(`the agent logged an unexpected error:\n${bug}`);
      log(`ok  agent run: stopped, exit ${status.code}`);
    } finally {
      if (exited === null) {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
        await child.status;
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { agent: { type: "string" }, target: { type: "string" } },
    strict: true,
  });
  const what = values.agent ? path.resolve(values.agent) : "the agent from source";
  console.log(`smoke test of ${what}`);
  try {
    await smoke({
      agent: agentCommand(values.agent),
      target: values.target,
      compiled: values.agent !== undefined,
    });
    console.log("smoke: all steps passed");
  } catch (e) {
    if (!(e instanceof SmokeError)) throw e;
    console.error(`smoke: FAILED: ${e.message}`);
    Deno.exit(1);
  }
}
