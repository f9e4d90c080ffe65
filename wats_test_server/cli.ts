/**
 * Runs the WATS-compatible test server as its own process (`deno task server`).
 *
 * ```sh
 * deno run -A wats_test_server/cli.ts --port 8080 --token secret [--store DIR] [--fault-5xx 0.5]
 * ```
 *
 * Prints one JSON line on stdout once listening:
 * `{"url":"http://127.0.0.1:8080","port":8080,"controlUrl":".../_test","tokens":[...],"pid":1234}`.
 * Stops on SIGINT/SIGTERM. Faults can be changed while running through `<controlUrl>/faults`.
 *
 * @module
 */
import { parseArgs } from "#util";
import { type FaultSettings, startWatsServer, type WatsServer } from "./server.ts";
import { defaultProcesses, type WatsProcess } from "./processes.ts";

const usage = `WATS-compatible test server

Usage: deno run -A wats_test_server/cli.ts [options]

  --port N                 port (default 0: a free one; see the printed url)
  --host ADDR              listen address (default 127.0.0.1)
  --token T                a valid API token (repeatable; default: a random one, printed)
  --no-rights-token T      a token that gets 403 (repeatable)
  --prefix /wats           path prefix before /api
  --max-body BYTES         413 above this size (default 52428800)
  --store DIR              keep reports in DIR so they survive a restart
  --clock-skew-ms MS       shift the server clock (Date header, Ping)
  --process CODE:NAME[:repair]  add a known process (repeatable)
  --version-string V       GET /api/App/Version answer (default 2025.1.0)
  --no-keep-alive          answer every request with Connection: close
  --keep-bodies            keep each report's latest request body
  --verbose                one line per request on stderr
 Faults (probabilities 0..1, for report posts; --fault-scope api for every /api request):
  --fault-429 P  --fault-5xx P  --fault-408 P  --fault-slow P  --fault-drop P
  --slow-ms MS             delay of a slow answer (default 5000)
  --retry-after S          Retry-After seconds for 429 (default 1)
  --retry-after-date       send Retry-After as an HTTP date
  --fail-next N:FAULT      fail the next N report posts, FAULT = 503 | 429 | drop | slow:MS | wrong-id
                           | gzip-bomb | redirect:URL
  --seed N                 seed for the fault draws
  --fault-scope report|api
`;

/** Parses the command line into server options; throws with a message naming the bad flag. */
export function parseCli(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      token: { type: "string", multiple: true },
      "no-rights-token": { type: "string", multiple: true },
      prefix: { type: "string" },
      "max-body": { type: "string" },
      store: { type: "string" },
      "clock-skew-ms": { type: "string" },
      process: { type: "string", multiple: true },
      "version-string": { type: "string" },
      "no-keep-alive": { type: "boolean" },
      "keep-bodies": { type: "boolean" },
      verbose: { type: "boolean" },
      "fault-429": { type: "string" },
      "fault-5xx": { type: "string" },
      "fault-408": { type: "string" },
      "fault-slow": { type: "string" },
      "fault-drop": { type: "string" },
      "slow-ms": { type: "string" },
      "retry-after": { type: "string" },
      "retry-after-date": { type: "boolean" },
      "fail-next": { type: "string" },
      seed: { type: "string" },
      "fault-scope": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  const num = (flag: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n)) {
      throw new Error(`--${flag} must be a number, found "${text}"`);
    }
    return n;
  };
  const faults: FaultSettings = {
    p429: num("fault-429", values["fault-429"]),
    p5xx: num("fault-5xx", values["fault-5xx"]),
    p408: num("fault-408", values["fault-408"]),
    pSlow: num("fault-slow", values["fault-slow"]),
    pDrop: num("fault-drop", values["fault-drop"]),
    slowMs: num("slow-ms", values["slow-ms"]),
    retryAfterSeconds: num("retry-after", values["retry-after"]),
    retryAfterForm: values["retry-after-date"] ? "date" : undefined,
    seed: num("seed", values.seed),
    scope: values["fault-scope"] as FaultSettings["scope"],
  };
  if (values["fail-next"] !== undefined) {
    const m = /^(\d+):(.+)$/.exec(values["fail-next"]);
    if (m === null) {
      throw new Error(`--fail-next must be N:FAULT like 3:503, found "${values["fail-next"]}"`);
    }
    faults.failNext = { count: Number(m[1]), fault: m[2] };
  }
  for (const key of Object.keys(faults) as (keyof FaultSettings)[]) {
    if (faults[key] === undefined) delete faults[key];
  }
  const processes: WatsProcess[] = [...defaultProcesses];
  for (const spec of values.process ?? []) {
    const m = /^(\d+):([^:]+)(:repair)?$/.exec(spec);
    if (m === null) {
      throw new Error(`--process must be CODE:NAME or CODE:NAME:repair, found "${spec}"`);
    }
    processes.push({
      code: Number(m[1]),
      name: m[2],
      isTestOperation: !m[3],
      isRepairOperation: !!m[3],
    });
  }
  const tokens = values.token ?? [];
  return {
    help: values.help ?? false,
    verbose: values.verbose ?? false,
    options: {
      port: num("port", values.port) ?? 0,
      hostname: values.host,
      tokens: tokens.length > 0 || (values["no-rights-token"] ?? []).length > 0
        ? tokens
        : [crypto.randomUUID().replaceAll("-", "")],
      noRightsTokens: values["no-rights-token"],
      pathPrefix: values.prefix,
      maxBodyBytes: num("max-body", values["max-body"]),
      storeDir: values.store,
      clockSkewMs: num("clock-skew-ms", values["clock-skew-ms"]),
      processes,
      version: values["version-string"],
      keepAlive: !values["no-keep-alive"],
      keepBodies: values["keep-bodies"],
      faults,
    },
  };
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseCli(Deno.args);
  } catch (e) {
    console.error(`wats_server: ${(e as Error).message}\n\n${usage}`);
    Deno.exit(2);
  }
  if (parsed.help) {
    console.log(usage);
    return;
  }
  const server: WatsServer = await startWatsServer({
    ...parsed.options,
    onRequest: parsed.verbose
      ? (e) =>
        console.error(
          `${e.finishedAt} ${e.method} ${e.path} -> ${e.status ?? "dropped"}` +
            `${e.fault ? ` [fault ${e.fault}]` : ""}${e.reportId ? ` id=${e.reportId}` : ""}` +
            `${e.message && e.status !== 200 ? ` ${e.message}` : ""}`,
        )
      : undefined,
  });
  console.log(JSON.stringify({
    url: server.url,
    port: server.port,
    controlUrl: server.controlUrl,
    tokens: server.tokens,
    store: parsed.options.storeDir ?? null,
    pid: Deno.pid,
  }));
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) Deno.exit(1);
    stopping = true;
    if (parsed.verbose) console.error(`wats_server: ${signal}, stopping`);
    await server.stop();
    Deno.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => void shutdown(signal));
    } catch (e) {
      // SIGTERM listeners exist on Windows only since Deno 2.8; SIGINT is enough there.
      if (signal === "SIGINT") throw e;
    }
  }
}

if (import.meta.main) await main();
