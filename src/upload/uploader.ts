/**
 * The uploader: turns the queue into reports on the WATS server.
 *
 * Reaction per outcome (shared/reference/wats-formats-api.md §3.8):
 * - stored (2xx with the matching ID): completed.
 * - rejected (400/409/413/422): to error with the server's message; waits for a person.
 * - auth (401/403/404): the report goes back to the queue, ALL uploads pause, health is
 *   unhealthy with what to fix. Every `authRetrySeconds` one trial upload asks again; a config
 *   change retries at once (one upload at a time until the server answers something else).
 * - transient (408/429/5xx/network/timeout/unconfirmed 2xx): to error with a retry time from
 *   full-jitter backoff (or Retry-After when longer); a Retry-After also holds every upload
 *   until then. Consecutive failures (not 429: the server is up) open the circuit breaker;
 *   retries go back to the queue only as the global retry budget allows.
 *
 * At start-up, on a config change and with every breaker probe, GET /api/App/Version reads the
 * server version and its clock (Date header); a clock that differs too much is a warning.
 *
 * @module
 */
import { createHash } from "#crypto";
import type { Config } from "../config/load.ts";
import type { Claimed, Queue } from "../queue/queue.ts";
import type { Metrics } from "../control/metrics.ts";
import { type Logger, logger } from "../log/log.ts";
import {
  type Body,
  type Outcome,
  STREAM_THRESHOLD,
  type VersionAnswer,
  WatsClient,
} from "./client.ts";
import { fullJitterMs } from "./backoff.ts";
import { type BreakerState, CircuitBreaker } from "./breaker.ts";
import { RetryBudget } from "./budget.ts";

/** The last failure, for status. */
export interface LastError {
  at: string;
  message: string;
  status: number | null;
  reportId: string;
  correlationId: string;
}

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
const WINDOW_MS = 5 * 60_000;
const TICK_MS = 250;

/** Uploads queued reports. */
export class Uploader {
  #queue: Queue;
  #metrics: Metrics;
  #server: ServerConfig;
  #client: WatsClient;
  #breaker: CircuitBreaker;
  #budget: RetryBudget;
  /** Why uploads are paused (401/403/404), and whether an upload or a version check said so. */
  #authProblem: string | null = null;
  #authFrom: "upload" | "check" = "upload";
  #authRetryAt = 0;
  /** One upload may go out to ask whether the token or URL works now. */
  #authTrial = false;
  /** After a config change: one upload at a time until the server answers other than 401/403/404. */
  #cautious = false;
  #throttleUntil = 0;
  #flushing = 0;
  #stopped = true;
  /** Loops that hold (or are taking) a report. Reserved before `claim` so a trial stays single. */
  #inFlight = 0;
  #loops = new Map<number, Promise<void>>();
  #waiters: (() => void)[] = [];
  #tick?: ReturnType<typeof setInterval>;
  #ticking = false;
  #checkDue = false;
  #checkAt = 0;
  #checking = false;
  #lastSuccessAt: Date | null = null;
  #lastAttemptAt: Date | null = null;
  #lastError: LastError | null = null;
  #window: { at: number; ok: boolean }[] = [];
  #serverVersion: string | null = null;
  #clockSkewSeconds: number | null = null;
  #skewWarned = false;
  #serverProblem: string | null = null;
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
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#tick = setInterval(() => this.#onTick(), TICK_MS);
    this.#startLoops();
    this.#checkDue = true;
    this.#runCheck("start-up");
  }

  /**
   * Stops: no new uploads; requests in flight finish (they are short: server.timeoutSeconds at
   * most) and their outcome is recorded, so nothing is left half-done.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#tick);
    this.#wake();
    await Promise.all(this.#loops.values());
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
    if (urlChanged) this.#breaker.reset();
    if (this.#authProblem) {
      log.info("Server settings changed; trying uploads again now (paused for: {problem})", {
        problem: this.#authProblem,
      });
      this.#authProblem = null;
      this.#cautious = true;
    }
    this.#startLoops();
    old.close(); // once its requests in progress have ended
    this.#wake();
    this.#checkDue = true;
    this.#runCheck("config change");
  }

  /** The last upload an earlier run saw land (status shows it until this run's first one). */
  restoreLastSuccess(at: string | null | undefined): void {
    const t = at ? new Date(at) : null;
    if (!this.#lastSuccessAt && t && !Number.isNaN(t.getTime())) this.#lastSuccessAt = t;
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
    if (this.#authProblem) {
      this.#authProblem = null;
      this.#cautious = true;
    }
    this.#throttleUntil = 0;
    if (this.#breaker.state === "open") this.#probe(true);
    this.#onTick();
    this.#wake();
  }

  /** Current numbers. */
  status(): UploaderStatus {
    const now = Date.now();
    this.#window = this.#window.filter((w) => now - w.at < WINDOW_MS);
    const failed = this.#window.filter((w) => !w.ok).length;
    return {
      breaker: this.#breaker.state,
      consecutiveFailures: this.#breaker.failures,
      breakerOpenedAt: this.#breaker.openedAt
        ? new Date(this.#breaker.openedAt).toISOString()
        : null,
      authProblem: this.#authProblem,
      throttledUntil: this.#throttleUntil > now
        ? new Date(this.#throttleUntil).toISOString()
        : null,
      lastSuccessAt: this.#lastSuccessAt?.toISOString() ?? null,
      lastAttemptAt: this.#lastAttemptAt?.toISOString() ?? null,
      lastError: this.#lastError,
      inFlight: this.#inFlight,
      errorRate5m: this.#window.length ? failed / this.#window.length : null,
      attempts5m: this.#window.length,
      retryBudget: this.#budget.available(now),
      serverVersion: this.#serverVersion,
      clockSkewSeconds: this.#clockSkewSeconds,
      serverProblem: this.#serverProblem,
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
    } while (generation !== this.#generation && !this.#stopped);
    return this.#onVersion(answer, why);
  }

  #onVersion(answer: VersionAnswer, why: string): boolean {
    const { outcome, version, serverDate } = answer;
    if (outcome.kind === "auth") {
      this.#serverProblem = outcome.message;
      this.#checkDue = false;
      if (!this.#authProblem) {
        log.error("Uploads paused: {message}", { message: outcome.message, why });
        this.#authProblem = outcome.message;
        this.#authFrom = "check";
        this.#authRetryAt = Date.now() + this.#server.authRetrySeconds * 1000;
      }
      return true;
    }
    if (outcome.kind !== "stored") {
      if (this.#serverProblem !== outcome.message) {
        log.warn("Server check ({why}) failed: {message}", { why, message: outcome.message });
      }
      this.#serverProblem = outcome.message;
      this.#checkDue = true; // check again every breaker.probeSeconds until it answers
      return false;
    }
    const recovered = this.#serverProblem !== null;
    this.#serverProblem = null;
    this.#checkDue = false;
    // Probes and idle checks repeat: they log only what changed.
    const periodic = why === "probe" || why === "idle check";
    if (this.#authProblem && this.#authFrom === "check") {
      log.info("The server answers again; resuming uploads (was: {problem})", {
        problem: this.#authProblem,
      });
      this.#authProblem = null;
      this.#cautious = true;
      this.#wake();
    }
    const firstVersion = this.#serverVersion !== version;
    this.#serverVersion = version;
    if (serverDate) {
      const skew = Math.round((serverDate.getTime() - Date.now()) / 1000);
      this.#clockSkewSeconds = skew;
      const limit = this.#server.clockSkewWarnSeconds;
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
      log.info("Connected to WATS {url}, version {version} ({why})", {
        url: this.#server.url,
        version,
        why,
      });
    }
    return true;
  }

  /** Runs a version check unless one is running (start-up, config change, until it succeeds). */
  async #runCheck(why: string): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    this.#checkAt = Date.now();
    try {
      await this.checkServer(why);
    } finally {
      this.#checking = false;
    }
  }

  /** True when uploads flow: not stopped, not held by Retry-After, breaker closed, not paused. */
  #flowing(now = Date.now()): boolean {
    return !this.#stopped && now >= this.#throttleUntil && this.#breaker.allows() &&
      !this.#authProblem;
  }

  /** True when a loop may take the next report (a paused or cautious uploader sends one at a time). */
  #mayClaim(now = Date.now()): boolean {
    if (this.#authProblem) {
      return !this.#stopped && now >= this.#throttleUntil && this.#breaker.allows() &&
        this.#authTrial && this.#inFlight === 0;
    }
    return this.#flowing(now) && (!this.#cautious || this.#inFlight === 0);
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#waiters.push(done);
    });
  }

  #startLoops(): void {
    for (let i = 0; i < this.#server.concurrency && !this.#stopped; i++) {
      if (!this.#loops.has(i)) this.#loops.set(i, this.#loop(i));
    }
  }

  async #loop(index: number): Promise<void> {
    await Promise.resolve(); // let the caller register this loop before it can exit
    while (!this.#stopped && index < this.#server.concurrency) {
      if (!this.#mayClaim()) {
        await this.#wait(Math.max(50, Math.min(1000, this.#throttleUntil - Date.now())));
        continue;
      }
      this.#inFlight++;
      let claimed: Claimed | null = null;
      let pauseMs = 1000; // nothing queued: sleep until woken
      try {
        claimed = await this.#queue.claim();
      } catch (e) {
        log.error("Can't take the next report from the queue: {error}; retrying in 5 s", {
          error: (e as Error).message,
        });
        pauseMs = 5000;
      }
      if (!claimed) {
        this.#inFlight--;
        await this.#wait(pauseMs);
        continue;
      }
      this.#authTrial = false; // this upload is the trial, if one was due
      try {
        await this.#send(claimed);
      } catch (e) {
        await this.#onSendError(claimed, e as Error);
      } finally {
        this.#inFlight--;
      }
    }
    this.#loops.delete(index);
  }

  /** A queue I/O error around an upload: put the entry back (a re-send is an idempotent upsert). */
  async #onSendError(c: Claimed, e: Error): Promise<void> {
    const clog = log.with({ correlationId: c.envelope.correlationId, reportId: c.envelope.id });
    clog.error(
      "Recording the upload of report {id} failed: {error}; putting it back in the queue",
      {
        id: c.envelope.id,
        error: e.message,
      },
    );
    try {
      await this.#queue.release(c.key);
    } catch (e2) {
      if (e2 instanceof Deno.errors.NotFound) return; // it had moved on: its outcome was recorded
      clog.error(
        "Can't put report {id} back in the queue ({error}); it stays in queue/processing and " +
          "is queued again at the next start-up",
        { id: c.envelope.id, error: (e2 as Error).message },
      );
    }
    await this.#wait(1000);
  }

  async #body(c: Claimed): Promise<Body | null> {
    // Small, or still in the queue's memory from the enqueue: no streaming needed.
    if (c.body || c.envelope.bodyBytes < STREAM_THRESHOLD) return await this.#queue.readBody(c);
    // Large: check the checksum by streaming, then stream the upload (never a copy in memory).
    const f = await Deno.open(c.file, { read: true });
    const hash = createHash("sha256");
    try {
      await f.seek(c.bodyOffset, Deno.SeekMode.Start);
      for await (const chunk of f.readable) hash.update(chunk); // closes f at the end
    } catch (e) {
      try {
        f.close();
      } catch { /* the stream closed it already */ }
      throw e;
    }
    if (hash.digest("hex") !== c.envelope.bodySha256) return await this.#queue.readBody(c); // quarantines
    return { file: c.file, offset: c.bodyOffset, length: c.envelope.bodyBytes };
  }

  async #send(c: Claimed): Promise<void> {
    const env = c.envelope;
    const rlog = log.with({ correlationId: env.correlationId, reportId: env.id });
    const body = await this.#body(c);
    if (!body) return; // corrupt entry, quarantined by the queue
    const attempt = c.attempts + 1;
    this.#lastAttemptAt = new Date();
    const generation = this.#generation;
    const outcome = await this.#client.postReport(env.id, body);
    this.#metrics.observe("upload_seconds", outcome.ms / 1000);
    this.#metrics.inc("uploads_total", { outcome: outcome.kind });
    const now = Date.now();
    this.#window.push({ at: now, ok: outcome.kind === "stored" });
    if (this.#window.length > 5000 && now - this.#window[0].at > WINDOW_MS) {
      this.#window = this.#window.filter((w) => now - w.at < WINDOW_MS);
    }
    if (outcome.kind !== "auth") this.#onAnswerNotAuth();
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
        this.#lastSuccessAt = new Date();
        this.#serverProblem = null; // an upload that lands proves the connection
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
        this.#authRetryAt = Date.now() + this.#server.authRetrySeconds * 1000;
        rlog.error(
          "Upload of report {id}, attempt {attempt}: {message}. Uploads are paused; one is " +
            "tried again every {s} s and at once when the config file changes.",
          { ...fields, message: outcome.message, s: this.#server.authRetrySeconds },
        );
        this.#authProblem = outcome.message;
        this.#authFrom = "upload";
        return;
      case "transient":
        await this.#onTransient(c, outcome, attempt, rlog, fields);
        return;
    }
  }

  /** The server answered (not 401/403/404): a pause for the token or URL is over. */
  #onAnswerNotAuth(): void {
    if (!this.#cautious && !this.#authProblem) return;
    if (this.#authProblem) {
      log.info("The server accepts uploads again; resuming (was: {problem})", {
        problem: this.#authProblem,
      });
      this.#authProblem = null;
    }
    this.#cautious = false;
    this.#wake();
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
    this.#lastError = {
      at: new Date().toISOString(),
      message: o.message,
      status: o.status,
      reportId: c.envelope.id,
      correlationId: c.envelope.correlationId,
    };
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
    if (this.#stopped || this.#ticking) return;
    this.#ticking = true;
    try {
      const now = Date.now();
      if (this.#breaker.probeDue(now)) await this.#probe();
      else if (
        this.#checkDue && this.#breaker.allows() &&
        now - this.#checkAt >= this.#server.breaker.probeSeconds * 1000
      ) {
        this.#runCheck("retry");
      } else if (
        !this.#checkDue && !this.#authProblem &&
        now - Math.max(this.#checkAt, this.#lastSuccessAt?.getTime() ?? 0) >=
          this.#server.checkSeconds * 1000
      ) {
        this.#runCheck("idle check");
      }
      if (this.#authProblem && now >= this.#authRetryAt) {
        this.#authRetryAt = now + this.#server.authRetrySeconds * 1000;
        if (this.#authFrom === "check") {
          this.#runCheck("paused, checking again");
        } else {
          log.info("Trying one upload again after: {problem}", { problem: this.#authProblem });
          this.#authTrial = true;
          this.#wake();
        }
      }
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
