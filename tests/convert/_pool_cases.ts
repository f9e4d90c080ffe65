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
import { ConverterPool } from "../../src/convert/pool.ts";
import type { PoolOptions } from "../../src/convert/pool_types.ts";
import type { ConvertOutcome } from "../../src/convert/conversion.ts";
import { sha256Hex } from "../../src/queue/entry.ts";
import { writeLargeStdf } from "../../scripts/bench/convert.ts";

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

  "a job that can't be handed to a worker fails alone: the worker serves the next and still stops when idle":
    async () => {
      const p = pool({ min: 0, max: 1, idleMs: 300 });
      assert.equal(sn(await p.convert(job("OK HANDED-0"))), "HANDED-0");
      // A function can't be cloned into a worker: postMessage throws for this job only.
      const bad = { ...job("OK HANDED-1"), params: { f: () => 1 } };
      assert.match(failed(await p.convert(bad)).message, /could not be handed to a converter/);
      const [a, b] = await Promise.all([p.convert(bad), p.convert(job("OK HANDED-2"))]);
      assert.match(failed(a).message, /could not be handed to a converter worker/);
      assert.equal(sn(b), "HANDED-2", "the job behind it still converts");
      assert.match(failed(await p.convert(bad)).message, /could not be handed/, "the last job");
      // Its idle timer was cleared for the job that never ran: it must be armed again.
      const until = Date.now() + 10_000;
      while (p.stats().workers > 0 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(p.stats().workers, 0, "the worker stopped once idle");
      await p.close();
    },

  "a burst of quick jobs is served by one worker; a job that waits behind a slow one grows the pool":
    async () => {
      const quick = pool({ min: 0, max: 3, growAfterMs: 3_000 });
      let peak = 0;
      let sampler = setInterval(() => peak = Math.max(peak, quick.stats().workers), 5);
      const outcomes = await Promise.all(
        Array.from({ length: 40 }, (_, i) => quick.convert(job(`OK SN-Q${i}`))),
      );
      clearInterval(sampler);
      assert.equal(outcomes.filter((o) => o.ok).length, 40);
      assert.equal(peak, 1, "nobody waited growAfterMs: no second worker");
      await quick.close();

      const slow = pool({ min: 0, max: 3, growAfterMs: 300 });
      peak = 0;
      sampler = setInterval(() => peak = Math.max(peak, slow.stats().workers), 5);
      const done: string[] = [];
      await Promise.all([
        slow.convert(job("SLEEP 2500 SN-SLOW")).then(() => done.push("slow")),
        ...[1, 2, 3].map((i) => slow.convert(job(`OK SN-B${i}`)).then(() => done.push("quick"))),
      ]);
      clearInterval(sampler);
      assert.equal(
        peak,
        2,
        "the jobs behind the slow one got a second worker (one more at a time)",
      );
      assert.deepEqual(done, ["quick", "quick", "quick", "slow"]);
      await slow.close();
    },

  "after a burst one worker above min stays warm for idleMs; the others stop after extraIdleMs":
    async () => {
      const p = pool({ min: 0, max: 3, idleMs: 6_000, extraIdleMs: 100 });
      const outcomes = await Promise.all(
        Array.from({ length: 6 }, (_, i) => p.convert(job(`SLEEP 300 ${i}`))),
      );
      assert.equal(outcomes.filter((o) => o.ok).length, 6);
      let until = Date.now() + 5_000;
      while (p.stats().workers > 1 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(p.stats().workers, 1, "the extra workers stopped, one is kept");
      // It still converts, and its idle spell starts again after this job.
      assert.equal(sn(await p.convert(job("OK SN-W"))), "SN-W");
      assert.equal(p.stats().workers, 1);
      until = Date.now() + 20_000;
      while (p.stats().workers > 0 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(p.stats().workers, 0, "the last one stopped after idleMs");
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

  "bytes in, reports out: the file's bytes are handed over (not copied), the bodies come back":
    async () => {
      const p = pool({ min: 1, max: 1 });
      try {
        const texts = Array.from({ length: 12 }, (_, i) => `OK SN-${i}`);
        const jobs = texts.map((t) => ({
          ...job(t),
          sha256: sha256Hex(new TextEncoder().encode(t)),
        }));
        const outcomes = await Promise.all(jobs.map((j) => p.convert(j)));
        for (const [i, o] of outcomes.entries()) {
          const [r] = reports(o);
          assert.equal(r.sn, `SN-${i}`);
          assert.equal(o.ok && o.sha256, jobs[i].sha256, "the caller's hash of the bytes");
          assert.equal(jobs[i].bytes.byteLength, 0, "transferred to the worker, not copied");
          assert.equal(JSON.parse(new TextDecoder().decode(r.body)).sn, `SN-${i}`);
        }
        assert.equal(p.stats().workers, 1, "all through one worker");

        const missing = failed(
          await p.convert({ ...job(""), bytes: undefined, path: "/nonexistent/f.txt" }),
        );
        assert.equal(missing.kind, "read", "no bytes and no file: not the file's fault");
        assert.equal(sn(await p.convert(job("OK SN-AFTER"))), "SN-AFTER", "the worker goes on");
      } finally {
        await p.close();
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

  "batches: a file of many reports comes a batch at a time, each taken before the next; the time limit stops meanwhile; a refused batch ends the job":
    async () => {
      const dir = await Deno.makeTempDir({ prefix: "pool-batch-" });
      // A time limit shorter than the time the caller takes the batches (10 x 300 ms).
      const p = pool({ min: 1, max: 1, timeoutMs: 2500 });
      try {
        const file = path.join(dir, "lot.stdf");
        const { parts } = writeLargeStdf(file, 0.6);
        const stdfJob = async () => ({
          converter: "s",
          format: "stdf",
          bytes: await Deno.readFile(file),
          name: "lot.stdf",
          path: file,
          station,
          params: {},
        });
        const limits = { reports: 40, bytes: 1 << 30 };
        const sizes: number[] = [];
        let taking = false;
        let overlapped = false;
        const o = await p.convert(await stdfJob(), {
          limits,
          onBatch: async (batch) => {
            if (taking) overlapped = true;
            taking = true;
            sizes.push(batch.length);
            if (sizes.length <= 10) await new Promise((r) => setTimeout(r, 300));
            taking = false;
          },
        });
        const rest = reports(o);
        assert.ok(sizes.length >= 10, `batches: ${sizes.length} (${parts} parts)`);
        assert.ok(sizes.every((n) => n === 40), `every batch full: ${sizes}`);
        assert.equal(overlapped, false, "a batch came before the one before was taken");
        assert.ok(rest.length < 40, "the outcome brings only the rest");
        assert.equal(o.ok && o.handedOn, sizes.length * 40, "handedOn counts the batches");
        assert.equal(sizes.length * 40 + rest.length, parts, "every part once");

        let n = 0;
        const refused = failed(
          await p.convert(await stdfJob(), {
            limits,
            onBatch: () => ++n === 2 ? Promise.reject(new Error("disk full")) : Promise.resolve(),
          }),
        );
        assert.equal(refused.kind, "unavailable");
        assert.match(refused.message, /could not be handed on: .*stopped/);
        assert.equal(n, 2, "no batch after the refused one");
        // Without batches asked for, the same file comes whole in the outcome.
        assert.equal(reports(await p.convert(await stdfJob())).length, parts);
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
