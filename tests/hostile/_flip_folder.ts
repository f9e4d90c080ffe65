/**
 * A racing drop-folder writer for tests/hostile/watch_folder_flip_test.ts: swaps two paths (a
 * folder and a symbolic link) with one atomic `renameat2(RENAME_EXCHANGE)` (Linux), so the path
 * is never missing, back and forth for the given seconds, then prints how many flips it made.
 *
 * `deno run -A tests/hostile/_flip_folder.ts <a> <b> <seconds> [linkMs] [folderMs]`: up to
 * `linkMs` (0.3) as the link, up to `folderMs` (3) as the folder, at random, each flip.
 *
 * @module
 */
const [a, b, seconds, linkMs = "0.3", folderMs = "3"] = Deno.args;
const libc = Deno.dlopen("libc.so.6", {
  renameat2: { parameters: ["i32", "buffer", "i32", "buffer", "u32"], result: "i32" },
});
const AT_FDCWD = -100;
const RENAME_EXCHANGE = 2;
const cstr = (s: string) => new TextEncoder().encode(s + "\0");
const pa = cstr(a);
const pb = cstr(b);
const flip = () => {
  if (libc.symbols.renameat2(AT_FDCWD, pa, AT_FDCWD, pb, RENAME_EXCHANGE) !== 0) {
    throw new Error(`renameat2(${a}, ${b}, RENAME_EXCHANGE) failed`);
  }
};
/** Busy-waits up to `ms` (a timer's granularity is too coarse to race with). */
const spin = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* spin */ }
};
const end = performance.now() + Number(seconds) * 1000;
let n = 0;
while (performance.now() < end) {
  flip(); // a is the link now
  spin(Math.random() * Number(linkMs));
  flip(); // a is the folder again
  spin(Math.random() * Number(folderMs));
  n++;
}
console.log(`${n} flips`);
