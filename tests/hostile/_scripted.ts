/**
 * A custom converter for the hostile intake tests, written beside the harness config: it passes
 * WSJF JSON through (so a file that is not JSON fails with V8's message, which quotes the file's
 * first bytes: a leak shows up in the Error note); a file containing `KILL-THE-AGENT` kills the
 * agent's whole process with SIGKILL, as the kernel's OOM killer would, and one containing
 * `EAT-MEMORY` allocates 4 GiB outside the worker's heap limit; with `params.startedDir`
 * it writes `<startedDir>/<name>.<time>-<n>` holding the bytes it got, then waits `params.slowMs`.
 *
 * @module
 */
import path from "#path";
import type { AgentHarness } from "../e2e/_harness.ts";

/** The module's text (plain JavaScript, no imports, like a station engineer's converter). */
export const SCRIPTED_CONVERTER = `let n = 0;
export default {
  name: "scripted",
  description: "test: WSJF JSON passthrough that can kill the agent or dawdle",
  async convert(input) {
    const text = new TextDecoder().decode(input.bytes);
    if (text.includes("KILL-THE-AGENT")) Deno.kill(Deno.pid, "SIGKILL");
    if (text.includes("EAT-MEMORY")) {
      // Buffers live outside the worker's heap limit, like an inflating archive's output.
      const keep = [];
      for (let i = 0; i < 64; i++) keep.push(new Uint8Array(64 * 1024 * 1024).fill(1));
    }
    const { startedDir, slowMs } = input.params;
    if (startedDir) {
      await Deno.writeFile(\`\${startedDir}/\${input.name}.\${Date.now()}-\${++n}\`, input.bytes);
    }
    if (slowMs) await new Promise((r) => setTimeout(r, slowMs));
    return [JSON.parse(text)];
  },
};
`;

/** Writes the module into the harness folder; returns the path to put in `module`. */
export async function installScripted(h: AgentHarness): Promise<string> {
  const file = path.join(h.dir, "scripted.js");
  await Deno.writeTextFile(file, SCRIPTED_CONVERTER);
  return file;
}

/**
 * Writes the module and makes the folder it notes each conversion in (for
 * `params.startedDir: "./started"`); returns that folder.
 */
export async function installScriptedStarted(h: AgentHarness): Promise<string> {
  await installScripted(h);
  const dir = path.join(h.dir, "started");
  await Deno.mkdir(dir);
  return dir;
}

/** The files the converter was given so far (`startedDir`), sorted by name. */
export async function started(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** Whether the running agent's control endpoint answers (false once the process is gone). */
export async function answers(h: AgentHarness): Promise<boolean> {
  try {
    const res = await h.control("/health");
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}
