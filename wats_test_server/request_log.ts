/**
 * The test server's request log: one entry per request, for assertions such as "the token was
 * sent as configured" or "the breaker limited the number of posts".
 *
 * @module
 */

/** One request as the server saw and answered it. */
export interface RequestLogEntry {
  /** 1, 2, 3, … over the server's life (not reset by `reset()`). */
  seq: number;
  method: string;
  /** The path without the query string, as sent (prefix included). */
  path: string;
  /** The query string without "?" ("" when none). */
  query: string;
  /** The answer's status; null when the connection was dropped without an answer. */
  status: number | null;
  /** The `Authorization` header exactly as sent, or null. */
  authorization: string | null;
  /** All request headers (lower-case names). */
  headers: Record<string, string>;
  /** Request body size in bytes (counted even past the size limit). */
  bodyBytes: number;
  /** Lower-case hex SHA-256 of the body (null when the body was not kept because it was too large). */
  bodySha256: string | null;
  /** The body text, only when the server was started with `logBodies`. */
  body?: string;
  /** Report id from the body, when the body was a report with an id. */
  reportId: string | null;
  /** The injected fault ("429", "503", "slow:5000", "drop", …) and its source, or null. */
  fault: string | null;
  /** The `Message` of an error answer (e.g. the validation error), or null. */
  message: string | null;
  /** The client's port: requests with the same port came over the same connection. */
  remotePort: number | null;
  /** ISO time the request arrived. */
  startedAt: string;
  /** ISO time it was answered (or dropped); null while in progress. */
  finishedAt: string | null;
}

/** A bounded, in-memory list of request entries. */
export class RequestLog {
  readonly #entries: RequestLogEntry[] = [];
  readonly #max: number;
  #seq = 0;
  readonly #byStatus = new Map<string, number>();
  #total = 0;

  /** @param max about the most entries kept (up to 10 % more); older ones are dropped first */
  constructor(max = 100_000) {
    this.#max = max;
  }

  /** Starts an entry for a new request and returns it, to be completed with {@link finish}. */
  begin(fields: Omit<RequestLogEntry, "seq" | "finishedAt" | "status">): RequestLogEntry {
    const entry: RequestLogEntry = { ...fields, seq: ++this.#seq, status: null, finishedAt: null };
    this.#entries.push(entry);
    // Trim in batches: shifting one entry per request would cost O(max) each time.
    if (this.#entries.length > this.#max + Math.ceil(this.#max / 10)) {
      this.#entries.splice(0, this.#entries.length - this.#max);
    }
    return entry;
  }

  /** Records how a request ended: its status, or null for a dropped connection. */
  finish(entry: RequestLogEntry, status: number | null): void {
    entry.status = status;
    entry.finishedAt = new Date().toISOString();
    const key = status === null ? "dropped" : String(status);
    this.#byStatus.set(key, (this.#byStatus.get(key) ?? 0) + 1);
    this.#total++;
  }

  /** The entries kept, oldest first; with `sinceSeq`, only those after it. */
  entries(sinceSeq = 0): RequestLogEntry[] {
    return this.#entries.filter((e) => e.seq > sinceSeq);
  }

  /** Finished requests by status ("200", "429", …, "dropped") since the last reset. */
  countsByStatus(): Record<string, number> {
    return Object.fromEntries(this.#byStatus);
  }

  /** Finished requests since the last reset. */
  get total(): number {
    return this.#total;
  }

  /** The sequence number of the latest request (0 before the first). */
  get lastSeq(): number {
    return this.#seq;
  }

  /** Forgets all entries and counts (sequence numbers keep increasing). */
  reset(): void {
    this.#entries.length = 0;
    this.#byStatus.clear();
    this.#total = 0;
  }
}
