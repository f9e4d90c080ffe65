/**
 * The C allocator's share of the agent's memory on Linux (glibc), which the runtime's own
 * threads use (file operations, HTTP, the converter workers' messages).
 *
 * glibc gives threads their own allocation arenas as they contend, up to 8 per core, and each
 * arena keeps what was freed in it. A burst of files runs dozens of the runtime's I/O threads
 * (docs/runtime.md), so the arenas multiply and stay. The limit can only be set before the
 * process starts (the runtime has made six arenas before the agent's first line runs), so the
 * systemd unit sets {@link MALLOC_ENV}; an agent started by hand runs with glibc's default.
 * After work, {@link trimMalloc} hands the free pages back, through FFI (`malloc_trim`, allowed
 * since the agent runs with every permission: src/runtime.ts); elsewhere it does nothing.
 *
 * @module
 */

/** The environment the agent's service runs with on Linux: two arenas for all its threads. */
export const MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: "2" };

type Libc = Deno.DynamicLibrary<{ malloc_trim: { parameters: ["usize"]; result: "i32" } }>;

let libc: Libc | null | undefined;

/** Returns the allocator's free pages to the system (after a burst); true when some were. */
export function trimMalloc(): boolean {
  if (libc === undefined) {
    libc = null;
    if (Deno.build.os !== "linux") return false;
    try {
      libc = Deno.dlopen("libc.so.6", { malloc_trim: { parameters: ["usize"], result: "i32" } });
    } catch { /* not glibc, or FFI refused: nothing to trim */ }
  }
  return libc?.symbols.malloc_trim(0n) === 1;
}
