/**
 * The uploader: turns the queue into reports on the WATS server.
 *
 * Reaction per outcome (shared/reference/wats-formats-api.md §3.8):
 * - stored (2xx with the matching ID): completed.
 * - rejected (400/409/413): to error with the server's message; waits for a person.
 * - auth (401/403/404): the report goes back to the queue, ALL uploads pause, health is
 *   unhealthy with what to fix; tried again every `authRetrySeconds` and at once when the
 *   config changes.
 * - transient (408/429/5xx/network/timeout/unconfirmed 2xx): to error with a retry time from
 *   full-jitter backoff (or Retry-After when longer); a 429 also holds every upload until its
 *   Retry-After. Consecutive failures open the circuit breaker; retries are paced by a budget.
 *
 * @module
 */
import { createHash } from "#crypto";
import type { Config } from "../config/load.ts";
import type { Claimed, Queue } from "../queue/queue.ts";
import type { Metrics } from "../control/metrics.ts";
import { logger } from "../log/log.ts";
import { type Body, type Outcome, STREAM_THRESHOLD, WatsClient } from "./client.ts";
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
  /** Set while a 429 holds uploads. */
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
}

type ServerConfig = Config["server"];

const log = logger("upload");
const WINDOW_MS = 5 * 60_000;

/** Uploads queued reports. */
export class Uploader {
  #queue: Queue;
  #metrics: Metrics;
  #server: ServerConfig;
  #client: WatsClient;
  #breaker: CircuitBreaker;
  #budget: RetryBudget;
  #authProblem: string | null = null;
  #authRetryAt = 0;
  #throttleUntil = 0;
  #flushing = 0;
  #stopped = true;
  #inFlight = 0;
  #loops: Promise<void>[] = [];
  #waiters: (() => void)[] = [];
  #tick?: ReturnType<typeof setInterval>;
  #ticking = false;
  #lastSuccessAt: Date | null = null;
  #lastAttemptAt: Date | null = null;
  #lastError: LastError | null = null;
  #window: { at: number; ok: boolean }[] = [];
  #serverVersion: string | null = null;
  #clockSkewSeconds: number | null = null;

  /** @param server server settings; @param queue the queue; @param metrics where to count */
  constructor(server: ServerConfig, queue: Queue, metrics: Metrics, caCerts?: string[]) {
    this.#server = server;
    this.#queue = queue;
    this.#metrics = metrics;
    this.#client = new WatsClient({ url: server.url, token: server.token, timeoutMs: server.timeoutSeconds * 1000, caCerts });
    this.#breaker = new CircuitBreaker(server.breaker.failures, server.breaker.probeSeconds * 1000);
    this.#budget = new RetryBudget(server.retry.budgetPerMinute);
    for (const [name, help] of [
      ["uploads_total", "Upload attempts by outcome (stored, rejected, auth, transient)"],
      ["reports_uploaded_total", "Reports stored on the server"],
      ["reports_rejected_total", "Reports the server rejected (now in error, waiting for a person)"],
      ["upload_retries_total", "Reports sent back to the queue for another attempt"],
      ["breaker_probes_total", "Probes sent while the circuit breaker was open"],
    ]) metrics.counter(name, help);
    metrics.histogram("upload_seconds", "Upload request latency in seconds", [
      0.01,
      0.025,
      0.05,
      0.1,
      0.25,
      0.5,
      1,
      2.5,
      5,
      10,
      30,
    ]);
  }

  /** Starts the upload loops and the timer that paces retries and probes. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#tick = setInterval(() => this.#onTick(), 250);
    for (let i = 0; i < this.#server.concurrency; i++) this.#loops.push(this.#loop());
    this.checkServer("start-up");
  }

  /**
   * Stops: no new uploads; requests in flight finish (they are short: server.timeoutSeconds at
   * most) and their outcome is recorded, so nothing is left half-done.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#tick);
    this.#wake();
    await Promise.all(this.#loops);
    this.#loops = [];
    this.#client.close();
  }

  /** New server settings (hot reload): a new client; a rejected token or URL is retried at once. */
  reconfigure(server: ServerConfig, caCerts?: string[]): void {
    const old = this.#client;
    this.#server = server;
    this.#client = new WatsClient({ url: server.url, token: server.token, timeoutMs: server.timeoutSeconds * 1000, caCerts });
    this.#breaker.threshold = server.breaker.failures;
    this.#breaker.probeMs = server.breaker.probeSeconds * 1000;
    this.#budget.perMinute = server.retry.budgetPerMinute;
    if (this.#authProblem) {
      log.info("Server settings changed; retrying uploads now");
      this.#authProblem = null;
    }
    const more = server.concurrency - this.#loops.length;
    for (let i = 0; i < more && !this.#stopped; i++) this.#loops.push(this.#loop());
    setTimeout(() => old.close(), server.timeoutSeconds * 1000 + 1000);
    this.#wake();
    this.checkServer("config change");
  }

  /** Something was queued: wake idle loops. */
  wake(): void {
    this.#wake();
  }

  /**
   * A person asked to upload everything now: retries become due at once (no backoff, no
   * budget), an open breaker is probed now, a paused token is tried again.
   */
  flushNow(): void {
    this.#flushing = Date.now() + 60_000;
    this.#queue.expediteRetries();
    this.#authProblem = null;
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
      breakerOpenedAt: this.#breaker.openedAt ? new Date(this.#breaker.openedAt).toISOString() : null,
      authProblem: this.#authProblem,
      throttledUntil: this.#throttleUntil > now ? new Date(this.#throttleUntil).toISOString() : null,
      lastSuccessAt: this.#lastSuccessAt?.toISOString() ?? null,
      lastAttemptAt: this.#lastAttemptAt?.toISOString() ?? null,
      lastError: this.#lastError,
      inFlight: this.#inFlight,
      errorRate5m: this.#window.length ? failed / this.#window.length : null,
      attempts5m: this.#window.length,
      retryBudget: this.#budget.available(now),
      serverVersion: this.#serverVersion,
      clockSkewSeconds: this.#clockSkewSeconds,
    };
  }

  /** Reads the server version and compares clocks; warns when they differ too much. */
  async checkServer(why: string): Promise<void> {
    const { outcome, version, serverDate } = await this.#client.version();
    if (outcome.kind !== "stored") {
      log.warn("Server check ({why}) failed: {message}", { why, message: outcome.message });
      return;
    }
    this.#serverVersion = version;
    if (serverDate && !Number.isNaN(serverDate.getTime())) {
      const skew = (serverDate.getTime() - Date.now()) / 1000;
      this.#clockSkewSeconds = Math.round(skew);
      if (Math.abs(skew) > this.#server.clockSkewWarnSeconds) {
        log.warn(
          "The server clock differs from this station's by {skew} s (more than {limit} s). " +
            "WATS shows report times from the station clock: set this machine's time (NTP).",
          { skew: Math.round(skew), limit: this.#server.clockSkewWarnSeconds },
        );
      }
    }
    log.info("Connected to WATS {url}, version {version} ({why})", { url: this.#server.url, version, why });
  }

  #canSend(now = Date.now()): boolean {
    return !this.#stopped && !this.#authProblem && this.#breaker.allows() && now >= this.#throttleUntil;
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

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      if (!this.#canSend()) {
        await this.#wait(Math.max(50, Math.min(1000, this.#throttleUntil - Date.now())));
        continue;
      }
      let claimed: Claimed | null;
      try {
        claimed = await this.#queue.claim();
      } catch (e) {
        log.error("Can't take the next report from the queue: {error}; retrying in 5 s", {
          error: (e as Error).message,
        });
        await this.#wait(5000);
        continue;
      }
      if (!claimed) {
        await this.#wait(1000);
        continue;
      }
      this.#inFlight++;
      try {
        await this.#send(claimed);
      } catch (e) {
        // A queue I/O error after the upload: the entry stays in processing, and the next
        // start-up puts it back in queued (at worst it is sent again: same id, an upsert).
        log.with({ correlationId: claimed.envelope.correlationId }).error(
          "Recording the outcome of report {id} failed: {error}",
          { id: claimed.envelope.id, error: (e as Error).message },
        );
        await this.#wait(1000);
      } finally {
        this.#inFlight--;
      }
    }
  }

  async #body(c: Claimed): Promise<Body | null> {
    if (c.envelope.bodyBytes < STREAM_THRESHOLD) return await this.#queue.readBody(c);
    // Large: check the checksum by streaming, then stream the upload (never two copies in memory).
    const f = await Deno.open(c.file, { read: true });
    const hash = createHash("sha256");
    try {
      await f.seek(c.bodyOffset, Deno.SeekMode.Start);
      for await (const chunk of f.readable) hash.update(chunk);
    } catch (e) {
      f.close();
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
    const outcome = await this.#client.postReport(env.id, body);
    this.#metrics.observe("upload_seconds", outcome.ms / 1000);
    this.#metrics.inc("uploads_total", { outcome: outcome.kind });
    const ok = outcome.kind === "stored" || outcome.kind === "rejected";
    const now = Date.now();
    this.#window.push({ at: now, ok: outcome.kind === "stored" });
    if (this.#window.length > 5000 && now - this.#window[0].at > WINDOW_MS) {
      this.#window = this.#window.filter((w) => now - w.at < WINDOW_MS);
    }
    if (ok && this.#breaker.success()) this.#onBreakerClosed();
    switch (outcome.kind) {
      case "stored":
        await this.#queue.complete(c.key);
        this.#lastSuccessAt = new Date();
        this.#metrics.inc("reports_uploaded_total");
        rlog.info("Uploaded report {id} (sn {sn}), attempt {attempt}, {ms} ms", {
          id: env.id,
          sn: env.sn,
          attempt,
          ms: Math.round(outcome.ms),
        });
        return;
      case "rejected":
        await this.#fail(c, outcome, true, null);
        this.#metrics.inc("reports_rejected_total");
        rlog.error(
          "Report {id} (sn {sn}, from {source}) rejected: {message}. It stays in error until a " +
            "person fixes the source and requeues it (`agent flush --errors`).",
          { id: env.id, sn: env.sn, source: env.source, message: outcome.message },
        );
        return;
      case "auth":
        await this.#queue.release(c.key);
        if (!this.#authProblem) {
          rlog.error("Uploads paused: {message}. Retrying every {s} s and when the config changes.", {
            message: outcome.message,
            s: this.#server.authRetrySeconds,
          });
        }
        this.#authProblem = outcome.message;
        this.#authRetryAt = Date.now() + this.#server.authRetrySeconds * 1000;
        this.#recordError(c, outcome);
        return;
      case "transient": {
        const backoff = fullJitterMs(attempt, this.#server.retry.initialSeconds * 1000, this.#server.retry.maxSeconds * 1000);
        const delay = Math.max(backoff, outcome.retryAfterMs ?? 0);
        if (outcome.status === 429 && outcome.retryAfterMs) {
          this.#throttleUntil = Math.max(this.#throttleUntil, Date.now() + outcome.retryAfterMs);
        }
        await this.#fail(c, outcome, false, new Date(Date.now() + delay));
        if (this.#breaker.failure()) {
          log.error(
            "Circuit breaker open after {n} consecutive failures (last: {message}); probing " +
              "{url} every {s} s instead of sending reports",
            { n: this.#breaker.failures, message: outcome.message, url: this.#server.url, s: this.#server.breaker.probeSeconds },
          );
        }
        rlog.warn("Upload of report {id} failed (attempt {attempt}): {message}; retry in {s} s", {
          id: env.id,
          attempt,
          message: outcome.message,
          s: Math.round(delay / 100) / 10,
        });
        return;
      }
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

  #onBreakerClosed(): void {
    log.info("Server reachable again: circuit breaker closed; sending the backlog");
    this.#queue.expediteRetries();
    this.#wake();
    this.checkServer("reconnect");
  }

  async #probe(force = false): Promise<void> {
    if (!this.#breaker.probeDue(Date.now(), force)) return;
    this.#breaker.probing();
    this.#metrics.inc("breaker_probes_total");
    const { outcome } = await this.#client.version();
    if (outcome.kind === "stored") {
      if (this.#breaker.success()) this.#onBreakerClosed();
    } else {
      this.#breaker.failure();
      log.debug("Probe failed: {message}", { message: outcome.message });
    }
  }

  async #onTick(): Promise<void> {
    if (this.#stopped || this.#ticking) return;
    this.#ticking = true;
    try {
      const now = Date.now();
      if (this.#breaker.probeDue(now)) await this.#probe();
      if (this.#authProblem && now >= this.#authRetryAt) {
        log.info("Trying uploads again after: {problem}", { problem: this.#authProblem });
        this.#authProblem = null;
        this.#wake();
      }
      if (!this.#canSend(now)) return;
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
