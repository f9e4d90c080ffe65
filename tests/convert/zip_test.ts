/** Tests of the defensive ZIP reader (src/convert/zip.ts) on archives built by _zip_writer.ts. */
import assert from "#assert";
import { crc32, isZip, ZipError, ZipReader } from "../../src/convert/zip.ts";
import { makeZip } from "./_zip_writer.ts";

async function zipError(f: () => unknown, re: RegExp): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (!(e instanceof ZipError)) throw new Error(`expected ZipError, got ${e}`);
    assert.match(e.message, re);
    return;
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
  const z3 = new ZipReader(big, 1_000_000);
  await zipError(() => z3.read(z3.entries[0]), /over the remaining limit/);

  // The budget is shared by all entries of one archive.
  const two = await makeZip([
    { name: "a", data: new Uint8Array(600_000) },
    { name: "b", data: new Uint8Array(600_000) },
  ]);
  const z4 = new ZipReader(two, 1_000_000);
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
