/**
 * The end-to-end harness: a temp folder with a config, drop folders, the real test server on
 * 127.0.0.1, and the real agent process (`deno run … main.ts`) started, stopped, killed and
 * asked for its status exactly as a station engineer would.
 *
 * ```ts
 * await using h = await AgentHarness.create({ converters: [{ name: "json", format: "wsjf" }] });
 * await h.start();
 * await h.drop("json", "a.json", JSON.stringify(report));
 * await h.waitFor(() => h.server.store.get(report.id) !== undefined, "report on server");
 * ```
 *
 * @module
 */
import path from "#path";
import {
  startWatsServer,
  type WatsServer,
  type WatsServerOptions,
} from "../../wats_test_server/mod.ts";
import { selfCommand } from "../../src/runtime.ts";
import { waitFor } from "../_wait.ts";
import { LOCK_FILE, OWNER_FILE } from "../../src/watch/folder_claim.ts";

const CLAIM_FILES = [LOCK_FILE, OWNER_FILE];

/** How {@link AgentHarness.stop} stops the agent gracefully on this OS. */
export const GRACEFUL_STOP: Deno.Signal | "POST /stop" = Deno.build.os === "windows"
  ? "POST /stop"
  : "SIGTERM";

/** A converter entry for the harness config; `watch` defaults to drop/<name>. */
export interface HarnessConverter {
  name: string;
  format?: string;
  module?: string;
  watch?: string;
  pattern?: string;
  afterSuccess?: "delete" | "move" | "keep";
  recursive?: boolean;
  params?: Record<string, unknown>;
  [key: string]: unknown;
}

/** What to set up. */
export interface HarnessOptions {
  converters?: HarnessConverter[];
  /** Extra top-level config (merged one level deep over the defaults). */
  config?: Record<string, unknown>;
  /** Test server options; `false` for no server (then give server.url in config). */
  server?: Partial<WatsServerOptions> | false;
  token?: string;
}

/** The result of a CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One test's agent, server and folders. */
export class AgentHarness implements AsyncDisposable {
  readonly dir: string;
  readonly configFile: string;
  readonly dataDir: string;
  readonly token: string;
  server!: WatsServer;
  config: Record<string, unknown> = {};
  #child: Deno.ChildProcess | null = null;
  #stderr: string[] = [];
  #stdoutDone: Promise<void> | null = null;

  private constructor(dir: string, token: string) {
    this.dir = dir;
    this.configFile = path.join(dir, "agent.json");
    this.dataDir = path.join(dir, "agent-data");
    this.token = token;
  }

  /** Creates the folder, the server and the config file. */
  static async create(opts: HarnessOptions = {}): Promise<AgentHarness> {
    const dir = await Deno.makeTempDir({ prefix: "agent-e2e-" });
    const h = new AgentHarness(dir, opts.token ?? "e2e-token-" + crypto.randomUUID().slice(0, 8));
    if (opts.server !== false) {
      h.server = await startWatsServer({ port: 0, tokens: [h.token], ...(opts.server ?? {}) });
    }
    const converters = (opts.converters ?? [{ name: "json", format: "wsjf" }]).map((c) => ({
      watch: `./drop/${c.name}`,
      pattern: "*",
      afterSuccess: "delete",
      ...c,
    }));
    for (const c of converters) {
      await Deno.mkdir(path.resolve(dir, c.watch as string), { recursive: true });
    }
    const base: Record<string, unknown> = {
      server: {
        url: opts.server === false ? "http://127.0.0.1:9" : h.server.url,
        token: h.token,
        timeoutSeconds: 5,
        retry: { initialSeconds: 0.2, maxSeconds: 2 },
        breaker: { failures: 5, probeSeconds: 0.5 },
        authRetrySeconds: 2,
      },
      station: {
        name: "E2E-ST",
        location: "Lab",
        purpose: "Test",
        timeZone: "Europe/Oslo",
        operator: "tester",
      },
      dataDir: "./agent-data",
      control: { port: 0 },
      intake: { stableSeconds: 0.2, rescanSeconds: 1, emptyFileSeconds: 2 },
      pool: { min: 1, max: 2, timeoutSeconds: 10 },
      log: { level: "debug" },
      converters,
    };
    for (const [k, v] of Object.entries(opts.config ?? {})) {
      const cur = base[k];
      base[k] =
        cur && typeof cur === "object" && !Array.isArray(cur) && v && typeof v === "object" &&
          !Array.isArray(v)
          ? { ...cur, ...v }
          : v;
    }
    h.config = base;
    await h.writeConfig();
    return h;
  }

  /** Writes `this.config` to agent.json (as JSON; tests edit `config` then call this). */
  async writeConfig(text?: string): Promise<void> {
    await Deno.writeTextFile(this.configFile, text ?? JSON.stringify(this.config, null, 2));
  }

  /** A converter's drop folder. */
  dropDir(converter: string): string {
    const conv = (this.config.converters as HarnessConverter[]).find((c) => c.name === converter);
    if (!conv) throw new Error(`no converter ${converter} in the harness config`);
    return path.resolve(this.dir, conv.watch as string);
  }

  /** Writes a file into a drop folder atomically (temp name, then rename), like most testers. */
  async drop(converter: string, name: string, content: string | Uint8Array): Promise<string> {
    const dest = path.join(this.dropDir(converter), name);
    await Deno.mkdir(path.dirname(dest), { recursive: true });
    const tmp = path.join(this.dir, `.staging-${crypto.randomUUID()}`);
    if (typeof content === "string") await Deno.writeTextFile(tmp, content);
    else await Deno.writeFile(tmp, content);
    await Deno.rename(tmp, dest);
    return dest;
  }

  /** The command line that runs the agent from source with the same flags as `deno task agent`. */
  static agentArgs(args: string[]): string[] {
    return selfCommand(args).args;
  }

  /** Runs an `agent` CLI command to completion. */
  async cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    const out = await new Deno.Command(Deno.execPath(), {
      args: AgentHarness.agentArgs(args),
      cwd: this.dir,
      env: { NO_COLOR: "1", ...env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  }

  /** `agent status --json`, parsed, with its exit code. */
  // deno-lint-ignore no-explicit-any -- JSON read back from another process; tests probe it freely
  async status(): Promise<Record<string, any> & { exitCode: number }> {
    const r = await this.cli(["status", "--json", "--config", this.configFile]);
    try {
      return { ...JSON.parse(r.stdout), exitCode: r.code };
    } catch {
      throw new Error(
        `agent status --json printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`,
      );
    }
  }

  /**
   * Starts `agent run` in the background and waits until its control endpoint answers.
   * `via`: a command that runs the agent's command line given as its last arguments, e.g.
   * `["sh", "-c", 'echo $$ > …/cgroup.procs; exec "$@"', "sh"]` (it must `exec`, keeping the pid).
   */
  async start(env: Record<string, string> = {}, via: string[] = []): Promise<void> {
    if (this.#child) throw new Error("agent already started");
    this.#stderr = [];
    const args = AgentHarness.agentArgs(["run", "--config", this.configFile]);
    this.#child = new Deno.Command(via[0] ?? Deno.execPath(), {
      args: via.length > 0 ? [...via.slice(1), Deno.execPath(), ...args] : args,
      cwd: this.dir,
      env: { NO_COLOR: "1", ...env },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collect = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) this.#stderr.push(chunk);
    };
    this.#stdoutDone = Promise.all([collect(this.#child.stdout), collect(this.#child.stderr)]).then(
      () => {},
    );
    const child = this.#child;
    let exited: Deno.CommandStatus | null = null;
    child.status.then((s) => exited = s);
    await this.waitFor(
      async () => {
        if (exited) {
          throw new Error(`agent exited with ${exited.code} during start:\n${this.output}`);
        }
        try {
          const info = JSON.parse(await Deno.readTextFile(path.join(this.dataDir, "control.json")));
          if (info.pid !== child.pid) return false;
          const res = await fetch(`http://127.0.0.1:${info.port}/health`);
          await res.body?.cancel();
          return true;
        } catch {
          return false;
        }
      },
      "the agent's control endpoint",
      30_000,
    );
  }

  /** Everything the agent printed so far. */
  get output(): string {
    return this.#stderr.join("");
  }

  /** The running agent's pid. */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /**
   * Stops the agent and waits for the exit; returns the exit code (-9 when it had to be killed).
   * `how`: a signal, or `"POST /stop"` (what `agent stop` sends). The default is the graceful
   * stop of the OS: SIGTERM, and on Windows, which has no SIGTERM (Deno would end the process
   * outright), `POST /stop`.
   */
  async stop(how: Deno.Signal | "POST /stop" = GRACEFUL_STOP, timeoutMs = 30_000): Promise<number> {
    const child = this.#child;
    if (!child) return -1;
    if (how === "POST /stop") {
      const res = await this.control("/stop", { method: "POST", auth: true }).catch(() => null);
      // No answer: the agent is gone already, which its status below tells.
      if (res && res.status !== 202) {
        throw new Error(`POST /stop answered ${res.status}: ${await res.text()}\n${this.output}`);
      }
      await res?.body?.cancel();
    } else {
      try {
        child.kill(how);
      } catch { /* already gone */ }
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, timeoutMs);
    const status = await child.status;
    clearTimeout(timer);
    await this.#stdoutDone;
    this.#child = null;
    return status.signal === "SIGKILL" && how !== "SIGKILL" ? -9 : status.code;
  }

  /** kill -9. */
  kill9(): Promise<number> {
    return this.stop("SIGKILL");
  }

  /** Resolves when the agent has exited by itself; returns its exit code. */
  async exited(timeoutMs = 30_000): Promise<number> {
    const child = this.#child;
    if (!child) return -1;
    const status = await Promise.race([
      child.status,
      new Promise<never>((_, rej) =>
        setTimeout(() => rej(new Error("agent did not exit")), timeoutMs)
      ),
    ]);
    await this.#stdoutDone;
    this.#child = null;
    return status.code;
  }

  /** Polls `pred` until it is true; fails with `what` and the agent's output after `timeoutMs`. */
  async waitFor(
    pred: () => boolean | Promise<boolean>,
    what: string,
    timeoutMs = 20_000,
  ): Promise<void> {
    await waitFor(pred, what, {
      timeoutMs,
      intervalMs: 100,
      detail: () => `--- agent output ---\n${this.output}`,
    });
  }

  /**
   * Waits until every watch folder has been scanned in full `n` times since this call (GET
   * /status: each converter's lastScanAt), so that a test checking that a file was NOT taken,
   * or not taken again, knows the agent looked. The first scan seen may have started before
   * the call, so it is not counted.
   */
  async waitForRescans(n = 2, timeoutMs = 20_000): Promise<void> {
    const since = new Date().toISOString();
    const scans = new Map<string, Set<string>>();
    await this.waitFor(
      async () => {
        const status = await (await this.control("/status")).json();
        const live = (status.converters as { name: string; lastScanAt?: string | null }[])
          .filter((c) => c.lastScanAt !== undefined);
        for (const c of live) {
          if (!c.lastScanAt || c.lastScanAt <= since) continue;
          if (!scans.has(c.name)) scans.set(c.name, new Set());
          scans.get(c.name)!.add(c.lastScanAt);
        }
        return live.length > 0 && live.every((c) => (scans.get(c.name)?.size ?? 0) > n);
      },
      `${n} full rescans of every watch folder`,
      timeoutMs,
    );
  }

  /** GET a control endpoint of the running agent. */
  async control(pathname: string, init?: RequestInit & { auth?: boolean }): Promise<Response> {
    const info = JSON.parse(await Deno.readTextFile(path.join(this.dataDir, "control.json")));
    const headers = new Headers(init?.headers);
    if (init?.auth) headers.set("authorization", `Bearer ${info.token}`);
    return await fetch(`http://127.0.0.1:${info.port}${pathname}`, { ...init, headers });
  }

  /**
   * Files directly in a folder (names), sorted; empty when it does not exist. The agent's claim
   * files, in every drop folder it watches (src/watch/folder_claim.ts), are left out.
   */
  async files(dir: string): Promise<string[]> {
    try {
      return (await Array.fromAsync(Deno.readDir(dir)))
        .filter((e) => e.isFile && !CLAIM_FILES.includes(e.name)).map((e) => e.name).sort();
    } catch {
      return [];
    }
  }

  /**
   * True when `name` is in the Error folder `errorDir` with its whole note beside it. The agent
   * writes the note first and moves the file in after, so the note's name alone is not enough.
   */
  async inError(errorDir: string, name: string): Promise<boolean> {
    const names = await this.files(errorDir);
    if (!names.includes(name) || !names.includes(`${name}.error.txt`)) return false;
    const note = await Deno.readTextFile(path.join(errorDir, `${name}.error.txt`)).catch(() => "");
    return note.trimEnd().endsWith("(after fixing it or the config).");
  }

  /** Stops everything and removes the folder. Fails when the agent logged an unexpected error. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#child) await this.stop("SIGKILL");
    if (this.server) await this.server.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    // The agent survives unexpected errors (it logs them); a test must not.
    const bug = this.output.split("\n").find((l) => l.includes("Unexpected error (a bug"));
    if (bug) throw new Error(`the agent logged an unexpected error:\n${bug}`);
  }
}
