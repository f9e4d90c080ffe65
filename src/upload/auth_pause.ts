/**
 * The pause for a rejected token or URL (401/403/404): every upload waits, because each would
 * be refused the same way. Every `retrySeconds` one trial asks again (an upload, or a version
 * check when a check found the problem); a config change or a flush ends the pause at once.
 * After a pause ends, one upload goes out at a time until the server answers something other
 * than 401/403/404, so a token that is still wrong costs one request, not `concurrency`.
 *
 * @module
 */
import { logger } from "../log/log.ts";

const log = logger("upload");

/** What the next paused tick does: nothing, a version check, or one trial upload. */
export type AuthRetry = "check" | "upload" | null;

/** The auth-pause state machine of the uploader. */
export class AuthPause {
  #problem: string | null = null;
  /** Whether an upload or a version check met the problem: the same kind asks again. */
  #from: "upload" | "check" = "upload";
  #retryAt = 0;
  /** One upload may go out to ask whether the token or URL works now. */
  #trial = false;
  /** After a pause ends: one upload at a time until the server answers other than 401/403/404. */
  #cautious = false;

  /** @param retrySeconds time between trials while paused (server.authRetrySeconds) */
  constructor(public retrySeconds: number) {}

  /** What uploads are paused for (the server's answer), or null while they are not. */
  get problem(): string | null {
    return this.#problem;
  }

  /** An upload was refused with 401/403/404: pause (again) and ask again after `retrySeconds`. */
  uploadRefused(message: string, now = Date.now()): void {
    this.#retryAt = now + this.retrySeconds * 1000;
    this.#problem = message;
    this.#from = "upload";
  }

  /** A version check was refused with 401/403/404: pause unless already paused. */
  checkRefused(message: string, why: string, now = Date.now()): void {
    if (this.#problem) return;
    log.error("Uploads paused: {message}", { message, why });
    this.#problem = message;
    this.#from = "check";
    this.#retryAt = now + this.retrySeconds * 1000;
  }

  /**
   * Ends the pause now (the settings changed, or a person asked to flush); the next upload is
   * the test. Returns what uploads were paused for, or null when they were not.
   */
  resume(): string | null {
    const was = this.#problem;
    if (was) {
      this.#problem = null;
      this.#cautious = true;
    }
    return was;
  }

  /** A version check succeeded: a pause a check had found is over. True when it ended one. */
  checkAnswered(): boolean {
    if (!this.#problem || this.#from !== "check") return false;
    log.info("The server answers again; resuming uploads (was: {problem})", {
      problem: this.#problem,
    });
    this.#problem = null;
    this.#cautious = true;
    return true;
  }

  /**
   * An upload got an answer other than 401/403/404: the token and URL work, uploads flow at full
   * concurrency again. True when this changed anything (idle loops should wake).
   */
  uploadAnswered(): boolean {
    if (!this.#cautious && !this.#problem) return false;
    if (this.#problem) {
      log.info("The server accepts uploads again; resuming (was: {problem})", {
        problem: this.#problem,
      });
      this.#problem = null;
    }
    this.#cautious = false;
    return true;
  }

  /**
   * Whether a loop may take a report, as far as auth goes: while paused only the trial, alone;
   * while cautious one at a time.
   */
  allowsClaim(inFlight: number): boolean {
    if (this.#problem) return this.#trial && inFlight === 0;
    return !this.#cautious || inFlight === 0;
  }

  /** A loop took a report: it is the trial, if one was due. */
  claimed(): void {
    this.#trial = false;
  }

  /** Called on every tick: while paused, says when it is time to ask again and how. */
  tick(now = Date.now()): AuthRetry {
    if (!this.#problem || now < this.#retryAt) return null;
    this.#retryAt = now + this.retrySeconds * 1000;
    if (this.#from === "check") return "check";
    log.info("Trying one upload again after: {problem}", { problem: this.#problem });
    this.#trial = true;
    return "upload";
  }
}
