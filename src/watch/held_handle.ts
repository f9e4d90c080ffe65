/**
 * One folder handle that many operations use at once and that can be replaced meanwhile (the
 * folder was re-made): a path built from a handle's number (`/proc/self/fd/N/…`) must never
 * reach whatever reuses the number, so a replaced handle is closed only once the last operation
 * that took it has given it back. And handles pile up for nobody: a writer who makes the agent
 * re-open a folder over and over must not run it out of file descriptors.
 *
 * @module
 */
import type { FileHandle } from "#fs/promises";

/** The handle in use, and the replaced ones some operation still uses. */
export class HeldHandle {
  #current: FileHandle | null = null;
  /** Operations in flight, by handle (the current one or replaced ones). */
  #users = new Map<FileHandle, number>();

  /** The handle held now (null: none); not counted as a use (see {@link take}). */
  get current(): FileHandle | null {
    return this.#current;
  }

  /** Puts `h` in place (null: none); the old one is closed once no operation uses it. */
  replace(h: FileHandle | null): void {
    const old = this.#current;
    this.#current = h;
    if (old && old !== h && !this.#users.has(old)) old.close().catch(() => {});
  }

  /** The handle held now, used by one more operation until {@link give}; null: none held. */
  take(): FileHandle | null {
    const h = this.#current;
    if (h) this.#users.set(h, (this.#users.get(h) ?? 0) + 1);
    return h;
  }

  /** One operation is done with `h`; a replaced handle no longer used is closed. */
  give(h: FileHandle): void {
    const n = (this.#users.get(h) ?? 1) - 1;
    if (n > 0) return void this.#users.set(h, n);
    this.#users.delete(h);
    if (h !== this.#current) h.close().catch(() => {});
  }
}
