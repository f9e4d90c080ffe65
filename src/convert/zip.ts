/**
 * A small, defensive ZIP reader for station archives (XJTAG `.xjlog`): reads the central
 * directory, inflates entries with the platform's `DecompressionStream("deflate-raw")`, checks
 * each entry's CRC-32 and size, and stops at a byte budget so a zip bomb can't exhaust memory.
 * Stored (0) and deflate (8) entries only; no ZIP64, no encryption, no multi-disk archives.
 *
 * @module
 */

/** One file in the archive, from its central-directory record. */
export interface ZipEntry {
  /** Path inside the archive, `/`-separated. */
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  /** Bytes of compressed data. */
  compressedSize: number;
  /** Declared uncompressed size. */
  size: number;
  /** Declared CRC-32 of the uncompressed data. */
  crc32: number;
  /** Offset of the entry's local header. */
  localOffset: number;
  /** The entry is encrypted (general-purpose flag bit 0). */
  encrypted: boolean;
}

/** A damaged, unsupported or oversized archive. The message says which and where. */
export class ZipError extends Error {
  /** @param message what is wrong with the archive */
  constructor(message: string) {
    super(message);
    this.name = "ZipError";
  }
}

/** Default cap on the sum of uncompressed bytes read from one archive (256 MiB). */
export const DEFAULT_MAX_TOTAL_BYTES = 256 * 1024 * 1024;

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;

/** True when `bytes` starts like a ZIP archive (`PK\x03\x04`, or `PK\x05\x06` when empty). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b &&
    ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

/** Reads entries of one in-memory archive within a total byte budget. */
export class ZipReader {
  /** The archive's entries, in central-directory order. */
  readonly entries: readonly ZipEntry[];
  #bytes: Uint8Array;
  #view: DataView;
  #budget: number;

  /**
   * @param bytes the whole archive
   * @param maxTotalBytes cap on the sum of uncompressed bytes that {@link read} may return
   * @throws ZipError when the central directory is missing or damaged
   */
  constructor(bytes: Uint8Array, maxTotalBytes = DEFAULT_MAX_TOTAL_BYTES) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#budget = maxTotalBytes;
    this.entries = this.#readDirectory();
  }

  /** The entry with this exact name (case-insensitive as a fallback), or undefined. */
  find(name: string): ZipEntry | undefined {
    return this.entries.find((e) => e.name === name) ??
      this.entries.find((e) => e.name.toLowerCase() === name.toLowerCase());
  }

  /**
   * Returns the entry's uncompressed bytes after checking size and CRC-32.
   * @throws ZipError for an unsupported method, encryption, damage, or an exceeded budget
   */
  async read(entry: ZipEntry): Promise<Uint8Array> {
    if (entry.encrypted) throw new ZipError(`entry "${entry.name}" is encrypted`);
    if (entry.size > this.#budget) {
      throw new ZipError(
        `entry "${entry.name}" declares ${entry.size} bytes, over the remaining limit of ` +
          `${this.#budget} bytes for this archive`,
      );
    }
    const data = this.#entryData(entry);
    let out: Uint8Array;
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.size) {
        throw new ZipError(`stored entry "${entry.name}" has different compressed and real sizes`);
      }
      out = data.slice();
    } else if (entry.method === 8) {
      out = await inflateRaw(data, entry.size, entry.name);
    } else {
      throw new ZipError(
        `entry "${entry.name}" uses compression method ${entry.method}; only stored (0) and ` +
          "deflate (8) are supported",
      );
    }
    if (out.length !== entry.size) {
      throw new ZipError(
        `entry "${entry.name}" is ${out.length} bytes after decompression, but the archive ` +
          `says ${entry.size} (the archive is truncated or damaged)`,
      );
    }
    if (crc32(out) !== entry.crc32) {
      throw new ZipError(`entry "${entry.name}" fails its CRC-32 check (the archive is damaged)`);
    }
    this.#budget -= out.length;
    return out;
  }

  #readDirectory(): ZipEntry[] {
    const b = this.#bytes;
    const v = this.#view;
    if (b.length < 22) throw new ZipError(`the file is ${b.length} bytes, too short for a ZIP`);
    let end = -1;
    const lowest = Math.max(0, b.length - 22 - 0xffff);
    for (let i = b.length - 22; i >= lowest; i--) {
      if (v.getUint32(i, true) === SIG_END) {
        end = i;
        break;
      }
    }
    if (end < 0) {
      throw new ZipError(
        "no end-of-central-directory record: the archive is truncated (still being written?) " +
          "or not a ZIP",
      );
    }
    const count = v.getUint16(end + 10, true);
    const cdSize = v.getUint32(end + 12, true);
    const cdOffset = v.getUint32(end + 16, true);
    if (count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) {
      throw new ZipError("ZIP64 archives are not supported");
    }
    if (v.getUint16(end + 4, true) !== 0 || v.getUint16(end + 6, true) !== 0) {
      throw new ZipError("multi-disk (split) archives are not supported");
    }
    if (cdOffset + cdSize > end) {
      throw new ZipError(
        `the central directory (offset ${cdOffset}, ${cdSize} bytes) lies outside the file`,
      );
    }
    const entries: ZipEntry[] = [];
    let p = cdOffset;
    const utf8 = new TextDecoder("utf-8");
    const latin = new TextDecoder("windows-1252");
    for (let k = 0; k < count; k++) {
      if (p + 46 > end || v.getUint32(p, true) !== SIG_CENTRAL) {
        throw new ZipError(`central-directory record ${k + 1} of ${count} is damaged`);
      }
      const flags = v.getUint16(p + 8, true);
      const nameLen = v.getUint16(p + 28, true);
      const extraLen = v.getUint16(p + 30, true);
      const commentLen = v.getUint16(p + 32, true);
      if (p + 46 + nameLen > end) {
        throw new ZipError(`central-directory record ${k + 1} is cut off`);
      }
      const rawName = b.subarray(p + 46, p + 46 + nameLen);
      // Bit 11: UTF-8 names; otherwise CP437, close enough to Windows-1252 for ASCII names.
      const name = ((flags & 0x800) !== 0 ? utf8 : latin).decode(rawName).replaceAll("\\", "/");
      entries.push({
        name,
        method: v.getUint16(p + 10, true),
        crc32: v.getUint32(p + 16, true),
        compressedSize: v.getUint32(p + 20, true),
        size: v.getUint32(p + 24, true),
        localOffset: v.getUint32(p + 42, true),
        encrypted: (flags & 1) !== 0,
      });
      p += 46 + nameLen + extraLen + commentLen;
    }
    return entries;
  }

  #entryData(entry: ZipEntry): Uint8Array {
    const v = this.#view;
    const at = entry.localOffset;
    if (at + 30 > this.#bytes.length || v.getUint32(at, true) !== SIG_LOCAL) {
      throw new ZipError(`the local header of entry "${entry.name}" is missing or damaged`);
    }
    const start = at + 30 + v.getUint16(at + 26, true) + v.getUint16(at + 28, true);
    const stop = start + entry.compressedSize;
    if (stop > this.#bytes.length) {
      throw new ZipError(`the data of entry "${entry.name}" runs past the end of the file`);
    }
    return this.#bytes.subarray(start, stop);
  }
}

/** Inflates raw deflate data, failing as soon as the output exceeds `expected` bytes. */
async function inflateRaw(data: Uint8Array, expected: number, name: string): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream("deflate-raw"));
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > expected) {
        await reader.cancel();
        throw new ZipError(
          `entry "${name}" inflates to more than the ${expected} bytes the archive declares`,
        );
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof ZipError) throw e;
    throw new ZipError(`entry "${name}" can't be decompressed: ${(e as Error).message}`);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, as in ZIP and gzip) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
