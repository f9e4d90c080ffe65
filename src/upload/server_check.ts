/**
 * The version and clock check: what GET /api/App/Version said about the server (its version,
 * its clock from the Date header, why it could not be asked), and when to ask next. It runs at
 * start-up, on a config change, every `breaker.probeSeconds` until it succeeds, and after
 * `checkSeconds` without an upload or check. A clock that differs from the station's by more
 * than `server.clockSkewWarnSeconds` is a warning: WATS shows report times from the station
 * clock. Probes and idle checks repeat, so they log only what changed.
 *
 * @module
 */
import { logger } from "../log/log.ts";

const log = logger("upload");

/** The settings a check reads (the current ones: they change on reload). */
export interface CheckSettings {
  url: string;
  clockSkewWarnSeconds: number;
}

/** When the tick may start a check, and what the uploader knows besides. */
export interface CheckTiming {
  /** False while the circuit breaker is open: its probes ask instead. */
  breakerAllows: boolean;
  /** True while uploads are paused for the token or URL (the pause has its own trials). */
  paused: boolean;
  /** When the last upload landed (ms), 0 when none: it proves the server as well as a check. */
  lastSuccessMs: number;
  /** Time between checks while they fail (breaker.probeSeconds), ms. */
  retryMs: number;
  /** Time without an upload or check before an idle check (checkSeconds), ms. */
  idleMs: number;
}

/** The server's version and clock, as the last check saw them. */
export class ServerCheck {
  #version: string | null = null;
  #clockSkewSeconds: number | null = null;
  #skewWarned = false;
  #problem: string | null = null;
  #due = false;
  #at = 0;
  #running = false;

  /** The server's version, once a check succeeded. */
  get version(): string | null {
    return this.#version;
  }

  /** Server clock minus station clock in seconds, once a check read the Date header. */
  get clockSkewSeconds(): number | null {
    return this.#clockSkewSeconds;
  }

  /** Why the last check or probe failed; null once one succeeds or an upload lands. */
  get problem(): string | null {
    return this.#problem;
  }

  /** The settings changed or the agent started: check as soon as possible. */
  request(): void {
    this.#due = true;
  }

  /** Which check the tick should start now ("retry", "idle check"), or null. */
  next(now: number, t: CheckTiming): string | null {
    if (this.#due) {
      return t.breakerAllows && now - this.#at >= t.retryMs ? "retry" : null;
    }
    if (t.paused) return null;
    return now - Math.max(this.#at, t.lastSuccessMs) >= t.idleMs ? "idle check" : null;
  }

  /** Marks a check as started; false when one is running already (it answers for both). */
  begin(now = Date.now()): boolean {
    if (this.#running) return false;
    this.#running = true;
    this.#at = now;
    return true;
  }

  /** The check started by `begin` ended. */
  end(): void {
    this.#running = false;
  }

  /** The server refused the check (401/403/404): it is reachable; the auth pause takes over. */
  refused(message: string): void {
    this.#problem = message;
    this.#due = false;
  }

  /** The check got no usable answer: warn when the reason changed, and check again later. */
  failed(message: string, why: string): void {
    if (this.#problem !== message) {
      log.warn("Server check ({why}) failed: {message}", { why, message });
    }
    this.#problem = message;
    this.#due = true;
  }

  /** An upload landed: that proves the connection too. */
  uploadStored(): void {
    this.#problem = null;
  }

  /** The server answered with its version (and, when it sent one, its clock). */
  answered(version: string | null, serverDate: Date | null, why: string, s: CheckSettings): void {
    const recovered = this.#problem !== null;
    this.#problem = null;
    this.#due = false;
    const periodic = why === "probe" || why === "idle check";
    const firstVersion = this.#version !== version;
    this.#version = version;
    if (serverDate) {
      const skew = Math.round((serverDate.getTime() - Date.now()) / 1000);
      this.#clockSkewSeconds = skew;
      const limit = s.clockSkewWarnSeconds;
      if (Math.abs(skew) > limit) {
        if (!this.#skewWarned || !periodic) {
          log.warn(
            "The server clock differs from this station's by {skew} s (more than {limit} s, " +
              "server.clockSkewWarnSeconds). WATS shows report times from the station clock: " +
              "set this machine's time (NTP).",
            { skew, limit, why },
          );
        }
        this.#skewWarned = true;
      } else if (this.#skewWarned) {
        log.info("The station clock agrees with the server's again ({skew} s apart)", { skew });
        this.#skewWarned = false;
      }
    }
    if (firstVersion || recovered || !periodic) {
      log.info("Connected to WATS {url}, version {version} ({why})", { url: s.url, version, why });
    }
  }
}
