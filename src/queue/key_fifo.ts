/**
 * The queued entries' keys in upload order, held compactly: a station offline for weeks can
 * hold a million reports, and a million key strings in an array and a set cost ~130 MB. Here a
 * key `<13-digit ms>-<4-digit seq>-<lower-case UUID>` (every key the queue makes for a UUID
 * report id) costs 26 bytes in typed arrays; any other key is kept as its string.
 *
 * Three parts, taken in this order:
 * - the front: keys put back (in flight at a stop, a release), the last put back first;
 * - runs: the start-up listing of queued/, one sorted run per listing batch, merged as keys
 *   are taken (a heap of run heads), so the oldest listed key comes first without ever sorting
 *   a million keys at once (that would hold the event loop for seconds);
 * - the back: keys queued since, in the order they came.
 *
 * @module
 */

/** Keys per chunk of the back: it grows and shrinks a chunk at a time, never by copying it all. */
const CHUNK = 4096;

const PACKED = /^\d{13}-\d{4}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Keys packed into typed arrays, by slot. */
class Slots {
  ms: Float64Array;
  seq: Uint16Array;
  id: Uint8Array;
  /** Keys that don't pack, by slot. */
  odd: Map<number, string> | null = null;

  constructor(size: number) {
    this.ms = new Float64Array(size);
    this.seq = new Uint16Array(size);
    this.id = new Uint8Array(size * 16);
  }

  set(i: number, key: string): void {
    this.ms[i] = Number(key.slice(0, 13)) || 0;
    this.seq[i] = Number(key.slice(14, 18)) || 0;
    if (!PACKED.test(key)) {
      (this.odd ??= new Map()).set(i, key);
      return;
    }
    this.odd?.delete(i);
    const hex = key.slice(19).replaceAll("-", "");
    for (let b = 0; b < 16; b++) this.id[i * 16 + b] = parseInt(hex.slice(b * 2, b * 2 + 2), 16);
  }

  get(i: number): string {
    const odd = this.odd?.get(i);
    if (odd !== undefined) return odd;
    const o = i * 16;
    const h = (a: number, b: number) => {
      let s = "";
      for (let k = a; k < b; k++) s += HEX[this.id[o + k]];
      return s;
    };
    return `${String(this.ms[i]).padStart(13, "0")}-${String(this.seq[i]).padStart(4, "0")}-${
      h(0, 4)
    }-${h(4, 6)}-${h(6, 8)}-${h(8, 10)}-${h(10, 16)}`;
  }
}

/** Key order (that of a folder listing) between slot `i` of `a` and slot `j` of `b`. */
function compareSlots(a: Slots, i: number, b: Slots, j: number): number {
  const d = a.ms[i] - b.ms[j] || a.seq[i] - b.seq[j];
  if (d) return d;
  if (a.odd?.has(i) || b.odd?.has(j)) {
    const x = a.get(i), y = b.get(j);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  for (let k = 0; k < 16; k++) {
    const e = a.id[i * 16 + k] - b.id[j * 16 + k];
    if (e) return e;
  }
  return 0;
}

/** One sorted run of listed keys and how far it has been taken. */
interface Run {
  slots: Slots;
  size: number;
  next: number;
}

/** A FIFO of entry keys (see the module comment for its order). */
export class KeyFifo {
  #front: string[] = [];
  /** A min-heap of runs by their next key. */
  #runs: Run[] = [];
  #inRuns = 0;
  #chunks: Slots[] = [];
  /** Next slot to take in chunks[0], and next free slot in the last chunk. */
  #head = 0;
  #tail = CHUNK;

  /** How many keys it holds. */
  get length(): number {
    const n = this.#chunks.length;
    const back = n === 0 ? 0 : (n - 1) * CHUNK + this.#tail - this.#head;
    return this.#front.length + this.#inRuns + back;
  }

  /** Adds a key at the back. */
  push(key: string): void {
    if (this.#tail === CHUNK) {
      this.#chunks.push(new Slots(CHUNK));
      this.#tail = 0;
      if (this.#chunks.length === 1) this.#head = 0;
    }
    this.#chunks[this.#chunks.length - 1].set(this.#tail++, key);
  }

  /** Puts a key back at the front: the next {@link shift} returns it. */
  unshift(key: string): void {
    this.#front.push(key);
  }

  /** Adds listed keys as one run, taken in key order merged with the other runs. */
  addRun(keys: string[]): void {
    if (keys.length === 0) return;
    const sorted = [...keys].sort();
    const slots = new Slots(sorted.length);
    for (let i = 0; i < sorted.length; i++) slots.set(i, sorted[i]);
    this.#runs.push({ slots, size: sorted.length, next: 0 });
    this.#inRuns += sorted.length;
    this.#up(this.#runs.length - 1);
  }

  /** Takes the key at the front, or undefined when empty. */
  shift(): string | undefined {
    if (this.#front.length) return this.#front.pop();
    const run = this.#runs[0];
    if (run) {
      const key = run.slots.get(run.next++);
      this.#inRuns--;
      if (run.next === run.size) {
        const last = this.#runs.pop()!;
        if (this.#runs.length) this.#runs[0] = last;
      }
      if (this.#runs.length) this.#down(0);
      return key;
    }
    const first = this.#chunks[0];
    if (!first || this.#backEmpty()) return undefined;
    const key = first.get(this.#head++);
    if (this.#head === CHUNK || this.#backEmpty()) {
      this.#chunks.shift();
      this.#head = 0;
      if (this.#chunks.length === 0) this.#tail = CHUNK;
    }
    return key;
  }

  /** Every key it holds, in no particular order (a recount compares them with a listing). */
  *keys(): Generator<string> {
    yield* this.#front;
    for (const run of this.#runs) {
      for (let i = run.next; i < run.size; i++) yield run.slots.get(i);
    }
    const n = this.#chunks.length;
    for (let c = 0; c < n; c++) {
      const from = c === 0 ? this.#head : 0;
      const to = c === n - 1 ? this.#tail : CHUNK;
      for (let i = from; i < to; i++) yield this.#chunks[c].get(i);
    }
  }

  /** The key {@link shift} would return, without taking it. */
  peek(): string | undefined {
    if (this.#front.length) return this.#front[this.#front.length - 1];
    const run = this.#runs[0];
    if (run) return run.slots.get(run.next);
    if (!this.#chunks[0] || this.#backEmpty()) return undefined;
    return this.#chunks[0].get(this.#head);
  }

  /**
   * The earliest queued time (ms) of the keys, or null when empty: the least of the front, the
   * runs' heads and the back's head (the back is in arrival order, which is nearly time order).
   */
  minTime(): number | null {
    let min = Infinity;
    for (const k of this.#front) min = Math.min(min, Number(k.slice(0, 13)) || 0);
    const run = this.#runs[0];
    if (run) min = Math.min(min, run.slots.ms[run.next]);
    if (this.#chunks[0] && !this.#backEmpty()) min = Math.min(min, this.#chunks[0].ms[this.#head]);
    return min === Infinity ? null : min;
  }

  #backEmpty(): boolean {
    return this.#chunks.length === 1 && this.#head === this.#tail;
  }

  #less(a: number, b: number): boolean {
    const x = this.#runs[a], y = this.#runs[b];
    return compareSlots(x.slots, x.next, y.slots, y.next) < 0;
  }

  #swap(a: number, b: number): void {
    const t = this.#runs[a];
    this.#runs[a] = this.#runs[b];
    this.#runs[b] = t;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#runs.length;
    while (true) {
      const l = 2 * i + 1, r = l + 1;
      let least = i;
      if (l < n && this.#less(l, least)) least = l;
      if (r < n && this.#less(r, least)) least = r;
      if (least === i) return;
      this.#swap(i, least);
      i = least;
    }
  }
}
