/**
 * Report bodies the queue has just committed, kept in memory (bounded) so that the uploader
 * needn't reopen and re-read the file it was written to a moment ago. The file stays the source
 * of truth: an entry not in the cache (too large, the cache full, or the agent restarted) is
 * read from disk and its checksum checked as before.
 *
 * @module
 */
import type { Envelope } from "./entry.ts";

/** A cached entry: its envelope and body, as they were written and fsynced. */
export interface CachedEntry {
  envelope: Envelope;
  body: Uint8Array;
}

/**
 * Bodies by entry key, at most `maxBytes` in all and `maxEntryBytes` each. 4 MiB holds ~400
 * reports of 10 KB, enough for uploads to keep pace with intake; the e2e benchmark's burst
 * of 1,500 peaked 4 MiB lower than with 16 MiB, at no CPU cost it could measure.
 */
export class BodyCache {
  #entries = new Map<string, CachedEntry>();
  #bytes = 0;

  /**
   * @param maxBytes the most body bytes held at once
   * @param maxEntryBytes larger bodies are not held (the uploader streams those from the file)
   */
  constructor(readonly maxBytes = 4 * 1024 * 1024, readonly maxEntryBytes = 1024 * 1024) {}

  /** Body bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Holds an entry's body when it fits. Entries are claimed in FIFO order, so when the cache is
   * full the newest is left out (the oldest are the next to be uploaded).
   */
  add(key: string, entry: CachedEntry): void {
    const n = entry.body.length;
    if (n > this.maxEntryBytes || this.#bytes + n > this.maxBytes || this.#entries.has(key)) return;
    this.#entries.set(key, entry);
    this.#bytes += n;
  }

  /** Takes an entry out (it is being uploaded, or is gone); undefined when not held. */
  take(key: string): CachedEntry | undefined {
    const e = this.#entries.get(key);
    if (e) {
      this.#entries.delete(key);
      this.#bytes -= e.body.length;
    }
    return e;
  }
}
