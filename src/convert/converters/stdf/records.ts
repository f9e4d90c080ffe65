/**
 * STDF V4 record framing and field reading.
 *
 * Every record is `REC_LEN (U2) REC_TYP (U1) REC_SUB (U1)` and `REC_LEN` bytes of fields. The
 * byte order of every multi-byte number is the one the first record, FAR, names in `CPU_TYPE`
 * (1 big-endian, 2 little-endian); a reader that finds FAR's 2-byte length read as 2 knows the
 * order even before it reads CPU_TYPE. Records are read from a stream of chunks (a gzip inflater
 * gives them 64 KiB at a time), so only the current chunk and one record's bytes are held.
 *
 * Fields at the end of a record may be left out (the spec allows it, and testers do it): the
 * field readers return `undefined` past the record's end instead of throwing.
 *
 * @module
 */

/** A problem in the record structure, with the byte offset (in the uncompressed data). */
export class StdfSyntaxError extends Error {
  /** Byte offset of the record where the problem is. */
  readonly offset: number;

  /** @param message what is wrong; @param offset where */
  constructor(message: string, offset: number) {
    super(message);
    this.name = "StdfSyntaxError";
    this.offset = offset;
  }
}

/** One record: its type and sub-type, its fields' bytes, and where it starts. */
export interface StdfRecord {
  typ: number;
  sub: number;
  /** The record's field bytes (valid until the next record is read). */
  body: Uint8Array;
  /** Byte offset of the record header. */
  offset: number;
}

/** Record names by `typ * 256 + sub` (STDF V4, and the V4-2007 additions). */
export const RECORD_NAMES: ReadonlyMap<number, string> = new Map([
  [0 * 256 + 10, "FAR"],
  [0 * 256 + 20, "ATR"],
  [0 * 256 + 30, "VUR"],
  [1 * 256 + 10, "MIR"],
  [1 * 256 + 20, "MRR"],
  [1 * 256 + 30, "PCR"],
  [1 * 256 + 40, "HBR"],
  [1 * 256 + 50, "SBR"],
  [1 * 256 + 60, "PMR"],
  [1 * 256 + 62, "PGR"],
  [1 * 256 + 63, "PLR"],
  [1 * 256 + 70, "RDR"],
  [1 * 256 + 80, "SDR"],
  [1 * 256 + 90, "PSR"],
  [1 * 256 + 91, "NMR"],
  [1 * 256 + 92, "CNR"],
  [1 * 256 + 93, "SSR"],
  [1 * 256 + 94, "CDR"],
  [2 * 256 + 10, "WIR"],
  [2 * 256 + 20, "WRR"],
  [2 * 256 + 30, "WCR"],
  [5 * 256 + 10, "PIR"],
  [5 * 256 + 20, "PRR"],
  [10 * 256 + 30, "TSR"],
  [15 * 256 + 10, "PTR"],
  [15 * 256 + 15, "MPR"],
  [15 * 256 + 20, "FTR"],
  [15 * 256 + 30, "STR"],
  [20 * 256 + 10, "BPS"],
  [20 * 256 + 20, "EPS"],
  [50 * 256 + 10, "GDR"],
  [50 * 256 + 30, "DTR"],
]);

/** The record's name (`PTR`), or `type 180/7` for one the spec does not define. */
export function recordName(typ: number, sub: number): string {
  return RECORD_NAMES.get(typ * 256 + sub) ?? `type ${typ}/${sub}`;
}

/** What the first bytes say: an STDF V4 file (and its byte order), or not. */
export function stdfByteOrder(head: Uint8Array): "big" | "little" | undefined {
  if (head.length < 6 || head[2] !== 0 || head[3] !== 10 || head[5] !== 4) return undefined;
  if (head[0] === 0 && head[1] === 2 && head[4] === 1) return "big";
  if (head[0] === 2 && head[1] === 0 && head[4] === 2) return "little";
  return undefined;
}

/**
 * Reads the records of a stream of chunks. Yields each record once; its `body` is a view that
 * the next record may overwrite. Throws {@link StdfSyntaxError} when the data does not start
 * with a V4 FAR, or ends inside a record.
 */
export async function* readRecords(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<StdfRecord & { little: boolean }> {
  let buf: Uint8Array = new Uint8Array(0);
  let pos = 0;
  /** Offset of `buf[0]` in the whole data. */
  let base = 0;
  let little: boolean | undefined;
  for await (const chunk of chunks) {
    if (pos < buf.length) {
      // A record split over chunks: keep its start and add the new chunk.
      const rest = buf.subarray(pos);
      const joined = new Uint8Array(rest.length + chunk.length);
      joined.set(rest);
      joined.set(chunk, rest.length);
      base += pos;
      buf = joined;
    } else {
      base += buf.length;
      buf = chunk;
    }
    pos = 0;
    if (little === undefined) {
      if (buf.length < 6) continue;
      const order = stdfByteOrder(buf);
      if (order === undefined) {
        throw new StdfSyntaxError(
          "the file does not start with an STDF V4 FAR record (expected 00 02 00 0A 01 04 or " +
            `02 00 00 0A 02 04, found ${hex(buf.subarray(0, 6))})`,
          0,
        );
      }
      little = order === "little";
    }
    while (buf.length - pos >= 4) {
      const len = little ? buf[pos] | (buf[pos + 1] << 8) : (buf[pos] << 8) | buf[pos + 1];
      if (buf.length - pos < 4 + len) break;
      yield {
        typ: buf[pos + 2],
        sub: buf[pos + 3],
        body: buf.subarray(pos + 4, pos + 4 + len),
        offset: base + pos,
        little,
      };
      pos += 4 + len;
    }
  }
  if (little === undefined) {
    throw new StdfSyntaxError(
      `the file is ${buf.length} bytes, too short for an STDF file (it starts with a 6-byte FAR)`,
      0,
    );
  }
  if (pos < buf.length) {
    const left = buf.length - pos;
    const what = left < 4
      ? `${left} byte(s) after the last whole record`
      : `a ${recordName(buf[pos + 2], buf[pos + 3])} record that declares ${
        little ? buf[pos] | (buf[pos + 1] << 8) : (buf[pos] << 8) | buf[pos + 1]
      } bytes, but only ${left - 4} follow`;
    throw new StdfSyntaxError(`the file ends inside a record: ${what}`, base + pos);
  }
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0").toUpperCase()).join(" ");
}

/** Reads one record's fields in order; every reader returns undefined past the record's end. */
export class Fields {
  #b: Uint8Array;
  #v: DataView;
  #p = 0;
  #le: boolean;

  /** @param body the record's field bytes; @param little the file's byte order */
  constructor(body: Uint8Array, little: boolean) {
    this.#b = body;
    this.#v = new DataView(body.buffer, body.byteOffset, body.byteLength);
    this.#le = little;
  }

  /** Whether every field has been read. */
  get done(): boolean {
    return this.#p >= this.#b.length;
  }

  #take(n: number): number | undefined {
    if (this.#p + n > this.#b.length) {
      this.#p = this.#b.length;
      return undefined;
    }
    const at = this.#p;
    this.#p += n;
    return at;
  }

  u1(): number | undefined {
    const at = this.#take(1);
    return at === undefined ? undefined : this.#b[at];
  }
  u2(): number | undefined {
    const at = this.#take(2);
    return at === undefined ? undefined : this.#v.getUint16(at, this.#le);
  }
  u4(): number | undefined {
    const at = this.#take(4);
    return at === undefined ? undefined : this.#v.getUint32(at, this.#le);
  }
  i1(): number | undefined {
    const at = this.#take(1);
    return at === undefined ? undefined : this.#v.getInt8(at);
  }
  i2(): number | undefined {
    const at = this.#take(2);
    return at === undefined ? undefined : this.#v.getInt16(at, this.#le);
  }
  i4(): number | undefined {
    const at = this.#take(4);
    return at === undefined ? undefined : this.#v.getInt32(at, this.#le);
  }
  r4(): number | undefined {
    const at = this.#take(4);
    return at === undefined ? undefined : this.#v.getFloat32(at, this.#le);
  }
  r8(): number | undefined {
    const at = this.#take(8);
    return at === undefined ? undefined : this.#v.getFloat64(at, this.#le);
  }
  /** `C1`: one character. */
  c1(): string | undefined {
    const c = this.u1();
    return c === undefined ? undefined : String.fromCharCode(c);
  }
  /** `Cn`: a length byte and that many characters (Latin-1), trailing blanks kept. */
  cn(): string | undefined {
    const n = this.u1();
    if (n === undefined) return undefined;
    const at = this.#take(n);
    if (at === undefined) return undefined;
    let s = "";
    for (let k = at; k < at + n; k++) s += String.fromCharCode(this.#b[k]);
    return s;
  }
  /** `Bn`: a length byte and that many bytes (skipped). */
  bn(): void {
    const n = this.u1();
    if (n !== undefined) this.#take(n);
  }
  /** `Dn`: a bit count (U2) and its bytes (skipped). */
  dn(): void {
    const bits = this.u2();
    if (bits !== undefined) this.#take(Math.ceil(bits / 8));
  }
  /** `k` × a field of `size` bytes (skipped). */
  skip(count: number, size: number): void {
    this.#take(count * size);
  }
  /** `k` × R4. */
  r4Array(count: number): number[] {
    const out: number[] = [];
    for (let k = 0; k < count; k++) {
      const v = this.r4();
      if (v === undefined) break;
      out.push(v);
    }
    return out;
  }
  /** `k` × U2. */
  u2Array(count: number): number[] {
    const out: number[] = [];
    for (let k = 0; k < count; k++) {
      const v = this.u2();
      if (v === undefined) break;
      out.push(v);
    }
    return out;
  }
  /** `k` × N1 (nibbles, two per byte, low nibble first). */
  n1Array(count: number): number[] {
    const at = this.#take(Math.ceil(count / 2));
    if (at === undefined) return [];
    const out: number[] = [];
    for (let k = 0; k < count; k++) {
      const byte = this.#b[at + (k >> 1)];
      out.push(k % 2 === 0 ? byte & 0x0f : byte >> 4);
    }
    return out;
  }
}

/** A float32 as the shortest decimal that reads back to the same float32 (0.1, not 0.100000001). */
export function float32Value(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  // 9 digits always read back; more digits never stop doing so: search for the fewest.
  let lo = 1;
  let hi = 9;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (Math.fround(Number(v.toPrecision(mid))) === v) hi = mid;
    else lo = mid + 1;
  }
  return Number(v.toPrecision(hi));
}
