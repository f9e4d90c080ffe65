/** Tests of the defensive ZIP reader (src/convert/zip.ts) on archives built by _zip_writer.ts. */
import assert from "#assert";
import { crc32, isZip, ZipError, ZipLimitError, ZipReader } from "../../src/convert/zip.ts";
import { makeZip, zeroBomb } from "./_zip_writer.ts";

async function zipError(f: () => unknown, re: RegExp): Promise<ZipError> {
  try {
    await f();
  } catch (e) {
    if (!(e instanceof ZipError)) throw new Error(`expected ZipError, got ${e}`);
    assert.match(e.message, re);
    return e;
  }
  throw new Error(`expected a ZipError matching ${re}`);
}

Deno.test("zip: crc32 of known strings", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array()), 0);
});

Deno.test("zip: reads stored and deflated entries", async () => {
  const bytes = await makeZip([
    { name: "a.txt", data: "hello", method: 0 },
    { name: "dir/b.txt", data: "x".repeat(10_000) },
  ]);
  assert.ok(isZip(bytes));
  const z = new ZipReader(bytes);
  assert.deepEqual(z.entries.map((e) => [e.name, e.method, e.size]), [
    ["a.txt", 0, 5],
    ["dir/b.txt", 8, 10_000],
  ]);
  assert.equal(new TextDecoder().decode(await z.read(z.find("A.TXT")!)), "hello");
  assert.equal((await z.read(z.find("dir/b.txt")!)).length, 10_000);
});

Deno.test("zip: damaged, truncated and hostile archives are refused", async () => {
  const good = await makeZip([{ name: "a.txt", data: "hello world ".repeat(100) }]);
  await zipError(() => new ZipReader(good.subarray(0, good.length - 30)), /end-of-central/);
  await zipError(() => new ZipReader(new Uint8Array(10)), /too short/);

  const badCrc = await makeZip([{ name: "a.txt", data: "hello", declaredCrc: 1234 }]);
  const z1 = new ZipReader(badCrc);
  await zipError(() => z1.read(z1.entries[0]), /CRC-32/);

  // Declares 100 bytes, inflates to 5 MB: stopped as soon as it passes the declared size.
  const liar = await makeZip([{
    name: "bomb",
    data: new Uint8Array(5_000_000),
    declaredSize: 100,
  }]);
  const z2 = new ZipReader(liar);
  await zipError(() => z2.read(z2.entries[0]), /more than the 100 bytes/);

  // Honest but over the archive's budget.
  const big = await makeZip([{ name: "big", data: new Uint8Array(2_000_000) }]);
  const z3 = new ZipReader(big, { maxTotalBytes: 1_000_000 });
  await zipError(() => z3.read(z3.entries[0]), /over the remaining limit/);

  // The budget is shared by all entries of one archive.
  const two = await makeZip([
    { name: "a", data: new Uint8Array(600_000) },
    { name: "b", data: new Uint8Array(600_000) },
  ]);
  const z4 = new ZipReader(two, { maxTotalBytes: 1_000_000 });
  await z4.read(z4.entries[0]);
  await zipError(() => z4.read(z4.entries[1]), /remaining limit/);

  // Compressed data cut short (truncated deflate stream) is caught by the size check.
  const text = Array.from({ length: 2000 }, (_, i) => (i * 7919) % 1009).join(",");
  const cut = await makeZip([{ name: "a", data: text }]);
  const z5 = new ZipReader(cut);
  const e = z5.entries[0];
  const shorter = { ...e, compressedSize: Math.floor(e.compressedSize / 2) };
  await zipError(() => z5.read(shorter), /after decompression|can't be decompressed/);

  const unsupported = await makeZip([{ name: "a", data: "abc", method: 0 }]);
  const z6 = new ZipReader(unsupported);
  await zipError(() => z6.read({ ...z6.entries[0], method: 12 }), /method 12/);
});

Deno.test("zip: a bomb is stopped at its declared size or a limit, whatever the header says", async () => {
  const bomb = zeroBomb(32); // 2 GiB from about 2 MB
  const rssBefore = Deno.memoryUsage().rss;
  // Declares 1 MiB: the output stops there (in small steps), not at 2 GiB.
  const small = new ZipReader(
    await makeZip([{
      name: "run.xml",
      data: new Uint8Array(0),
      body: bomb,
      declaredSize: 2 ** 20,
    }]),
  );
  await zipError(
    () => small.read(small.entries[0]),
    /"run\.xml" inflates to more than the 1048576/,
  );
  // Declares 2 GiB: over the per-entry limit before anything is inflated; the setting is named.
  const honest = new ZipReader(
    await makeZip([{ name: "big", data: new Uint8Array(0), body: bomb, declaredSize: 2 ** 31 }]),
    { maxEntryBytes: 8 * 2 ** 20 },
    { maxEntryBytes: "maxEntryMB" },
  );
  const e = await zipError(
    () => honest.read(honest.entries[0]),
    /"big" declares 2147483648 bytes, over the limit of 8388608 bytes for one entry \(maxEntryMB raises it\)/,
  );
  assert.ok(e instanceof ZipLimitError && e.limit === "maxEntryBytes");
  // Under every limit: inflated up to the declared 32 MiB, then stopped.
  const mid = new ZipReader(
    await makeZip([{ name: "m", data: new Uint8Array(0), body: bomb, declaredSize: 32 * 2 ** 20 }]),
  );
  await zipError(() => mid.read(mid.entries[0]), /inflates to more than the 33554432 bytes/);
  const grown = Deno.memoryUsage().rss - rssBefore;
  assert.ok(grown < 512 * 2 ** 20, `RSS grew by ${grown >> 20} MiB inflating the bombs`);
});

Deno.test("zip: overlapping entries, too many entries and lying sizes are refused", async () => {
  // Many central records pointing at one local header (the overlapping-files bomb).
  const shared = await makeZip([
    { name: "a", data: "x".repeat(10_000) },
    { name: "b", data: "x".repeat(10_000), at: 0 },
    { name: "c", data: "x".repeat(10_000), at: 0 },
  ]);
  await zipError(() => new ZipReader(shared), /entries "a" and "b" overlap .*zip-bomb/);
  // An entry whose compressed size runs into the next entry's local header ("quoted" overlap).
  const quoted = await makeZip([
    { name: "a", data: "hello", method: 0, declaredCompressedSize: 40, declaredSize: 40 },
    { name: "b", data: "world", method: 0 },
  ]);
  await zipError(() => new ZipReader(quoted), /entries "a" and "b" overlap/);
  // A compressed size past the end of the file.
  const past = await makeZip([{ name: "a", data: "hello", declaredCompressedSize: 1_000_000 }]);
  await zipError(() => new ZipReader(past), /"a" runs past the end/);

  const many = await makeZip(
    Array.from({ length: 101 }, (_, i) => ({ name: `e${i}`, data: "", method: 0 as const })),
  );
  const e = await zipError(
    () => new ZipReader(many, { maxEntries: 100 }, { maxEntries: "maxArchiveEntries" }),
    /101 entries, over the limit of 100 \(maxArchiveEntries raises it\)/,
  );
  assert.ok(e instanceof ZipLimitError && e.limit === "maxEntries");
  assert.equal(new ZipReader(many).entries.length, 101);

  // Declares more than it holds: the short output is caught.
  const bigger = await makeZip([{ name: "a", data: "hello world", declaredSize: 5000 }]);
  const z = new ZipReader(bigger);
  await zipError(
    () => z.read(z.entries[0]),
    /11 bytes after decompression, but the archive says 5000/,
  );
});
