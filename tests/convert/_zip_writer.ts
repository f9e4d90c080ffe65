/**
 * A minimal ZIP writer for tests: builds archives (stored or deflated entries) so tests can
 * make synthetic `.xjlog` files, damaged archives and zip bombs without binary fixtures.
 *
 * @module
 */
import zlib from "node:zlib";
import { crc32 } from "../../src/convert/zip.ts";
import { concat } from "./_convert.ts";

/** One entry to write. */
export interface ZipInput {
  name: string;
  data: Uint8Array | string;
  /** 0 = stored, 8 = deflate (default). */
  method?: 0 | 8;
  /** Write this as the declared uncompressed size instead of the real one (for bad archives). */
  declaredSize?: number;
  /** Write this as the declared CRC-32 instead of the real one. */
  declaredCrc?: number;
  /** Write this as the compressed size in the central directory instead of the real one. */
  declaredCompressedSize?: number;
  /** Already compressed data, written as is (`data` then only gives the declared size/CRC). */
  body?: Uint8Array;
  /** No data of its own: the central record points at entry `at`'s local header (overlap). */
  at?: number;
}

async function deflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Builds a ZIP archive from `entries`, in order. */
export async function makeZip(entries: ZipInput[]): Promise<Uint8Array> {
  const enc = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  const offsets: number[] = [];
  for (const e of entries) {
    const raw = typeof e.data === "string" ? enc.encode(e.data) : e.data;
    const method = e.method ?? 8;
    const body = e.body ?? (method === 8 ? await deflateRaw(raw) : raw);
    const name = enc.encode(e.name);
    const crc = e.declaredCrc ?? crc32(raw);
    const size = e.declaredSize ?? raw.length;
    const local = new Uint8Array(30 + name.length + body.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(6, 0x800, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    local.set(body, 30 + name.length);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, 0x800, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, e.declaredCompressedSize ?? body.length, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, e.at === undefined ? offset : offsets[e.at], true);
    central.set(name, 46);
    centrals.push(central);
    offsets.push(offset);
    if (e.at !== undefined) continue;
    locals.push(local);
    offset += local.length;
  }
  const cdSize = centrals.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  return concat(...locals, ...centrals, end);
}

/**
 * Raw deflate data that inflates to `chunks` × 64 MiB of zero bytes, built without holding the
 * output: one sync-flushed block of 64 MiB zeros (about 64 KB) repeated, then an empty final block.
 * 32 chunks: 2 GiB from about 2 MB.
 */
export function zeroBomb(chunks: number): Uint8Array {
  const block = zlib.deflateRawSync(new Uint8Array(64 * 1024 * 1024), {
    level: 9,
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  const out = new Uint8Array(block.length * chunks + 2);
  for (let i = 0; i < chunks; i++) out.set(block, i * block.length);
  out.set([0x03, 0x00], block.length * chunks); // final fixed-Huffman block with only end-of-block
  return out;
}
