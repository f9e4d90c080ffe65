/**
 * Fault injection for the test server: deterministic queues ("fail the next N requests with X"),
 * seeded probabilities (429, 5xx, 408, slow, dropped connection) and per-report rules
 * ("always reject report X"). Tests set these through the library or `/_test/faults`.
 *
 * @module
 */
import { type Random, randomSeed, seededRandom } from "./prng.ts";

/** One fault applied to one request. */
export type Fault =
  /** Answer with this status (and a `{"Message"}` body) instead of handling the request. */
  | {
    kind: "status";
    status: number;
    /** Adds `Retry-After` (seconds). Defaults to the settings' `retryAfterSeconds` for 429/503. */
    retryAfterSeconds?: number;
    /** `Retry-After` as delta seconds ("seconds") or as an HTTP date ("date"). */
    retryAfterForm?: "seconds" | "date";
    /** The `Message` of the JSON body. */
    message?: string;
    /**
     * Appends the request's Authorization header to the message, as careless servers and
     * proxies do ("... Request headers: Authorization: Basic ..."): what the agent stores and
     * serves must not carry it on.
     */
    echoAuthorization?: boolean;
  }
  /** Wait this long, then handle the request normally (the report is stored even if the client gave up). */
  | { kind: "slow"; delayMs: number }
  /** Handle the request (store the report), then close the socket without any HTTP response. */
  | { kind: "drop" }
  /** Answer 200 naming another report ID, without storing (a misrouted or confused server). */
  | { kind: "wrongId" }
  /**
   * Answer with a small gzip body (`Content-Encoding: gzip`, whatever the client accepts) that
   * inflates to `inflatedBytes` of zeros: a hostile server or proxy trying to exhaust the
   * client's memory. Nothing is stored.
   */
  | { kind: "gzipBomb"; status?: number; inflatedBytes?: number }
  /**
   * Answer with a redirect (default 307) to `to` followed by the request's path, e.g. `to`
   * `http://127.0.0.1:9999` → `Location: http://127.0.0.1:9999/api/Report/WSJF`. Nothing is
   * stored: a client that follows it sends the report to another server.
   */
  | { kind: "redirect"; to: string; status?: number };

/**
 * A fault as JSON or as a short text: `"503"`, `"429"`, `"drop"`, `"slow"`, `"slow:5000"`,
 * `"wrong-id"`, `"gzip-bomb"`, `"redirect:<url>"`.
 */
export type FaultSpec = Fault | string;

/** A fault for the reports that match `id` and/or `sn`. */
export interface FaultRule {
  /** Report id (any case). */
  id?: string;
  /** Serial number. */
  sn?: string;
  /** The fault to apply. */
  fault: FaultSpec;
  /** Apply this many times, then drop the rule; absent = always. */
  times?: number;
}

/** Everything a test can set. All fields optional; `{}` means no faults. */
export interface FaultSettings {
  /** Seed for the probability draws; a random one is chosen (and reported back) when absent. */
  seed?: number;
  /** Which requests faults apply to: report posts only (default) or every `/api/*` request. */
  scope?: "report" | "api";
  /** Probability (0..1) of a 429 Too Many Requests. */
  p429?: number;
  /** Probability of a 5xx, drawn from `statuses5xx`. */
  p5xx?: number;
  /** Probability of a 408 Request Timeout. */
  p408?: number;
  /** Probability of a slow answer (`slowMs`). */
  pSlow?: number;
  /** Probability that the connection is dropped after the report was stored. */
  pDrop?: number;
  /** `Retry-After` for 429 (and 503) answers, in seconds. Default 1. */
  retryAfterSeconds?: number;
  /** `Retry-After` form: delta seconds (default) or an HTTP date. */
  retryAfterForm?: "seconds" | "date";
  /** The 5xx statuses to draw from. Default 500, 502, 503, 504. */
  statuses5xx?: number[];
  /** Delay of a slow answer in ms. Default 5000. */
  slowMs?: number;
  /** Faults for the next requests in scope, in order, before any probability is drawn. */
  next?: FaultSpec[];
  /** Shorthand: `count` copies of `fault` appended to `next`. */
  failNext?: { count: number; fault: FaultSpec };
  /** Per-report faults, checked after the body is parsed when no other fault applies. */
  rules?: FaultRule[];
  /** Overrides the server's body size limit (413 above it) while set. */
  maxBodyBytes?: number;
}

/** A fault chosen for one request, and why. */
export interface AppliedFault {
  fault: Fault;
  /** "next", "random" or "rule". */
  source: "next" | "random" | "rule";
}

const default5xx = [500, 502, 503, 504];

/** Reads a fault given as JSON or short text; throws with the accepted forms when it is neither. */
export function parseFault(spec: FaultSpec): Fault {
  if (typeof spec === "string") {
    const text = spec.trim().toLowerCase();
    if (/^\d{3}$/.test(text)) return checkFault({ kind: "status", status: Number(text) });
    if (text === "drop") return { kind: "drop" };
    if (text === "wrong-id") return { kind: "wrongId" };
    if (text === "gzip-bomb") return { kind: "gzipBomb" };
    if (text.startsWith("redirect:")) {
      return checkFault({ kind: "redirect", to: spec.trim().slice("redirect:".length) });
    }
    const slow = /^slow(?::(\d+))?$/.exec(text);
    if (slow) return checkFault({ kind: "slow", delayMs: Number(slow[1] ?? 5000) });
    throw new Error(
      `Fault "${spec}" is not understood: use a status ("503"), "drop", "slow", "slow:<ms>", ` +
        `"wrong-id", "gzip-bomb" or "redirect:<url>", or an object ` +
        `{kind: "status"|"slow"|"drop"|"wrongId"|"gzipBomb"|"redirect", ...}`,
    );
  }
  return checkFault(spec);
}

function checkFault(fault: Fault): Fault {
  if (fault === null || typeof fault !== "object") {
    throw new Error(`Fault must be an object or text, found ${JSON.stringify(fault)}`);
  }
  switch (fault.kind) {
    case "status":
      if (!Number.isInteger(fault.status) || fault.status < 100 || fault.status > 599) {
        throw new Error(`Fault status must be an HTTP status 100..599, found ${fault.status}`);
      }
      if (fault.retryAfterSeconds !== undefined) {
        nonNegative("retryAfterSeconds", fault.retryAfterSeconds);
      }
      if (fault.retryAfterForm !== undefined) retryForm(fault.retryAfterForm);
      return { ...fault };
    case "slow":
      nonNegative("delayMs", fault.delayMs);
      return { ...fault };
    case "drop":
      return { kind: "drop" };
    case "wrongId":
      return { kind: "wrongId" };
    case "gzipBomb":
      if (fault.status !== undefined) httpStatus(fault.status, 200, 599);
      if (
        fault.inflatedBytes !== undefined &&
        (!Number.isInteger(fault.inflatedBytes) || fault.inflatedBytes < 1)
      ) {
        throw new Error(
          `Fault inflatedBytes must be a whole number >= 1, found ${fault.inflatedBytes}`,
        );
      }
      return { ...fault };
    case "redirect": {
      if (fault.status !== undefined) httpStatus(fault.status, 300, 399);
      let url: URL;
      try {
        url = new URL(fault.to);
      } catch {
        throw new Error(`Fault redirect needs an absolute URL in "to", found ${fault.to}`);
      }
      return { kind: "redirect", status: fault.status, to: url.href.replace(/\/+$/, "") };
    }
    default:
      throw new Error(
        `Fault kind must be "status", "slow", "drop", "wrongId", "gzipBomb" or "redirect", found ${
          JSON.stringify((fault as Fault).kind)
        }`,
      );
  }
}

function httpStatus(status: unknown, min: number, max: number): void {
  if (!Number.isInteger(status) || (status as number) < min || (status as number) > max) {
    throw new Error(`Fault status must be an HTTP status ${min}..${max}, found ${status}`);
  }
}

function nonNegative(name: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new Error(`Fault setting ${name} must be a number >= 0, found ${JSON.stringify(value)}`);
  }
}

function retryForm(value: unknown): void {
  if (value !== "seconds" && value !== "date") {
    throw new Error(`retryAfterForm must be "seconds" or "date", found ${JSON.stringify(value)}`);
  }
}

/** Decides, request by request, which fault (if any) applies. */
export class FaultInjector {
  #settings: FaultSettings = {};
  #next: Fault[] = [];
  #rules: (FaultRule & { fault: Fault })[] = [];
  #random: Random = seededRandom(0);
  #seed = 0;

  constructor(settings: FaultSettings = {}) {
    this.set(settings);
  }

  /**
   * Replaces all fault settings (and restarts the random sequence from the seed). Throws, naming
   * the setting, when a value is out of range; the previous settings then stay in force.
   */
  set(settings: FaultSettings): void {
    if (settings === null || typeof settings !== "object" || Array.isArray(settings)) {
      throw new Error(`Fault settings must be an object, found ${JSON.stringify(settings)}`);
    }
    let sum = 0;
    for (const key of ["p429", "p5xx", "p408", "pSlow", "pDrop"] as const) {
      const p = settings[key];
      if (p === undefined) continue;
      if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
        throw new Error(
          `Fault setting ${key} must be a probability 0..1, found ${JSON.stringify(p)}`,
        );
      }
      sum += p;
    }
    if (sum > 1 + 1e-9) {
      throw new Error(
        `Fault probabilities add up to ${Number(sum.toFixed(6))}; they must add up to at most 1`,
      );
    }
    if (settings.scope !== undefined && settings.scope !== "report" && settings.scope !== "api") {
      throw new Error(
        `Fault setting scope must be "report" or "api", found ${JSON.stringify(settings.scope)}`,
      );
    }
    for (const s of settings.statuses5xx ?? []) {
      if (!Number.isInteger(s) || s < 500 || s > 599) {
        throw new Error(`statuses5xx must hold 5xx statuses, found ${JSON.stringify(s)}`);
      }
    }
    if (settings.statuses5xx !== undefined && settings.statuses5xx.length === 0) {
      throw new Error("statuses5xx must not be empty (leave it out for 500, 502, 503, 504)");
    }
    if (settings.retryAfterSeconds !== undefined) {
      nonNegative("retryAfterSeconds", settings.retryAfterSeconds);
    }
    if (settings.retryAfterForm !== undefined) retryForm(settings.retryAfterForm);
    if (settings.slowMs !== undefined) nonNegative("slowMs", settings.slowMs);
    if (settings.maxBodyBytes !== undefined) nonNegative("maxBodyBytes", settings.maxBodyBytes);
    const next = (settings.next ?? []).map(parseFault);
    if (settings.failNext !== undefined) {
      const { count, fault } = settings.failNext;
      if (!Number.isInteger(count) || count < 0) {
        throw new Error(
          `failNext.count must be a whole number >= 0, found ${JSON.stringify(count)}`,
        );
      }
      const parsed = parseFault(fault);
      for (let i = 0; i < count; i++) next.push(parsed);
    }
    const rules = (settings.rules ?? []).map((rule, i) => {
      if (rule.id === undefined && rule.sn === undefined) {
        throw new Error(`rules[${i}] needs an id or an sn to match reports`);
      }
      if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 1)) {
        throw new Error(`rules[${i}].times must be a whole number >= 1, found ${rule.times}`);
      }
      return { ...rule, id: rule.id?.toLowerCase(), fault: parseFault(rule.fault) };
    });
    const seed = settings.seed ?? randomSeed();
    this.#settings = { ...settings, seed };
    this.#seed = seed;
    this.#random = seededRandom(seed);
    this.#next = next;
    this.#rules = rules;
  }

  /** The settings in force, with the seed actually used and what is left of the queue and rules. */
  get settings(): FaultSettings {
    const { failNext: _, ...rest } = this.#settings;
    return {
      ...rest,
      seed: this.#seed,
      next: [...this.#next],
      rules: this.#rules.map((r) => ({ ...r })),
    };
  }

  /** The body size limit override, if set. */
  get maxBodyBytes(): number | undefined {
    return this.#settings.maxBodyBytes;
  }

  /** `Retry-After` defaults for status faults that carry none. */
  get retryAfter(): { seconds: number; form: "seconds" | "date" } {
    return {
      seconds: this.#settings.retryAfterSeconds ?? 1,
      form: this.#settings.retryAfterForm ?? "seconds",
    };
  }

  /** True when faults apply to this request (path relative to the server's prefix). */
  inScope(method: string, apiPath: string): boolean {
    if (!apiPath.toLowerCase().startsWith("/api/")) return false;
    if (this.#settings.scope === "api") return true;
    return method === "POST" && apiPath.toLowerCase() === "/api/report/wsjf";
  }

  /** The fault for the next request in scope: the queue first, then one probability draw. */
  draw(): AppliedFault | null {
    const queued = this.#next.shift();
    if (queued !== undefined) return { fault: queued, source: "next" };
    const s = this.#settings;
    const total = (s.p429 ?? 0) + (s.p5xx ?? 0) + (s.p408 ?? 0) + (s.pSlow ?? 0) + (s.pDrop ?? 0);
    if (total === 0) return null;
    let r = this.#random();
    const pick = (p: number | undefined) => {
      r -= p ?? 0;
      return r < 0;
    };
    let fault: Fault | null = null;
    if (pick(s.p429)) fault = { kind: "status", status: 429 };
    else if (pick(s.p5xx)) {
      const statuses = s.statuses5xx ?? default5xx;
      fault = { kind: "status", status: statuses[Math.floor(this.#random() * statuses.length)] };
    } else if (pick(s.p408)) fault = { kind: "status", status: 408 };
    else if (pick(s.pSlow)) fault = { kind: "slow", delayMs: s.slowMs ?? 5000 };
    else if (pick(s.pDrop)) fault = { kind: "drop" };
    return fault === null ? null : { fault, source: "random" };
  }

  /** The rule fault for a parsed report, if a rule matches (counting down `times`). */
  forReport(id: unknown, sn: unknown): AppliedFault | null {
    const index = this.#rules.findIndex((rule) =>
      (rule.id === undefined || (typeof id === "string" && rule.id === id.toLowerCase())) &&
      (rule.sn === undefined || rule.sn === sn)
    );
    if (index < 0) return null;
    const rule = this.#rules[index];
    if (rule.times !== undefined) {
      rule.times -= 1;
      if (rule.times <= 0) this.#rules.splice(index, 1);
    }
    return { fault: rule.fault, source: "rule" };
  }
}

/** A short label for the request log, e.g. "429", "slow:3000", "drop". */
export function faultLabel(fault: Fault): string {
  if (fault.kind === "status") return String(fault.status);
  if (fault.kind === "slow") return `slow:${fault.delayMs}`;
  if (fault.kind === "wrongId") return "wrong-id";
  if (fault.kind === "gzipBomb") return "gzip-bomb";
  if (fault.kind === "redirect") return `redirect:${fault.to}`;
  return "drop";
}
