/**
 * What status and health show about upload attempts: when one last landed, when one last went
 * out, the last failure, and the failed share of the attempts in the last 5 minutes.
 *
 * @module
 */

/** The last failure, for status. */
export interface LastError {
  at: string;
  message: string;
  status: number | null;
  reportId: string;
  correlationId: string;
}

const WINDOW_MS = 5 * 60_000;

/** The record of upload attempts. */
export class Attempts {
  #lastSuccessAt: Date | null = null;
  #lastAttemptAt: Date | null = null;
  #lastError: LastError | null = null;
  #window: { at: number; ok: boolean }[] = [];

  /** The last upload an earlier run saw land (shown until this run's first one). */
  restoreLastSuccess(at: string | null | undefined): void {
    const t = at ? new Date(at) : null;
    if (!this.#lastSuccessAt && t && !Number.isNaN(t.getTime())) this.#lastSuccessAt = t;
  }

  /** An upload is going out. */
  sending(): void {
    this.#lastAttemptAt = new Date();
  }

  /** An upload got its outcome (ok: stored). */
  answered(ok: boolean, now = Date.now()): void {
    this.#window.push({ at: now, ok });
    // Trimmed here only when large: status() trims on every read.
    if (this.#window.length > 5000 && now - this.#window[0].at > WINDOW_MS) this.#trim(now);
  }

  /** An upload landed. */
  stored(): void {
    this.#lastSuccessAt = new Date();
  }

  /** An upload failed. */
  failed(error: Omit<LastError, "at">): void {
    this.#lastError = { at: new Date().toISOString(), ...error };
  }

  /** When the last upload landed, ms; 0 when none has. */
  get lastSuccessMs(): number {
    return this.#lastSuccessAt?.getTime() ?? 0;
  }

  /** The numbers for status. */
  numbers(now = Date.now()): {
    lastSuccessAt: string | null;
    lastAttemptAt: string | null;
    lastError: LastError | null;
    errorRate5m: number | null;
    attempts5m: number;
  } {
    this.#trim(now);
    const failed = this.#window.filter((w) => !w.ok).length;
    return {
      lastSuccessAt: this.#lastSuccessAt?.toISOString() ?? null,
      lastAttemptAt: this.#lastAttemptAt?.toISOString() ?? null,
      lastError: this.#lastError,
      errorRate5m: this.#window.length ? failed / this.#window.length : null,
      attempts5m: this.#window.length,
    };
  }

  #trim(now: number): void {
    this.#window = this.#window.filter((w) => now - w.at < WINDOW_MS);
  }
}
