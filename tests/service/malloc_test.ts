/**
 * The C allocator after a burst (src/service/malloc.ts): its free pages go back to the system.
 * (The systemd unit's MALLOC_ARENA_MAX is checked in ./systemd_test.ts.)
 */
import assert from "#assert";
import { trimMalloc } from "../../src/service/malloc.ts";

const linux = Deno.build.os === "linux";

Deno.test({
  name: "trimMalloc hands back what was freed in the allocator's heap",
  ignore: !linux, // glibc's malloc_trim: Linux only
  fn() {
    const libc = Deno.dlopen("libc.so.6", {
      malloc: { parameters: ["usize"], result: "pointer" },
      free: { parameters: ["pointer"], result: "void" },
    });
    try {
      // 64 MiB in blocks under the mmap threshold (128 KiB), so they come from an arena's heap.
      const blocks = Array.from({ length: 1024 }, () => libc.symbols.malloc(64n * 1024n));
      for (const b of blocks) libc.symbols.free(b);
      assert.equal(trimMalloc(), true, "nothing was released");
    } finally {
      libc.close();
    }
  },
});
