/**
 * The converter pool's cases, each run by tests/convert/pool_test.ts in its own `deno run`
 * process, as the agent runs: real `node:worker_threads` workers and real converter modules
 * (tests/fixtures/converters/moody.js misbehaves on command).
 *
 * Why a process per case: `deno test` type-checks every worker module it loads (seconds per
 * spawn, on a busy machine more than a time limit), and a worker stuck in `while(true)` spins
 * until its process ends.
 *
 * `deno run -A tests/convert/_pool_cases.ts <case>` exits 0 when the case holds.
 *
 * @module
 */
import assert from "#assert";
import path from "#path";
import { ConverterPool, type PoolOptions } from "../../src/convert/pool.ts";
import type { ConvertJob, ConvertOutcome } from "../../src/convert/run.ts";
import { decodeEntry, sha256Hex } from "../../src/queue/entry.ts";

const fixtures = path.resolve(import.meta.dirname!, "../fixtures/converters");
const moody = path.join(fixtures, "moody.js");
const station = {
  name: "POOL-T",
  location: "Lab",
  purpose: "Test",
  timeZone: "UTC",
  operator: "op",
};

function pool(opts: Partial<PoolOptions> = {}): ConverterPool {
  return new ConverterPool({
    min: 1,
    max: 2,
    timeoutMs: 30_000,
    memoryMb: 64,
    maxLostWorkers: 2,
    ...opts,
  });
}

function job(text: string, module = moody) {
  return {
    converter: "t",
    module,
    bytes: new TextEncoder().encode(text),
    name: "f.txt",
    path: "/drop/f.txt",
    station,
    params: {},
  };
}

function failed(o: ConvertOutcome): { kind: string; message: string; hint: string } {
  assert.equal(o.ok, false, `expected a failure, got ${JSON.stringify(o)}`);
  return o as { kind: string; message: string; hint: string };
}

function reports(o: ConvertOutcome) {
  if (!o.ok) {
    throw new assert.AssertionError({ message: `expected success, got ${JSON.stringify(o)}` });
  }
  return o.reports;
}

function sn(o: ConvertOutcome): string {
  return reports(o)[0].sn;
}

/** The worker threads of this process still alive (Linux). */
function workerThreads(): string[] {
  const names: string[] = [];
  for (const t of Deno.readDirSync("/proc/self/task")) {
    const comm = Deno.readTextFileSync(`/proc/self/task/${t.name}/comm`).trim();
    if (comm.startsWith("worker-")) names.push(comm);
  }
  return names;
}

/** Each case, by name. */
export const cases: Record<string, () => Promise<void>> = {
  "a backlog grows the pool to max and no further; idle extra workers stop": async () => {
    const p = pool({ min: 0, max: 2, idleMs: 300 });
    let peak = 0;
    const sampler = setInterval(() => peak = Math.max(peak, p.stats().workers), 5);
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) => p.convert(job(`SLEEP 200 ${i}`))),
    );
    clearInterval(sampler);
    assert.equal(outcomes.filter((o) => o.ok).length, 8);
    assert.equal(peak, 2, "grew to max with 8 waiting, never above");
    const until = Date.now() + 10_000;
    while (p.stats().workers > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.equal(p.stats().workers, 0, "idle workers above min stopped");
    await p.close();
  },

  "throwing, rejecting, garbage, invalid and exiting converters fail alone; others convert":
    async () => {
      const p = pool({ min: 2, max: 3 });
      const [thrown, rejected, garbage, invalid, exited, ok1, ok2] = await Promise.all([
        p.convert(job("THROW boom")),
        p.convert(job("REJECT x1")),
        p.convert(job("GARBAGE")),
        p.convert(job("INVALID SN-9")),
        p.convert(job("EXIT")),
        p.convert(job("OK SN-1")),
        p.convert(job("OK SN-2")),
      ]);
      assert.equal(failed(thrown).kind, "converter-error");
      assert.match(failed(thrown).message, /moody was told to throw \(boom\)/);
      assert.equal(
        failed(rejected).kind,
        "conversion",
        "an error named ConversionError: the file's fault",
      );
      assert.equal(
        failed(rejected).hint,
        "Write a serial number after REJECT.",
        "its hint is kept",
      );
      assert.equal(failed(garbage).kind, "invalid-output");
      assert.match(failed(garbage).message, /returned an object instead of an array of reports/);
      assert.equal(failed(invalid).kind, "invalid-output");
      assert.match(failed(invalid).message, /is not valid WSJF: .*id/);
      assert.equal(failed(exited).kind, "crash", "Deno.exit() in a converter ends only its worker");
      assert.match(failed(exited).message, /exited with code 3/);
      assert.equal(sn(ok1), "SN-1");
      assert.equal(sn(ok2), "SN-2");
      assert.equal(sn(await p.convert(job("OK SN-3"))), "SN-3", "the pool still works afterwards");
      assert.equal(p.stats().crashes, 1);
      await p.close();
    },

  "out of memory, both ways: an error event (allocating in a timer) and a silent stop (time limit)":
    async () => {
      const p = pool({ min: 2, max: 2, memoryMb: 32, timeoutMs: 6000 });
      await Promise.all([p.convert(job("OK WARM-UP-1")), p.convert(job("OK WARM-UP-2"))]);
      const [viaEvent, stopped] = await Promise.all([
        p.convert(job("OOM_TIMER")),
        p.convert(job("OOM")),
      ]);
      // The worker gets the "reached memory limit" error event and dies alone.
      assert.equal(failed(viaEvent).kind, "crash", JSON.stringify(viaEvent));
      assert.match(failed(viaEvent).message, /ran out of memory \(limit 32 MiB\)/);
      // Allocating in the converter (after an await): V8 stops it without any event and the
      // worker idles; the time limit ends the job, and terminate() reclaims the thread.
      assert.equal(failed(stopped).kind, "timeout", JSON.stringify(stopped));
      assert.match(failed(stopped).message, /it had stopped working: .* or it ran out of memory/);
      assert.match(failed(stopped).hint, /out of memory \(limit 32 MiB\)/);
      await p.settled();
      assert.equal(p.stats().lost, 0, "the stopped worker's thread was reclaimed");
      assert.equal(sn(await p.convert(job("OK SN-AFTER"))), "SN-AFTER");
      await p.close();
    },

  "a converter that never returns (awaits forever) times out; its worker is reclaimed":
    async () => {
      let unrecoverable: string | null = null;
      const p = pool({
        timeoutMs: 1000,
        maxLostWorkers: 1,
        onUnrecoverable: (r) => unrecoverable = r,
      });
      await p.convert(job("OK WARM-UP")); // the first load is slow on a busy machine
      const o = failed(await p.convert(job("HANG")));
      assert.equal(o.kind, "timeout");
      assert.match(o.message, /did not finish within 1 s \(it had stopped working/);
      await p.settled();
      assert.equal(p.stats().lost, 0);
      assert.equal(unrecoverable, null, "a reclaimed worker is not lost");
      assert.equal(sn(await p.convert(job("OK SN-4"))), "SN-4");
      await p.close();
    },

  "a worker stuck in while(true) is lost; at maxLostWorkers the pool gives up": async () => {
    let unrecoverable: string | null = null;
    const p = pool({
      timeoutMs: 1500,
      maxLostWorkers: 2,
      onUnrecoverable: (r) => unrecoverable = r,
    });
    await p.convert(job("OK WARM-UP"));
    const loop = failed(await p.convert(job("LOOP")));
    assert.equal(loop.kind, "timeout");
    assert.match(loop.message, /it was still computing: stuck in a loop/);
    await p.settled();
    assert.equal(p.stats().lost, 1, "terminate() did not stop the loop: its thread is still there");
    assert.equal(unrecoverable, null, "one lost worker is tolerated with maxLostWorkers 2");
    assert.equal(sn(await p.convert(job("OK SN-5"))), "SN-5", "a replacement worker converts");
    assert.equal(workerThreads().length, 2, "the stuck thread and its replacement");
    assert.equal(failed(await p.convert(job("LOOP"))).kind, "timeout");
    await p.settled();
    assert.equal(p.stats().lost, 2);
    assert.match(unrecoverable ?? "", /2 converter worker\(s\) are stuck and can't be stopped/);
    const after = failed(await p.convert(job("OK SN-6")));
    assert.equal(after.kind, "unavailable", "no more files are taken once it gave up");
  },

  "custom modules: TypeScript with a relative import, and clear load errors": async () => {
    const dir = await Deno.makeTempDir({ prefix: "pool-modules-" });
    const p = pool({ min: 1, max: 1 });
    try {
      const typed = await p.convert(job("SN-7;PN-7;F", path.join(fixtures, "typed.ts")));
      const body = JSON.parse(new TextDecoder().decode(reports(typed)[0].body));
      assert.equal(body.result, "F");
      assert.equal(body.miscInfos[0].text, "f.txt via helper", "the module's own import loaded");
      assert.equal(body.machineName, "POOL-T", "station fields filled before validation");

      const cases: [string, string, RegExp, RegExp][] = [
        [
          "syntax.js",
          "export default { convert(input) { return [ } };",
          /is not a valid ES module/,
          /ES module/,
        ],
        [
          "missing.js",
          'import { x } from "./not_there.js";\nexport default { convert: () => x };',
          /imports a module that is not available: .*not_there\.js/,
          /node: built-ins/,
        ],
        [
          "no_export.js",
          "export const helper = 1;",
          /has no converter: .*found exports helper/,
          /export default/,
        ],
        [
          "top.js",
          'throw new Error("settings missing");',
          /failed while loading: .*settings missing/,
          /top-level code/,
        ],
        [
          "common.cjs",
          "module.exports = {};",
          /expected an ES module file ending in \.js, \.mjs, \.ts, \.mts, found "\.cjs"/,
          /module/,
        ],
      ];
      for (const [name, text, message, hint] of cases) {
        await Deno.writeTextFile(path.join(dir, name), text);
        const o = failed(await p.convert(job("OK SN-1", path.join(dir, name))));
        assert.equal(o.kind, "load", name);
        assert.match(o.message, message, name);
        assert.match(o.hint, hint, name);
      }
      const gone = failed(await p.convert(job("OK SN-1", path.join(dir, "absent.js"))));
      assert.equal(gone.kind, "load");
      assert.match(gone.message, /absent\.js can't be read/);
      assert.equal(sn(await p.convert(job("OK SN-8"))), "SN-8", "other converters unaffected");
    } finally {
      await p.close();
      await Deno.remove(dir, { recursive: true });
    }
  },

  "staged jobs: the worker reads the file, converts, writes the entries to tmp/; errors not the file's":
    async () => {
      const dir = await Deno.makeTempDir();
      const p = pool({ min: 1, max: 1 });
      try {
        await Deno.mkdir(path.join(dir, "queue", "tmp"), { recursive: true });
        const stagedJob = (i: number): ConvertJob => ({
          ...job(""),
          bytes: undefined, // the worker reads the file itself
          name: `f${i}.txt`,
          path: path.join(dir, `f${i}.txt`),
          stage: {
            queueDir: path.join(dir, "queue"),
            correlationId: `corr-${i}`,
            firstSeen: "2026-01-05T07:00:00.000Z",
          },
        });
        const texts = Array.from({ length: 12 }, (_, i) => `OK SN-${i}`);
        for (const [i, t] of texts.entries()) {
          await Deno.writeTextFile(path.join(dir, `f${i}.txt`), t);
        }
        const outcomes = await Promise.all(texts.map((_, i) => p.convert(stagedJob(i))));
        for (const [i, o] of outcomes.entries()) {
          const [r] = reports(o);
          assert.equal(r.sn, `SN-${i}`);
          const sha = sha256Hex(new TextEncoder().encode(texts[i]));
          assert.equal(o.ok && o.sha256, sha, "the hash of the file the worker read");
          assert.ok(r.staged, "staged");
          const staged = r.staged!;
          const file = await Deno.readFile(path.join(dir, "queue", "tmp", staged.tmp));
          const { envelope, body } = decodeEntry(file);
          assert.deepEqual(envelope, staged.envelope);
          assert.deepEqual(body, r.body, "the entry holds the body returned");
          assert.equal(envelope.id, r.id);
          assert.equal(envelope.correlationId, `corr-${i}`);
          assert.equal(envelope.source, path.join(dir, `f${i}.txt`));
          assert.equal(envelope.converter, "t");
          assert.equal(envelope.sourceSha256, sha);
          assert.equal(envelope.firstSeen, "2026-01-05T07:00:00.000Z");
          assert.deepEqual([envelope.unit, envelope.units], [0, 1]);
        }
        assert.equal(p.stats().workers, 1, "all through one worker");

        const missing = failed(await p.convert(stagedJob(99)));
        assert.equal(missing.kind, "read", "a file gone before it was read: not its fault");
        assert.equal((missing as { code?: string }).code, "ENOENT");

        await Deno.remove(path.join(dir, "queue", "tmp"), { recursive: true });
        const unwritable = failed(await p.convert(stagedJob(0)));
        assert.equal(unwritable.kind, "queue-write", "the queue can't be written: not the file's");
        assert.equal(
          (unwritable as { sha256?: string }).sha256,
          sha256Hex(
            new TextEncoder().encode(texts[0]),
          ),
        );
        assert.equal(sn(await p.convert(job("OK SN-AFTER"))), "SN-AFTER", "the worker goes on");
      } finally {
        await p.close();
        await Deno.remove(dir, { recursive: true });
      }
    },

  "a worker that dies or hangs while writing to the queue: its files are taken again, not blamed":
    async () => {
      const dir = await Deno.makeTempDir();
      const p = pool({ min: 1, max: 1, timeoutMs: 1500 });
      try {
        await Deno.mkdir(path.join(dir, "queue", "tmp"), { recursive: true });
        const staged = (text: string): ConvertJob => ({
          ...job(text),
          stage: { queueDir: path.join(dir, "queue"), correlationId: "c", firstSeen: "x" },
        });
        const died = failed(await p.convert(staged("EXIT_IN_QUEUE SN-1")));
        assert.equal(died.kind, "unavailable", "converted fine: the file is taken again");
        assert.match(died.message, /while it wrote the reports to the queue/);
        assert.equal(sn(await p.convert(staged("OK SN-2"))), "SN-2", "a new worker writes");

        // The fsync hangs: the first file's time limit ends it as a queue write failure, and
        // the file the same worker took meanwhile is not blamed for the stuck worker.
        const [stalled, next] = await Promise.all([
          p.convert(staged("STALL_QUEUE SN-3")),
          p.convert(staged("OK SN-4")),
        ]);
        assert.equal(failed(stalled).kind, "queue-write");
        assert.match(failed(stalled).message, /did not finish within 1.5 s/);
        assert.equal(failed(next).kind, "unavailable");
        assert.equal(sn(await p.convert(staged("OK SN-5"))), "SN-5", "a fresh worker writes");
        assert.equal(p.stats().timeouts, 0, "no converter timed out");
        assert.equal(p.stats().lost, 0);
      } finally {
        await p.close();
        await Deno.remove(dir, { recursive: true });
      }
    },

  "a fixed or edited custom module is picked up without restarting": async () => {
    const dir = await Deno.makeTempDir({ prefix: "pool-reload-" });
    const file = path.join(dir, "conv.js");
    const version = (v: string) =>
      `const m = await import(${JSON.stringify("file://" + moody)});\n` +
      `export default { name: "v", async convert(input) {\n` +
      `  const [r] = await m.default.convert(input); r.sn = ${
        JSON.stringify(v)
      }; return [r]; } };\n`;
    const p = pool({ min: 1, max: 1 });
    try {
      await Deno.writeTextFile(file, "export default { convert( };");
      assert.equal(failed(await p.convert(job("OK A", file))).kind, "load");
      await Deno.writeTextFile(file, version("V1"));
      assert.equal(
        sn(await p.convert(job("OK A", file))),
        "V1",
        "loads once fixed (failed worker retired)",
      );
      await Deno.writeTextFile(file, version("V2"));
      await Deno.utime(file, new Date(), new Date(Date.now() + 5000)); // surely a new mtime
      assert.equal(
        sn(await p.convert(job("OK B", file))),
        "V2",
        "the edit is seen (stale worker replaced)",
      );
      assert.equal(sn(await p.convert(job("OK C", file))), "V2");
    } finally {
      await p.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
};

if (import.meta.main) {
  const name = Deno.args[0];
  const run = cases[name];
  if (!run) {
    console.error(`no case "${name}"; cases:\n${Object.keys(cases).join("\n")}`);
    Deno.exit(2);
  }
  await run();
  console.log("ok");
  Deno.exit(0); // a stuck worker thread would keep the process alive
}
