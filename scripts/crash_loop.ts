/**
 * The hostile crash-loop campaign: good station files mixed with hostile ones (a zip bomb, a
 * sparse 1.5 GB file, a 50,000-deep JSON document, garbage, a file that kills the agent every
 * time it is converted, a symlink to a secret, a planted note symlink, a name with a newline)
 * are fed to the real agent running under a real memory limit, which is killed with SIGKILL at
 * random moments and restarted as a service manager would. At the end:
 *
 * - every good report is on the server, by id, and nothing else is;
 * - every hostile file is in an Error folder with a note beside it;
 * - no file outside the configured folders changed, and the secret appears nowhere.
 *
 * `deno run -A scripts/crash_loop.ts [--rounds 8] [--good 80] [--memory-mb 500] [--seed N]`
 * prints one line per round, the counts, and ends with OK or FAILED (exit 0 or 1).
 *
 * @module
 */
import path from "#path";
import { parseArgs } from "#util";
import { AgentHarness } from "../tests/e2e/_harness.ts";
import { filesUnder } from "../tests/_files.ts";
import { makeZip, zeroBomb } from "../tests/convert/_zip_writer.ts";
import { cgroupUnavailable, MemoryCgroup } from "../tests/hostile/_cgroup.ts";
import { makeSampleReports } from "../wats_test_server/mod.ts";
import { seededRandom } from "../wats_test_server/prng.ts";

/** What a campaign found. */
export interface CrashLoopResult {
  seed: number;
  rounds: number;
  kills: number;
  oomKills: number;
  peakMb: number;
  good: number;
  goodOnServer: number;
  missing: string[];
  unknownOnServer: string[];
  hostile: number;
  hostileInError: number;
  hostileNotInError: string[];
  /** The files in the Error folders (relative to the test folder). */
  inError: string[];
  outsideChanged: string[];
  secretFoundIn: string[];
  seconds: number;
}

const SECRET = "TOP-SECRET-4f1c9a0e-never-read-me";

/** A custom converter that kills its own process when the file says POISON (a crashing parser). */
const KILLER_CONVERTER = `export default {
  name: "killer",
  description: "test: kills the whole agent on a poison file",
  convert(input) {
    const text = new TextDecoder().decode(input.bytes);
    if (text.includes("POISON")) Deno.kill(Deno.pid, "SIGKILL");
    return [JSON.parse(text)];
  },
};
`;

async function treeDigest(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = path.join(d, e.name);
      const st = await Deno.lstat(p);
      if (st.isDirectory) await walk(p);
      else if (st.isSymlink) out.set(p, `link:${await Deno.readLink(p)}`);
      else {
        const hash = await crypto.subtle.digest("SHA-256", await Deno.readFile(p));
        out.set(
          p,
          `${st.size}:${st.mtime?.getTime()}:${btoa(String.fromCharCode(...new Uint8Array(hash)))}`,
        );
      }
    }
  };
  await walk(dir);
  return out;
}

/** Runs the campaign; `log` gets one line per round. */
export async function runCrashLoop(opts: {
  rounds: number;
  good: number;
  memoryMb: number;
  seed?: number;
  log?: (line: string) => void;
}): Promise<CrashLoopResult> {
  if (cgroupUnavailable) throw new Error(`needs a memory cgroup: ${cgroupUnavailable}`);
  const t0 = performance.now();
  const seed = opts.seed ?? Date.now() % 1_000_000;
  const random = seededRandom(seed);
  const log = opts.log ?? (() => {});

  await using cg = await MemoryCgroup.create(opts.memoryMb * 1024 * 1024);
  await using h = await AgentHarness.create({
    converters: [
      { name: "json", format: "wsjf" },
      { name: "xj", format: "xjtag", pattern: "*.xjlog" },
      { name: "custom", module: "killer.js" },
    ],
    config: {
      log: { level: "info" },
      intake: { stableSeconds: 0.2, rescanSeconds: 0.5, emptyFileSeconds: 5 },
      pool: { memoryMb: 128 },
    },
  });
  await Deno.writeTextFile(path.join(h.dir, "killer.js"), KILLER_CONVERTER);

  // Outside every configured folder: a secret, and a file a planted link points at.
  const outside = await Deno.makeTempDir({ prefix: "crash-loop-outside-" });
  const secretFile = path.join(outside, "secret.txt");
  const victim = path.join(outside, "victim.txt");
  await Deno.writeTextFile(secretFile, `{"sn":"${SECRET}"}\n`);
  await Deno.writeTextFile(victim, "must never change\n");
  const before = await treeDigest(outside);

  // The hostile files: [converter, name, how to make it]; each must end in Error.
  const hostile: [string, string, (p: string) => Promise<void>][] = [
    ["xj", "bomb.xjlog", async (p) => {
      await Deno.writeFile(
        p,
        await makeZip([{
          name: "Run 1.xml",
          data: new Uint8Array(0),
          body: zeroBomb(32),
          declaredSize: 60 * 1024 * 1024,
        }]),
      );
    }],
    ["json", "sparse.json", async (p) => {
      const f = await Deno.open(p, { write: true, create: true });
      await f.truncate(1536 * 1024 * 1024);
      f.close();
    }],
    [
      "json",
      "deep.json",
      (p) => Deno.writeTextFile(p, '{"x":'.repeat(50_000) + "1" + "}".repeat(50_000)),
    ],
    ["json", "garbage.json", (p) => Deno.writeTextFile(p, "\u0000\u0001 not json at all {{{")],
    ["json", "planted.json", async (p) => {
      // Its note's name is a link to the victim, planted before the agent writes the note.
      const errDir = path.join(h.dropDir("json"), "Error");
      await Deno.mkdir(errDir, { recursive: true });
      await Deno.symlink(victim, path.join(errDir, "planted.json.error.txt")).catch(() => {});
      await Deno.writeTextFile(p, "[1, 2, 3");
    }],
    ["json", "evil\n2026-01-01 ERROR forged.json", (p) => Deno.writeTextFile(p, "nope")],
    ["custom", "poison.json", (p) => Deno.writeTextFile(p, JSON.stringify({ note: "POISON" }))],
  ];
  const good = makeSampleReports(opts.good, { seed });
  const perRound = Math.ceil(good.length / opts.rounds);
  let next = 0;
  let kills = 0;
  log(
    `seed ${seed}: ${good.length} good files, ${hostile.length} hostile, ${opts.rounds} rounds, memory limit ${opts.memoryMb} MiB`,
  );

  for (let round = 0; round < opts.rounds; round++) {
    await h.start({}, cg.via());
    if (round === 0) {
      for (const [conv, name, make] of hostile) await make(path.join(h.dropDir(conv), name));
      await Deno.symlink(secretFile, path.join(h.dropDir("json"), "secret-link.json"));
    }
    for (const r of good.slice(next, next + perRound)) {
      // Good files go to both WSJF converters (the custom one passes them through).
      const conv = random() < 0.5 ? "json" : "custom";
      await h.drop(conv, `${r.sn}.json`, JSON.stringify(r));
    }
    next += perRound;
    await new Promise((res) => setTimeout(res, 300 + random() * 1500));
    const code = await h.kill9();
    kills++;
    log(
      `round ${
        round + 1
      }/${opts.rounds}: killed (exit ${code}); ${h.server.store.list().length} on server`,
    );
  }

  // The last run: no more kills; let it drain and put every hostile file where it belongs.
  await h.start({}, cg.via());
  const ids = new Set(good.map((r) => r.id));
  const errorFiles = async () =>
    (await Promise.all(
      ["json", "xj", "custom"].map((c) => filesUnder(path.join(h.dropDir(c), "Error"))),
    )).flat();
  const stillInDrop = async () => {
    const left: string[] = [];
    for (const [conv, name] of hostile) {
      if (await Deno.lstat(path.join(h.dropDir(conv), name)).then(() => true, () => false)) {
        left.push(name);
      }
    }
    return left;
  };
  await h.waitFor(
    async () => {
      if (![...ids].every((id) => h.server.store.get(id))) return false;
      return (await stillInDrop()).length === 0;
    },
    "every good report on the server and every hostile file out of the drop folders",
    180_000,
  )
    .catch((e) => log(String(e).slice(0, 600)));
  await h.stop();

  const missing = [...ids].filter((id) => !h.server.store.get(id));
  const unknownOnServer = h.server.store.list().map((e) => e.id).filter((id) => !ids.has(id));
  // Each hostile file left its drop folder for an Error folder, with a note beside it.
  const inError = await errorFiles();
  const moved = inError.filter((p) => !p.endsWith(".error.txt"));
  const notes = inError.filter((p) => p.endsWith(".error.txt"));
  const hostileNotInError = await stillInDrop();
  if (moved.length < hostile.length || notes.length < hostile.length) {
    hostileNotInError.push(
      `${moved.length} file(s) and ${notes.length} note(s) in Error for ${hostile.length} hostile files`,
    );
  }
  const after = await treeDigest(outside);
  const outsideChanged = [...new Set([...before.keys(), ...after.keys()])].filter((k) =>
    before.get(k) !== after.get(k)
  );
  // The secret must be nowhere the agent writes or serves.
  const secretFoundIn: string[] = [];
  for (const f of await filesUnder(h.dir)) {
    if (f === secretFile) continue;
    try {
      if ((await Deno.readTextFile(f)).includes(SECRET)) secretFoundIn.push(f);
    } catch { /* a vanished file */ }
  }
  if (JSON.stringify(h.server.store.list()).includes(SECRET)) secretFoundIn.push("the server");
  if (h.output.includes(SECRET)) secretFoundIn.push("the agent's output");
  await Deno.remove(outside, { recursive: true });

  return {
    seed,
    rounds: opts.rounds,
    kills,
    oomKills: await cg.oomKills(),
    peakMb: Math.round((await cg.peakBytes()) / 1048576),
    good: good.length,
    goodOnServer: good.length - missing.length,
    missing,
    unknownOnServer,
    hostile: hostile.length,
    hostileInError: moved.length,
    hostileNotInError,
    inError: moved.map((p) => path.relative(h.dir, p)),
    outsideChanged,
    secretFoundIn,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
  };
}

/** True when the campaign found nothing wrong. */
export function crashLoopOk(r: CrashLoopResult): boolean {
  return r.missing.length === 0 && r.unknownOnServer.length === 0 &&
    r.hostileNotInError.length === 0 && r.outsideChanged.length === 0 &&
    r.secretFoundIn.length === 0;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string" },
      good: { type: "string" },
      "memory-mb": { type: "string" },
      seed: { type: "string" },
    },
  });
  const result = await runCrashLoop({
    rounds: Number(values.rounds ?? 8),
    good: Number(values.good ?? 80),
    memoryMb: Number(values["memory-mb"] ?? 500),
    seed: values.seed ? Number(values.seed) : undefined,
    log: (l) => console.log(l),
  });
  console.log(JSON.stringify(result, null, 2));
  const ok = crashLoopOk(result);
  console.log(
    ok ? "OK: nothing lost, every hostile file in Error, nothing outside touched" : "FAILED",
  );
  Deno.exit(ok ? 0 : 1);
}
