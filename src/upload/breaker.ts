/**
 * The circuit breaker: after `threshold` consecutive failures it opens and uploads stop; every
 * `probeMs` one cheap probe (GET /api/App/Version) asks whether the server is back (half-open
 * while it runs); the first good probe closes it. An outage costs one probe per interval, not
 * one request per report.
 *
 * @module
 */

/** closed: uploads flow; open: none, probing; half-open: a probe is running. */
export type BreakerState = "closed" | "open" | "half-open";

/** A circuit breaker. */
export class CircuitBreaker {
  #state: BreakerState = "closed";
  #failures = 0;
  #openedAt: number | null = null;
  #lastProbeAt: number | null = null;

  /** @param threshold consecutive failures that open it; @param probeMs time between probes */
  constructor(public threshold: number, public probeMs: number) {}

  /** The current state. */
  get state(): BreakerState {
    return this.#state;
  }

  /** When it opened (ms), or null while closed. */
  get openedAt(): number | null {
    return this.#openedAt;
  }

  /** Consecutive failures so far. */
  get failures(): number {
    return this.#failures;
  }

  /** True when uploads may be sent. */
  allows(): boolean {
    return this.#state === "closed";
  }

  /** A request succeeded. Returns true when this closed the breaker. */
  success(): boolean {
    this.#failures = 0;
    const wasOpen = this.#state !== "closed";
    this.#state = "closed";
    this.#openedAt = null;
    return wasOpen;
  }

  /** A request failed for a transient reason. Returns true when this opened the breaker. */
  failure(now = Date.now()): boolean {
    this.#failures++;
    if (this.#state === "half-open") {
      this.#state = "open";
      return false;
    }
    if (this.#state === "closed" && this.#failures >= this.threshold) {
      this.#state = "open";
      this.#openedAt = now;
      this.#lastProbeAt = now;
      return true;
    }
    return false;
  }

  /** True when a probe is due (open, and probeMs since the last one), or `force`. */
  probeDue(now = Date.now(), force = false): boolean {
    if (this.#state !== "open") return false;
    return force || this.#lastProbeAt === null || now - this.#lastProbeAt >= this.probeMs;
  }

  /** Forgets past failures (the server settings changed, so they say nothing about the new ones). */
  reset(): void {
    this.#state = "closed";
    this.#failures = 0;
    this.#openedAt = null;
    this.#lastProbeAt = null;
  }

  /** Marks a probe as started. */
  probing(now = Date.now()): void {
    this.#state = "half-open";
    this.#lastProbeAt = now;
  }
}
