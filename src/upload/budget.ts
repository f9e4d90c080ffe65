/**
 * The retry budget: a token bucket that limits how many failed reports are retried per minute
 * across the whole queue, so a thousand failures don't turn into a thousand retries at once.
 * First attempts are not limited; only retries spend tokens.
 *
 * @module
 */

/** A token bucket refilled continuously at `perMinute`. */
export class RetryBudget {
  #tokens: number;
  #at: number;

  /** @param perMinute retries allowed per minute (also the burst size) */
  constructor(public perMinute: number, now = Date.now()) {
    this.#tokens = perMinute;
    this.#at = now;
  }

  #refill(now: number): void {
    this.#tokens = Math.min(
      this.perMinute,
      this.#tokens + ((now - this.#at) / 60_000) * this.perMinute,
    );
    this.#at = now;
  }

  /** Takes one token if there is one. */
  take(now = Date.now()): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

  /** Tokens available now (for status). */
  available(now = Date.now()): number {
    this.#refill(now);
    return Math.floor(this.#tokens);
  }
}
