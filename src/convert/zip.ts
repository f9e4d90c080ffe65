/**
 * A small, defensive ZIP reader for station archives (XJTAG `.xjlog`): reads the central
 * directory, inflates entries with `node:zlib` in small output steps, checks each entry's CRC-32
 * and size, and refuses hostile structure before it costs memory: too many entries, entries whose
 * data overlap (the overlapping-files zip bomb), an entry or archive over its byte limit, and an
 * entry that inflates past the size it declares (stopped at that size, whatever follows).
 * Stored (0) and deflate (8) entries only; no ZIP64, no encryption, no multi-disk archives.
 *
 * Why not `DecompressionStream`: it inflates each input chunk whole, and a Blob's stream is one
 * chunk, so 2 MB of deflate became 2 GiB in one allocation before any check could run (and
 * outside the worker's JS heap limit, so the pool's memory limit never saw it).
 *
 * @module
 */
import zlib from "node:zlib";

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

/** A damaged, unsupported or hostile archive. The message says which and where. */
export class ZipError extends Error {
  /** @param message what is wrong with the archive */
  constructor(message: string) {
    super(message);
    this.name = "ZipError";
  }
}

/** What a reader refuses to go beyond, whatever the archive declares. */
export interface ZipLimits {
  /** Sum of uncompressed bytes read from one archive. */
  maxTotalBytes: number;
  /** Uncompressed bytes of one entry. */
  maxEntryBytes: number;
  /** Entries in the central directory. */
  maxEntries: number;
}

/** An archive over one of its {@link ZipLimits}; `limit` says which. */
export class ZipLimitError extends ZipError {
  /** The limit that was reached. */
  readonly limit: keyof ZipLimits;
  /** @param message what is over which limit; @param limit the limit */
  constructor(message: string, limit: keyof ZipLimits) {
    super(message);
    this.name = "ZipLimitError";
    this.limit = limit;
  }
}

/** Defaults: 256 MiB per archive, 64 MiB per entry, 10,000 entries. */
export const DEFAULT_ZIP_LIMITS: Readonly<ZipLimits> = {
  maxTotalBytes: 256 * 1024 * 1024,
  maxEntryBytes: 64 * 1024 * 1024,
  maxEntries: 10_000,
};

/** Output step of the inflater: the most a hostile entry can allocate past a check. */
const INFLATE_STEP = 64 * 1024;

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;

/** True when `bytes` starts like a ZIP archive (`PK\x03\x04`, or `PK\x05\x06` when empty). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b &&
    ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

/** Reads entries of one in-memory archive within its {@link ZipLimits}. */
export class ZipReader {
  /** The archive's entries, in central-directory order. */
  readonly entries: readonly ZipEntry[];
  #bytes: Uint8Array;
  #view: DataView;
  #limits: ZipLimits;
  #settings: Partial<Record<keyof ZipLimits, string>>;
  #budget: number;

  /**
   * @param bytes the whole archive
   * @param limits what {@link read} and the directory may reach (defaults {@link DEFAULT_ZIP_LIMITS})
   * @param settings the setting that raises each limit, named in limit errors
   * @throws ZipError when the central directory is missing, damaged or hostile
   */
  constructor(
    bytes: Uint8Array,
    limits: Partial<ZipLimits> = {},
    settings: Partial<Record<keyof ZipLimits, string>> = {},
  ) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#limits = { ...DEFAULT_ZIP_LIMITS, ...limits };
    this.#settings = settings;
    this.#budget = this.#limits.maxTotalBytes;
    this.entries = this.#readDirectory();
    this.#checkLayout();
  }

  /** The entry with this exact name (case-insensitive as a fallback), or undefined. */
  find(name: string): ZipEntry | undefined {
    return this.entries.find((e) => e.name === name) ??
      this.entries.find((e) => e.name.toLowerCase() === name.toLowerCase());
  }

  /**
   * Returns the entry's uncompressed bytes after checking size and CRC-32. The declared size,
   * within the limits, bounds the output: inflation stops as soon as it would pass it.
   * @throws ZipError for an unsupported method, encryption, damage, or a limit reached
   */
  async read(entry: ZipEntry): Promise<Uint8Array> {
    if (entry.encrypted) throw new ZipError(`entry "${entry.name}" is encrypted`);
    if (entry.method !== 0 && entry.method !== 8) {
      throw new ZipError(
        `entry "${entry.name}" uses compression method ${entry.method}; only stored (0) and ` +
          "deflate (8) are supported",
      );
    }
    if (entry.size > this.#limits.maxEntryBytes) {
      throw this.#over(
        "maxEntryBytes",
        `entry "${entry.name}" declares ${entry.size} bytes, over the limit of ` +
          `${this.#limits.maxEntryBytes} bytes for one entry`,
      );
    }
    if (entry.size > this.#budget) {
      throw this.#over(
        "maxTotalBytes",
        `entry "${entry.name}" declares ${entry.size} bytes, over the remaining limit of ` +
          `${this.#budget} bytes of the ${this.#limits.maxTotalBytes} this archive may inflate to`,
      );
    }
    const data = this.#entryData(entry);
    let out: Uint8Array;
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.size) {
        throw new ZipError(`stored entry "${entry.name}" has different compressed and real sizes`);
      }
      out = data.slice();
    } else {
      out = await inflateRaw(data, entry.size, entry.name);
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

  #over(limit: keyof ZipLimits, message: string): ZipLimitError {
    const setting = this.#settings[limit];
    return new ZipLimitError(setting ? `${message} (${setting} raises it)` : message, limit);
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
    if (count > this.#limits.maxEntries) {
      throw this.#over(
        "maxEntries",
        `the archive has ${count} entries, over the limit of ${this.#limits.maxEntries}`,
      );
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

  /**
   * Every entry's local header and data lie inside the file, before the central directory, and
   * no two overlap: overlapping entries let a few KB of deflate data be inflated once per entry
   * (the "zip bomb by overlapping files"), which no honest ZIP writer produces.
   */
  #checkLayout(): void {
    const spans = this.entries.map((entry) => ({ entry, ...this.#span(entry) }))
      .sort((a, b) => a.from - b.from);
    for (let i = 1; i < spans.length; i++) {
      const [a, b] = [spans[i - 1], spans[i]];
      if (b.from < a.to) {
        throw new ZipError(
          `entries "${a.entry.name}" and "${b.entry.name}" overlap (bytes ${b.from}-${
            Math.min(a.to, b.to)
          } belong to both): a zip-bomb trick or a damaged archive, not written by any archiver`,
        );
      }
    }
  }

  /** The entry's local header through its compressed data: [from, to), and where data starts. */
  #span(entry: ZipEntry): { from: number; start: number; to: number } {
    const v = this.#view;
    const at = entry.localOffset;
    if (at + 30 > this.#bytes.length || v.getUint32(at, true) !== SIG_LOCAL) {
      throw new ZipError(`the local header of entry "${entry.name}" is missing or damaged`);
    }
    const start = at + 30 + v.getUint16(at + 26, true) + v.getUint16(at + 28, true);
    const to = start + entry.compressedSize;
    if (to > this.#bytes.length) {
      throw new ZipError(`the data of entry "${entry.name}" runs past the end of the file`);
    }
    return { from: at, start, to };
  }

  #entryData(entry: ZipEntry): Uint8Array {
    const { start, to } = this.#span(entry);
    return this.#bytes.subarray(start, to);
  }
}

/**
 * Inflates raw deflate data into a buffer of the declared size, in output steps of at most
 * {@link INFLATE_STEP} bytes, and stops the inflater as soon as the output would pass that size.
 * The buffer's pages are only committed as they are written, so memory follows the real output.
 */
function inflateRaw(data: Uint8Array, declared: number, name: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const out = new Uint8Array(declared);
    let length = 0;
    let failed = false;
    const inflater = zlib.createInflateRaw({ chunkSize: INFLATE_STEP });
    inflater.on("data", (chunk: Uint8Array) => {
      if (failed) return;
      if (length + chunk.length > declared) {
        failed = true;
        inflater.destroy();
        reject(
          new ZipError(
            `entry "${name}" inflates to more than the ${declared} bytes the archive declares ` +
              "(stopped there: the archive is damaged or a zip bomb)",
          ),
        );
        return;
      }
      out.set(chunk, length);
      length += chunk.length;
    });
    inflater.on("error", (e: Error) => {
      if (failed) return;
      failed = true;
      reject(new ZipError(`entry "${name}" can't be decompressed: ${e.message}`));
    });
    inflater.on("end", () => {
      if (!failed) resolve(out.subarray(0, length));
    });
    inflater.end(data);
  });
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
