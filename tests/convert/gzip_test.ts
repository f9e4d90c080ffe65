/**
 * Tests of the bounded gzip inflater (src/convert/gzip.ts): concatenated members (`cat a.gz
 * b.gz`, valid gzip) are inflated to their end, with the byte limit on the total of all
 * members; zero padding after the last member is ignored; anything else after it, or a member
 * cut off, is refused.
 */
import assert from "#assert";
import zlib from "node:zlib";
import { gunzipChunks, gunzipHead, GzipError, isGzip } from "../../src/convert/gzip.ts";
import { ownFixture } from "../_fixtures.ts";
import { concat } from "./_convert.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const member = (s: string) => new Uint8Array(zlib.gzipSync(enc(s)));
const cat = concat;

async function inflate(bytes: Uint8Array, limit = 1 << 30): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of gunzipChunks(bytes, limit)) chunks.push(c);
  return cat(...chunks);
}

Deno.test("gunzipChunks: a real two-member file (GNU gzip, cat a.gz b.gz) inflates whole", async () => {
  // tests/fixtures/convert/stdf/two_members.stdf.gz: 29,018 bytes of STDF cut at byte 14,509,
  // each half compressed by `gzip -n -9`, the two .gz files concatenated (the first is 1,711
  // bytes).
  const gz = Deno.readFileSync(ownFixture("convert", "stdf", "two_members.stdf.gz"));
  assert.ok(isGzip(gz) && isGzip(gz.subarray(1711)), "a second gzip header at byte 1,711");
  const first = await inflate(gz.subarray(0, 1711));
  assert.equal(first.length, 14_509);
  const all = await inflate(gz);
  assert.equal(all.length, 29_018);
  assert.deepEqual(all.subarray(0, first.length), first);
  assert.deepEqual(all, new Uint8Array(zlib.gunzipSync(gz)));
  // The detection head reads on into the second member as well.
  assert.equal(gunzipHead(gz).length, 29_018);
});

Deno.test("gunzipChunks: the byte limit applies to all members together", async () => {
  const a = member("a".repeat(600));
  const b = member("b".repeat(600));
  assert.equal((await inflate(cat(a, b), 1200)).length, 1200); // exactly at the limit
  await assert.rejects(
    () => inflate(cat(a, b), 1000), // each member is below it, the two are not
    (e: unknown) => e instanceof GzipError && e.overLimit && /more than 1000 bytes/.test(e.message),
  );
  // Many small members of a bomb are stopped the same way.
  const many = cat(...Array.from({ length: 200 }, () => member("x".repeat(1000))));
  await assert.rejects(
    () => inflate(many, 50_000),
    (e: unknown) => e instanceof GzipError && e.overLimit,
  );
});

Deno.test("gunzipChunks: padding, an empty member, garbage and a cut member", async () => {
  const ab = cat(member("a"), member("b"));
  assert.equal(new TextDecoder().decode(await inflate(ab)), "ab");
  assert.equal(new TextDecoder().decode(await inflate(cat(ab, new Uint8Array(100)))), "ab");
  assert.equal(new TextDecoder().decode(await inflate(cat(member("a"), member("")))), "a");
  const damaged = (e: unknown) => e instanceof GzipError && !e.overLimit;
  await assert.rejects(() => inflate(cat(ab, enc("garbage"))), damaged);
  await assert.rejects(() => inflate(cat(member("a"), member("bbbb").subarray(0, 15))), damaged);
});
