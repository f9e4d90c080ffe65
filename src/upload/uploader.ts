/**
 * The uploader: turns the queue into reports on the WATS server.
 *
 * Reaction per outcome (docs/wsjf.md#answers-and-reactions):
 * - stored (2xx with the matching ID): completed.
 * - rejected (400/409/413/422): to error with the server's message; waits for a person.
 * - auth (401/403/404, a redirect): the report goes back to the queue, ALL uploads pause, health is
 *   unhealthy with what to fix. Every `authRetrySeconds` one trial upload asks again; a config
 *   change retries at once (one upload at a time until the server answers something else).
 * - transient (408/429/5xx/network/timeout/unconfirmed 2xx): to error with a retry time from
 *   full-jitter backoff (or Retry-After when longer); a Retry-After also holds every upload
 *   until then. Consecutive failures (not 429: the server is up) open the circuit breaker;
 *   retries go back to the queue only as the global retry budget allows.
 *
 * This file is the reactions above and the tick that paces retries, probes and checks. Its
 * parts: the sending loops (loops.ts), the pause for a rejected token or URL (auth_pause.ts),
 * the version and clock check (server_check.ts), the attempt record for status (attempts.ts)
 * and the streamed body (body.ts).
 *
 * @module
 */
import type { Config } from "../config/load.ts";
import type { Claimed, Queue } from "../queue/queue.ts";
import type { AnyMetrics as Metrics } from "../metrics/registry.ts";
import { type Logger, logger } from "../log/log.ts";
import { type Outcome, type VersionAnswer, WatsClient } from "./client.ts";
import { fullJitterMs } from "./backoff.ts";
import { type BreakerState, CircuitBreaker } from "./breaker.ts";
import { RetryBudget } from "./budget.ts";
import { AuthPause } from "./auth_pause.ts";
import { ServerCheck } from "./server_check.ts";
import { Attempts, type LastError } from "./attempts.ts";
import { uploadBody } from "./body.ts";
import { UploadLoops } from "./loops.ts";

/** What status and health need to know. */
export interface UploaderStatus {
  breaker: BreakerState;
  consecutiveFailures: number;
  breakerOpenedAt: string | null;
  /** Set while uploads are paused because the token or URL was rejected. */
  authProblem: string | null;
  /** Set while a Retry-After (429/503) holds uploads. */
  throttledUntil: string | null;
  lastSuccessAt: string | null;
  lastAttemptAt: string | null;
  lastError: LastError | null;
  inFlight: number;
  /** Failed share of the attempts in the last 5 minutes (null: no attempts). */
  errorRate5m: number | null;
  attempts5m: number;
  retryBudget: number;
  serverVersion: string | null;
  clockSkewSeconds: number | null;
  /** Why the last version check or breaker probe failed; null once one succeeds. */
  serverProblem?: string | null;
}

type ServerConfig = Config["server"];

const log = logger("upload");
const TICK_MS = 250;

/** Uploads queued reports. */
export class Uploader {
  #queue: Queue;
  #metrics: Metrics;
  #server: ServerConfig;
  #client: WatsClient;
  #breaker: CircuitBreaker;
  #budget: RetryBudget;
  #auth: AuthPause;
  #check = new ServerCheck();
  #throttleUntil = 0;
  #flushing = 0;
  #loops: UploadLoops;
  #tick?: ReturnType<typeof setInterval>;
  #ticking = false;
  #attempts = new Attempts();
  #caCerts?: string[];
  /** Bumped by every reconfigure: answers to requests made with older settings are stale. */
  #generation = 0;

  /**
   * @param server server settings
   * @param queue the queue
   * @param metrics where to count
   * @param caCerts PEM texts of extra CA certificates (server.caFile)
   */
  constructor(server: ServerConfig, queue: Queue, metrics: Metrics, caCerts?: string[]) {
    this.#server = server;
    this.#queue = queue;
    this.#metrics = metrics;
    this.#caCerts = caCerts;
    this.#client = this.#newClient();
    this.#breaker = new CircuitBreaker(server.breaker.failures, server.breaker.probeSeconds * 1000);
    this.#budget = new RetryBudget(server.retry.budgetPerMinute);
    this.#auth = new AuthPause(server.authRetrySeconds);
    this.#loops = new UploadLoops(queue, {
      // A paused or cautious uploader sends one at a time.
      mayClaim: (inFlight) => this.#open(Date.now()) && this.#auth.allowsClaim(inFlight),
      holdMs: () => this.#throttleUntil - Date.now(),
      send: (c) => this.#send(c),
    }, () => this.#server.concurrency);
    for (
      const [name, help] of [
        ["uploads_total", "Upload attempts by outcome (stored, rejected, auth, transient)"],
        ["reports_uploaded_total", "Reports stored on the server"],
        [
          "reports_rejected_total",
          "Reports the server rejected (now in error, waiting for a person)",
        ],
        ["upload_retries_total", "Reports sent back to the queue for another attempt"],
        ["breaker_probes_total", "Probes sent while the circuit breaker was open"],
      ]
    ) metrics.counter(name, help);
    metrics.histogram(
      "upload_seconds",
      "Upload request latency in seconds",
      [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    );
  }

  #newClient(): WatsClient {
    return new WatsClient({
      url: this.#server.url,
      token: this.#server.token,
      timeoutMs: this.#server.timeoutSeconds * 1000,
      caCerts: this.#caCerts,
    });
  }

  /** Starts the upload loops and the timer that paces retries, probes and checks. */
  start(): void {
    if (this.#loops.running) return;
    this.#tick = setInterval(() => this.#onTick(), TICK_MS);
    this.#loops.start();
    this.#check.request();
    this.#runCheck("start-up");
  }

  /**
   * Stops: no new uploads; requests in flight finish (they are short: server.timeoutSeconds at
   * most) and their outcome is recorded, so nothing is left half-done.
   */
  async stop(): Promise<void> {
    clearInterval(this.#tick);
    await this.#loops.stop();
    this.#client.close();
  }

  /**
   * New server settings (hot reload): a new client; a paused token or URL is tried again at once
   * (one upload at a time until the server answers other than 401/403/404); a new URL forgets
   * the breaker's failures; a smaller concurrency retires loops as they finish.
   */
  reconfigure(server: ServerConfig, caCerts?: string[]): void {
    const old = this.#client;
    const urlChanged = server.url !== this.#server.url;
    this.#server = server;
    this.#caCerts = caCerts;
    this.#client = this.#newClient();
    this.#generation++;
    this.#breaker.threshold = server.breaker.failures;
    this.#breaker.probeMs = server.breaker.probeSeconds * 1000;
    this.#budget.perMinute = server.retry.budgetPerMinute;
    this.#auth.retrySeconds = server.authRetrySeconds;
    if (urlChanged) this.#breaker.reset();
    const paused = this.#auth.resume();
    if (paused) {
      log.info("Server settings changed; trying uploads again now (paused for: {problem})", {
        problem: paused,
      });
    }
    this.#loops.resize();
    old.close(); // once its requests in progress have ended
    this.#wake();
    this.#check.request();
    this.#runCheck("config change");
  }

  /** The last upload an earlier run saw land (status shows it until this run's first one). */
  restoreLastSuccess(at: string | null | undefined): void {
    this.#attempts.restoreLastSuccess(at);
  }

  /** Something was queued: wake idle loops. */
  wake(): void {
    this.#wake();
  }

  /**
   * A person asked to upload everything now: retries become due at once (no backoff, no
   * budget, no Retry-After hold), an open breaker is probed now, a paused token is tried again.
   */
  flushNow(): void {
    this.#flushing = Date.now() + 60_000;
    this.#queue.expediteRetries();
    this.#auth.resume();
    this.#throttleUntil = 0;
    if (this.#breaker.state === "open") this.#probe(true);
    this.#onTick();
    this.#wake();
  }

  /** Current numbers. */
  status(): UploaderStatus {
    const now = Date.now();
    const a = this.#attempts.numbers(now);
    return {
      breaker: this.#breaker.state,
      consecutiveFailures: this.#breaker.failures,
      breakerOpenedAt: this.#breaker.openedAt
        ? new Date(this.#breaker.openedAt).toISOString()
        : null,
      authProblem: this.#auth.problem,
      throttledUntil: this.#throttleUntil > now
        ? new Date(this.#throttleUntil).toISOString()
        : null,
      lastSuccessAt: a.lastSuccessAt,
      lastAttemptAt: a.lastAttemptAt,
      lastError: a.lastError,
      inFlight: this.#loops.inFlight,
      errorRate5m: a.errorRate5m,
      attempts5m: a.attempts5m,
      retryBudget: this.#budget.available(now),
      serverVersion: this.#check.version,
      clockSkewSeconds: this.#check.clockSkewSeconds,
      serverProblem: this.#check.problem,
    };
  }

  /**
   * Reads the server version and compares clocks (warns when they differ too much). A 401/403/404
   * pauses uploads as an upload's would. Returns true when the server answered.
   */
  async checkServer(why: string): Promise<boolean> {
    let answer: VersionAnswer;
    let generation: number;
    do {
      // An answer to the settings before a config change says nothing: ask again.
      generation = this.#generation;
      answer = await this.#client.version();
    } while (generation !== this.#generation && this.#loops.running);
    return this.#onVersion(answer, why);
  }

  #onVersion(answer: VersionAnswer, why: string): boolean {
    const { outcome, version, serverDate } = answer;
    if (outcome.kind === "auth") {
      this.#check.refused(outcome.message);
      this.#auth.checkRefused(outcome.message, why);
      return true;
    }
    if (outcome.kind !== "stored") {
      this.#check.failed(outcome.message, why);
      return false;
    }
    if (this.#auth.checkAnswered()) this.#wake();
    this.#check.answered(version, serverDate, why, this.#server);
    return true;
  }

  /** Runs a version check unless one is running (start-up, config change, until it succeeds). */
  async #runCheck(why: string): Promise<void> {
    if (!this.#check.begin()) return;
    try {
      await this.checkServer(why);
    } finally {
      this.#check.end();
    }
  }

  /** True when uploads flow: not stopped, not held by Retry-After, breaker closed, not paused. */
  #flowing(now = Date.now()): boolean {
    return this.#open(now) && !this.#auth.problem;
  }

  /** Not stopped, not held by Retry-After, breaker closed. */
  #open(now: number): boolean {
    return this.#loops.running && now >= this.#throttleUntil && this.#breaker.allows();
  }

  #wake(): void {
    this.#loops.wake();
  }

  async #send(c: Claimed): Promise<void> {
    this.#auth.claimed(); // this upload is the trial, if one was due
    const env = c.envelope;
    const rlog = log.with({ correlationId: env.correlationId, reportId: env.id });
    const body = await uploadBody(this.#queue, c);
    if (!body) return; // corrupt entry, quarantined by the queue
    const attempt = c.attempts + 1;
    this.#attempts.sending();
    const generation = this.#generation;
    const outcome = await this.#client.postReport(env.id, body);
    this.#metrics.observe("upload_seconds", outcome.ms / 1000);
    this.#metrics.inc("uploads_total", { outcome: outcome.kind });
    this.#attempts.answered(outcome.kind === "stored");
    if (outcome.kind !== "auth" && this.#auth.uploadAnswered()) this.#wake();
    if (outcome.kind === "stored" || outcome.kind === "rejected") {
      if (this.#breaker.success()) this.#onBreakerClosed("an upload succeeded");
    }
    const fields = {
      id: env.id,
      sn: env.sn,
      attempt,
      outcome: outcome.kind,
      status: outcome.status,
      ms: Math.round(outcome.ms),
    };
    switch (outcome.kind) {
      case "stored":
        await this.#queue.complete(c.key);
        this.#attempts.stored();
        this.#check.uploadStored();
        this.#metrics.inc("reports_uploaded_total");
        rlog.info(
          "Uploaded report {id} (sn {sn}), attempt {attempt}: HTTP {status} in {ms} ms",
          fields,
        );
        return;
      case "rejected":
        await this.#fail(c, outcome, true, null);
        this.#metrics.inc("reports_rejected_total");
        rlog.error(
          "Report {id} (sn {sn}, from {source}), attempt {attempt}: {message}. It stays in error " +
            "until a person fixes the source and requeues it (`agent flush --errors`).",
          { ...fields, source: env.source, message: outcome.message },
        );
        return;
      case "auth":
        await this.#queue.release(c.key);
        if (generation !== this.#generation) {
          // Sent with the settings before a config change: says nothing about the new ones.
          rlog.info(
            "Upload of report {id}, attempt {attempt}: {message} (old settings; retrying)",
            {
              ...fields,
              message: outcome.message,
            },
          );
          return;
        }
        this.#recordError(c, outcome);
        rlog.error(
          "Upload of report {id}, attempt {attempt}: {message}. Uploads are paused; one is " +
            "tried again every {s} s and at once when the config file changes.",
          { ...fields, message: outcome.message, s: this.#server.authRetrySeconds },
        );
        this.#auth.uploadRefused(outcome.message);
        return;
      case "transient":
        await this.#onTransient(c, outcome, attempt, rlog, fields);
        return;
    }
  }

  async #onTransient(
    c: Claimed,
    outcome: Outcome,
    attempt: number,
    rlog: Logger,
    fields: Record<string, unknown>,
  ): Promise<void> {
    const r = this.#server.retry;
    const backoff = fullJitterMs(attempt, r.initialSeconds * 1000, r.maxSeconds * 1000);
    const delay = Math.max(backoff, outcome.retryAfterMs ?? 0);
    if (outcome.retryAfterMs !== null && Date.now() + outcome.retryAfterMs > this.#throttleUntil) {
      // The server said when it can take more: nothing goes out before then.
      this.#throttleUntil = Date.now() + outcome.retryAfterMs;
      log.warn("The server asked to wait {s} s (HTTP {status} with Retry-After); holding uploads", {
        s: Math.round(outcome.retryAfterMs / 100) / 10,
        status: outcome.status,
      });
    }
    await this.#fail(c, outcome, false, new Date(Date.now() + delay));
    rlog.warn(
      "Upload of report {id}, attempt {attempt} failed: {message}; retry in {retryS} s",
      { ...fields, message: outcome.message, retryS: Math.round(delay / 100) / 10 },
    );
    // 429: the server is up and asks for less; the Retry-After hold deals with it, not the breaker.
    if (outcome.status !== 429 && this.#breaker.failure()) {
      log.error(
        "Circuit breaker open after {n} consecutive failures (last: {message}); probing " +
          "{url} every {s} s instead of sending reports",
        {
          n: this.#breaker.failures,
          message: outcome.message,
          url: this.#server.url,
          s: this.#server.breaker.probeSeconds,
        },
      );
    }
  }

  async #fail(c: Claimed, o: Outcome, permanent: boolean, retryAt: Date | null): Promise<void> {
    const env = c.envelope;
    await this.#queue.fail(c.key, {
      reason: o.message,
      lastStatus: o.status,
      serverMessage: o.serverMessage,
      permanent,
      retryAt: retryAt?.toISOString() ?? null,
      correlationId: env.correlationId,
      id: env.id,
      source: env.source,
      sn: env.sn,
      pn: env.pn,
    });
    this.#recordError(c, o);
  }

  #recordError(c: Claimed, o: Outcome): void {
    this.#attempts.failed({
      message: o.message,
      status: o.status,
      reportId: c.envelope.id,
      correlationId: c.envelope.correlationId,
    });
  }

  #onBreakerClosed(why: string): void {
    log.info("Server reachable again ({why}): circuit breaker closed; sending the backlog", {
      why,
    });
    this.#queue.expediteRetries();
    this.#wake();
  }

  async #probe(force = false): Promise<void> {
    if (!this.#breaker.probeDue(Date.now(), force)) return;
    this.#breaker.probing();
    this.#metrics.inc("breaker_probes_total");
    const generation = this.#generation;
    const answer = await this.#client.version();
    if (generation !== this.#generation) {
      // Asked with the settings before a config change: probe again now with the new ones.
      if (this.#breaker.state === "half-open") this.#breaker.failure();
      this.#probe(true);
      return;
    }
    // A 401/403/404 also proves the server is reachable; #onVersion pauses uploads for it.
    const reachable = this.#onVersion(answer, "probe");
    if (reachable) {
      if (this.#breaker.success()) this.#onBreakerClosed("a probe succeeded");
    } else {
      this.#breaker.failure();
      log.debug("Probe failed: {message}", { message: answer.outcome.message });
    }
  }

  async #onTick(): Promise<void> {
    if (!this.#loops.running || this.#ticking) return;
    this.#ticking = true;
    try {
      const now = Date.now();
      if (this.#breaker.probeDue(now)) await this.#probe();
      else {
        const check = this.#check.next(now, {
          breakerAllows: this.#breaker.allows(),
          paused: this.#auth.problem !== null,
          lastSuccessMs: this.#attempts.lastSuccessMs,
          retryMs: this.#server.breaker.probeSeconds * 1000,
          idleMs: this.#server.checkSeconds * 1000,
        });
        if (check) this.#runCheck(check);
      }
      const retry = this.#auth.tick(now);
      if (retry === "check") this.#runCheck("paused, checking again");
      else if (retry === "upload") this.#wake();
      if (!this.#flowing(now)) return;
      const due = this.#queue.dueCount(now);
      if (due === 0) return;
      const flushing = now < this.#flushing;
      let allowed = 0;
      while (allowed < due && (flushing || this.#budget.take(now))) allowed++;
      const n = await this.#queue.requeueDue(now, allowed);
      if (n > 0) {
        this.#metrics.inc("upload_retries_total", undefined, n);
        this.#wake();
      }
    } catch (e) {
      log.error("Retry scheduling failed: {error}", { error: (e as Error).message });
    } finally {
      this.#ticking = false;
    }
  }
}
