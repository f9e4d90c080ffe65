/**
 * What the benchmarks read of a running agent from Linux's /proc: CPU time per thread kind,
 * threads, and resident memory (anonymous and mapped files apart). Elsewhere they give null or
 * nothing, and the benchmarks print "?".
 *
 * @module
 */

/** CPU milliseconds per report, split into user and kernel time. */
export interface CpuPerReport {
  user: number;
  kernel: number;
}

/** One look at a process's resident memory, in MiB. */
export interface RssSample {
  total: number;
  anon: number;
  files: number;
}

/** Threads of process `pid` now (Linux; else null). */
export function threadCount(pid: number): number | null {
  if (Deno.build.os !== "linux") return null;
  return [...Deno.readDirSync(`/proc/${pid}/task`)].length;
}

/** Peak RSS of process `pid` so far, in MiB (Linux; else null). */
export function peakRss(pid: number): number | null {
  if (Deno.build.os !== "linux") return null;
  const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmHWM:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : null;
}

/** Samples `pid`'s RSS every `ms` until stopped; `stop` gives the largest sample (Linux). */
export function sampleRss(pid: number, ms: number): { stop(): RssSample | null } {
  let max: RssSample | null = null;
  const look = () => {
    const s = rssNow(pid);
    if (s && (!max || s.total > max.total)) max = s;
  };
  const timer = Deno.build.os === "linux" ? setInterval(look, ms) : undefined;
  return {
    stop() {
      clearInterval(timer);
      return max;
    },
  };
}

/** `pid`'s resident memory now, in MiB (Linux; else null). */
export function rssNow(pid: number): RssSample | null {
  if (Deno.build.os !== "linux") return null;
  const st = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (k: string) => Number(st.match(new RegExp(`${k}:\\s+(\\d+) kB`))?.[1] ?? NaN) / 1024;
  return { total: kb("VmRSS"), anon: kb("RssAnon"), files: kb("RssFile") + kb("RssShmem") };
}

export type ThreadTicks = Map<string, { kind: string; user: number; sys: number }>;

/** CPU ticks (1/100 s) of each thread of process `pid`, by thread id; empty when unknown. */
export function threadCpu(pid: number): ThreadTicks {
  const out: ThreadTicks = new Map();
  if (Deno.build.os !== "linux") return out;
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const comm = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/comm`).trim();
      const stat = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const kind = Number(t.name) === pid
        ? "main"
        : comm.startsWith("worker-")
        ? "converter workers"
        : comm.startsWith("tokio")
        ? "I/O threads"
        : comm.startsWith("V8")
        ? "V8 helpers (GC)"
        : "other";
      out.set(t.name, { kind, user: Number(f[11]), sys: Number(f[12]) });
    } catch { /* the thread ended */ }
  }
  return out;
}

/** CPU ms per report by thread kind (threads that ended meanwhile are not counted). */
export function cpuPerReport(
  before: ThreadTicks,
  after: ThreadTicks,
  n: number,
): Record<string, CpuPerReport> {
  const byKind: Record<string, CpuPerReport> = {};
  for (const [tid, { kind, user, sys }] of after) {
    const was = before.get(tid);
    const k = byKind[kind] ??= { user: 0, kernel: 0 };
    k.user += (user - (was?.user ?? 0)) * 10 / n;
    k.kernel += (sys - (was?.sys ?? 0)) * 10 / n;
  }
  return byKind;
}

/** The names of process `pid`'s threads now (Linux; else null). */
export function threadNames(pid: number): string[] | null {
  if (Deno.build.os !== "linux") return null;
  const out: string[] = [];
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      out.push(Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/comm`).trim());
    } catch { /* the thread ended */ }
  }
  return out;
}
