/**
 * A small STDF V4 writer for tests and benchmarks: records from typed fields, in either byte
 * order. Written from the STDF V4 specification's field tables, independently of the reader in
 * src/convert/converters/stdf/, so a test built with it can catch the reader's mistakes.
 *
 * ```ts
 * const w = new StdfWriter("little");
 * w.far().mir({ lotId: "L1", partType: "PN", startT: 1_700_000_000 });
 * w.pir(1, 1).ptr({ num: 1, site: 1, result: 1.5, low: 1, high: 2, units: "V" });
 * w.prr({ site: 1, flag: 0, partId: "1" }).mrr();
 * const bytes = w.bytes();
 * ```
 *
 * @module
 */

/** A field: its STDF type and value. */
type Field =
  | ["U1" | "U2" | "U4" | "I1" | "I2" | "I4" | "R4" | "B1", number]
  | ["Cn", string]
  | ["C1", string]
  | ["U2s", number[]]
  | ["R4s", number[]]
  | ["N1s", number[]];

/** PTR fields (the optional ones may be cut off: `cut` = how many trailing fields to leave out). */
export interface PtrFields {
  num: number;
  head?: number;
  site?: number;
  testFlg?: number;
  parmFlg?: number;
  result: number;
  text?: string;
  optFlag?: number;
  low?: number;
  high?: number;
  units?: string;
  /** Leave the record after RESULT (…TEST_TXT) out: `"afterResult"`, `"afterText"`. */
  cut?: "afterResult" | "afterText";
}

/** Writes STDF V4 records into memory. */
export class StdfWriter {
  readonly little: boolean;
  #parts: Uint8Array[] = [];
  #size = 0;

  /** @param order the byte order of the file (FAR CPU_TYPE 1 big, 2 little) */
  constructor(order: "big" | "little") {
    this.little = order === "little";
  }

  /** A raw record with these fields. */
  record(typ: number, sub: number, fields: Field[]): this {
    const body: number[] = [];
    const put = (n: number, bytes: number, float = false, signed = false) => {
      const dv = new DataView(new ArrayBuffer(bytes));
      if (float) dv.setFloat32(0, n, this.little);
      else if (bytes === 1) signed ? dv.setInt8(0, n) : dv.setUint8(0, n);
      else if (bytes === 2) {
        signed ? dv.setInt16(0, n, this.little) : dv.setUint16(0, n, this.little);
      } else signed ? dv.setInt32(0, n, this.little) : dv.setUint32(0, n, this.little);
      body.push(...new Uint8Array(dv.buffer));
    };
    for (const [t, v] of fields) {
      switch (t) {
        case "U1":
        case "B1":
          put(v, 1);
          break;
        case "I1":
          put(v, 1, false, true);
          break;
        case "U2":
          put(v, 2);
          break;
        case "I2":
          put(v, 2, false, true);
          break;
        case "U4":
          put(v, 4);
          break;
        case "I4":
          put(v, 4, false, true);
          break;
        case "R4":
          put(v, 4, true);
          break;
        case "C1":
          body.push(v.charCodeAt(0));
          break;
        case "Cn":
          body.push(v.length, ...[...v].map((c) => c.charCodeAt(0)));
          break;
        case "U2s":
          for (const x of v) put(x, 2);
          break;
        case "R4s":
          for (const x of v) put(x, 4, true);
          break;
        case "N1s":
          for (let k = 0; k < v.length; k += 2) body.push((v[k] & 15) | ((v[k + 1] ?? 0) << 4));
          break;
      }
    }
    const rec = new Uint8Array(4 + body.length);
    new DataView(rec.buffer).setUint16(0, body.length, this.little);
    rec[2] = typ;
    rec[3] = sub;
    rec.set(body, 4);
    this.#parts.push(rec);
    this.#size += rec.length;
    return this;
  }

  far(): this {
    return this.record(0, 10, [["U1", this.little ? 2 : 1], ["U1", 4]]);
  }

  mir(m: {
    lotId?: string;
    partType?: string;
    nodeName?: string;
    jobName?: string;
    jobRev?: string;
    sublot?: string;
    operator?: string;
    startT?: number;
  }): this {
    return this.record(1, 10, [
      ["U4", m.startT ?? 0],
      ["U4", m.startT ?? 0],
      ["U1", 1],
      ["C1", "P"],
      ["C1", " "],
      ["C1", " "],
      ["U2", 65535],
      ["C1", " "],
      ["Cn", m.lotId ?? ""],
      ["Cn", m.partType ?? ""],
      ["Cn", m.nodeName ?? ""],
      ["Cn", "SYN-ATE"],
      ["Cn", m.jobName ?? ""],
      ["Cn", m.jobRev ?? ""],
      ["Cn", m.sublot ?? ""],
      ["Cn", m.operator ?? ""],
    ]);
  }

  wir(wafer: string, startT = 0): this {
    return this.record(2, 10, [["U1", 1], ["U1", 255], ["U4", startT], ["Cn", wafer]]);
  }

  wrr(wafer: string): this {
    return this.record(2, 20, [
      ["U1", 1],
      ["U1", 255],
      ["U4", 0],
      ["U4", 0],
      ["U4", 0],
      ["U4", 0],
      ["U4", 0],
      ["U4", 0],
      ["Cn", wafer],
    ]);
  }

  pir(head: number, site: number): this {
    return this.record(5, 10, [["U1", head], ["U1", site]]);
  }

  ptr(p: PtrFields): this {
    const fields: Field[] = [
      ["U4", p.num],
      ["U1", p.head ?? 1],
      ["U1", p.site ?? 1],
      ["B1", p.testFlg ?? 0],
      ["B1", p.parmFlg ?? 0xc0],
      ["R4", p.result],
    ];
    if (p.cut !== "afterResult") {
      fields.push(["Cn", p.text ?? ""]);
      if (p.cut !== "afterText") {
        fields.push(
          ["Cn", ""],
          ["B1", p.optFlag ?? 0x02],
          ["I1", 0],
          ["I1", 0],
          ["I1", 0],
          ["R4", p.low ?? 0],
          ["R4", p.high ?? 0],
          ["Cn", p.units ?? ""],
        );
      }
    }
    return this.record(15, 10, fields);
  }

  mpr(p: {
    num: number;
    site?: number;
    testFlg?: number;
    results: number[];
    pins: number[];
    text: string;
    low: number;
    high: number;
    units: string;
  }): this {
    return this.record(15, 15, [
      ["U4", p.num],
      ["U1", 1],
      ["U1", p.site ?? 1],
      ["B1", p.testFlg ?? 0],
      ["B1", 0xc0],
      ["U2", p.pins.length],
      ["U2", p.results.length],
      ["N1s", p.pins.map(() => 0)],
      ["R4s", p.results],
      ["Cn", p.text],
      ["Cn", ""],
      ["B1", 0x02],
      ["I1", 0],
      ["I1", 0],
      ["I1", 0],
      ["R4", p.low],
      ["R4", p.high],
      ["R4", 0],
      ["R4", 0],
      ["U2s", p.pins],
      ["Cn", p.units],
    ]);
  }

  ftr(p: { num: number; site?: number; testFlg: number; text: string; vector?: string }): this {
    return this.record(15, 20, [
      ["U4", p.num],
      ["U1", 1],
      ["U1", p.site ?? 1],
      ["B1", p.testFlg],
      ["B1", 0xff],
      ["U4", 0],
      ["U4", 0],
      ["U4", 0],
      ["U4", 0],
      ["I4", 0],
      ["I4", 0],
      ["I2", 0],
      ["U2", 0],
      ["U2", 0],
      ["U2", 0], // FAIL_PIN: Dn of 0 bits
      ["Cn", p.vector ?? ""],
      ["Cn", ""],
      ["Cn", ""],
      ["Cn", p.text],
    ]);
  }

  prr(p: {
    head?: number;
    site?: number;
    flag: number;
    hardBin?: number;
    softBin?: number;
    x?: number;
    y?: number;
    testT?: number;
    partId?: string;
  }): this {
    return this.record(5, 20, [
      ["U1", p.head ?? 1],
      ["U1", p.site ?? 1],
      ["B1", p.flag],
      ["U2", 0],
      ["U2", p.hardBin ?? 1],
      ["U2", p.softBin ?? 1],
      ["I2", p.x ?? -32768],
      ["I2", p.y ?? -32768],
      ["U4", p.testT ?? 0],
      ["Cn", p.partId ?? ""],
      ["Cn", ""],
    ]);
  }

  mrr(): this {
    return this.record(1, 20, [["U4", 0]]);
  }

  /** The bytes written so far. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let o = 0;
    for (const p of this.#parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}
